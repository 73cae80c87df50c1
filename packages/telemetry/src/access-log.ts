// Access logs in Istio's formats: the default text line (EnvoyTextLogFormat, meshConfig
// accessLogFile with no custom format) and the JSON object (EnvoyJSONLogFormatIstio), one per
// finished request, outbound and inbound. Envoy prints `-` for a missing text value; in JSON a
// missing value is null and numeric operators are numbers.
//
// They go to a stream (as Envoy's file access log) and/or, as OpenTelemetry log records, to a
// LoggerProvider (as Envoy's envoy.access_loggers.open_telemetry under Istio's envoyOtelAls
// provider): the record's time is the request's start, its body the text line (or, for 'json',
// the record's fields as a map), and it carries the request's span context when there is one.
import type { HttpRequestEvent, InboundRequestEvent } from '@inboard/http';
import { type Logger, type LoggerProvider, logs, ROOT_CONTEXT, type Span, trace } from '@opentelemetry/api';
import type { HeaderRecord, RequestStartEvent } from './dispatch-hooks.ts';
import { flagsText } from './outbound-labels.ts';
import { TelemetryOptionsError } from './telemetry-errors.ts';
import { TELEMETRY_SCOPE, TELEMETRY_VERSION } from './version.ts';

/** The fields of Istio's JSON access log (keys as EnvoyJSONLogFormatIstio names them). */
export interface AccessLogRecord {
  readonly start_time: string;
  readonly method: string;
  /** X-ENVOY-ORIGINAL-PATH?:PATH */
  readonly path: string;
  readonly protocol: string;
  readonly response_code: number;
  readonly response_flags: string;
  readonly response_code_details: string | null;
  readonly connection_termination_details: string | null;
  readonly upstream_transport_failure_reason: string | null;
  readonly bytes_received: number;
  readonly bytes_sent: number;
  readonly duration: number;
  readonly upstream_service_time: string | null;
  readonly x_forwarded_for: string | null;
  readonly user_agent: string | null;
  readonly request_id: string | null;
  readonly authority: string | null;
  readonly upstream_host: string | null;
  readonly upstream_cluster: string | null;
  readonly upstream_local_address: string | null;
  readonly downstream_local_address: string | null;
  readonly downstream_remote_address: string | null;
  readonly requested_server_name: string | null;
  readonly route_name: string | null;
}

export type AccessLogFormat = 'text' | 'json';

/** Anything with write(string): a file stream, process.stdout, a test collector. */
export interface AccessLogSink {
  write(line: string): unknown;
}

export interface AccessLogOptions {
  /** where the lines go (a file stream, process.stdout, …) */
  readonly stream?: AccessLogSink;
  /**
   * emit each record as an OpenTelemetry log record through this LoggerProvider (`true`: the
   * global one of @opentelemetry/api, e.g. a NodeSDK's with log record processors)
   */
  readonly logs?: LoggerProvider | true;
  /** default 'text' */
  readonly format?: AccessLogFormat;
  /** log requests the application sends through the mesh (default true) */
  readonly outbound?: boolean;
  /** log requests the application's servers receive (default true) */
  readonly inbound?: boolean;
}

function header(h: HeaderRecord | undefined, name: string): string | null {
  const v = h?.[name];
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(',') : v;
}

/** %UPSTREAM_TRANSPORT_FAILURE_REASON%: Envoy's formatter writes its spaces as `_`. */
function transportFailure(reason: string | undefined): string | null {
  return reason === undefined || reason === '' ? null : reason.replaceAll(' ', '_');
}

/**
 * The route an inbound request takes in an Envoy sidecar: the inbound listener's one catch-all
 * route, which istiod names `default`.
 */
export const INBOUND_ROUTE_NAME = 'default';

function address(ip: string, port: number): string | null {
  if (ip === '') return null;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The record of an outbound request (the mesh acting as the client's sidecar). */
export function outboundAccessLogRecord(
  e: HttpRequestEvent,
  start: RequestStartEvent | undefined,
  endedAt: number,
): AccessLogRecord {
  const h = start?.headers;
  return {
    start_time: new Date(endedAt - e.durations.totalMs).toISOString(),
    method: e.method,
    path: header(h, 'x-envoy-original-path') ?? e.path,
    // undici speaks HTTP/1.1 to the mesh unless the cluster is HTTP/2
    protocol: 'HTTP/1.1',
    response_code: e.status,
    response_flags: flagsText(e.flags),
    response_code_details: e.details === '' ? null : e.details,
    connection_termination_details: null,
    upstream_transport_failure_reason: transportFailure(e.transportFailureReason),
    bytes_received: e.bytes.sent ?? 0,
    bytes_sent: e.bytes.received,
    duration: Math.floor(e.durations.totalMs),
    upstream_service_time:
      e.attempts > 0 && e.durations.responseStartMs !== undefined
        ? String(Math.floor(e.durations.responseStartMs))
        : null,
    x_forwarded_for: header(h, 'x-forwarded-for'),
    user_agent: header(h, 'user-agent'),
    request_id: header(h, 'x-request-id'),
    authority: e.authority,
    upstream_host: e.endpoint ?? null,
    upstream_cluster: e.cluster ?? null,
    upstream_local_address: null,
    downstream_local_address: null,
    downstream_remote_address: null,
    requested_server_name: null,
    route_name: e.route ?? null,
  };
}

/** The record of an inbound request (the mesh acting as the server's sidecar). */
export function inboundAccessLogRecord(e: InboundRequestEvent): AccessLogRecord {
  return {
    start_time: new Date(e.startTime).toISOString(),
    method: e.method,
    path: e.path,
    protocol: e.protocol,
    response_code: e.status,
    response_flags: e.responseFlags === '' ? '-' : e.responseFlags,
    response_code_details: e.responseCodeDetails === '' ? null : e.responseCodeDetails,
    connection_termination_details: null,
    upstream_transport_failure_reason: null,
    bytes_received: e.requestBytes,
    bytes_sent: e.responseBytes,
    duration: Math.floor(e.durationMs),
    upstream_service_time: null,
    x_forwarded_for: e.xForwardedFor ?? null,
    user_agent: e.userAgent ?? null,
    request_id: e.trace.requestId ?? null,
    authority: e.authority === '' ? null : e.authority,
    upstream_host: null,
    // Istio's inbound cluster name for the port the application serves
    upstream_cluster: `inbound|${e.destinationPort}||`,
    upstream_local_address: null,
    downstream_local_address: address(e.destinationIp, e.destinationPort),
    downstream_remote_address: address(e.sourceIp, e.sourcePort),
    requested_server_name: e.requestedServerName ?? null,
    route_name: INBOUND_ROUTE_NAME,
  };
}

function t(v: string | number | null): string {
  return v === null || v === '' ? '-' : String(v);
}

/**
 * Istio's default text format:
 * [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
 * %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
 * "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
 * %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
 * "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
 * %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
 * %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n
 */
export function formatAccessLogText(r: AccessLogRecord): string {
  return (
    `[${r.start_time}] "${t(r.method)} ${t(r.path)} ${t(r.protocol)}" ${r.response_code} ${t(r.response_flags)} ` +
    `${t(r.response_code_details)} ${t(r.connection_termination_details)} "${t(r.upstream_transport_failure_reason)}" ` +
    `${r.bytes_received} ${r.bytes_sent} ${r.duration} ${t(r.upstream_service_time)} "${t(r.x_forwarded_for)}" ` +
    `"${t(r.user_agent)}" "${t(r.request_id)}" "${t(r.authority)}" "${t(r.upstream_host)}" ${t(r.upstream_cluster)} ` +
    `${t(r.upstream_local_address)} ${t(r.downstream_local_address)} ${t(r.downstream_remote_address)} ` +
    `${t(r.requested_server_name)} ${t(r.route_name)}\n`
  );
}

export function formatAccessLogJson(r: AccessLogRecord): string {
  return `${JSON.stringify(r)}\n`;
}

export class AccessLogWriter {
  readonly #sink: AccessLogSink | undefined;
  readonly #logger: Logger | undefined;
  readonly #json: boolean;
  readonly outbound: boolean;
  readonly inbound: boolean;

  constructor(o: AccessLogOptions) {
    if (o.stream === undefined && o.logs === undefined)
      throw new TelemetryOptionsError(
        'accessLog',
        'nowhere to write: give a stream, or logs (a LoggerProvider, or true for the global one)',
      );
    this.#sink = o.stream;
    this.#logger =
      o.logs === undefined
        ? undefined
        : (o.logs === true ? logs.getLoggerProvider() : o.logs).getLogger(TELEMETRY_SCOPE, TELEMETRY_VERSION);
    this.#json = o.format === 'json';
    this.outbound = o.outbound ?? true;
    this.inbound = o.inbound ?? true;
  }

  /** One request's record; `span` is its span (the request's CLIENT span or the SERVER span), if traced. */
  write(r: AccessLogRecord, span?: Span): void {
    const text = this.#json ? undefined : formatAccessLogText(r);
    this.#sink?.write(text ?? formatAccessLogJson(r));
    this.#logger?.emit({
      timestamp: new Date(r.start_time),
      body: text === undefined ? { ...r } : text.slice(0, -1),
      context: span === undefined ? undefined : trace.setSpan(ROOT_CONTEXT, span),
    });
  }
}
