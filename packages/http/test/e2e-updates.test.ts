// Configuration changes under live traffic: a new snapshot is compiled once and swapped in for
// new requests while a request in flight finishes on the snapshot it started with; endpoint-only
// changes keep the cluster's state; hosts join and leave the mesh.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { OutboundMesh } from '../src/index.ts';
import {
  type ClusterConfig,
  ControlPlane,
  cluster,
  forward,
  istioRetry,
  respond,
  type ServiceConfig,
  Upstream,
} from './e2e-fixtures.ts';

const a = new Upstream('a');
const b = new Upstream('b');
const direct = new Upstream('direct');
const cp = new ControlPlane();
let mesh: OutboundMesh;
const CA = cluster('svc', 9080, 'a');
const CB = cluster('svc', 9080, 'b');

function svc(to: string, retry = istioRetry(['5xx'])): ServiceConfig {
  return {
    name: 'svc',
    port: 9080,
    routes: [{ name: 'all', match: { prefix: '/' }, route: forward(to, { retry_policy: retry }) }],
  };
}

const clusters = (): ClusterConfig[] => [
  { name: CA, endpoints: [{ port: a.port }] },
  { name: CB, endpoints: [{ port: b.port }] },
];

async function body(url: string): Promise<string> {
  const r = await request(url, { dispatcher: mesh.dispatcher });
  return r.body.text();
}

before(async () => {
  for (const u of [a, b, direct]) await u.start();
  await cp.start([svc(CA)], clusters());
  mesh = cp.mesh();
  await mesh.ready('svc:9080');
});

after(async () => {
  await mesh.close();
  await cp.stop();
  for (const u of [a, b, direct]) await u.stop();
});

/** Waits until the mesh has compiled a snapshot of `target` matching `pred`. */
async function compiled(target: string, pred: (generation: number) => boolean): Promise<void> {
  const snap = await cp.snapshotWhere(target, (s) => pred(s.generation));
  await mesh.ready(target);
  while ((mesh.target(target).compiled?.generation ?? 0) < snap.generation) await new Promise((r) => setImmediate(r));
}

describe('snapshot updates', () => {
  test('a request in flight finishes on its snapshot while new requests use the new one', async () => {
    let held: ServerResponse | undefined;
    a.handler = (_req, res) => {
      if (held === undefined) held = res;
      else respond(res, 200, 'a again');
    };
    const before = a.seen.length;
    const pending = request('http://svc:9080/x', { dispatcher: mesh.dispatcher });
    await a.received(before + 1);
    const gen = mesh.target('svc:9080').compiled!.generation;

    // the route now goes to b, without retries
    cp.set([svc(CB, undefined)], clusters());
    await compiled('svc:9080', (g) => g > gen);
    assert.equal(await body('http://svc:9080/new'), 'b');

    // the held request's 503 is retried under its own (old) policy, on its own (old) cluster
    respond(held!, 503, 'a failed');
    const r = await pending;
    assert.equal(r.statusCode, 200);
    assert.equal(await r.body.text(), 'a again');
    assert.equal(a.seen.at(-1)!.headers['x-envoy-attempt-count'], '2');
  });

  test('an endpoint-only change keeps the cluster state; a cluster config change rebuilds it, keeping hosts', async () => {
    const t = mesh.target('svc:9080');
    const stateB = t.compiled!.clusters.get(CB);
    assert.equal(stateB?.kind, 'cluster');
    const gen = t.compiled!.generation;
    const hostB = stateB.kind === 'cluster' ? stateB.state.host(`127.0.0.1:${b.port}`) : undefined;
    assert.ok(hostB);

    // add an endpoint to b
    cp.set(
      [svc(CB, undefined)],
      [
        { name: CA, endpoints: [{ port: a.port }] },
        { name: CB, endpoints: [{ port: b.port }, { port: a.port }] },
      ],
    );
    await compiled('svc:9080', (g) => g > gen);
    const after = t.compiled!.clusters.get(CB);
    assert.ok(after?.kind === 'cluster' && stateB.kind === 'cluster');
    assert.equal(after.state, stateB.state, 'same ClusterState object');
    assert.equal(after.state.hosts.length, 2);
    assert.equal(after.state.host(`127.0.0.1:${b.port}`), hostB, 'same Host object');

    // change the cluster itself (circuit breakers): new state, same Host objects
    const gen2 = t.compiled!.generation;
    cp.set(
      [svc(CB, undefined)],
      [
        { name: CA, endpoints: [{ port: a.port }] },
        {
          name: CB,
          endpoints: [{ port: b.port }, { port: a.port }],
          extra: { circuit_breakers: { thresholds: [{ priority: 0, max_requests: { value: 7 } }] } },
        },
      ],
    );
    await compiled('svc:9080', (g) => g > gen2);
    const rebuilt = t.compiled!.clusters.get(CB);
    assert.ok(rebuilt?.kind === 'cluster');
    assert.notEqual(rebuilt.state, stateB.state);
    assert.equal(rebuilt.state.circuitBreakers.default.requests.max, 7);
    assert.equal(rebuilt.state.host(`127.0.0.1:${b.port}`), hostB);
  });
});

describe('joining and leaving the mesh', () => {
  test('a host outside the mesh passes through, is routed once the control plane serves it, and passes through again after', async () => {
    const target = `127.0.0.1:${direct.port}`;
    const url = `http://${target}/hello`;
    assert.equal(await body(url), 'direct');
    assert.equal(mesh.target(target).state, 'absent');

    const joined: ServiceConfig = {
      name: '127.0.0.1',
      port: direct.port,
      routes: [{ name: 'all', match: { prefix: '/' }, route: forward(CA) }],
    };
    a.handler = (_req, res) => respond(res, 200, 'a');
    cp.set([svc(CB, undefined), joined], clusters());
    await compiled(target, () => true);
    assert.equal(await body(url), 'a', 'routed through the mesh now');
    assert.equal(a.seen.at(-1)!.headers.host, target);

    cp.set([svc(CB, undefined)], clusters());
    while (mesh.target(target).state !== 'absent') await new Promise((r) => setImmediate(r));
    assert.equal(await body(url), 'direct');
  });
});
