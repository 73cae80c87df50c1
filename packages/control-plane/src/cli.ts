// The control-plane command line: serve Istio config from files over ADS, or validate config.
//
//   control-plane --config DIR [--registry FILE] [--port N] [--host H]
//   control-plane validate PATH...
//
// `runCli(argv, io)` takes its streams, environment and working directory as arguments so tests
// (and the future top-level `inboard` bin) can run it in-process.
import { parseArgs } from 'node:util';
import { AdsServer } from './ads-server.ts';
import type { ObjectRef } from './config/config-entry.ts';
import { formatProblem } from './config/config-problem.ts';
import { type ConfigChangeEvent, type ConfigLoadResult, ConfigStore } from './config/config-store.ts';
import type { MeshConfigSnapshot } from './config/istio-types.ts';
import { formatCounts, summarizeSnapshot } from './config/summary.ts';
import { createIstioSnapshotGenerator } from './translate/index.ts';

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Stops a running control plane (wired to SIGINT/SIGTERM when run as a program). */
  readonly signal?: AbortSignal | undefined;
}

export const DEFAULT_XDS_PORT = 15010; // istiod's plaintext xDS port

const USAGE = `Usage:
  control-plane --config DIR [--config DIR...] [--registry FILE...] [--port N] [--host H]
  control-plane validate PATH...

Serve:
  --config PATH      Istio config: a file or a directory of *.yaml / *.yml / *.json (recursive)
  --registry PATH    service registry file(s): Inboard Registry or Kubernetes Service/EndpointSlice
  --port N           ADS port (default ${DEFAULT_XDS_PORT}, env INBOARD_CP_PORT; 0 picks a free port)
  --host H           address to listen on (default 127.0.0.1, env INBOARD_CP_HOST)
  --namespace NS     namespace of objects without one (default "default")
  --poll             watch by polling file times instead of fs.watch

Validate:
  validate PATH...   check config files; prints one line per problem and exits 1 if there is any
  --quiet            do not print warnings
`;

class UsageError extends Error {}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === 'validate') return await validate(rest, io);
    if (first === 'help' || first === '--help' || first === '-h') {
      io.stdout.write(USAGE);
      return 0;
    }
    return await serve(first === 'serve' ? rest : argv, io);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      io.stderr.write(`control-plane: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`control-plane: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function validate(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { quiet: { type: 'boolean', default: false }, namespace: { type: 'string' } },
  });
  if (positionals.length === 0) throw new UsageError('validate needs at least one path');
  const store = new ConfigStore({ cwd: io.cwd, defaultNamespace: values.namespace });
  const result = await store.load(positionals);
  for (const p of result.problems) io.stdout.write(`${formatProblem(p)}\n`);
  if (!values.quiet) for (const w of result.warnings) io.stdout.write(`${formatProblem(w)}\n`);
  const counts = formatCounts(summarizeSnapshot(result.snapshot).counts);
  const files = plural(result.files.length, 'file');
  if (result.problems.length > 0) {
    io.stdout.write(`${plural(result.problems.length, 'problem')} in ${files}\n`);
    return 1;
  }
  const warned = result.warnings.length > 0 ? ` (${plural(result.warnings.length, 'warning')})` : '';
  io.stdout.write(`OK: ${files}: ${counts}${warned}\n`);
  return 0;
}

async function serve(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string', multiple: true },
      registry: { type: 'string', multiple: true },
      port: { type: 'string' },
      host: { type: 'string' },
      namespace: { type: 'string' },
      poll: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const paths = [...(values.config ?? []), ...(values.registry ?? [])];
  if (paths.length === 0) throw new UsageError('--config is required');
  const portText = values.port ?? io.env['INBOARD_CP_PORT'] ?? String(DEFAULT_XDS_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`invalid port "${portText}"`);
  const host = values.host ?? io.env['INBOARD_CP_HOST'] ?? '127.0.0.1';

  const store = new ConfigStore({
    cwd: io.cwd,
    defaultNamespace: values.namespace,
    watchMode: values.poll ? 'poll' : 'auto',
  });
  // The translator reads the current snapshot lazily, per node; a reload swaps it and refreshes
  // every node's view (the ADS server then pushes only resources whose bytes changed).
  let current: MeshConfigSnapshot | undefined;
  const generator = createIstioSnapshotGenerator(() => {
    if (current === undefined) throw new Error('no config loaded yet');
    return current;
  });
  const watch = await store.watch(paths, (event) => {
    logReload(event, io);
    if (event.changed) {
      current = event.snapshot;
      generator.refresh();
    }
  });
  const initial = watch.initial;
  current = initial.snapshot;
  if (initial.files.length === 0) {
    watch.close();
    for (const p of initial.problems) io.stderr.write(`${formatProblem(p)}\n`);
    io.stderr.write(`control-plane: no config files found in ${paths.join(', ')}\n`);
    return 1;
  }
  printLoaded(initial, io);

  const server = new AdsServer({ cache: generator.createCache(), authenticate: generator.authenticate() });
  let bound: number;
  try {
    bound = await server.start({ host, port });
  } catch (err) {
    watch.close();
    throw err;
  }
  io.stdout.write(`ADS (SotW and Delta) listening on ${server.address}\n`);
  io.stdout.write(`watching ${paths.join(', ')} (${watch.mode === 'fs' ? 'fs.watch' : 'polling'})\n`);
  await new Promise<void>((resolve) => {
    if (io.signal === undefined) return; // runs until the process ends
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  watch.close();
  await server.stop({ graceMs: 1000 });
  io.stderr.write(`stopped (port ${bound})\n`);
  return 0;
}

function printLoaded(result: ConfigLoadResult, io: CliIo): void {
  const summary = summarizeSnapshot(result.snapshot);
  io.stdout.write(
    `loaded ${plural(result.files.length, 'file')}: ${formatCounts(summary.counts)} (version ${result.snapshot.version ?? '?'})\n`,
  );
  if (summary.services.length > 0) {
    io.stdout.write('services:\n');
    for (const s of summary.services) {
      io.stdout.write(`  ${s.namespace}/${s.name}  ports ${s.ports.join(',')}  ${plural(s.endpoints, 'endpoint')}\n`);
    }
  }
  for (const p of result.problems) io.stderr.write(`${formatProblem(p)}\n`);
  for (const w of result.warnings) io.stderr.write(`${formatProblem(w)}\n`);
  if (result.problems.length > 0)
    io.stdout.write(
      `${plural(result.problems.length, 'problem')}: the invalid documents are not served (details on stderr)\n`,
    );
}

function logReload(event: ConfigChangeEvent, io: CliIo): void {
  const refs = (label: string, list: readonly ObjectRef[]) =>
    list.length === 0
      ? []
      : [`${label} ${list.map((r) => `${r.kind} ${r.namespace === '' ? '' : `${r.namespace}/`}${r.name}`).join(', ')}`];
  const parts = [
    ...refs('added', event.changes.added),
    ...refs('updated', event.changes.updated),
    ...refs('removed', event.changes.removed),
  ];
  const problems = event.problems.length === 0 ? '' : `, ${plural(event.problems.length, 'problem')}`;
  const head = event.changed
    ? `config reloaded (version ${event.snapshot.version ?? '?'}${problems}): ${parts.join('; ')}`
    : `config reloaded${problems}: nothing changed, the previous valid config keeps serving`;
  io.stderr.write(`${head}\n`);
  for (const p of event.problems) io.stderr.write(`${formatProblem(p)}\n`);
  for (const w of event.warnings) io.stderr.write(`${formatProblem(w)}\n`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// Run as a program: `node packages/control-plane/src/cli.ts ...`.
if (import.meta.main === true) {
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort());
  const code = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
  });
  process.exitCode = code;
}
