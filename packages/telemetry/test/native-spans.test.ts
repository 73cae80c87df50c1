// Native spans (tracing.spanProcessors) as span processors, exporters and the application see them:
// sampling as the SDK's default (and a configured Sampler asked as the SDK asks it), suppressed
// tracing, times, the Span API's rules, and OTLP serialization by the transformer the SDK's OTLP
// exporters use. The mesh's own use of them runs in the *.native.e2e.test.ts files.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { suppressTracing } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  SimpleSpanProcessor,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { installMeshTelemetry, TelemetryOptionsError } from '../src/index.ts';
import { NativeSpan } from '../src/native-span.ts';
import { NativeTracer } from '../src/native-tracer.ts';
import { collectingProcessor } from './mesh-fixtures.ts';

const resource = resourceFromAttributes({ 'service.name': 'productpage', 'service.namespace': 'default' });
const scope = { name: '@inboard/telemetry', version: '0.1.0' };

function setup(sampler?: Sampler) {
  const exporter = new InMemorySpanExporter();
  const tracer = new NativeTracer({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    resource,
    sampler,
    scope,
  });
  return { exporter, tracer };
}

test('a root span reaches the exporter with its ids, resource, scope, attributes and times', () => {
  const { exporter, tracer } = setup();
  const before = Date.now();
  const span = tracer.startSpan('GET', { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'GET' } });
  span.setAttribute('http.response.status_code', 200);
  span.end();
  const after = Date.now();
  const [s] = exporter.getFinishedSpans();
  assert.ok(s);
  const sc = s.spanContext();
  assert.match(sc.traceId, /^[0-9a-f]{32}$/);
  assert.match(sc.spanId, /^[0-9a-f]{16}$/);
  assert.equal(sc.traceFlags, TraceFlags.SAMPLED);
  assert.equal(s.parentSpanContext, undefined);
  assert.equal(s.name, 'GET');
  assert.equal(s.kind, SpanKind.CLIENT);
  assert.deepEqual(s.attributes, { 'http.request.method': 'GET', 'http.response.status_code': 200 });
  assert.equal(s.resource, resource);
  assert.deepEqual(s.instrumentationScope, scope);
  assert.equal(s.ended, true);
  const startMs = s.startTime[0] * 1000 + s.startTime[1] / 1e6;
  const endMs = s.endTime[0] * 1000 + s.endTime[1] / 1e6;
  assert.ok(
    startMs >= before - 1 && endMs <= after + 1 && startMs <= endMs,
    `${before} ≤ ${startMs} ≤ ${endMs} ≤ ${after}`,
  );
  assert.ok(Math.abs(s.duration[0] * 1000 + s.duration[1] / 1e6 - (endMs - startMs)) < 0.01);
});

test('ids are lowercase hex of their W3C length and differ from span to span and trace to trace', () => {
  const { tracer } = setup();
  const spanIds = new Set<string>();
  const traceIds = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const sc = tracer.startSpan('x').spanContext();
    assert.match(sc.spanId, /^[0-9a-f]{16}$/);
    assert.match(sc.traceId, /^[0-9a-f]{32}$/);
    spanIds.add(sc.spanId);
    traceIds.add(sc.traceId);
  }
  assert.equal(spanIds.size, 2000);
  assert.equal(traceIds.size, 2000);
});

test('parent-based by default: a sampled parent’s child is recorded, an unsampled one’s propagates only', () => {
  const { exporter, tracer } = setup();
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const sampled = trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
    isRemote: true,
  });
  const child = tracer.startSpan('child', {}, sampled);
  assert.equal(child.isRecording(), true);
  child.end();
  const [s] = exporter.getFinishedSpans();
  assert.equal(s?.spanContext().traceId, traceId);
  assert.equal(s?.parentSpanContext?.spanId, 'b7ad6b7169203331');

  exporter.reset();
  const unsampled = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'b7ad6b7169203331', traceFlags: 0 });
  const quiet = tracer.startSpan('quiet', {}, unsampled);
  assert.equal(quiet.isRecording(), false);
  assert.equal(quiet.spanContext().traceId, traceId, 'the trace continues downstream');
  assert.equal(quiet.spanContext().traceFlags, TraceFlags.NONE);
  assert.notEqual(quiet.spanContext().spanId, 'b7ad6b7169203331');
  quiet.end();
  assert.equal(exporter.getFinishedSpans().length, 0);
});

test('a configured Sampler decides roots, and its attributes and trace state are kept', () => {
  const off = setup(new TraceIdRatioBasedSampler(0));
  const dropped = off.tracer.startSpan('dropped');
  assert.equal(dropped.isRecording(), false);
  dropped.end();
  assert.equal(off.exporter.getFinishedSpans().length, 0);

  const seen: string[] = [];
  const tagging: Sampler = {
    shouldSample(_ctx, _traceId, name, kind, attributes) {
      seen.push(`${name}/${kind}/${String(attributes['http.request.method'])}`);
      return {
        decision: SamplingDecision.RECORD_AND_SAMPLED,
        attributes: { 'sampler.tag': 'yes' },
        traceState: trace.getSpanContext(ROOT_CONTEXT)?.traceState,
      };
    },
    toString: () => 'tagging',
  };
  const on = setup(tagging);
  on.tracer.startSpan('GET', { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'GET' } }).end();
  assert.deepEqual(seen, [`GET/${SpanKind.CLIENT}/GET`]);
  assert.equal(on.exporter.getFinishedSpans()[0]?.attributes['sampler.tag'], 'yes');
});

test('RECORD without SAMPLED: processors see the span end, the batch/simple processors export nothing', () => {
  const ended: ReadableSpan[] = [];
  const exporter = new InMemorySpanExporter();
  const tracer = new NativeTracer({
    spanProcessors: [collectingProcessor(ended), new SimpleSpanProcessor({ exporter })],
    resource,
    sampler: { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'record-only' },
    scope,
  });
  const span = tracer.startSpan('recorded');
  assert.equal(span.isRecording(), true);
  assert.equal(span.spanContext().traceFlags, TraceFlags.NONE);
  span.end();
  assert.equal(ended.length, 1);
  assert.equal(exporter.getFinishedSpans().length, 0);
});

test('tracing suppressed in the context (an exporter at work): an invalid, non-recording span', () => {
  const { exporter, tracer } = setup();
  const span = tracer.startSpan('export', {}, suppressTracing(ROOT_CONTEXT));
  assert.equal(span.isRecording(), false);
  assert.equal(trace.isSpanContextValid(span.spanContext()), false);
  span.end();
  assert.equal(exporter.getFinishedSpans().length, 0);
});

test('explicit start and end times: epoch milliseconds, Date and HrTime', () => {
  const { exporter, tracer } = setup();
  tracer.startSpan('ms', { startTime: 1_700_000_000_123.5 }).end(1_700_000_000_200);
  tracer.startSpan('date', { startTime: new Date(1_700_000_000_000) }).end(new Date(1_700_000_001_000));
  tracer.startSpan('hr', { startTime: [1_700_000_000, 5] }).end([1_700_000_002, 7]);
  const [ms, date, hr] = exporter.getFinishedSpans();
  assert.deepEqual(
    [ms?.startTime, ms?.endTime, ms?.duration],
    [
      [1_700_000_000, 123_500_000],
      [1_700_000_000, 200_000_000],
      [0, 76_500_000],
    ],
  );
  assert.deepEqual(
    [date?.startTime, date?.duration],
    [
      [1_700_000_000, 0],
      [1, 0],
    ],
  );
  assert.deepEqual(
    [hr?.startTime, hr?.endTime],
    [
      [1_700_000_000, 5],
      [1_700_000_002, 7],
    ],
  );
});

test('the Span API’s rules: status, events, exceptions, names, attribute limits, nothing after end', () => {
  const { exporter, tracer } = setup();
  const span = tracer.startSpan('op');
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream reset' });
  span.setStatus({ code: SpanStatusCode.UNSET });
  span.addEvent('retry', { attempt: 2 });
  span.recordException(Object.assign(new Error('boom'), { code: 'ECONNRESET' }));
  span.updateName('op renamed');
  span.setAttribute('bad', { nested: true } as never);
  span.setAttribute('none', undefined as never);
  for (let i = 0; i < 200; i++) span.setAttribute(`a${i}`, i);
  span.end();
  span.setAttribute('late', 1);
  span.updateName('too late');
  span.end();
  const finished = exporter.getFinishedSpans();
  assert.equal(finished.length, 1, 'ended once');
  const [s] = finished;
  assert.ok(s);
  assert.equal(s.name, 'op renamed');
  assert.deepEqual(s.status, { code: SpanStatusCode.ERROR, message: 'upstream reset' });
  assert.deepEqual(
    s.events.map((e) => [e.name, e.attributes?.attempt ?? e.attributes?.['exception.type']]),
    [
      ['retry', 2],
      ['exception', 'ECONNRESET'],
    ],
  );
  assert.equal(s.events[1]?.attributes?.['exception.message'], 'boom');
  assert.equal(Object.keys(s.attributes).length, 128, 'the SDK’s default attribute count limit');
  assert.equal(s.droppedAttributesCount, 72);
  assert.equal(s.attributes.bad, undefined);
  assert.equal(s.attributes.late, undefined);
});

test('a mesh span ends with its outcome and keeps what a span processor set as it started', () => {
  const exporter = new InMemorySpanExporter();
  // a processor that tags spans as they start, as baggage span processors do
  const tagging: SpanProcessor = {
    onStart: (span) => {
      if (span.name === 'tagged') span.setAttribute('enduser.id', 'alice');
    },
    onEnd: () => {},
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const tracer = new NativeTracer({
    spanProcessors: [tagging, new SimpleSpanProcessor({ exporter })],
    resource,
    scope,
  });
  for (const name of ['plain', 'tagged']) {
    const start = () => ({ 'http.request.method': 'GET', 'url.full': 'http://reviews:9080/' });
    const span = tracer.startChild(name, SpanKind.CLIENT, undefined, start());
    assert.ok(span instanceof NativeSpan);
    span.endWith({ ...start(), 'http.response.status_code': 503, response_flags: 'UF' });
  }
  const [plain, tagged] = exporter.getFinishedSpans();
  assert.deepEqual(plain?.attributes, {
    'http.request.method': 'GET',
    'url.full': 'http://reviews:9080/',
    'http.response.status_code': 503,
    response_flags: 'UF',
  });
  assert.deepEqual(tagged?.attributes, {
    'http.request.method': 'GET',
    'url.full': 'http://reviews:9080/',
    'enduser.id': 'alice',
    'http.response.status_code': 503,
    response_flags: 'UF',
  });
});
test('the application’s SDK spans started inside a native span are its children', async () => {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  try {
    const { exporter, tracer } = setup();
    const app = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: app })] });
    await tracer.startActiveSpan('server', { kind: SpanKind.SERVER }, async (server: Span) => {
      await Promise.resolve();
      provider.getTracer('app').startSpan('work').end();
      server.end();
    });
    const [server] = exporter.getFinishedSpans();
    const [work] = app.getFinishedSpans();
    assert.equal(work?.parentSpanContext?.spanId, server?.spanContext().spanId);
    assert.equal(work?.spanContext().traceId, server?.spanContext().traceId);
  } finally {
    context.disable();
  }
});

test('OTLP: the SDK exporters’ serializer encodes native spans like the SDK’s own', () => {
  const { exporter, tracer } = setup();
  const sdkExporter = new InMemorySpanExporter();
  const sdkTracer = new TracerProvider({
    resource,
    spanProcessors: [new SimpleSpanProcessor({ exporter: sdkExporter })],
  }).getTracer(scope.name, scope.version);
  for (const t of [tracer, sdkTracer]) {
    const span = t.startSpan('GET', {
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': 'GET' },
      startTime: 1_700_000_000_000,
    });
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(1_700_000_000_250);
  }
  const decode = (s: ReadableSpan) => {
    const body = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest([s]))) as {
      resourceSpans: { resource: unknown; scopeSpans: { scope: unknown; spans: Record<string, unknown>[] }[] }[];
    };
    const [rs] = body.resourceSpans;
    const span = { ...rs!.scopeSpans[0]!.spans[0]! };
    delete span.traceId;
    delete span.spanId;
    return { resource: rs!.resource, scope: rs!.scopeSpans[0]!.scope, span };
  };
  const native = decode(exporter.getFinishedSpans()[0]!);
  assert.deepEqual(native, decode(sdkExporter.getFinishedSpans()[0]!));
  assert.equal(native.span.startTimeUnixNano, '1700000000000000000');
  assert.equal(native.span.endTimeUnixNano, '1700000000250000000');
});

test('native spans without the Resource they describe: a clear error, nothing installed', () => {
  const processor = new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() });
  assert.throws(
    () =>
      installMeshTelemetry({
        node: { id: 'sidecar~10.0.0.1~productpage-v1.default~default.svc.cluster.local', metadata: {} } as never,
        tracing: { spanProcessors: [processor] },
      }),
    (err: unknown) =>
      err instanceof TelemetryOptionsError &&
      err.code === 'TELEMETRY_OPTIONS' &&
      err.option === 'tracing.resource' &&
      /Resource/.test(err.message),
  );
});
