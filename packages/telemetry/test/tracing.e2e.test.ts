// Trace propagation through the mesh on loopback: one span per attempt with its own traceparent
// (written once per attempt, replaced on a retry), a caller's own traceparent left alone, no
// header at all while another instrumentation injects into undici requests ('auto'), and the
// access log written for requests in both directions, to a stream and as OpenTelemetry log
// records (real sdk-logs LoggerProvider, in-memory exporter).
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, afterEach, before, test } from 'node:test';
import { type HttpRequestEvent, INBOUND_CHANNEL, REQUEST_CHANNEL } from '@inboard/http';
import { context, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { installMeshTelemetry, type MeshTelemetry, TelemetryOptionsError } from '../src/index.ts';
import { meshTracing, TwoServices } from './mesh-fixtures.ts';

const svc = new TwoServices();
const spans = new InMemorySpanExporter();
const processor = new SimpleSpanProcessor({ exporter: spans });
const tracerProvider = new TracerProvider({ spanProcessors: [processor] });
const contextManager = new AsyncLocalStorageContextManager();
const lines: string[] = [];
const logRecords = new InMemoryLogRecordExporter();
const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logRecords })] });
let telemetry: MeshTelemetry;

before(async () => {
  context.setGlobalContextManager(contextManager.enable());
  await svc.start();
  telemetry = installMeshTelemetry({
    mesh: svc.mesh,
    inbound: false,
    istioMetrics: false,
    httpMetrics: false,
    tracerProvider,
    tracing: meshTracing(processor, { b3: true }),
    accessLog: { stream: { write: (l: string) => lines.push(l) }, logs: loggerProvider },
  });
});

afterEach(() => {
  spans.reset();
  lines.length = 0;
  logRecords.reset();
  svc.handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  };
});

after(async () => {
  telemetry?.close();
  await svc.stop();
  await tracerProvider.shutdown();
  await loggerProvider.shutdown();
  context.disable();
});

function headerValues(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

test('a retried request: one child span per attempt, each upstream request carrying its own attempt’s context', async () => {
  const before = svc.seen.length;
  svc.handler = (_req, res, n) => {
    res.writeHead(n === before + 1 ? 503 : 200, { 'content-type': 'text/plain' });
    res.end(n === before + 1 ? 'busy' : 'ok');
  };
  const res = await svc.mesh.fetch('http://reviews:9080/reviews/2');
  assert.equal(res.status, 200);
  await res.text();
  const finished = spans.getFinishedSpans();
  const request = finished.find((s) => s.parentSpanContext === undefined)!;
  const attempts = finished.filter((s) => s.parentSpanContext?.spanId === request.spanContext().spanId);
  assert.equal(attempts.length, 2);
  assert.deepEqual(
    attempts.map((a) => a.attributes['http.response.status_code']),
    [503, 200],
  );
  assert.deepEqual(
    attempts.map((a) => a.attributes['http.request.resend_count']),
    [undefined, 1],
  );
  assert.equal(attempts[0]!.attributes['error.type'], '503');
  assert.equal(request.attributes['http.response.status_code'], 200);
  const upstream = svc.seen.slice(before);
  assert.equal(upstream.length, 2);
  upstream.forEach((seen, i) => {
    const sc = attempts[i]!.spanContext();
    assert.deepEqual(headerValues(seen.rawHeaders, 'traceparent'), [`00-${sc.traceId}-${sc.spanId}-01`]);
    assert.deepEqual(headerValues(seen.rawHeaders, 'x-b3-spanid'), [sc.spanId]);
    assert.deepEqual(headerValues(seen.rawHeaders, 'x-b3-parentspanid'), [request.spanContext().spanId]);
    assert.deepEqual(headerValues(seen.rawHeaders, 'x-b3-sampled'), ['1']);
  });
});

test('the request span lasts exactly as long as the duration the metrics record, and ends with its attempt', async () => {
  let totalMs = -1;
  const onRequest = (e: unknown) => {
    totalMs = (e as HttpRequestEvent).durations.totalMs;
  };
  subscribe(REQUEST_CHANNEL, onRequest);
  try {
    const res = await svc.mesh.fetch('http://reviews:9080/reviews/7');
    await res.text();
  } finally {
    unsubscribe(REQUEST_CHANNEL, onRequest);
  }
  const finished = spans.getFinishedSpans();
  const request = finished.find((s) => s.parentSpanContext === undefined)!;
  const spanMs = request.duration[0] * 1000 + request.duration[1] / 1e6;
  assert.ok(totalMs > 0);
  assert.ok(Math.abs(spanMs - totalMs) < 0.005, `span ${spanMs} ms, metrics ${totalMs} ms`);
  // its one attempt ended with it: the response's last byte ends both (the SDK's spans anchor
  // their clocks to Date.now() as each starts: truncated to the millisecond, two spans' clocks
  // differ by under 1 ms, plus the gap between each span's Date.now() and performance.now()
  // calls, which a busy machine stretches: 2 ms leaves room for it)
  const attempt = finished.find((s) => s.parentSpanContext?.spanId === request.spanContext().spanId)!;
  const ms = (t: readonly [number, number]) => t[0] * 1000 + t[1] / 1e6;
  const within = process.env.INBOARD_MESH_SPANS === 'native' ? 0.005 : 2;
  assert.ok(Math.abs(ms(attempt.endTime) - ms(request.endTime)) < within, 'attempt and request end together');
  assert.ok(ms(attempt.startTime) >= ms(request.startTime) - within);
});

test('the request span is a child of the caller’s active span', async () => {
  const tracer = tracerProvider.getTracer('app');
  await tracer.startActiveSpan('handler', async (parent) => {
    const res = await svc.mesh.fetch('http://reviews:9080/reviews/3');
    await res.text();
    parent.end();
  });
  const finished = spans.getFinishedSpans();
  const parent = finished.find((s) => s.name === 'handler')!;
  const request = finished.find(
    (s) => s.kind === SpanKind.CLIENT && s.parentSpanContext?.spanId === parent.spanContext().spanId,
  );
  assert.ok(request, 'the mesh request span hangs under the application span');
  assert.equal(request.spanContext().traceId, parent.spanContext().traceId);
});

test('a traceparent the caller set is kept, and not doubled', async () => {
  const before = svc.seen.length;
  const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const res = await svc.mesh.fetch('http://reviews:9080/reviews/4', { headers: { traceparent: own } });
  await res.text();
  assert.deepEqual(headerValues(svc.seen[before]!.rawHeaders, 'traceparent'), [own]);
});

test('while another instrumentation listens on undici:request:create, the mesh writes no header', async () => {
  const other = () => {};
  subscribe('undici:request:create', other);
  try {
    const before = svc.seen.length;
    const res = await svc.mesh.fetch('http://reviews:9080/reviews/5');
    await res.text();
    assert.deepEqual(headerValues(svc.seen[before]!.rawHeaders, 'traceparent'), []);
    assert.equal(spans.getFinishedSpans().length, 2, 'spans are still recorded');
  } finally {
    unsubscribe('undici:request:create', other);
  }
});

test('an outbound access log line in Istio’s text format', async () => {
  const res = await svc.mesh.fetch('http://reviews:9080/reviews/6', {
    headers: { 'x-request-id': 'req-6', 'user-agent': 'bench/1' },
  });
  await res.text();
  assert.equal(lines.length, 1);
  const re = new RegExp(
    `^\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] "GET /reviews/6 HTTP/1\\.1" 200 - via_upstream - "-" 0 2 \\d+ \\d+ "-" "bench/1" "req-6" "reviews:9080" "127\\.0\\.0\\.1:${svc.port}" outbound\\|9080\\|\\|reviews\\.default\\.svc\\.cluster\\.local - - - - reviews-route\\n$`,
  );
  assert.match(lines[0]!, re);
  // the same line as an OpenTelemetry log record, at the request's start, in the request's trace
  const [record] = logRecords.getFinishedLogRecords();
  assert.ok(record);
  assert.equal(record.body, lines[0]!.slice(0, -1));
  const startTime = Date.parse(lines[0]!.slice(1, lines[0]!.indexOf(']')));
  assert.equal(record.hrTime[0] * 1000 + Math.round(record.hrTime[1] / 1e6), startTime);
  const request = spans.getFinishedSpans().find((s) => s.parentSpanContext === undefined)!;
  assert.equal(record.spanContext?.traceId, request.spanContext().traceId);
  assert.equal(record.spanContext?.spanId, request.spanContext().spanId);
  assert.equal(record.instrumentationScope.name, '@inboard/telemetry');
});

test('an inbound access log line, JSON, from a separate install', async () => {
  const json: string[] = [];
  const server = installMeshTelemetry({
    xds: svc.serverXds,
    outbound: false,
    istioMetrics: false,
    httpMetrics: false,
    tracing: false,
    accessLog: { stream: { write: (l: string) => json.push(l) }, format: 'json', logs: loggerProvider },
  });
  try {
    const served = new Promise<void>((resolve) => {
      const fn = () => {
        unsubscribe(INBOUND_CHANNEL, fn);
        resolve();
      };
      subscribe(INBOUND_CHANNEL, fn);
    });
    const res = await svc.mesh.fetch('http://reviews:9080/admin');
    await res.text();
    await served;
    const inbound = json.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(inbound.length, 1);
    assert.equal(inbound[0]!.response_code, 403);
    assert.equal(inbound[0]!.response_code_details, 'rbac_access_denied_matched_policy[default-deny-admin-0]');
    assert.equal(inbound[0]!.upstream_cluster, `inbound|${svc.port}||`);
    // as a log record, the JSON format's body is the record's fields as a map
    const records = logRecords.getFinishedLogRecords().filter((r) => typeof r.body === 'object');
    assert.equal(records.length, 1);
    assert.deepEqual(records[0]!.body, inbound[0]);
  } finally {
    server.close();
  }
});

test('an access log with nowhere to write: a clear error naming the option', () => {
  assert.throws(
    () => installMeshTelemetry({ mesh: svc.mesh, accessLog: { format: 'json' } }),
    (err: unknown) =>
      err instanceof TelemetryOptionsError &&
      err.code === 'TELEMETRY_OPTIONS' &&
      err.option === 'accessLog' &&
      /stream/.test(err.message) &&
      /logs/.test(err.message),
  );
});
