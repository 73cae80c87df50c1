// The parent side of the benchmarks' client processes (closed-loop.ts is the child side): re-run
// the benchmark under the source condition, fork a client and wait until it is ready, send it a
// load command and wait for its result (or its death), and the median the reports use.
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { LoadCommand, LoadResult } from './closed-loop.ts';

/**
 * Re-runs the benchmark file with `--conditions=inboard-source --expose-gc` unless this process
 * already has them (npm runs it with plain flags), and exits with its status.
 */
export function ensureSourceConditions(benchmarkUrl: string): void {
  if (process.execArgv.includes('--conditions=inboard-source') && typeof globalThis.gc === 'function') return;
  const r = spawnSync(
    process.execPath,
    ['--conditions=inboard-source', '--expose-gc', fileURLToPath(benchmarkUrl), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(r.status ?? 1);
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
