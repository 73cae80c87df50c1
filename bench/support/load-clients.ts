// The parent side of the benchmarks' client processes (closed-loop.ts is the child side): re-run
// the benchmark under the source condition, fork the upstream process and a client and wait until
// they are ready, send a client a load command and wait for its result (or its death), and the
// median the reports use.
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { FROM_SOURCE_OPTION } from './client-flags.ts';
import type { LoadCommand, LoadResult } from './closed-loop.ts';

/**
 * The clients run the packages' built dist (unless --from-source): builds them first (turbo's
 * cache makes that quick when nothing changed), so a benchmark never measures stale code.
 */
function ensureBuilt(): void {
  if (process.argv.includes(FROM_SOURCE_OPTION)) return;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const r = spawnSync('npm', ['run', 'build', '--silent', '--', '--output-logs=errors-only'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/**
 * Re-runs the benchmark file with `--conditions=inboard-source --expose-gc` unless this process
 * already has them (npm runs it with plain flags), and exits with its status. Builds the packages
 * first when their dist is stale.
 */
export function ensureSourceConditions(benchmarkUrl: string): void {
  if (process.execArgv.includes('--conditions=inboard-source') && typeof globalThis.gc === 'function') return;
  ensureBuilt();
  const r = spawnSync(
    process.execPath,
    ['--conditions=inboard-source', '--expose-gc', fileURLToPath(benchmarkUrl), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(r.status ?? 1);
}

/**
 * Forks the upstream process (upstream-server.ts) with `count` loopback ports; resolves with them
 * (`port`: the first).
 */
export async function forkUpstream(count = 1): Promise<{ upstream: ChildProcess; ports: number[]; port: number }> {
  const upstream = fork(fileURLToPath(new URL('./upstream-server.ts', import.meta.url)), [String(count)], {
    stdio: 'inherit',
  });
  const [{ ports }] = (await once(upstream, 'message')) as [{ ports: [number, ...number[]] }];
  return { upstream, ports, port: ports[0] };
}

/** Forks a client process and resolves once it announced 'ready'. */
export async function startLoadClient(
  file: string,
  args: readonly string[],
  execArgv: string[],
): Promise<ChildProcess> {
  const c = fork(file, args, { stdio: 'inherit', execArgv });
  const exits = once(c, 'exit').then(() => [undefined]);
  exited.set(c, exits);
  const [m] = await Promise.race([once(c, 'message'), exits]);
  if (m !== 'ready') throw new Error(`benchmark client ${args[0]} did not start`);
  return c;
}

// one exit watcher per client (a listener per run would pile up)
const exited = new Map<ChildProcess, Promise<unknown[]>>();

/** Sends one load command and resolves with the client's result; rejects when the client died. */
export async function runLoad<R extends LoadResult = LoadResult>(c: ChildProcess, cmd: LoadCommand): Promise<R> {
  c.send(cmd);
  const [r] = (await Promise.race([once(c, 'message'), exited.get(c)!])) as [R | undefined];
  if (r === undefined) throw new Error('a benchmark client exited');
  return r;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
