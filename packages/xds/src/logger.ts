// One small logger for all of Inboard. Silent by default: set INBOARD_LOG=debug|info|warn|error
// or call setLogSink() to receive records.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export interface LogRecord {
  readonly level: LogLevel;
  readonly scope: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>> | undefined;
}
export type LogSink = (record: LogRecord) => void;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let sink: LogSink | undefined;
let threshold = Number.POSITIVE_INFINITY;

function stderrSink(r: LogRecord): void {
  const extra = r.fields === undefined ? '' : ` ${JSON.stringify(r.fields)}`;
  process.stderr.write(`[inboard ${r.level}] ${r.scope}: ${r.message}${extra}\n`);
}

/** Routes log records at or above `level` to `fn` (stderr when omitted); `undefined` silences. */
export function setLogSink(fn: LogSink | undefined, level: LogLevel = 'info'): void {
  sink = fn;
  threshold = fn === undefined ? Number.POSITIVE_INFINITY : ORDER[level];
}

{
  const env = process.env['INBOARD_LOG'];
  if (env !== undefined && env in ORDER) setLogSink(stderrSink, env as LogLevel);
}

export interface Logger {
  enabled(level: LogLevel): boolean;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(scope: string): Logger {
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] >= threshold && sink !== undefined) sink({ level, scope, message, fields });
  };
  return {
    enabled: (level) => ORDER[level] >= threshold,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
