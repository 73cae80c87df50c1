// httpMetrics: 'native' aggregates http.client.request.duration / http.server.request.duration
// in-process; exported through an SDK MetricReader as a MetricProducer, the series must be the
// ones the OpenTelemetry SDK builds from the same requests recorded on a Meter.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { HttpStats, installMeshTelemetry, type MeshTelemetry } from '../src/index.ts';
import { parsePrometheus, type Sample, TwoServices } from './mesh-fixtures.ts';

const svc = new TwoServices();
const httpStats = new HttpStats();
const nativeReader = new PrometheusExporter({ preventServerStart: true, metricProducers: [httpStats] });
const meterReader = new PrometheusExporter({ preventServerStart: true });
const nativeProvider = new MeterProvider({ readers: [nativeReader] });
const meterProvider = new MeterProvider({ readers: [meterReader] });
const installed: MeshTelemetry[] = [];

before(async () => {
  await svc.start();
  const common = { istioMetrics: false, tracing: false } as const;
  installed.push(
    installMeshTelemetry({ mesh: svc.mesh, xds: svc.serverXds, httpMetrics: 'native', httpStats, ...common }),
    installMeshTelemetry({ mesh: svc.mesh, xds: svc.serverXds, meterProvider, ...common }),
  );
  // a mix of statuses: 200s, a 403 (the server's RBAC) and a 404 (no route)
  for (const path of ['/reviews/1', '/reviews/2', '/admin/x', '/nowhere']) {
    const r = await svc.mesh.fetch(`http://reviews:9080${path}`);
    await r.text();
  }
});

after(async () => {
  for (const t of installed) t.close();
  await svc.stop();
  await nativeProvider.shutdown();
  await meterProvider.shutdown();
});

async function httpSamples(reader: PrometheusExporter): Promise<Sample[]> {
  const { resourceMetrics } = await reader.collect();
  const text = new PrometheusSerializer().serialize(resourceMetrics);
  return parsePrometheus(text).filter((s) => s.name.startsWith('http_client_request_duration'));
}

const shape = (xs: readonly Sample[]) =>
  xs
    .filter((s) => !s.name.endsWith('_sum'))
    .map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${s.value}`)
    .sort();

test('native HTTP client durations are exported with the SDK’s series, buckets and counts', async () => {
  const native = await httpSamples(nativeReader);
  const sdk = await httpSamples(meterReader);
  assert.ok(native.length > 0);
  assert.deepEqual(shape(native), shape(sdk));
  const statuses = new Set(native.map((s) => s.labels.http_response_status_code));
  assert.deepEqual([...statuses].sort(), ['200', '403', '404']);
  assert.equal(installed[0]!.httpStats, httpStats);
  assert.equal(installed[1]!.httpStats, undefined);
});
