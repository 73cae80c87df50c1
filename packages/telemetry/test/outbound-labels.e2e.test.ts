// The outbound label sets are cached per target snapshot: when EDS brings new endpoint metadata,
// the next request is labelled from it (not from the cached set of the previous snapshot); and
// per endpoint: requests spread over endpoints of different workloads are each labelled with
// their own endpoint's.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { IstioStats, installMeshTelemetry, type MeshTelemetry } from '../src/index.ts';
import { TwoServices } from './mesh-fixtures.ts';

const svc = new TwoServices();
const stats = new IstioStats();
let telemetry: MeshTelemetry;

before(async () => {
  await svc.start();
  // outbound only: the server in this process must not answer the metadata exchange, so the
  // labels come from EDS
  telemetry = installMeshTelemetry({
    mesh: svc.mesh,
    inbound: false,
    istioMetrics: 'native',
    istioStats: stats,
    tracing: false,
  });
});

after(async () => {
  telemetry.close();
  await svc.stop();
});

async function call(): Promise<void> {
  const res = await svc.mesh.fetch('http://reviews:9080/reviews/1');
  assert.equal(res.status, 200);
  await res.text();
}

function sourceWorkloads(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of stats.all())
    if (s.labels.reporter === 'source')
      out[s.labels.destination_workload] = (out[s.labels.destination_workload] ?? 0) + s.requests;
  return out;
}

test('a new endpoint workload in EDS relabels the next request', async () => {
  await call();
  await call();
  assert.deepEqual(sourceWorkloads(), { 'reviews-v1': 2 });

  const before = svc.mesh.target('reviews:9080').compiled;
  svc.endpointWorkload = 'reviews-v2;default;reviews;v2;Kubernetes';
  svc.push();
  while (svc.mesh.target('reviews:9080').compiled === before) await new Promise((r) => setImmediate(r));

  await call();
  assert.deepEqual(sourceWorkloads(), { 'reviews-v1': 2, 'reviews-v2': 1 });
});

/** Waits until the mesh compiled the snapshot pushed after `before`. */
async function applied(before: unknown): Promise<void> {
  while (svc.mesh.target('reviews:9080').compiled === before) await new Promise((r) => setImmediate(r));
}

test('requests spread over two endpoints are each labelled with their endpoint’s workload', async () => {
  const other = http.createServer((_req, res) => res.end('{"reviews":[]}'));
  other.listen(0, '127.0.0.1');
  await once(other, 'listening');
  try {
    const before = svc.mesh.target('reviews:9080').compiled;
    svc.endpointWorkload = 'reviews-v1;default;reviews;v1;Kubernetes';
    svc.extraEndpoints = [
      { port: (other.address() as AddressInfo).port, workload: 'reviews-v3;default;reviews;v3;Kubernetes' },
    ];
    svc.push();
    await applied(before);
    const was = sourceWorkloads();
    // round robin: the two endpoints take turns
    for (let i = 0; i < 6; i++) await call();
    const now = sourceWorkloads();
    assert.equal((now['reviews-v1'] ?? 0) - (was['reviews-v1'] ?? 0), 3);
    assert.equal((now['reviews-v3'] ?? 0) - (was['reviews-v3'] ?? 0), 3);
  } finally {
    svc.extraEndpoints = [];
    svc.push();
    other.close();
  }
});
