// `npm run demo -- --ci` as a user runs it: a child process on this Node, whose output must show
// every bookinfo scenario passing, and which must leave no process and no port behind — after
// the tour, and when interrupted with Ctrl-C in the middle of it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertNothingLeft, json, type LaunchedProcess, lastResult, launch } from '../support/launched-process.ts';

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

function runDemo(args: readonly string[]): LaunchedProcess {
  return launch(DEMO, args, { cwd: ROOT, env: { INBOARD_DEMO_FAST: '1' } });
}

describe('npm run demo (CI mode)', () => {
  test('every bookinfo scenario passes and nothing is left behind', { timeout: 110_000 }, async () => {
    const demo = runDemo(['--ci']);
    const code = await demo.exit;
    const output = demo.lines.join('\n');
    assert.equal(code, 0, output);

    assert.deepEqual(lastResult(demo), { scenarios_passed: 8, scenarios_total: 8 });

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
    const started = await assertNothingLeft(demo);
    assert.equal(started.pids.length, 10);
    // the control plane, eight services, the gateway, and the services' admin servers if any
    assert.ok(started.ports.length >= 10);
  });

  test('Ctrl-C in the middle of the tour stops every process and frees every port', { timeout: 60_000 }, async () => {
    const demo = runDemo(['--ci']);
    await demo.line(/^PROCESSES /);
    // interrupt while traffic flows through the gateway
    await demo.line(/^SCENARIO /);
    demo.child.kill('SIGINT');
    const code = await demo.exit;
    assert.equal(code, 130);
    assert.equal(lastResult<{ scenarios_total: number }>(demo).scenarios_total, 8);
    await assertNothingLeft(demo);
  });
});
