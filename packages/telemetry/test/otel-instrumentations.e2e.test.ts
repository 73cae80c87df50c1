// The mesh's telemetry next to OpenTelemetry's own HTTP instrumentations, as an application that
// runs both has them: @opentelemetry/instrumentation-undici (client requests made with undici)
// and @opentelemetry/instrumentation-http (node:http servers), the real packages, enabled before
// the servers and the mesh exist. On the wire each request carries one traceparent; the spans of
// a call productpage → reviews form one trace: the caller's, the mesh's CLIENT spans, undici
// instrumentation's span, the mesh's SERVER span and, inside it (the mesh hands the application
// its own context, as an Envoy sidecar does), instrumentation-http's SERVER span, in which the
// handler runs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { MeshTelemetry } from '../src/index.ts';

const spans = new InMemorySpanExporter();
const processor = new SimpleSpanProcessor({ exporter: spans });
const tracerProvider = new TracerProvider({ spanProcessors: [processor] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const instrumentations = [new UndiciInstrumentation(), new HttpInstrumentation()];
for (const i of instrumentations) {
  i.setTracerProvider(tracerProvider);
  i.enable();
}
// nothing loads node:http before the instrumentations are enabled (as with `node --import` of an
// instrumentation setup): instrumentation-http patches the module as it is loaded
const { installMeshSpans, TwoServices } = await import('./mesh-fixtures.ts');
const { meshExpress } = await import('@inboard/http');
const { default: express } = await import('express');
const { createServer } = await import('node:http');
const { nextInboundEvent, plaintextListenerDenying, scriptedEngine } = await import(
  '../../../test/support/inbound-engine.ts'
);
const { plainRequest } = await import('../../../test/support/plain-request.ts');

const svc = new TwoServices();
let telemetry: MeshTelemetry;
let handlerSpan: string | undefined;

before(async () => {
  await svc.start();
  telemetry = installMeshSpans(svc.mesh, tracerProvider, processor);
  svc.handler = (_req, res) => {
    handlerSpan = trace.getActiveSpan()?.spanContext().spanId;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  };
});

after(async () => {
  telemetry?.close();
  for (const i of instrumentations) i.disable();
  await svc.stop();
  await tracerProvider.shutdown();
  context.disable();
  propagation.disable();
});

const byId = (all: readonly ReadableSpan[], id: string | undefined) => all.find((s) => s.spanContext().spanId === id);

test('a call through the mesh with both instrumentations: one traceparent, one trace, nested as it ran', async () => {
  spans.reset();
  const caller = tracerProvider.getTracer('app').startSpan('productpage-work');
  const before = svc.seen.length;
  await context.with(trace.setSpan(context.active(), caller), async () => {
    const res = await svc.mesh.fetch('http://reviews:9080/reviews/1');
    assert.equal(res.status, 200);
    await res.text();
  });
  caller.end();
  // every span has ended once the response did; the server's end as its response finished
  const all = spans.getFinishedSpans();
  const seen = svc.seen[before]!;
  // raw headers: what came over the wire; headers: what the application was given
  const traceparents = seen.rawHeaders.filter(
    (_, i) => i % 2 === 0 && seen.rawHeaders[i]!.toLowerCase() === 'traceparent',
  );
  assert.equal(traceparents.length, 1, 'exactly one traceparent on the wire');
  const wire = seen.rawHeaders[seen.rawHeaders.findIndex((h) => h.toLowerCase() === 'traceparent') + 1]!.split('-');

  const traceId = caller.spanContext().traceId;
  assert.ok(
    all.every((s) => s.spanContext().traceId === traceId),
    'one trace',
  );
  const meshRequest = all.find(
    (s) =>
      s.instrumentationScope.name === '@inboard/telemetry' &&
      s.kind === SpanKind.CLIENT &&
      s.parentSpanContext?.spanId === caller.spanContext().spanId,
  );
  assert.ok(meshRequest, "the mesh's request span is the caller's child");
  assert.equal(meshRequest.attributes['server.address'], 'reviews', 'the logical host');
  const attempt = all.find((s) => s.parentSpanContext?.spanId === meshRequest.spanContext().spanId);
  assert.ok(attempt, "the mesh's attempt span");
  // 'auto': undici instrumentation injects, so the mesh writes nothing; its span is the wire's parent
  const undiciSpan = byId(all, wire[2]);
  assert.ok(undiciSpan, 'the traceparent on the wire is a recorded span');
  assert.equal(undiciSpan.kind, SpanKind.CLIENT);
  assert.match(undiciSpan.instrumentationScope.name, /instrumentation-undici/);

  // server side: the mesh's SERVER span continues from the wire, and hands the application its
  // own context, as a sidecar does: instrumentation-http's SERVER span (it reads the headers after
  // the mesh) is its child, and the handler runs in that innermost span
  const meshServer = all.find(
    (s) => s.kind === SpanKind.SERVER && s.instrumentationScope.name === '@inboard/telemetry',
  );
  assert.ok(meshServer, "the mesh's SERVER span");
  assert.equal(meshServer.parentSpanContext?.spanId, wire[2]);
  assert.equal(seen.headers.traceparent, `00-${traceId}-${meshServer.spanContext().spanId}-01`);
  const httpServer = all.find((s) => s.kind === SpanKind.SERVER && s !== meshServer);
  assert.ok(httpServer, "instrumentation-http's SERVER span");
  assert.match(httpServer.instrumentationScope.name, /instrumentation-http/);
  assert.equal(httpServer.parentSpanContext?.spanId, meshServer.spanContext().spanId);
  assert.equal(handlerSpan, httpServer.spanContext().spanId);
  assert.equal(all.filter((s) => s.kind === SpanKind.SERVER).length, 2);
});

test('express behind instrumentation-http: its SERVER span first, the mesh’s inside it, the handler in the mesh’s', async () => {
  spans.reset();
  const engine = scriptedEngine(plaintextListenerDenying('127.0.0.1', 7000, 'deny-admin', '/admin'), '127.0.0.1', 7000);
  const app = express();
  app.use(meshExpress(engine));
  let inHandler: string | undefined;
  app.get('/front', (_req, res) => {
    inHandler = trace.getActiveSpan()?.spanContext().spanId;
    res.send('ok');
  });
  const server = createServer(app);
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const served = nextInboundEvent((e) => e.destinationPort === port);
    // a node:http client request: instrumentation-http makes its CLIENT span and the traceparent
    const r = await plainRequest({ port, path: '/front' });
    assert.equal(r.status, 200);
    // both SERVER spans end as the response finishes: the mesh's with the inbound event
    await served;
    await new Promise((resolve) => setImmediate(resolve));
    const all = spans.getFinishedSpans();
    const client = all.find((s) => s.kind === SpanKind.CLIENT);
    assert.ok(client);
    // the express app runs inside instrumentation-http's span: the mesh's SERVER span nests in it
    const servers = all.filter((s) => s.kind === SpanKind.SERVER);
    assert.equal(servers.length, 2);
    const httpServer = servers.find((s) => /instrumentation-http/.test(s.instrumentationScope.name));
    const meshServer = servers.find((s) => s.instrumentationScope.name === '@inboard/telemetry');
    assert.ok(httpServer && meshServer);
    assert.equal(httpServer.parentSpanContext?.spanId, client.spanContext().spanId);
    assert.equal(meshServer.parentSpanContext?.spanId, httpServer.spanContext().spanId);
    assert.equal(meshServer.spanContext().traceId, client.spanContext().traceId);
    assert.equal(inHandler, meshServer.spanContext().spanId);
  } finally {
    server.closeAllConnections();
    server.close();
    engine.close();
  }
});
