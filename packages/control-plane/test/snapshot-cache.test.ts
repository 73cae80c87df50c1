import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resourceVersion, Snapshot, SnapshotCache, SnapshotError } from '@inboard/control-plane';
import { packAny } from '@inboard/xds/codec';
import { CDS, cluster, decodedNode, EDS, LDS, listener, RDS, route } from './helpers/resources.ts';

test('per-resource versions are a stable hash of the bytes', () => {
  const s1 = Snapshot.fromMessages({ listeners: [listener('a'), listener('b')] });
  const s2 = Snapshot.fromMessages({ listeners: [listener('b'), listener('a', 'route-a')] });
  const s3 = Snapshot.fromMessages({ listeners: [listener('a', 'elsewhere')] });
  const a1 = s1.resource(LDS, 'a');
  assert.ok(a1 !== undefined);
  assert.equal(a1.version, resourceVersion(a1.resource));
  assert.equal(s2.resource(LDS, 'a')?.version, a1.version);
  assert.notEqual(s3.resource(LDS, 'a')?.version, a1.version);
  // The type version defaults to a content hash, independent of order.
  assert.equal(s1.version(LDS), s2.version(LDS));
  assert.notEqual(s1.version(LDS), s3.version(LDS));
});

test('explicit versions win; fromMessages always has the four types; withType replaces one type', () => {
  const s = Snapshot.create({
    [CDS]: {
      version: '42',
      resources: [{ name: 'c1', version: 'r7', resource: packAny('envoy.config.cluster.v3.Cluster', cluster('c1')) }],
    },
  });
  assert.equal(s.version(CDS), '42');
  assert.equal(s.resource(CDS, 'c1')?.version, 'r7');
  assert.equal(s.version(LDS), '');
  assert.deepEqual(s.typeUrls, [CDS]);

  const m = Snapshot.fromMessages({ version: 'v3', routes: [route('r1')] });
  assert.deepEqual(m.typeUrls.sort(), [CDS, EDS, LDS, RDS].sort());
  assert.equal(m.version(EDS), 'v3');
  assert.equal(m.resources(EDS).size, 0);

  const m2 = m.withType(LDS, {
    version: 'v4',
    resources: [{ name: 'l', resource: packAny('envoy.config.listener.v3.Listener', listener('l')) }],
  });
  assert.equal(m2.version(LDS), 'v4');
  assert.equal(m2.resource(RDS, 'r1'), m.resource(RDS, 'r1'));
  assert.equal(m.resources(LDS).size, 0);
});

test('a snapshot refuses duplicate and empty names', () => {
  assert.throws(
    () => Snapshot.fromMessages({ routes: [route('r1'), route('r1', 'c2')] }),
    (e: unknown) => e instanceof SnapshotError && e.code === 'INBOARD_CP_SNAPSHOT_INVALID' && e.typeUrl === RDS,
  );
  assert.throws(() => Snapshot.fromMessages({ clusters: [{}] }), SnapshotError);
});

test('resolve order: set snapshot, then generated (cached until refresh), then default', () => {
  const calls: string[] = [];
  const generated = Snapshot.fromMessages({ version: 'gen' });
  const cache = new SnapshotCache({
    generate: (n) => {
      calls.push(n.id);
      return n.id.startsWith('gen') ? generated : undefined;
    },
    defaultSnapshot: Snapshot.fromMessages({ version: 'default' }),
  });
  const gen = decodedNode({ id: 'gen-1' });
  const other = decodedNode({ id: 'other' });
  assert.equal(cache.resolve(gen)?.version(LDS), 'gen');
  assert.equal(cache.resolve(gen)?.version(LDS), 'gen');
  assert.deepEqual(calls, ['gen-1']);
  assert.equal(cache.getSnapshot('gen-1'), generated);
  assert.equal(cache.resolve(other)?.version(LDS), 'default');

  cache.setSnapshot('gen-1', Snapshot.fromMessages({ version: 'set' }));
  assert.equal(cache.resolve(gen)?.version(LDS), 'set');
  cache.clearSnapshot('gen-1');
  assert.equal(cache.getSnapshot('gen-1'), undefined);
  assert.equal(cache.resolve(gen)?.version(LDS), 'gen');
  assert.deepEqual(calls, ['gen-1', 'other', 'gen-1']);

  cache.setDefaultSnapshot(undefined);
  assert.equal(cache.resolve(other), undefined);
});

test('watchers of a key are notified on set, clear, refresh and default changes, until unwatched', () => {
  const cache = new SnapshotCache({ nodeKey: (n) => n.cluster });
  const n1 = decodedNode({ id: 'x', cluster: 'shared' });
  let hits = 0;
  const unwatch = cache.watch(n1, () => hits++);
  cache.setSnapshot('shared', Snapshot.empty());
  cache.setSnapshot('another', Snapshot.empty());
  cache.refresh('shared');
  cache.setDefaultSnapshot(Snapshot.empty());
  cache.clearSnapshot('shared');
  assert.equal(hits, 4);
  assert.equal(cache.nodeKey(n1), 'shared');
  assert.deepEqual(cache.keys().sort(), ['another', 'shared']);
  unwatch();
  cache.setSnapshot('shared', Snapshot.empty());
  assert.equal(hits, 4);
});
