// `npm run example:telemetry` as a user runs it: the launcher of examples/two-services on this
// Node, in a child process. With --ci it must report the requests on both sides' scrape URLs and
// the spans both consoles printed as one trace; without it, it must keep serving until Ctrl-C.
// Either way no process and no port may outlive it.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pidAlive } from '../../scripts/demo/processes.ts';
import { assertNothingLeft, json, type LaunchedProcess, lastResult, launch } from '../support/launched-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUN = fileURLToPath(new URL('../../examples/two-services/run.ts', import.meta.url));
/** page loads the launcher makes */
const REQUESTS = 3;

const launched: LaunchedProcess[] = [];

function run(args: readonly string[]): LaunchedProcess {
  const l = launch(RUN, args, { cwd: ROOT });
  launched.push(l);
  return l;
}

/** The control plane, reviews and productpage; their ports and both scrape ports. */
async function assertAllStopped(l: LaunchedProcess): Promise<void> {
  const started = await assertNothingLeft(l);
  assert.equal(started.pids.length, 3);
  assert.equal(started.ports.length, 5);
}

// A failed assertion must not leave the launcher or its children running: Ctrl-C first (the
// launcher stops its children), then SIGKILL for anything still there.
after(async () => {
  for (const l of launched) {
    if (l.child.exitCode === null && l.child.signalCode === null) {
      l.child.kill('SIGINT');
      const timer = setTimeout(() => l.child.kill('SIGKILL'), 10_000);
      await l.exit;
      clearTimeout(timer);
    }
    const started = l.lines.find((x) => x.startsWith('PROCESSES '));
    if (started === undefined) continue;
    for (const pid of json<{ pids: number[] }>(started).pids) {
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
});

describe('examples/two-services: npm run example:telemetry', () => {
  test('--ci: both scrape URLs count the requests, both consoles print the spans of one trace', {
    timeout: 60_000,
  }, async () => {
    const l = run(['--ci']);
    const code = await l.exit;
    const output = l.lines.join('\n');
    assert.equal(code, 0, output);

    assert.deepEqual(lastResult(l), {
      source_requests: REQUESTS,
      destination_requests: REQUESTS,
      // per page load: the request's CLIENT span and its attempt's
      spans_client: 2 * REQUESTS,
      spans_server: REQUESTS,
      one_trace: true,
    });

    // every page load answered, reviews in the page's trace
    const loads = l.lines.filter((x) => x.startsWith('GET http://127.0.0.1:'));
    assert.equal(loads.length, REQUESTS);
    for (const x of loads) assert.match(x, /→ 200: trace ([0-9a-f]{32}), reviews answered in trace \1$/);

    // the scrape URLs each service announced, and what the report read there
    const urls = l.lines.flatMap((x) => {
      const m = /^(productpage|reviews) +\| metrics (http:\/\/127\.0\.0\.1:\d+\/metrics)$/.exec(x);
      return m === null ? [] : [[m[1], m[2]]];
    });
    assert.deepEqual(urls.map(([name]) => name).sort(), ['productpage', 'reviews']);
    for (const [name, url] of urls)
      assert.ok(
        l.lines.some((x) => x.startsWith(`${name!.padEnd(12)}${url}`)),
        url,
      );
    const series = (reporter: string) =>
      l.lines.filter((x) => x.startsWith(`  istio_requests_total{reporter="${reporter}",`));
    assert.equal(series('source').length, 1);
    assert.match(series('source')[0]!, /source_workload="productpage-v1",/);
    assert.match(series('source')[0]!, /destination_service="reviews\.default\.svc\.cluster\.local",/);
    assert.match(series('source')[0]!, /response_code="200",.*\} 3$/);
    assert.equal(series('destination').length, 1);
    assert.match(series('destination')[0]!, /source_workload="productpage-v1",.*destination_workload="reviews-v1",/);
    assert.match(series('destination')[0]!, /response_code="200",.*\} 3$/);

    // the console span dumps, shown with the name of the process that printed them
    assert.equal(l.lines.filter((x) => /^reviews +\| {3}kind: 1,$/.test(x)).length, REQUESTS);
    assert.equal(l.lines.filter((x) => /^productpage +\| {3}kind: 2,$/.test(x)).length, 2 * REQUESTS);
    // the report's tree of the last page load: page → request → attempt → reviews → its own span
    assert.match(
      output,
      /\n {4}productpage SERVER "GET \/productpage".*\n {6}productpage CLIENT "GET".*\n {8}productpage CLIENT "GET".*\n {10}reviews SERVER "GET \/reviews\/:id".*\n {12}reviews INTERNAL "load reviews"/,
    );

    await assertAllStopped(l);
  });

  test('without --ci it keeps serving the page until Ctrl-C, then frees every process and port', {
    timeout: 60_000,
  }, async () => {
    const l = run([]);
    await l.line(/^Running — press Ctrl-C to stop$/);
    const page = /page +(http:\S+)/.exec(await l.line(/^ {2}page +http:/))![1]!;

    // one more page load after the report: its spans reach reviews' console
    const res = await fetch(page, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    const { traceId } = (await res.json()) as { traceId: string };
    await l.line(new RegExp(`^reviews +\\| {3}traceId: '${traceId}',$`));

    l.child.kill('SIGINT');
    assert.equal(await l.exit, 130);
    await assertAllStopped(l);
  });
});
