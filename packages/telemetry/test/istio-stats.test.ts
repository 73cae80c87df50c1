// The in-process Istio metrics: Envoy's histogram semantics (le buckets, whole milliseconds),
// Prometheus text that a scraper parses, and the same series through an OpenTelemetry
// PrometheusExporter when IstioStats is one of its metric producers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { type IstioLabels, IstioStats } from '../src/index.ts';
import { IstioRecorder } from '../src/istio-metrics.ts';
import { localWorkload } from '../src/local-workload.ts';
import { OutboundLabeler } from '../src/outbound-labels.ts';
import { httpRequestEvent } from './event-fixtures.ts';
import { parsePrometheus } from './mesh-fixtures.ts';

const local = localWorkload({
  id: 'sidecar~10.0.0.1~productpage-v1-abc.default~default.svc.cluster.local',
  metadata: { NAMESPACE: 'default', WORKLOAD_NAME: 'productpage-v1', LABELS: { app: 'productpage', version: 'v1' } },
});

test('durations are recorded in whole milliseconds into Envoy’s buckets', () => {
  const stats = new IstioStats();
  const rec = new IstioRecorder('native', metrics.getMeter('x'), stats);
  const labeler = new OutboundLabeler(local, undefined);
  for (const ms of [0.4, 0.9, 3.7, 7, 1_000_000]) rec.record(labeler.labelSet(httpRequestEvent({}), false), ms, 10, 20);
  const samples = parsePrometheus(stats.prometheusText());
  const bucket = (le: string) =>
    samples.find((s) => s.name === 'istio_request_duration_milliseconds_bucket' && s.labels.le === le)?.value;
  // 0.4 and 0.9 become 0 ms (≤ 0.5); 3.7 → 3 (≤ 5); 7 (≤ 10); 1,000,000 (≤ 1,800,000)
  assert.equal(bucket('0.5'), 2);
  assert.equal(bucket('1'), 2);
  assert.equal(bucket('5'), 3);
  assert.equal(bucket('10'), 4);
  assert.equal(bucket('600000'), 4);
  assert.equal(bucket('1800000'), 5);
  assert.equal(bucket('+Inf'), 5);
  assert.equal(
    samples.find((s) => s.name === 'istio_request_duration_milliseconds_sum')?.value,
    0 + 0 + 3 + 7 + 1_000_000,
  );
  assert.equal(samples.find((s) => s.name === 'istio_requests_total')?.value, 5);
  assert.equal(samples.find((s) => s.name === 'istio_request_bytes_sum')?.value, 50);
});

test('sizes on, just above and just below the bounds, in any order, land in Envoy’s buckets: on a bound is above it', () => {
  const stats = new IstioStats();
  const rec = new IstioRecorder('native', metrics.getMeter('x'), stats);
  const set = new OutboundLabeler(local, undefined).labelSet(httpRequestEvent({}), false);
  const sizes = [
    5, 5, 4.999, 5.001, 5, 0.5, 0.5, 0, 10, 9.99, 3_600_000, 3_600_001, 3_600_000, 1, 0.6, 250, 251, 250, 249, 0, 7e9,
    1,
  ];
  for (const bytes of sizes) rec.record(set, 0, bytes, 0);
  const samples = parsePrometheus(stats.prometheusText());
  const buckets = samples.filter((s) => s.name === 'istio_request_bytes_bucket');
  assert.equal(buckets.length, 20);
  for (const b of buckets) {
    const le = b.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.labels.le);
    // Envoy (circllhist) counts a value under `le` only when its whole bin is: 5 is under le="10"
    assert.equal(b.value, sizes.filter((v) => v < le).length, `le="${b.labels.le}"`);
  }
});

test('one series per distinct label set; the subset and the flags tell series apart', () => {
  const stats = new IstioStats();
  const rec = new IstioRecorder('native', metrics.getMeter('x'), stats);
  const labeler = new OutboundLabeler(local, undefined);
  rec.record(labeler.labelSet(httpRequestEvent({}), false), 1, 0, 0);
  rec.record(labeler.labelSet(httpRequestEvent({}), false), 1, 0, 0);
  rec.record(labeler.labelSet(httpRequestEvent({ status: 503, flags: ['UF', 'URX'] }), false), 1, 0, 0);
  rec.record(labeler.labelSet(httpRequestEvent({ status: 200 }), true), 1, 0, 0);
  assert.equal(stats.size, 3);
  const byFlags = [...stats.all()].map(
    (s) => `${s.labels.response_code} ${s.labels.response_flags} ${s.labels.request_protocol} ${s.requests}`,
  );
  assert.deepEqual(byFlags.sort(), ['200 - grpc 1', '200 - http 2', '503 UF,URX http 1']);
  // no mesh to look the endpoint up in: the cluster name still names the service
  const s = [...stats.all()][0]!;
  assert.equal(s.labels.destination_service, 'reviews.default.svc.cluster.local');
  assert.equal(s.labels.destination_service_name, 'reviews');
  assert.equal(s.labels.destination_workload, 'unknown');
  assert.equal(s.labels.destination_canonical_revision, 'latest');
});

test('label values are escaped in the text exposition', () => {
  const stats = new IstioStats();
  const base = new OutboundLabeler(local, undefined).labelSet(httpRequestEvent({}), false).labels;
  const labels: IstioLabels = { ...base, destination_service: 'we"ird\\host\nname' };
  IstioStats.record(stats.series(labels)!, 1, 1, 1);
  const text = stats.prometheusText();
  assert.ok(text.includes('destination_service="we\\"ird\\\\host\\nname"'));
  assert.equal(
    parsePrometheus(text).find((s) => s.name === 'istio_requests_total')?.labels.destination_service,
    'we"ird\\host\nname',
  );
});

test('as a MetricProducer of a PrometheusExporter, the same series come out of the OTel SDK', async () => {
  const stats = new IstioStats();
  const labeler = new OutboundLabeler(local, undefined);
  const set = labeler.labelSet(httpRequestEvent({}), false);
  IstioStats.record(stats.series(set.labels)!, 12, 5, 7);
  const exporter = new PrometheusExporter({
    preventServerStart: true,
    withoutScopeInfo: true,
    withoutTargetInfo: true,
    metricProducers: [stats],
  });
  const provider = new MeterProvider({ readers: [exporter] });
  const { resourceMetrics, errors } = await exporter.collect();
  assert.deepEqual(errors, []);
  const samples = parsePrometheus(
    new PrometheusSerializer(undefined, undefined, undefined, true, true).serialize(resourceMetrics),
  );
  const total = samples.find((s) => s.name === 'istio_requests_total');
  assert.equal(total?.value, 1);
  assert.equal(total?.labels.source_workload, 'productpage-v1');
  assert.equal(
    samples.find((s) => s.name === 'istio_request_duration_milliseconds_bucket' && s.labels.le === '25')?.value,
    1,
  );
  assert.equal(
    samples.find((s) => s.name === 'istio_request_duration_milliseconds_bucket' && s.labels.le === '10')?.value,
    0,
  );
  assert.equal(samples.find((s) => s.name === 'istio_response_bytes_sum')?.value, 7);
  await provider.shutdown();
});

test('maxSeries bounds the label sets kept', () => {
  const stats = new IstioStats({ maxSeries: 1 });
  const labeler = new OutboundLabeler(local, undefined);
  assert.notEqual(stats.series(labeler.labelSet(httpRequestEvent({}), false).labels), undefined);
  assert.equal(stats.series(labeler.labelSet(httpRequestEvent({ status: 500 }), false).labels), undefined);
  assert.equal(stats.dropped, 1);
});
