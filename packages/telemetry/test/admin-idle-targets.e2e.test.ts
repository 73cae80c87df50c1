// A target the outbound mesh released for being idle disappears from the admin endpoints as from
// the mesh (/config_dump: its listener, route, cluster and endpoints; /clusters: its cluster), the
// endpoints keep answering, and neither they nor a request event arriving after the release
// (a long passthrough download) resolve it again; the next request through the mesh does.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ManualClock } from '@inboard/xds';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { type AdminServer, installMeshTelemetry, type MeshTelemetry, startAdminServer } from '../src/index.ts';
import { httpGet, REVIEWS_CLUSTER, TwoServices } from './mesh-fixtures.ts';

const IDLE = 60_000;
const clock = new ManualClock();
const svc = new TwoServices();
const meterProvider = new MeterProvider();
let telemetry: MeshTelemetry;
let admin: AdminServer;
let held: ServerResponse | undefined;
const outside = http.createServer((_req, res) => {
  held = res;
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.write('first ');
});

before(async () => {
  outside.listen(0, '127.0.0.1');
  await once(outside, 'listening');
  svc.meshOptions = { clock, idleTimeoutMs: IDLE };
  await svc.start();
  telemetry = installMeshTelemetry({ mesh: svc.mesh, inbound: false, meterProvider });
  admin = await startAdminServer({ mesh: svc.mesh, port: 0 });
});

after(async () => {
  telemetry?.close();
  await admin?.close();
  await svc.stop();
  outside.closeAllConnections();
  await new Promise<void>((resolve) => outside.close(() => resolve()));
  await meterProvider.shutdown();
});

async function dumped(): Promise<{ listeners: string[]; clusters: string[] }> {
  const r = await httpGet(`${admin.url}/config_dump`);
  assert.equal(r.status, 200);
  const dump = JSON.parse(r.body) as { configs: Record<string, unknown>[] };
  const section = (t: string) => dump.configs.find((c) => c['@type'] === `type.googleapis.com/envoy.admin.v3.${t}`);
  const listeners = (section('ListenersConfigDump') as { dynamic_listeners?: { name: string }[] }).dynamic_listeners;
  const clusters = (section('ClustersConfigDump') as { dynamic_active_clusters?: { cluster: { name: string } }[] })
    .dynamic_active_clusters;
  return { listeners: (listeners ?? []).map((l) => l.name), clusters: (clusters ?? []).map((c) => c.cluster.name) };
}

async function clusterNames(): Promise<string[]> {
  const r = await httpGet(`${admin.url}/clusters?format=json`);
  assert.equal(r.status, 200);
  return (JSON.parse(r.body) as { cluster_statuses: { name: string }[] }).cluster_statuses.map((c) => c.name);
}

async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !pred(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(pred(), 'condition not reached');
}

test('a released target leaves /config_dump and /clusters, which keep answering, and comes back with the next request', async () => {
  const res = await svc.mesh.fetch('http://reviews:9080/reviews/1');
  assert.equal(res.status, 200);
  await res.text();
  assert.ok((await dumped()).listeners.includes('reviews:9080'));
  assert.deepEqual(await clusterNames(), [REVIEWS_CLUSTER]);

  // a download from a host outside the mesh, still running when the targets are released
  const target = `127.0.0.1:${(outside.address() as AddressInfo).port}`;
  const download = await svc.mesh.fetch(`http://${target}/file`);
  assert.equal(svc.mesh.find(target)?.state, 'absent');

  clock.advance(IDLE + IDLE / 4);
  assert.equal(svc.mesh.find('reviews:9080'), undefined);
  assert.equal(svc.mesh.find(target), undefined);
  await until(() => !svc.clientXds.client.dump().some((r) => r.name === 'reviews:9080'));
  const after = await dumped();
  assert.ok(!after.listeners.includes('reviews:9080'), after.listeners.join());
  assert.ok(!after.clusters.includes(REVIEWS_CLUSTER), after.clusters.join());
  assert.deepEqual(await clusterNames(), []);
  assert.equal(svc.mesh.find('reviews:9080'), undefined, 'the admin endpoints resolve nothing');

  // its request event is published after the release: labelling it resolves nothing either
  held!.end('last');
  assert.equal(await download.text(), 'first last');
  assert.equal(svc.mesh.find(target), undefined);

  const again = await svc.mesh.fetch('http://reviews:9080/reviews/2');
  assert.equal(again.status, 200);
  await again.text();
  assert.ok((await dumped()).listeners.includes('reviews:9080'));
  assert.deepEqual(await clusterNames(), [REVIEWS_CLUSTER]);
});
