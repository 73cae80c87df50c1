// Fault injection (envoy.filters.http.fault, per-route overrides as Istio writes them) through
// the mesh dispatcher: delays on the injected clock (DI), aborts as local replies (FI), both,
// gRPC aborts, header-controlled aborts and percentages.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '@inboard/xds';
import { packAny } from '@inboard/xds/codec';
import { request } from 'undici';
import { seededRandom } from '../src/cluster/index.ts';
import type { OutboundMesh } from '../src/index.ts';
import {
  ControlPlane,
  cluster,
  FAULT_FILTER,
  faultOverride,
  forward,
  ms,
  type RouteIn,
  Upstream,
  until,
} from './e2e-fixtures.ts';

const ALL = { numerator: 100, denominator: 0 /* HUNDRED */ };
const HALF = { numerator: 50, denominator: 0 };

const backend = new Upstream('backend');
const cp = new ControlPlane();
const clock = new ManualClock();
let mesh: OutboundMesh;

const C = cluster('faulty', 9080);
const routes: RouteIn[] = [
  {
    name: 'delay',
    match: { prefix: '/delay' },
    route: forward(C),
    typed_per_filter_config: faultOverride({ delay: { fixed_delay: ms(5000), percentage: ALL } }),
  },
  {
    name: 'abort',
    match: { prefix: '/abort' },
    route: forward(C),
    typed_per_filter_config: faultOverride({ abort: { http_status: 503, percentage: ALL } }),
  },
  {
    name: 'both',
    match: { prefix: '/both' },
    route: forward(C),
    typed_per_filter_config: faultOverride({
      delay: { fixed_delay: ms(2000), percentage: ALL },
      abort: { http_status: 500, percentage: ALL },
    }),
  },
  {
    name: 'grpc',
    match: { prefix: '/grpc' },
    route: forward(C),
    typed_per_filter_config: faultOverride({ abort: { grpc_status: 14, percentage: ALL } }),
  },
  {
    name: 'header',
    match: { prefix: '/header' },
    route: forward(C),
    typed_per_filter_config: faultOverride({ abort: { header_abort: {}, percentage: ALL } }),
  },
  {
    name: 'half',
    match: { prefix: '/half' },
    route: forward(C),
    typed_per_filter_config: faultOverride({ abort: { http_status: 503, percentage: HALF } }),
  },
  // local-reply routes: the fault filter runs before the router answers them
  {
    name: 'direct',
    match: { prefix: '/direct' },
    direct_response: { status: 200, body: { inline_string: 'direct' } },
    typed_per_filter_config: faultOverride({ abort: { http_status: 418, percentage: ALL } }),
  },
  {
    name: 'redirect',
    match: { prefix: '/redirect' },
    redirect: { path_redirect: '/elsewhere' },
    typed_per_filter_config: faultOverride({ abort: { http_status: 418, percentage: ALL } }),
  },
  {
    name: 'no-cluster',
    match: { prefix: '/no-cluster' },
    route: forward(cluster('gone', 9080)),
    typed_per_filter_config: faultOverride({ abort: { http_status: 418, percentage: ALL } }),
  },
  {
    name: 'direct-only-for-cluster',
    match: { prefix: '/restricted' },
    direct_response: { status: 200, body: { inline_string: 'direct' } },
    typed_per_filter_config: faultOverride({ abort: { http_status: 418, percentage: ALL }, upstream_cluster: C }),
  },
  {
    // the route aborts everything, but its only weighted cluster disables the fault filter
    name: 'canary-exempt',
    match: { prefix: '/canary' },
    route: {
      ...forward(''),
      cluster: undefined,
      weighted_clusters: {
        clusters: [
          {
            name: C,
            weight: { value: 1 },
            typed_per_filter_config: {
              [FAULT_FILTER]: packAny('envoy.config.route.v3.FilterConfig', { disabled: true }),
            },
          },
        ],
      },
    },
    typed_per_filter_config: faultOverride({ abort: { http_status: 418, percentage: ALL } }),
  },
  { name: 'clean', match: { prefix: '/' }, route: forward(C) },
];

before(async () => {
  await backend.start();
  await cp.start([{ name: 'faulty', port: 9080, routes }], [{ name: C, endpoints: [{ port: backend.port }] }]);
  // the tests count the clock's timers: no idle-target sweep among them
  mesh = cp.mesh({ clock, random: seededRandom(11), idleTimeoutMs: 0 });
  await mesh.ready('faulty:9080');
});

after(async () => {
  await mesh.close();
  await cp.stop();
  await backend.stop();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const r = await request(`http://faulty:9080${path}`, { dispatcher: mesh.dispatcher, headers });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

describe('fault injection', () => {
  test('a fixed delay holds the request on the clock, then forwards it with flag DI', async () => {
    const before = backend.seen.length;
    const pending = get('/delay');
    // the delay (Envoy's default stream idle timeout is undici's timers, not the clock's)
    await until(() => clock.pending === 1);
    clock.advance(4999);
    assert.equal(clock.pending, 1, 'still delayed');
    assert.equal(backend.seen.length, before);
    clock.advance(1);
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'backend');
    assert.equal(r.headers['x-inboard-response-flags'], 'DI');
    assert.equal(backend.seen.length, before + 1);
  });

  test('an abort answers locally with its status and flag FI', async () => {
    const before = backend.seen.length;
    const r = await get('/abort');
    assert.equal(r.status, 503);
    assert.equal(r.body, 'fault filter abort');
    assert.equal(r.headers['x-inboard-response-flags'], 'FI');
    assert.equal(backend.seen.length, before, 'the upstream never saw it');
  });

  test('delay then abort: DI,FI', async () => {
    const pending = get('/both');
    await until(() => clock.pending === 1);
    clock.advance(2000);
    const r = await pending;
    assert.equal(r.status, 500);
    assert.equal(r.headers['x-inboard-response-flags'], 'DI,FI');
  });

  test('a gRPC abort is HTTP 200 with grpc-status', async () => {
    const r = await get('/grpc', { 'content-type': 'application/grpc' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['grpc-status'], '14');
    assert.equal(r.headers['content-type'], 'application/grpc');
  });

  // Envoy's fault filter sends the abort as a local reply of 200 with the grpc_status; the local
  // reply takes the gRPC form only for a gRPC request, so a plain caller gets 200 text/plain.
  test('a gRPC abort on a plain HTTP request: 200 text/plain "fault filter abort", no grpc-status', async () => {
    const r = await get('/grpc');
    assert.equal(r.status, 200);
    assert.equal(r.headers['grpc-status'], undefined);
    assert.equal(r.headers['content-type'], 'text/plain');
    assert.equal(r.body, 'fault filter abort');
    assert.equal(r.headers['x-inboard-response-flags'], 'FI');
  });

  test('header_abort takes the status from x-envoy-fault-abort-request', async () => {
    const r = await get('/header', { 'x-envoy-fault-abort-request': '429' });
    assert.equal(r.status, 429);
    assert.equal(r.headers['x-inboard-response-flags'], 'FI');
    const clean = await get('/header');
    assert.equal(clean.status, 200, 'no header, no abort');
  });

  test('a 50% abort hits about half the requests', async () => {
    let aborted = 0;
    const n = 200;
    for (let i = 0; i < n; i++) if ((await get('/half')).status === 503) aborted++;
    assert.ok(Math.abs(aborted / n - 0.5) < 0.1, `${aborted}/${n} aborted`);
  });

  test('the fault filter runs before the router: direct responses, redirects and unknown clusters abort too', async () => {
    for (const path of ['/direct', '/redirect', '/no-cluster']) {
      const r = await get(path);
      assert.equal(r.status, 418, path);
      assert.equal(r.headers['x-inboard-response-flags'], 'FI', path);
      assert.equal(r.headers.location, undefined, path);
    }
    // upstream_cluster never matches a route without a cluster: the direct response stands
    const r = await get('/restricted');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'direct');
  });

  test("a weighted cluster's FilterConfig can disable the fault filter its route configures", async () => {
    const before = backend.seen.length;
    const r = await get('/canary');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-inboard-response-flags'], undefined);
    assert.equal(backend.seen.length, before + 1);
  });

  test('routes without a fault are untouched', async () => {
    const r = await get('/plain');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-inboard-response-flags'], undefined);
  });
});
