// Inbound SERVER spans under Istio's ratio sampler, recorded natively, behind node:http on
// loopback: a request the sampler drops gets no span, yet the handler runs in its trace context
// and is handed that context (flags 00); a caller's sampled context is followed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, test } from 'node:test';
import { meshRequestListener } from '@inboard/http';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { nextInboundEvent, plaintextListenerDenying, scriptedEngine } from '../../../test/support/inbound-engine.ts';
import { plainRequest } from '../../../test/support/plain-request.ts';
import { installMeshTelemetry, type MeshTelemetry, ParentBasedRatioSampler } from '../src/index.ts';
import { CLIENT_NODE, collectingProcessor } from './mesh-fixtures.ts';

const ended: ReadableSpan[] = [];
const contextManager = new AsyncLocalStorageContextManager();
const engine = scriptedEngine(plaintextListenerDenying('127.0.0.1', 7000, 'deny-admin', '/admin'), '127.0.0.1', 7000);
const server = http.createServer(
  meshRequestListener(engine, (req, res) => {
    const span = trace.getActiveSpan();
    res.end(
      JSON.stringify({
        recording: span?.isRecording(),
        traceId: span?.spanContext().traceId,
        spanId: span?.spanContext().spanId,
        traceparent: req.headers.traceparent,
      }),
    );
  }),
);
let port = 0;
let telemetry: MeshTelemetry;

before(async () => {
  context.setGlobalContextManager(contextManager.enable());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  telemetry = installMeshTelemetry({
    node: {
      id: CLIENT_NODE,
      metadata: { NAMESPACE: 'default' },
      cluster: '',
      userAgentName: 't',
      userAgentVersion: '0',
      clientFeatures: [],
    },
    outbound: false,
    istioMetrics: false,
    httpMetrics: false,
    tracing: {
      spanProcessors: [collectingProcessor(ended)],
      resource: resourceFromAttributes({ 'service.name': 'reviews' }),
      sampler: new ParentBasedRatioSampler(0),
    },
  });
});

afterEach(() => {
  ended.length = 0;
});

after(async () => {
  telemetry.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  engine.close();
  context.disable();
});

interface Seen {
  recording: boolean | undefined;
  traceId: string | undefined;
  spanId: string | undefined;
  traceparent: string | undefined;
}

async function call(headers: Record<string, string>): Promise<Seen> {
  const done = nextInboundEvent((e) => e.destinationPort === port);
  const r = await plainRequest({ port, path: '/reviews/1', headers });
  await done;
  assert.equal(r.status, 200);
  return JSON.parse(r.body) as Seen;
}

test('a request the sampler drops: no span, the handler still runs in its trace and is handed it', async () => {
  const seen = await call({});
  assert.equal(seen.recording, false);
  assert.match(seen.traceId ?? '', /^[0-9a-f]{32}$/);
  assert.notEqual(seen.traceId, '0'.repeat(32));
  assert.equal(seen.traceparent, `00-${seen.traceId}-${seen.spanId}-00`);
  assert.equal(ended.length, 0);
});

test('a caller’s sampled context is followed: the SERVER span records, its child', async () => {
  const traceId = randomBytes(16).toString('hex');
  const caller = randomBytes(8).toString('hex');
  const seen = await call({ traceparent: `00-${traceId}-${caller}-01` });
  assert.equal(seen.recording, true);
  assert.equal(seen.traceId, traceId);
  assert.equal(ended.length, 1);
  assert.equal(ended[0]!.parentSpanContext?.spanId, caller);
  assert.equal(ended[0]!.attributes['url.path'], '/reviews/1');
  assert.equal(seen.traceparent, `00-${traceId}-${ended[0]!.spanContext().spanId}-01`);
});
