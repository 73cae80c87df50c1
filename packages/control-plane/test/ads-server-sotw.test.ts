import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { Snapshot, SnapshotCache } from '@inboard/control-plane';
import { structToJs } from '@inboard/xds/codec';
import { nextEvent } from './helpers/ads-client.ts';
import { baseSnapshot, setup, sotwBarrier } from './helpers/harness.ts';
import { CDS, LDS, listener, namesOf, node, RDS, route } from './helpers/resources.ts';

const N1 = 'sidecar~10.0.0.1~app-1.default~default.svc.cluster.local';
const N2 = 'sidecar~10.0.0.2~app-2.default~default.svc.cluster.local';

test('the first request for a type is answered with the snapshot version, a fresh nonce and the resources', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const responded = nextEvent(server, 'response', (e) => e.typeUrl === LDS);
  const s = client.sotw();
  s.send({ node: node(N1), type_url: LDS, resource_names: ['a'] });
  const lds = await s.next();
  assert.equal(lds.type_url, LDS);
  assert.equal(lds.version_info, 'v1');
  assert.deepEqual(namesOf(lds), ['a']);
  assert.ok(lds.nonce.length > 0);
  const ev = await responded;
  assert.deepEqual(
    { nodeId: ev.nodeId, nonce: ev.nonce, version: ev.version, names: ev.resourceNames, cause: ev.cause },
    { nodeId: N1, nonce: lds.nonce, version: 'v1', names: ['a'], cause: 'request' },
  );

  // The node is only on the first request; later ones without it are still served.
  s.send({ type_url: CDS, resource_names: ['c1'] });
  const cds = await s.next();
  assert.deepEqual(namesOf(cds), ['c1']);
  assert.notEqual(cds.nonce, lds.nonce);
});

test('an ACK is recorded with its version and gets no response', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.sotw();
  s.send({ node: node(N1), type_url: LDS, resource_names: ['a'] });
  const r1 = await s.next();

  const acked = nextEvent(server, 'ack', (e) => e.typeUrl === LDS);
  s.send({ type_url: LDS, resource_names: ['a'], response_nonce: r1.nonce, version_info: r1.version_info });
  const ack = await acked;
  assert.deepEqual(
    { nonce: ack.nonce, version: ack.version, nodeId: ack.nodeId },
    { nonce: r1.nonce, version: 'v1', nodeId: N1 },
  );
  await sotwBarrier(s);

  const lds = server.streams()[0]?.types.find((x) => x.typeUrl === LDS);
  assert.equal(lds?.ackedVersion, 'v1');
  assert.equal(lds?.ackedNonce, r1.nonce);
  assert.equal(server.counters.acks, 1);
});

test('a request with a stale nonce is ignored even when its names changed', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.sotw();
  s.send({ node: node(N1), type_url: RDS, resource_names: ['ra'] });
  const r1 = await s.next();

  // A push makes r1's nonce stale.
  server.cache.setSnapshot(N1, Snapshot.fromMessages({ version: 'v2', routes: [route('ra', 'c2'), route('rb')] }));
  const r2 = await s.next();
  assert.equal(r2.version_info, 'v2');

  const stale = nextEvent(server, 'request', (e) => e.typeUrl === RDS && e.nonce === r1.nonce);
  s.send({ type_url: RDS, resource_names: ['ra', 'rb'], response_nonce: r1.nonce, version_info: 'v1' });
  assert.equal((await stale).disposition, 'stale');
  await sotwBarrier(s);

  // The same change with the current nonce is answered.
  s.send({ type_url: RDS, resource_names: ['ra', 'rb'], response_nonce: r2.nonce, version_info: 'v2' });
  const r3 = await s.next();
  assert.deepEqual(namesOf(r3), ['ra', 'rb']);
});

test('a NACK is recorded with its message, nothing is re-sent, and the next change is still pushed', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.sotw();
  s.send({ node: node(N1), type_url: LDS, resource_names: ['a'] });
  const r1 = await s.next();

  const nacked = nextEvent(server, 'nack');
  s.send({
    type_url: LDS,
    resource_names: ['a', 'b'],
    response_nonce: r1.nonce,
    version_info: '',
    error_detail: { code: status.INVALID_ARGUMENT, message: 'listener a: no route' },
  });
  const nack = await nacked;
  assert.deepEqual(
    { typeUrl: nack.typeUrl, nonce: nack.nonce, message: nack.errorMessage, code: nack.errorCode, nodeId: nack.nodeId },
    { typeUrl: LDS, nonce: r1.nonce, message: 'listener a: no route', code: status.INVALID_ARGUMENT, nodeId: N1 },
  );
  // Nothing is sent, not even for the name added in the NACK.
  await sotwBarrier(s);
  const lds = server.streams()[0]?.types.find((x) => x.typeUrl === LDS);
  assert.equal(lds?.lastNack?.errorMessage, 'listener a: no route');
  assert.equal(lds?.lastNack?.nonce, r1.nonce);
  assert.equal(lds?.lastError, 'listener a: no route');
  assert.equal(lds?.nackCount, 1);
  assert.equal(server.counters.nacks, 1);

  server.cache.setSnapshot(N1, Snapshot.fromMessages({ version: 'v2', listeners: [listener('a', 'fixed')] }));
  const r2 = await s.next();
  assert.equal(r2.version_info, 'v2');
  assert.deepEqual(namesOf(r2), ['a']);

  // An ACK clears the last error but keeps the NACK record.
  const acked = nextEvent(server, 'ack');
  s.send({ type_url: LDS, resource_names: ['a'], response_nonce: r2.nonce, version_info: 'v2' });
  await acked;
  const after = server.streams()[0]?.types.find((x) => x.typeUrl === LDS);
  assert.equal(after?.lastError, undefined);
  assert.equal(after?.lastNack?.errorMessage, 'listener a: no route');
});

test('RDS: adding a name is answered, only removing names is not', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.sotw();
  s.send({ node: node(N1), type_url: RDS, resource_names: ['ra'] });
  const r1 = await s.next();
  assert.deepEqual(namesOf(r1), ['ra']);

  s.send({ type_url: RDS, resource_names: ['ra', 'rb'], response_nonce: r1.nonce, version_info: 'v1' });
  const r2 = await s.next();
  assert.deepEqual(namesOf(r2), ['ra', 'rb']);

  const changed = nextEvent(server, 'request', (e) => e.nonce === r2.nonce);
  s.send({ type_url: RDS, resource_names: ['rb'], response_nonce: r2.nonce, version_info: 'v1' });
  assert.equal((await changed).disposition, 'change');
  await sotwBarrier(s);
  assert.deepEqual(server.streams()[0]?.types.find((x) => x.typeUrl === RDS)?.resourceNames, ['rb']);
});

test('LDS: removing a name is answered with the remaining listeners', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.sotw();
  s.send({ node: node(N1), type_url: LDS, resource_names: ['a', 'b'] });
  const r1 = await s.next();
  assert.deepEqual(namesOf(r1), ['a', 'b']);
  s.send({ type_url: LDS, resource_names: ['a'], response_nonce: r1.nonce, version_info: 'v1' });
  const r2 = await s.next();
  assert.deepEqual(namesOf(r2), ['a']);
});

test('an empty LDS request is a wildcard: every listener of the node, and "*" means the same', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.sotw();
  s.send({ node: node(N1), type_url: LDS, resource_names: [] });
  const r1 = await s.next();
  assert.deepEqual(namesOf(r1), ['a', 'b']);
  assert.equal(server.streams()[0]?.types.find((x) => x.typeUrl === LDS)?.wildcard, true);

  const s2 = client.sotw();
  s2.send({ node: node(N1), type_url: LDS, resource_names: ['*'] });
  assert.deepEqual(namesOf(await s2.next()), ['a', 'b']);
});

test('an empty RDS request unsubscribes: no response and no more pushes', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.sotw();
  s.send({ node: node(N1), type_url: RDS, resource_names: ['ra'] });
  const r1 = await s.next();

  const unsub = nextEvent(server, 'request', (e) => e.typeUrl === RDS && e.nonce === r1.nonce);
  s.send({ type_url: RDS, resource_names: [], response_nonce: r1.nonce, version_info: 'v1' });
  assert.equal((await unsub).disposition, 'unsubscribe');

  server.cache.setSnapshot(N1, Snapshot.fromMessages({ version: 'v2', routes: [route('ra', 'c2')] }));
  await sotwBarrier(s);
});

test('a snapshot change is pushed only to streams whose subscribed resources changed', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const sa = client.sotw();
  sa.send({ node: node(N1), type_url: RDS, resource_names: ['ra'] });
  await sa.next();
  const sb = client.sotw();
  sb.send({ node: node(N1), type_url: RDS, resource_names: ['rb'] });
  await sb.next();

  // Only route ra changes; rb keeps the same bytes (and so the same resource version).
  const pushed = nextEvent(server, 'response', (e) => e.cause === 'push');
  server.cache.setSnapshot(N1, Snapshot.fromMessages({ version: 'v2', routes: [route('ra', 'c2'), route('rb')] }));
  const push = await sa.next();
  assert.equal(push.version_info, 'v2');
  assert.deepEqual(namesOf(push), ['ra']);
  assert.equal((await pushed).typeUrl, RDS);
  await sotwBarrier(sb);
});

test('a listener deleted from the snapshot is missing from the next LDS response', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.sotw();
  s.send({ node: node(N1), type_url: LDS, resource_names: [] });
  assert.deepEqual(namesOf(await s.next()), ['a', 'b']);

  server.cache.setSnapshot(N1, Snapshot.fromMessages({ version: 'v2', listeners: [listener('a')] }));
  const r2 = await s.next();
  assert.equal(r2.version_info, 'v2');
  assert.deepEqual(namesOf(r2), ['a']);

  // Explicitly named too: the response carries what exists, so absence means deleted.
  const s2 = client.sotw();
  s2.send({ node: node(N1), type_url: LDS, resource_names: ['a', 'b'] });
  assert.deepEqual(namesOf(await s2.next()), ['a']);
});

test('a first request without a node id ends the stream with INVALID_ARGUMENT', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const closed = nextEvent(server, 'stream-close');
  const s = client.sotw();
  s.send({ type_url: LDS, resource_names: [] });
  const end = await s.ended;
  assert.deepEqual(end, { code: status.INVALID_ARGUMENT, details: 'missing node information' });
  const ev = await closed;
  assert.deepEqual({ code: ev.code, nodeId: ev.nodeId }, { code: status.INVALID_ARGUMENT, nodeId: undefined });
});

test('a request made before the node has a snapshot is answered when one is set', async (t) => {
  const { server, client } = await setup(t);
  const s = client.sotw();
  const seen = nextEvent(server, 'request');
  s.send({ node: node(N1), type_url: LDS, resource_names: [] });
  assert.equal((await seen).disposition, 'initial');
  assert.equal(server.counters.responses, 0);

  server.cache.setSnapshot(N1, baseSnapshot('v7'));
  const r = await s.next();
  assert.equal(r.version_info, 'v7');
  assert.deepEqual(namesOf(r), ['a', 'b']);
});

test('nodes are keyed by a pluggable function; generated per-node snapshots and a default snapshot', async (t) => {
  const namespaceOf = (n: { metadata?: Parameters<typeof structToJs>[0] }) =>
    String(structToJs(n.metadata)['NAMESPACE']);
  let generation = 1;
  const cache = new SnapshotCache({
    nodeKey: namespaceOf,
    generate: (_node, key) =>
      key === 'prod'
        ? Snapshot.fromMessages({ version: `gen-${generation}`, listeners: [listener(`prod-${generation}`)] })
        : undefined,
    defaultSnapshot: Snapshot.fromMessages({ version: 'default', listeners: [listener('fallback')] }),
  });
  const { client } = await setup(t, { cache });

  const prod = client.sotw();
  prod.send({ node: node(N1, { NAMESPACE: 'prod' }), type_url: LDS, resource_names: [] });
  const p1 = await prod.next();
  assert.deepEqual([p1.version_info, ...namesOf(p1)], ['gen-1', 'prod-1']);

  const other = client.sotw();
  other.send({ node: node(N2, { NAMESPACE: 'dev' }), type_url: LDS, resource_names: [] });
  const o1 = await other.next();
  assert.deepEqual([o1.version_info, ...namesOf(o1)], ['default', 'fallback']);

  // The translator's inputs changed: regenerate that key, its streams get the new view.
  generation = 2;
  cache.refresh('prod');
  const p2 = await prod.next();
  assert.deepEqual([p2.version_info, ...namesOf(p2)], ['gen-2', 'prod-2']);
  await sotwBarrier(other);
});

test('another node is not affected by a snapshot change', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  server.cache.setSnapshot(N2, baseSnapshot('v1'));
  const s2 = client.sotw();
  s2.send({ node: node(N2), type_url: LDS, resource_names: [] });
  await s2.next();
  server.cache.setSnapshot(N1, Snapshot.fromMessages({ version: 'v2', listeners: [listener('z')] }));
  await sotwBarrier(s2);
});
