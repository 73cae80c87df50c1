// A launcher a test runs as a user would (`npm run demo`, `npm run example:telemetry`): a child
// process on this Node whose stdout lines the test waits for, and the checks that nothing it
// started outlives it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { pidAlive, portOpen } from '../../scripts/demo/processes.ts';

export interface LaunchedProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** resolves with the first line (printed already or to come) matching `re` */
  line(re: RegExp): Promise<string>;
  readonly exit: Promise<number | null>;
}

/** Runs `script` with `args` on this Node (NODE_OPTIONS cleared), collecting its stdout lines. */
export function launch(
  script: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): LaunchedProcess {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let pending = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      for (const w of waiters.filter((x) => x.re.test(l))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  child.stderr!.resume();
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    lines,
    exit,
    line(re) {
      const seen = lines.find((x) => re.test(x));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        void exit.then(() => reject(new Error(`${script} ended without printing ${re}:\n${lines.join('\n')}`)));
      });
    },
  };
}

/** The JSON of a `WORD {json}` line (RESULT, CLEANUP, PROCESSES ...). */
export function json<T>(line: string): T {
  return JSON.parse(line.slice(line.indexOf(' ') + 1)) as T;
}

/** The JSON of the process's last line, which must be its `RESULT {json}` line. */
export function lastResult<T>(l: LaunchedProcess): T {
  const last = l.lines.filter((x) => x !== '').at(-1) ?? '';
  assert.match(last, /^RESULT /);
  return json<T>(last);
}

/**
 * The launcher's PROCESSES and CLEANUP lines, checked against the system: no process it started is
 * alive, no port it used accepts connections. Returns what it started.
 */
export async function assertNothingLeft(l: LaunchedProcess): Promise<{ pids: number[]; ports: number[] }> {
  const started = json<{ pids: number[]; ports: number[] }>(await l.line(/^PROCESSES /));
  const cleanup = json<{ alive: number[]; listening: number[] }>(await l.line(/^CLEANUP /));
  assert.deepEqual(cleanup.alive, []);
  assert.deepEqual(cleanup.listening, []);
  for (const pid of started.pids) assert.equal(pidAlive(pid), false, `process ${pid} is still running`);
  for (const port of started.ports) assert.equal(await portOpen(port), false, `port ${port} still accepts connections`);
  return started;
}
