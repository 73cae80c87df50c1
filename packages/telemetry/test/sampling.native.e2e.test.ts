// Sampling of the mesh's native spans through a real mesh on loopback: a configured Sampler decides
// each request's span once, and the request's attempts take that decision, as Envoy's upstream
// spans take the request's; a request not sampled still sends each attempt's context upstream.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { type Attributes, type Context, type SpanKind, TraceFlags } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace';
import { installMeshTelemetry, type MeshTelemetry, ParentBasedRatioSampler } from '../src/index.ts';
import { collectingProcessor, TwoServices } from './mesh-fixtures.ts';

const svc = new TwoServices();
const spans = new InMemorySpanExporter();
let decision: SamplingDecision = SamplingDecision.RECORD_AND_SAMPLED;
const asked: { name: string; kind: SpanKind; method: unknown }[] = [];
const sampler: Sampler = {
  shouldSample(_ctx: Context, _traceId: string, name: string, kind: SpanKind, attributes: Attributes): SamplingResult {
    asked.push({ name, kind, method: attributes['http.request.method'] });
    return { decision };
  },
  toString: () => 'recording',
};
// every span that ends, sampled or not
const ended: ReadableSpan[] = [];
let telemetry: MeshTelemetry | undefined;

function install(chosen: Sampler): void {
  telemetry?.close();
  telemetry = installMeshTelemetry({
    mesh: svc.mesh,
    inbound: false,
    istioMetrics: false,
    httpMetrics: false,
    tracing: {
      spanProcessors: [collectingProcessor(ended), new SimpleSpanProcessor({ exporter: spans })],
      resource: resourceFromAttributes({ 'service.name': 'productpage' }),
      sampler: chosen,
    },
  });
}

before(async () => {
  await svc.start();
  install(sampler);
});

afterEach(() => {
  spans.reset();
  ended.length = 0;
  asked.length = 0;
});

after(async () => {
  telemetry?.close();
  await svc.stop();
});

/** The first request upstream is answered 503 (retried under Istio's default policy), the next 200. */
async function retriedRequest(): Promise<string[]> {
  const before = svc.seen.length;
  svc.handler = (_req, res, n) => {
    res.writeHead(n === before + 1 ? 503 : 200, { 'content-type': 'text/plain' });
    res.end(n === before + 1 ? 'busy' : 'ok');
  };
  const res = await svc.mesh.fetch('http://reviews:9080/reviews/3');
  assert.equal(res.status, 200);
  await res.text();
  const upstream = svc.seen.slice(before);
  assert.equal(upstream.length, 2);
  return upstream.map((s) => String(s.headers.traceparent));
}

/** The request span and its two attempts' spans, each attempt's context the header it sent. */
function assertRecorded(
  finished: readonly ReadableSpan[],
  headers: readonly string[],
  flags: TraceFlags,
): ReadableSpan {
  assert.equal(finished.length, 3);
  const request = finished.find((s) => s.parentSpanContext === undefined)!;
  const attempts = finished.filter((s) => s.parentSpanContext?.spanId === request.spanContext().spanId);
  assert.equal(attempts.length, 2);
  for (const [i, a] of attempts.entries()) {
    const sc = a.spanContext();
    assert.equal(sc.traceFlags, flags);
    assert.equal(headers[i], `00-${sc.traceId}-${sc.spanId}-0${flags}`);
  }
  return request;
}

/** Two attempts of a request not sampled: one trace, each attempt its own span id, flags 00. */
function assertUnsampledContexts(headers: readonly string[]): void {
  const [first, second] = headers.map((h) => /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(h));
  assert.ok(first && second, `traceparent headers ${headers.join(', ')}`);
  assert.equal(first[1], second[1], 'one trace');
  assert.notEqual(first[2], second[2], 'each attempt its own span id');
}

test('the sampler decides the request span once; its attempts follow that decision', async () => {
  decision = SamplingDecision.RECORD_AND_SAMPLED;
  const headers = await retriedRequest();
  assert.deepEqual(asked, [{ name: 'GET', kind: 2, method: 'GET' }]);
  assertRecorded(spans.getFinishedSpans(), headers, TraceFlags.SAMPLED);
});

test('a request the sampler drops records nothing and still sends a fresh context per attempt', async () => {
  decision = SamplingDecision.NOT_RECORD;
  const headers = await retriedRequest();
  assert.equal(asked.length, 1);
  assert.equal(spans.getFinishedSpans().length, 0);
  assert.equal(ended.length, 0);
  assertUnsampledContexts(headers);
});

test('a request recorded but not sampled: its attempts are recorded, not sampled, like it', async () => {
  decision = SamplingDecision.RECORD;
  const headers = await retriedRequest();
  assert.equal(asked.length, 1);
  // SimpleSpanProcessor exports sampled spans only: nothing reaches the exporter
  assert.equal(spans.getFinishedSpans().length, 0);
  assertRecorded(ended, headers, TraceFlags.NONE);
});

test('Istio’s ratio sampler, decided from the ids: none sampled still sends contexts; all sampled records all', async () => {
  try {
    install(new ParentBasedRatioSampler(0));
    const headers = await retriedRequest();
    assert.equal(ended.length, 0);
    assertUnsampledContexts(headers);

    install(new ParentBasedRatioSampler(1));
    const sampled = await retriedRequest();
    const request = assertRecorded(spans.getFinishedSpans(), sampled, TraceFlags.SAMPLED);
    assert.equal(request.attributes['url.full'], 'http://reviews:9080/reviews/3');
  } finally {
    install(sampler);
  }
});
