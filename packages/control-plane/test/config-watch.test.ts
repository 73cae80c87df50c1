// Watching: edits reach a new snapshot quickly (measured with a real file edit and fs.watch),
// bursts of writes are debounced into one reload like istiod's pushes, and polling works on an
// injected clock where fs.watch is unavailable.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type ConfigChangeEvent,
  ConfigStore,
  Debouncer,
  formatProblem,
  type VirtualService,
} from '@inboard/control-plane';
import { ManualClock } from '@inboard/xds';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'inboard-watch-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function reviewsVs(subset: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: ${subset}}}]
`;
}

function subsetOf(event: ConfigChangeEvent): string | undefined {
  const vs = event.snapshot.istio.find((o): o is VirtualService => o.kind === 'VirtualService');
  return vs?.spec.http?.[0]?.route?.[0]?.destination.subset;
}

/** Collects change events; `next()` resolves with the next one (already received or future). */
function eventQueue() {
  const received: ConfigChangeEvent[] = [];
  const waiters: ((e: ConfigChangeEvent) => void)[] = [];
  let taken = 0;
  return {
    received,
    push(e: ConfigChangeEvent) {
      received.push(e);
      const w = waiters.shift();
      if (w !== undefined) {
        taken++;
        w(e);
      }
    },
    next(): Promise<ConfigChangeEvent> {
      if (taken < received.length) return Promise.resolve(received[taken++] as ConfigChangeEvent);
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

test('Debouncer: a burst fires once, after 100 ms of quiet, or 10 s after it began', () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const d = new Debouncer(() => fired.push(clock.now()), { clock });
  d.trigger();
  clock.advance(60);
  d.trigger();
  clock.advance(60);
  d.trigger();
  clock.advance(99);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, [220]);

  // Never quiet for 100 ms: the 10 s maximum still fires it, and a new burst begins.
  const start = clock.now();
  for (let i = 0; i < 250; i++) {
    d.trigger();
    clock.advance(50);
  }
  assert.deepEqual(fired.slice(1), [start + 10_000]);
  clock.advance(50);
  assert.deepEqual(fired.slice(1), [start + 10_000, start + 12_550]);
  d.trigger();
  assert.equal(d.pending, true);
  d.cancel();
  assert.equal(d.pending, false);
});

test('a real file edit reaches a new snapshot in under a second (fs.watch, 100 ms debounce)', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'reviews.yaml');
  await writeFile(file, reviewsVs('v1'));
  const events = eventQueue();
  const watch = await new ConfigStore({ cwd: dir, watchMode: 'fs' }).watch(['.'], (e) => events.push(e));
  t.after(() => watch.close());
  assert.equal(watch.mode, 'fs');
  assert.equal(watch.initial.snapshot.version, '1');

  const started = performance.now();
  await writeFile(file, reviewsVs('v2'));
  const event = await events.next();
  const latencyMs = performance.now() - started;
  assert.ok(latencyMs < 1000, `edit → snapshot took ${latencyMs.toFixed(0)} ms`);
  assert.equal(event.changed, true);
  assert.equal(subsetOf(event), 'v2');
  assert.equal(event.snapshot.version, '2');
  assert.deepEqual(
    event.changes.updated.map((r) => `${r.kind} ${r.namespace}/${r.name}`),
    ['VirtualService default/reviews'],
  );
});

test('several quick writes make one reload with the last content', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'reviews.yaml');
  await writeFile(file, reviewsVs('v1'));
  const events = eventQueue();
  const watch = await new ConfigStore({ cwd: dir, watchMode: 'fs' }).watch(['.'], (e) => events.push(e));
  t.after(() => watch.close());

  for (const subset of ['v2', 'v3', 'v4', 'v5', 'v6']) await writeFile(file, reviewsVs(subset));
  const burst = await events.next();
  assert.equal(subsetOf(burst), 'v6');
  // A later, separate edit is the second event: the burst produced exactly one.
  await writeFile(file, reviewsVs('v7'));
  const after = await events.next();
  assert.equal(subsetOf(after), 'v7');
  assert.deepEqual(events.received.map(subsetOf), ['v6', 'v7']);
});

test('a bad edit while watching is reported without changing the snapshot; new files in subdirectories are seen', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'reviews.yaml'), reviewsVs('v1'));
  const events = eventQueue();
  const watch = await new ConfigStore({ cwd: dir, watchMode: 'fs' }).watch(['.'], (e) => events.push(e));
  t.after(() => watch.close());

  await writeFile(join(dir, 'reviews.yaml'), reviewsVs('v1').replace('host: reviews', 'host: "*"'));
  const bad = await events.next();
  assert.equal(bad.changed, false);
  assert.equal(bad.snapshot, watch.initial.snapshot);
  assert.deepEqual(bad.problems.map(formatProblem), [
    'reviews.yaml: document 1 (line 7): VirtualService default/reviews: spec.http[0].route[0].destination.host: invalid destination host "*"',
  ]);

  await mkdir(join(dir, 'more'));
  await writeFile(
    join(dir, 'more', 'dr.yaml'),
    'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews}\nspec: {host: reviews}\n',
  );
  const added = await events.next();
  assert.deepEqual(
    added.changes.added.map((r) => `${r.kind} ${r.name}`),
    ['DestinationRule reviews'],
  );
  assert.equal(subsetOf(added), 'v1');
});

test('a watched edit re-reads the named files: nested edits and removals land, unchanged files keep their problems', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'a', 'b'), { recursive: true });
  await writeFile(join(dir, 'a', 'b', 'reviews.yaml'), reviewsVs('v1'));
  await writeFile(
    join(dir, 'a', 'bad.yaml'),
    reviewsVs('v1').replace('name: reviews', 'name: bad').replace('host: reviews, subset', 'host: "*", subset'),
  );
  await writeFile(
    join(dir, 'dr.yaml'),
    'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews}\nspec: {host: reviews}\n',
  );
  const events = eventQueue();
  const watch = await new ConfigStore({ cwd: dir, watchMode: 'fs' }).watch(['.'], (e) => events.push(e));
  t.after(() => watch.close());
  const badProblem = watch.initial.problems.map(formatProblem);
  assert.equal(badProblem.length, 1);
  assert.match(badProblem[0]!, /^a\/bad\.yaml: /);

  await writeFile(join(dir, 'a', 'b', 'reviews.yaml'), reviewsVs('v2'));
  await rm(join(dir, 'dr.yaml'));
  let event: ConfigChangeEvent;
  do {
    event = await events.next();
    assert.deepEqual(event.problems.map(formatProblem), badProblem);
  } while (subsetOf(event) !== 'v2' || event.snapshot.istio.some((o) => o.kind === 'DestinationRule'));
  assert.deepEqual(
    event.snapshot.istio.map((o) => `${o.kind} ${o.metadata.name}`),
    ['VirtualService reviews'],
  );
});

test('polling mode: changes noticed by mtime on an injected clock, debounced on the same clock', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'reviews.yaml');
  await writeFile(file, reviewsVs('v1'));
  const clock = new ManualClock();
  const events = eventQueue();
  const watch = await new ConfigStore({ cwd: dir, clock, watchMode: 'poll', pollIntervalMs: 1000 }).watch(
    ['reviews.yaml'],
    (e) => events.push(e),
  );
  t.after(() => watch.close());
  assert.equal(watch.mode, 'poll');
  assert.equal(await watch.poll(), false);

  await writeFile(file, reviewsVs('v2'));
  assert.equal(await watch.poll(), true);
  await writeFile(file, reviewsVs('v3-longer'));
  assert.equal(await watch.poll(), true);
  clock.advance(99);
  assert.equal(events.received.length, 0);
  clock.advance(1); // 100 ms after the last noticed change: one reload
  const event = await events.next();
  assert.equal(subsetOf(event), 'v3-longer');
  assert.equal(events.received.length, 1);
});
