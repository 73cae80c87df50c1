// The demo's child processes: each runs on this very Node (process.execPath, so a system Node
// 20 never gets involved) against the package sources, prints a line saying where it listens,
// and is stopped with SIGTERM (SIGKILL after a grace period). A parent guard preloaded into
// every child ends it if the demo itself disappears without cleaning up.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const GUARD = fileURLToPath(new URL('./parent-guard.ts', import.meta.url));
const KEEP_LINES = 60;
const STOP_GRACE_MS = 5000;

export interface ChildSpec {
  /** shown in progress and errors, e.g. `reviews-v2` */
  readonly name: string;
  /** the script to run (TypeScript, run by Node's type stripping) */
  readonly script: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd: string;
}

export class Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** the last lines of stdout and stderr, for failure reports */
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;
  #exitCode: number | null | undefined;
  #lineWaiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];

  constructor(spec: ChildSpec) {
    this.name = spec.name;
    const args = ['--conditions=inboard-source', '--import', GUARD, spec.script, ...(spec.args ?? [])];
    this.process = spawn(process.execPath, args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env, INBOARD_DEMO_PARENT: String(process.pid) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.process.pid === undefined) throw new Error(`${spec.name}: could not start ${process.execPath}`);
    this.pid = this.process.pid;
    this.exited = once(this.process, 'exit').then(([code]) => {
      this.#exitCode = code as number | null;
      return this.#exitCode;
    });
    for (const stream of [this.process.stdout!, this.process.stderr!]) {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          this.#line(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
          nl = pending.indexOf('\n');
        }
      });
    }
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  #line(line: string): void {
    this.output.push(line);
    if (this.output.length > KEEP_LINES) this.output.shift();
    this.#lineWaiters = this.#lineWaiters.filter((w) => {
      const m = w.re.exec(line);
      if (m === null) return true;
      w.resolve(m);
      return false;
    });
  }

  /** Resolves with the first output line (from now, or already seen) matching `re`. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    for (const line of this.output) {
      const m = re.exec(line);
      if (m !== null) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.name} did not print ${re} within ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      const waiter = {
        re,
        resolve: (m: RegExpExecArray) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.#lineWaiters.push(waiter);
      void this.exited.then((code) => {
        if (!this.#lineWaiters.includes(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (code ${code}) before printing ${re}\n${this.tail()}`));
      });
    });
  }

  tail(lines = 20): string {
    return this.output
      .slice(-lines)
      .map((l) => `    ${this.name} | ${l}`)
      .join('\n');
  }

  /** SIGTERM, then SIGKILL if it has not ended after the grace period. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Whether something on 127.0.0.1 still accepts connections on `port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Whether a process with this pid still exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Stops the children (in parallel); then which of them are still alive, which ports still listen. */
export async function stopAndCheck(
  children: readonly Child[],
  ports: readonly number[],
): Promise<{ alive: number[]; listening: number[] }> {
  await Promise.all(children.map((c) => c.stop()));
  const alive = children.map((c) => c.pid).filter(pidAlive);
  const listening: number[] = [];
  for (const p of ports) if (await portOpen(p)) listening.push(p);
  return { alive, listening };
}
