import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { resourceVersion, Snapshot } from '@inboard/control-plane';
import { nextEvent } from './helpers/ads-client.ts';
import { baseSnapshot, deltaBarrier, setup } from './helpers/harness.ts';
import { deltaNamesOf, LDS, listener, node, RDS, route } from './helpers/resources.ts';

const N1 = 'sidecar~10.0.0.1~app-1.default~default.svc.cluster.local';

test('delta: a first LDS request without names is a wildcard; resources carry name, version and bytes', async (t) => {
  const { server, client } = await setup(t);
  const snapshot = baseSnapshot('v1');
  server.cache.setSnapshot(N1, snapshot);
  const s = client.delta();
  s.send({ node: node(N1), type_url: LDS });
  const r1 = await s.next();
  assert.equal(r1.type_url, LDS);
  assert.equal(r1.system_version_info, 'v1');
  assert.deepEqual(deltaNamesOf(r1), ['a', 'b']);
  const a = snapshot.resource(LDS, 'a');
  assert.ok(a !== undefined);
  assert.equal(r1.resources[0]?.version, resourceVersion(a.resource));
  assert.deepEqual(r1.removed_resources, []);

  // ACK: recorded with the acknowledged response's version, nothing sent.
  const acked = nextEvent(server, 'ack');
  s.send({ type_url: LDS, response_nonce: r1.nonce });
  const ack = await acked;
  assert.deepEqual(
    { nonce: ack.nonce, version: ack.version, kind: ack.kind },
    { nonce: r1.nonce, version: 'v1', kind: 'delta' },
  );
  await deltaBarrier(s);
});

test('delta: subscribe and unsubscribe send only what is new; unsubscribed resources are no longer pushed', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.delta();
  s.send({ node: node(N1), type_url: RDS, resource_names_subscribe: ['ra'] });
  const r1 = await s.next();
  assert.deepEqual(deltaNamesOf(r1), ['ra']);

  // A spontaneous subscription (empty nonce) gets only the newly subscribed resource.
  s.send({ type_url: RDS, resource_names_subscribe: ['rb'] });
  const r2 = await s.next();
  assert.deepEqual(deltaNamesOf(r2), ['rb']);
  assert.deepEqual(r2.removed_resources, []);

  const unsub = nextEvent(server, 'request', (e) => e.unsubscribe.includes('ra'));
  s.send({ type_url: RDS, resource_names_unsubscribe: ['ra'], response_nonce: r2.nonce });
  assert.equal((await unsub).disposition, 'change');
  await deltaBarrier(s);

  server.cache.setSnapshot(
    N1,
    Snapshot.fromMessages({ version: 'v2', routes: [route('ra', 'c2'), route('rb', 'c2')] }),
  );
  const push = await s.next();
  assert.equal(push.system_version_info, 'v2');
  assert.deepEqual(deltaNamesOf(push), ['rb']);

  // Subscribing again sends the resource again, even though the client once had it.
  s.send({ type_url: RDS, resource_names_subscribe: ['ra'] });
  assert.deepEqual(deltaNamesOf(await s.next()), ['ra']);
});

test('delta: "*" subscribes to the wildcard explicitly, also for a non-wildcard type', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.delta();
  s.send({ node: node(N1), type_url: RDS, resource_names_subscribe: ['*'] });
  assert.deepEqual(deltaNamesOf(await s.next()), ['ra', 'rb']);
  assert.equal(server.streams()[0]?.types.find((x) => x.typeUrl === RDS)?.wildcard, true);
});

test('delta: deletions and unknown names are reported in removed_resources', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.delta();
  s.send({ node: node(N1), type_url: LDS });
  assert.deepEqual(deltaNamesOf(await s.next()), ['a', 'b']);

  server.cache.setSnapshot(N1, Snapshot.fromMessages({ version: 'v2', listeners: [listener('a')] }));
  const r2 = await s.next();
  assert.equal(r2.system_version_info, 'v2');
  assert.deepEqual(r2.resources, []);
  assert.deepEqual(r2.removed_resources, ['b']);

  // A subscribed name that does not exist is reported once, so the client need not wait for a timeout.
  s.send({ type_url: RDS, resource_names_subscribe: ['nope'] });
  const r3 = await s.next();
  assert.equal(r3.type_url, RDS);
  assert.deepEqual(r3.resources, []);
  assert.deepEqual(r3.removed_resources, ['nope']);
});

test('delta: initial_resource_versions on reconnect: only changed resources are sent, gone ones removed', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const first = client.delta();
  first.send({ node: node(N1), type_url: LDS });
  const r1 = await first.next();
  const held = Object.fromEntries(r1.resources.map((r) => [r.name, r.version]));
  assert.deepEqual(Object.keys(held), ['a', 'b']);
  const closed = nextEvent(server, 'stream-close');
  first.cancel();
  await closed;

  // While disconnected: a unchanged, b changed, c added, and the client also remembers a "gone" listener.
  server.cache.setSnapshot(
    N1,
    Snapshot.fromMessages({ version: 'v2', listeners: [listener('a'), listener('b', 'other'), listener('c')] }),
  );
  const second = client.delta();
  second.send({ node: node(N1), type_url: LDS, initial_resource_versions: { ...held, gone: 'old' } });
  const r2 = await second.next();
  assert.equal(r2.system_version_info, 'v2');
  assert.deepEqual(deltaNamesOf(r2).sort(), ['b', 'c']);
  assert.deepEqual(r2.removed_resources, ['gone']);
});

test('delta: explicit subscriptions with initial versions that are all current get an empty answer', async (t) => {
  const { server, client } = await setup(t);
  const snapshot = baseSnapshot('v1');
  server.cache.setSnapshot(N1, snapshot);
  const ra = snapshot.resource(RDS, 'ra');
  assert.ok(ra !== undefined);
  const s = client.delta();
  s.send({
    node: node(N1),
    type_url: RDS,
    resource_names_subscribe: ['ra'],
    initial_resource_versions: { ra: ra.version },
  });
  const r = await s.next();
  assert.deepEqual([r.resources, r.removed_resources, r.system_version_info], [[], [], 'v1']);
});

test('delta: a stale nonce is ignored and a NACK is recorded with the rejected version', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.delta();
  s.send({ node: node(N1), type_url: LDS });
  const r1 = await s.next();
  server.cache.setSnapshot(
    N1,
    Snapshot.fromMessages({ version: 'v2', listeners: [listener('a', 'x'), listener('b')] }),
  );
  const r2 = await s.next();

  const stale = nextEvent(server, 'request', (e) => e.nonce === r1.nonce);
  s.send({ type_url: LDS, response_nonce: r1.nonce, resource_names_subscribe: ['zzz'] });
  assert.equal((await stale).disposition, 'stale');
  await deltaBarrier(s);

  const nacked = nextEvent(server, 'nack');
  s.send({
    type_url: LDS,
    response_nonce: r2.nonce,
    error_detail: { code: status.INVALID_ARGUMENT, message: 'listener a: bad route name' },
  });
  const nack = await nacked;
  assert.deepEqual(
    { nonce: nack.nonce, version: nack.version, message: nack.errorMessage },
    { nonce: r2.nonce, version: 'v2', message: 'listener a: bad route name' },
  );
  await deltaBarrier(s);
  assert.equal(
    server.streams()[0]?.types.find((x) => x.typeUrl === LDS)?.lastNack?.errorMessage,
    'listener a: bad route name',
  );
});

test('delta: a first request without a node id ends the stream with INVALID_ARGUMENT', async (t) => {
  const { client } = await setup(t);
  const s = client.delta();
  s.send({ type_url: LDS });
  assert.deepEqual(await s.ended, { code: status.INVALID_ARGUMENT, details: 'missing node information' });
});
