// Session affinity through RING_HASH: Istio's consistentHash httpCookie (with a ttl: the mesh
// generates the cookie and sets it on the response) and useSourceIp (the in-process caller's
// source is the workload's own IP, from the node id), against real loopback upstreams and a real
// ADS server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { seededRandom } from '../src/cluster/random-source.ts';
import { type OutboundMesh, workloadIp } from '../src/mesh/outbound-mesh.ts';
import { ControlPlane, cluster, forward, type RouteActionIn, type ServiceConfig, Upstream } from './e2e-fixtures.ts';

const upstreams = ['a', 'b', 'c', 'd'].map((n) => new Upstream(n));
const cp = new ControlPlane();
let mesh: OutboundMesh;

function svc(name: string, hashPolicy: RouteActionIn['hash_policy']): ServiceConfig {
  const action = forward(cluster(name, 9080), { retry_policy: undefined, hash_policy: hashPolicy });
  return { name, port: 9080, routes: [{ name, match: { prefix: '/' }, route: action }] };
}

before(async () => {
  await Promise.all(upstreams.map((u) => u.start()));
  const services = [
    svc('cookie', [
      {
        cookie: {
          name: 'sticky',
          ttl: { seconds: 3600, nanos: 0 },
          path: '/',
          attributes: [{ name: 'SameSite', value: 'Lax' }],
        },
      },
    ]),
    svc('srcip', [{ connection_properties: { source_ip: true } }]),
  ];
  const clusters = ['cookie', 'srcip'].map((n) => ({
    name: cluster(n, 9080),
    endpoints: upstreams.map((u) => ({ port: u.port })),
    extra: { lb_policy: 2 }, // RING_HASH
  }));
  await cp.start(services, clusters);
  mesh = cp.mesh({ random: seededRandom(7) });
});

after(async () => {
  await mesh.close();
  await cp.stop();
  await Promise.all(upstreams.map((u) => u.stop()));
});

async function get(name: string, headers: Record<string, string> = {}) {
  const r = await request(`http://${name}:9080/`, { dispatcher: mesh.dispatcher, headers });
  const setCookie = r.headers['set-cookie'];
  return {
    upstream: await r.body.text(),
    setCookies: setCookie === undefined ? [] : typeof setCookie === 'string' ? [setCookie] : setCookie,
  };
}

describe('consistent hash session affinity', () => {
  test('httpCookie with a ttl: the first response sets the cookie, and requests carrying it stay on that host', async () => {
    const first = await get('cookie');
    assert.equal(first.setCookies.length, 1);
    const m = /^sticky="([0-9a-f]{16})"; Max-Age=3600; Path=\/; SameSite=Lax; HttpOnly$/.exec(first.setCookies[0]!);
    assert.ok(m, `unexpected Set-Cookie ${first.setCookies[0]}`);
    for (let i = 0; i < 12; i++) {
      const next = await get('cookie', { cookie: `sticky=${m[1]}` });
      assert.equal(next.upstream, first.upstream);
      assert.deepEqual(next.setCookies, [], 'no new cookie once the caller sends one');
    }
  });

  test('httpCookie: each request without the cookie starts a new session with its own cookie', async () => {
    const sessions = new Map<string, string>();
    for (let i = 0; i < 12; i++) {
      const r = await get('cookie');
      const value = /^sticky="([0-9a-f]{16})"/.exec(r.setCookies[0] ?? '')![1]!;
      sessions.set(value, r.upstream);
    }
    assert.equal(sessions.size, 12);
    assert.ok(new Set(sessions.values()).size > 1, 'new sessions spread over the hosts');
    for (const [value, upstream] of sessions) {
      assert.equal((await get('cookie', { cookie: `sticky=${value}` })).upstream, upstream);
    }
  });

  test('useSourceIp: every request from this workload lands on the same host', async () => {
    const hits = new Set<string>();
    for (let i = 0; i < 16; i++) hits.add((await get('srcip')).upstream);
    assert.equal(hits.size, 1);
  });
});

test('the workload IP is the first INSTANCE_IPS entry, else the node id IP', () => {
  const node = (id: string, metadata: Record<string, string> = {}) => ({
    id,
    cluster: '',
    metadata,
    userAgentName: '',
    userAgentVersion: '',
    clientFeatures: [],
  });
  assert.equal(workloadIp(node('sidecar~10.1.2.3~p.ns~ns.svc.cluster.local')), '10.1.2.3');
  assert.equal(
    workloadIp(node('sidecar~10.1.2.3~p.ns~ns.svc.cluster.local', { INSTANCE_IPS: '10.9.9.9,fd00::1' })),
    '10.9.9.9',
  );
  assert.equal(workloadIp(node('sidecar~not-an-ip~p.ns~ns.svc.cluster.local')), undefined);
});
