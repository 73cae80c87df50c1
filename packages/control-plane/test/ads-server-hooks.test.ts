import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AdsServer, AdsServerError } from '@inboard/control-plane';
import { ManualClock } from '@inboard/xds';
import { nextEvent, TestAdsClient } from './helpers/ads-client.ts';
import { baseSnapshot, deltaBarrier, setup, sotwBarrier } from './helpers/harness.ts';
import { CDS, LDS, namesOf, node } from './helpers/resources.ts';

const N1 = 'sidecar~10.0.0.1~app-1.default~default.svc.cluster.local';
const N2 = 'sidecar~10.0.0.2~app-2.default~default.svc.cluster.local';

function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

test('the auth hook sees metadata and node; a rejection ends the stream with its status', async (t) => {
  const seen: string[] = [];
  const { server, client } = await setup(t, {
    authenticate: (metadata, n) => {
      seen.push(n.id);
      return metadata.get('authorization')[0] === 'Bearer good-token'
        ? true
        : { code: grpc.status.UNAUTHENTICATED, message: 'authentication failure' };
    },
  });
  server.cache.setSnapshot(N1, baseSnapshot('v1'));

  const bad = client.sotw(bearer('stolen'));
  bad.send({ node: node(N1), type_url: LDS });
  assert.deepEqual(await bad.ended, { code: grpc.status.UNAUTHENTICATED, details: 'authentication failure' });

  const badDelta = client.delta();
  badDelta.send({ node: node(N1), type_url: LDS });
  assert.equal((await badDelta.ended).code, grpc.status.UNAUTHENTICATED);

  const good = client.sotw(bearer('good-token'));
  good.send({ node: node(N1), type_url: LDS });
  assert.deepEqual(namesOf(await good.next()), ['a', 'b']);
  assert.deepEqual(seen, [N1, N1, N1]);
});

test('an async auth hook returning false rejects with UNAUTHENTICATED; requests wait for it in order', async (t) => {
  const { server, client } = await setup(t, {
    authenticate: async (_md, n) => n.id === N1,
  });
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.sotw();
  // Sent back to back: the second must not overtake the first while the hook is pending.
  s.send({ node: node(N1), type_url: LDS });
  s.send({ type_url: CDS, resource_names: ['c1'] });
  assert.equal((await s.next()).type_url, LDS);
  assert.equal((await s.next()).type_url, CDS);

  const rejected = client.sotw();
  rejected.send({ node: node(N2), type_url: LDS });
  assert.deepEqual(await rejected.ended, { code: grpc.status.UNAUTHENTICATED, details: 'unauthenticated' });
});

test('killStreams ends the matching streams with UNAVAILABLE and leaves the others', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  server.cache.setSnapshot(N2, baseSnapshot('v1'));
  const s1 = client.sotw();
  s1.send({ node: node(N1), type_url: LDS });
  await s1.next();
  const s2 = client.delta();
  s2.send({ node: node(N2), type_url: LDS });
  await s2.next();

  const closed = nextEvent(server, 'stream-close');
  assert.equal(server.killStreams({ nodeId: N1 }), 1);
  assert.deepEqual(await s1.ended, { code: grpc.status.UNAVAILABLE, details: 'stream killed' });
  const ev = await closed;
  assert.deepEqual([ev.nodeId, ev.code, ev.kind], [N1, grpc.status.UNAVAILABLE, 'sotw']);
  await deltaBarrier(s2);
  assert.equal(server.counters.streamsActive, 1);

  assert.equal(
    server.killStreams((info) => info.kind === 'delta', { code: grpc.status.INTERNAL, message: 'boom' }),
    1,
  );
  assert.deepEqual(await s2.ended, { code: grpc.status.INTERNAL, details: 'boom' });
});

test('pauseResponses queues responses in order until resumeResponses', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  server.pauseResponses();
  const s = client.sotw();
  const processed = nextEvent(server, 'request', (e) => e.typeUrl === CDS);
  s.send({ node: node(N1), type_url: LDS });
  s.send({ type_url: CDS, resource_names: ['c1'] });
  await processed;
  // Responses are written synchronously when not paused, so none has left yet.
  assert.equal(server.counters.responses, 0);
  server.resumeResponses();
  assert.equal((await s.next()).type_url, LDS);
  assert.equal((await s.next()).type_url, CDS);
  assert.equal(server.counters.responses, 2);
});

test('setResponseDelay holds each response for the delay on the server clock', async (t) => {
  const clock = new ManualClock();
  const { server, client } = await setup(t, { clock });
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  server.setResponseDelay(1000);
  const s = client.sotw();
  const processed = nextEvent(server, 'request');
  s.send({ node: node(N1), type_url: LDS });
  await processed;
  clock.advance(999);
  assert.equal(server.counters.responses, 0);
  const responded = nextEvent(server, 'response');
  clock.advance(1);
  await responded;
  assert.deepEqual(namesOf(await s.next()), ['a', 'b']);

  server.setResponseDelay(0);
  s.send({ type_url: CDS, resource_names: ['c2'] });
  assert.deepEqual(namesOf(await s.next()), ['c2']);
});

test('closeStreamsAfterResponse ends a stream right after it writes a response', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  server.closeStreamsAfterResponse(true);
  const s = client.sotw();
  s.send({ node: node(N1), type_url: LDS });
  assert.deepEqual(namesOf(await s.next()), ['a', 'b']);
  assert.equal((await s.ended).code, grpc.status.UNAVAILABLE);

  server.closeStreamsAfterResponse(false);
  const s2 = client.sotw();
  s2.send({ node: node(N1), type_url: LDS });
  await s2.next();
  await sotwBarrier(s2);
});

test('restart stops and serves again on the same port; the cache survives', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const port = server.port;
  const s = client.sotw();
  s.send({ node: node(N1), type_url: LDS });
  await s.next();

  assert.equal(await server.restart(), port);
  assert.deepEqual(await s.ended, { code: grpc.status.UNAVAILABLE, details: 'server shutting down' });

  const again = new TestAdsClient(server.address);
  t.after(() => again.close());
  const s2 = again.sotw();
  s2.send({ node: node(N1), type_url: LDS });
  assert.deepEqual(namesOf(await s2.next()), ['a', 'b']);
  assert.equal(server.counters.streamsOpened, 2);
});

test('start twice is an error; stop is idempotent', async (t) => {
  const { server } = await setup(t);
  await assert.rejects(
    server.start(),
    (e: unknown) => e instanceof AdsServerError && e.code === 'INBOARD_CP_SERVER_STATE',
  );
  await server.stop();
  assert.equal(server.isListening, false);
  await server.stop();
  await assert.rejects(new AdsServer().restart(), { code: 'INBOARD_CP_SERVER_STATE' });
});

test('TLS: a client trusting the test CA is served', async (t) => {
  const dir = new URL('./fixtures/tls/', import.meta.url);
  const server = new AdsServer({
    tls: {
      keyCertPairs: [
        { private_key: readFileSync(new URL('server.key', dir)), cert_chain: readFileSync(new URL('server.pem', dir)) },
      ],
    },
  });
  const port = await server.start();
  // Dial the IP (the server listens on 127.0.0.1 only) but verify the certificate's DNS name.
  const client = new TestAdsClient(
    `127.0.0.1:${port}`,
    grpc.credentials.createSsl(readFileSync(new URL('ca.pem', dir))),
    { 'grpc.ssl_target_name_override': 'localhost' },
  );
  t.after(async () => {
    client.close();
    await server.stop({ graceMs: 1000 });
  });
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const s = client.sotw();
  s.send({ node: node(N1), type_url: LDS });
  assert.deepEqual(namesOf(await s.next()), ['a', 'b']);

  const plain = new TestAdsClient(`127.0.0.1:${port}`);
  t.after(() => plain.close());
  const p = plain.sotw();
  p.send({ node: node(N1), type_url: LDS });
  assert.equal((await p.ended).code, grpc.status.UNAVAILABLE);
});

test('counters and stream info describe what happened', async (t) => {
  const { server, client } = await setup(t);
  server.cache.setSnapshot(N1, baseSnapshot('v1'));
  const opened = nextEvent(server, 'stream-open');
  const s = client.sotw();
  s.send({ node: node(N1, { NAMESPACE: 'default' }), type_url: LDS, resource_names: ['a'] });
  const r = await s.next();
  assert.equal((await opened).kind, 'sotw');
  const acked = nextEvent(server, 'ack');
  s.send({ type_url: LDS, resource_names: ['a'], response_nonce: r.nonce, version_info: r.version_info });
  await acked;
  assert.deepEqual(server.counters, {
    streamsOpened: 1,
    streamsActive: 1,
    requests: 2,
    responses: 1,
    acks: 1,
    nacks: 0,
  });
  const [info] = server.streams();
  assert.equal(info?.nodeId, N1);
  assert.equal(info?.nodeKey, N1);
  assert.deepEqual(
    info?.types.map((x) => [x.typeUrl, x.resourceNames, x.lastNonceSent, x.ackedVersion]),
    [[LDS, ['a'], r.nonce, 'v1']],
  );

  const closed = nextEvent(server, 'stream-close');
  s.end();
  const ev = await closed;
  assert.deepEqual([ev.code, ev.nodeId], [grpc.status.OK, N1]);
  assert.equal(server.counters.streamsActive, 0);
});
