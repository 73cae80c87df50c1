// x-request-id on the way out, as Envoy's connection manager sets it: a request that comes
// without one gets a UUID v4 (generate_request_id, true unless the connection manager says false,
// which istiod leaves unset), a caller's own is kept. Real loopback upstream and ADS server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import type { OutboundMesh } from '../src/index.ts';
import { ControlPlane, cluster, forward, Upstream } from './e2e-fixtures.ts';

const upstream = new Upstream('ids');
const cp = new ControlPlane();
let mesh: OutboundMesh;

before(async () => {
  await upstream.start();
  const route = (name: string) => [{ name, match: { prefix: '/' }, route: forward(cluster('ids', 9080)) }];
  await cp.start(
    [
      { name: 'ids', port: 9080, routes: route('ids') },
      { name: 'noids', port: 9080, routes: route('noids'), hcmExtra: { generate_request_id: { value: false } } },
    ],
    [{ name: cluster('ids', 9080), endpoints: [{ port: upstream.port }] }],
  );
  mesh = cp.mesh();
});

after(async () => {
  await mesh.close();
  await cp.stop();
  await upstream.stop();
});

async function seenId(url: string, headers?: Record<string, string>): Promise<unknown> {
  const r = await request(url, { dispatcher: mesh.dispatcher, headers });
  await r.body.text();
  return upstream.seen.at(-1)!.headers['x-request-id'];
}

test('a request without an x-request-id gets a fresh UUID v4; a caller’s own is kept', async () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const a = await seenId('http://ids:9080/a');
  const b = await seenId('http://ids:9080/b');
  assert.match(String(a), uuid);
  assert.match(String(b), uuid);
  assert.notEqual(a, b);
  assert.equal(await seenId('http://ids:9080/c', { 'x-request-id': 'caller-1' }), 'caller-1');
});

test('a connection manager with generate_request_id false sends none', async () => {
  assert.equal(await seenId('http://noids:9080/a'), undefined);
});
