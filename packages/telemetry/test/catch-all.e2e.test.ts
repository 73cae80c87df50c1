// Requests outside the mesh's routes in telemetry, as an Envoy sidecar reports them: passed
// through to a host the mesh does not know (ALLOW_ANY, route allow_any, PassthroughCluster) or
// refused (REGISTRY_ONLY, route block_all, BlackHoleCluster), each counted and logged. And the
// x-request-id Envoy's connection manager gives a request that has none.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OutboundMesh } from '@inboard/http';
import { IstioStats, installMeshTelemetry } from '../src/index.ts';
import { TwoServices } from './mesh-fixtures.ts';

const svc = new TwoServices();

before(async () => {
  await svc.start();
});
after(async () => {
  await svc.stop();
});

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('a request passed through to a host outside the mesh is counted and logged as PassthroughCluster', async () => {
  const stats = new IstioStats();
  const lines: string[] = [];
  const telemetry = installMeshTelemetry({
    mesh: svc.mesh,
    istioMetrics: 'native',
    istioStats: stats,
    tracing: false,
    inbound: false,
    accessLog: { stream: { write: (l: string) => lines.push(l) }, format: 'json' },
  });
  try {
    const authority = `127.0.0.1:${svc.port}`;
    const r = await svc.mesh.fetch(`http://${authority}/direct`, { headers: { 'user-agent': 'probe/1' } });
    assert.equal(await r.text(), '{"reviews":[]}');
    assert.equal(svc.seen.at(-1)?.url, '/direct');
    const series = [...stats.all()];
    assert.equal(series.length, 1);
    const s = series[0]!;
    assert.equal(s.requests, 1);
    assert.equal(s.labels.reporter, 'source');
    assert.equal(s.labels.destination_service_name, 'PassthroughCluster');
    assert.equal(s.labels.destination_service, authority);
    assert.equal(s.labels.destination_workload, 'unknown');
    assert.equal(s.labels.response_code, '200');
    assert.equal(s.labels.response_flags, '-');
    assert.equal(lines.length, 1);
    const log = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(log.upstream_cluster, 'PassthroughCluster');
    assert.equal(log.route_name, 'allow_any');
    assert.equal(log.response_code, 200);
    assert.equal(log.user_agent, 'probe/1');
    assert.equal(log.bytes_sent, 14);
  } finally {
    telemetry.close();
  }
});

test('a request REGISTRY_ONLY refuses is counted and logged as BlackHoleCluster', async () => {
  const strict = new OutboundMesh({ xds: svc.clientXds, unknownHosts: 'reject' });
  const stats = new IstioStats();
  const lines: string[] = [];
  const telemetry = installMeshTelemetry({
    mesh: strict,
    istioMetrics: 'native',
    istioStats: stats,
    tracing: false,
    inbound: false,
    accessLog: { stream: { write: (l: string) => lines.push(l) }, format: 'text' },
  });
  try {
    const r = await strict.fetch('http://ratings:9080/ratings/1');
    assert.equal(r.status, 502);
    await r.text();
    const series = [...stats.all()];
    assert.equal(series.length, 1);
    const s = series[0]!;
    assert.equal(s.labels.destination_service_name, 'BlackHoleCluster');
    assert.equal(s.labels.destination_service, 'ratings:9080');
    assert.equal(s.labels.response_code, '502');
    assert.equal(lines.length, 1);
    // a direct response: no upstream cluster or host, the route block_all
    assert.match(lines[0]!, /"GET \/ratings\/1 HTTP\/1\.1" 502 .* "ratings:9080" "-" - - - - - block_all\n$/);
  } finally {
    telemetry.close();
    await strict.close();
  }
});

test('a request through the mesh without x-request-id gets one (a UUID v4), sent upstream and logged', async () => {
  const lines: string[] = [];
  const telemetry = installMeshTelemetry({
    mesh: svc.mesh,
    istioMetrics: false,
    tracing: false,
    inbound: false,
    accessLog: { stream: { write: (l: string) => lines.push(l) }, format: 'json' },
  });
  try {
    await (await svc.mesh.fetch('http://reviews:9080/reviews/1')).text();
    const sent = svc.seen.at(-1)?.headers['x-request-id'];
    assert.ok(typeof sent === 'string' && UUID_V4.test(sent), `x-request-id upstream: ${sent}`);
    assert.equal((JSON.parse(lines[0]!) as { request_id: string }).request_id, sent);
    // the caller's own is kept
    await (await svc.mesh.fetch('http://reviews:9080/reviews/1', { headers: { 'x-request-id': 'mine-1' } })).text();
    assert.equal(svc.seen.at(-1)?.headers['x-request-id'], 'mine-1');
  } finally {
    telemetry.close();
  }
  // without telemetry too: it is the data plane's doing
  await (await svc.mesh.fetch('http://reviews:9080/reviews/2')).text();
  assert.match(String(svc.seen.at(-1)?.headers['x-request-id']), UUID_V4);
});
