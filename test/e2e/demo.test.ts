// `npm run demo -- --ci` as a user runs it: a child process on this Node, whose output must show
// every bookinfo scenario passing, and which must leave no process and no port behind — after
// the tour, and when interrupted with Ctrl-C in the middle of it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEMO = fileURLToPath(new URL('../../scripts/demo.ts', import.meta.url));

const EXPECTED_SCENARIOS = [
  'ingress-gateway',
  'header-routing',
  'traffic-shift-50-50',
  'traffic-shift-80-20',
  'fault-delay',
  'fault-abort',
  'retries',
  'outlier-ejection',
];

interface Check {
  readonly name: string;
  readonly expected: string;
  readonly observed: string;
  readonly pass: boolean;
}

interface ScenarioLine {
  readonly id: string;
  readonly passed: boolean;
  readonly checks: readonly Check[];
  readonly error?: string;
}

interface Demo {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** resolves with the first line starting with `prefix` */
  line(prefix: string): Promise<string>;
  readonly exit: Promise<number | null>;
}

function runDemo(args: readonly string[]): Demo {
  const child = spawn(process.execPath, [DEMO, ...args], {
    cwd: ROOT,
    env: { ...process.env, INBOARD_DEMO_FAST: '1', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { prefix: string; resolve: (l: string) => void }[] = [];
  let pending = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      for (const w of waiters.filter((x) => l.startsWith(x.prefix))) {
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
    line(prefix) {
      const seen = lines.find((l) => l.startsWith(prefix));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ prefix, resolve });
        void exit.then(() => reject(new Error(`the demo ended without a ${prefix} line:\n${lines.join('\n')}`)));
      });
    },
  };
}

function json<T>(line: string): T {
  return JSON.parse(line.slice(line.indexOf(' ') + 1)) as T;
}

function assertGone(pid: number): void {
  assert.throws(
    () => process.kill(pid, 0),
    (err: NodeJS.ErrnoException) => err.code === 'ESRCH',
    `process ${pid} is still running`,
  );
}

async function assertRefused(port: number): Promise<void> {
  const code = await new Promise<string>((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  assert.equal(code, 'ECONNREFUSED', `port ${port} still accepts connections`);
}

describe('npm run demo (CI mode)', () => {
  test('every bookinfo scenario passes and nothing is left behind', { timeout: 110_000 }, async () => {
    const demo = runDemo(['--ci']);
    const code = await demo.exit;
    const output = demo.lines.join('\n');
    assert.equal(code, 0, output);

    // the last line is the result
    const last = demo.lines.filter((l) => l !== '').at(-1) ?? '';
    assert.match(last, /^RESULT /);
    assert.deepEqual(json(last), { scenarios_passed: 8, scenarios_total: 8 });

    // one line per scenario, in order, each with its checks
    const scenarios = demo.lines.filter((l) => l.startsWith('SCENARIO ')).map((l) => json<ScenarioLine>(l));
    assert.deepEqual(
      scenarios.map((s) => s.id),
      EXPECTED_SCENARIOS,
    );
    for (const s of scenarios) {
      assert.equal(s.passed, true, `${s.id}: ${JSON.stringify(s.checks, null, 1)}`);
      assert.ok(s.checks.length >= 3, `${s.id} checks something`);
      assert.ok(s.checks.every((c) => c.pass));
    }
    const byId = new Map(scenarios.map((s) => [s.id, s]));
    const observed = (id: string, name: string) => byId.get(id)?.checks.find((c) => c.name === name)?.observed;
    assert.equal(observed('ingress-gateway', 'GET /reviews/0 (no route)'), '404 NR');
    assert.equal(observed('header-routing', 'jason → reviews v2'), '12/12 (100.0%)');
    assert.match(observed('traffic-shift-50-50', 'reviews v3') ?? '', /^\d+\/200 /);
    assert.equal(observed('traffic-shift-80-20', 'reviews v3'), '0/200 (0.0%)');
    assert.equal(observed('retries', 'retries 3 × 5xx: "ratings unavailable"'), '0/24 (0.0%)');
    assert.equal(observed('outlier-ejection', 'reviews-v1-bad requests (consecutive5xxErrors: 1)'), '1');
    assert.match(output, /pushed live: all 10 processes kept running, no restarts/);

    // no process, no port left behind
    const started = json<{ pids: number[]; ports: number[] }>(await demo.line('PROCESSES '));
    assert.equal(started.pids.length, 10);
    // the control plane, eight services, the gateway, and the services' admin servers if any
    assert.ok(started.ports.length >= 10);
    const cleanup = json<{ alive: number[]; listening: number[] }>(await demo.line('CLEANUP '));
    assert.deepEqual(cleanup.alive, []);
    assert.deepEqual(cleanup.listening, []);
    for (const pid of started.pids) assertGone(pid);
    for (const port of started.ports) await assertRefused(port);
  });

  test('Ctrl-C in the middle of the tour stops every process and frees every port', { timeout: 60_000 }, async () => {
    const demo = runDemo(['--ci']);
    const started = json<{ pids: number[]; ports: number[] }>(await demo.line('PROCESSES '));
    // interrupt while traffic flows through the gateway
    await demo.line('SCENARIO ');
    demo.child.kill('SIGINT');
    const code = await demo.exit;
    assert.equal(code, 130);
    const last = demo.lines.filter((l) => l !== '').at(-1) ?? '';
    assert.match(last, /^RESULT /);
    assert.equal(json<{ scenarios_total: number }>(last).scenarios_total, 8);
    for (const pid of started.pids) assertGone(pid);
    for (const port of started.ports) await assertRefused(port);
  });
});
