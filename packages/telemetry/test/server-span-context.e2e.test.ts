// The inbound SERVER span is the active OpenTelemetry context while the application handles the
// request, behind each adapter (node:http, express 5, fastify 5) on loopback: the handler sees it
// (also after reading the body and after awaiting), its own spans are children, and its call
// through the mesh to a second server carries the same trace with the server span as ancestor.
// Requests the policy answers get exactly one SERVER span; without telemetry nothing changes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createInboundEngine, type InboundEngine, meshExpress, meshFastify, meshRequestListener } from '@inboard/http';
import { ManualClock, type XdsClient } from '@inboard/xds';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import express from 'express';
import fastify from 'fastify';
import { request as undiciRequest } from 'undici';
import {
  nextInboundEvent,
  plaintextListenerDenying,
  ScriptedClient,
  scriptedEngine,
} from '../../../test/support/inbound-engine.ts';
import { plainRequest } from '../../../test/support/plain-request.ts';
import type { MeshTelemetry } from '../src/index.ts';
import { installMeshSpans, TwoServices } from './mesh-fixtures.ts';

/** istiod's plaintext inbound listener with an AuthorizationPolicy denying /admin. */
function frontEngine(): InboundEngine {
  const engine = scriptedEngine(
    plaintextListenerDenying('127.0.0.1', 7000, 'default-deny-admin-0', '/admin'),
    '127.0.0.1',
    7000,
  );
  assert.equal(engine.state, 'mesh');
  return engine;
}

const svc = new TwoServices();
const spans = new InMemorySpanExporter();
const processor = new SimpleSpanProcessor({ exporter: spans });
const tracerProvider = new TracerProvider({ spanProcessors: [processor] });
const appTracer = tracerProvider.getTracer('app');
const contextManager = new AsyncLocalStorageContextManager();
let telemetry: MeshTelemetry | undefined;

/** What the application saw: the active span id at each point of its work. */
interface Seen {
  inHandler: string | undefined;
  afterBody: string | undefined;
  afterAwait: string | undefined;
  body: string;
  upstream: number;
}

let handled = 0;

/**
 * The application's work: a span of its own, then a call through the mesh to reviews, with
 * mesh.fetch (GET) or undici and the mesh dispatcher (POST).
 */
async function appWork(inHandler: string | undefined, body: string): Promise<Seen> {
  handled++;
  const afterBody = trace.getActiveSpan()?.spanContext().spanId;
  appTracer.startSpan('app-work').end();
  let upstream: number;
  if (body === '') {
    const res = await svc.mesh.fetch('http://reviews:9080/reviews/1');
    await res.text();
    upstream = res.status;
  } else {
    const res = await undiciRequest('http://reviews:9080/reviews/1', { dispatcher: svc.mesh.dispatcher });
    await res.body.text();
    upstream = res.statusCode;
  }
  return { inHandler, afterBody, afterAwait: trace.getActiveSpan()?.spanContext().spanId, body, upstream };
}

const activeSpanId = () => trace.getActiveSpan()?.spanContext().spanId;

function nodeHttpFront(engine: InboundEngine): Server {
  return http.createServer(
    meshRequestListener(engine, (req, res) => {
      const inHandler = activeSpanId();
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        void appWork(inHandler, body).then((seen) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(seen));
        });
      });
    }),
  );
}

function expressFront(engine: InboundEngine): Server {
  const app = express();
  app.use(meshExpress(engine));
  app.use(express.text());
  app.all('/front', async (req, res) => {
    res.json(await appWork(activeSpanId(), typeof req.body === 'string' ? req.body : ''));
  });
  return http.createServer(app);
}

async function fastifyFront(engine: InboundEngine): Promise<{ port: number; close: () => Promise<void> }> {
  const app = fastify();
  await app.register(meshFastify(engine));
  app.route({
    method: ['GET', 'POST'],
    url: '/front',
    handler: async (request) => appWork(activeSpanId(), typeof request.body === 'string' ? request.body : ''),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

async function listen(server: Server): Promise<{ port: number; close: () => Promise<void> }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolves with the next inbound event of a server (telemetry, subscribed earlier, has seen it). */
const served = (port: number) => nextInboundEvent((e) => e.destinationPort === port);

interface Caller {
  readonly traceId: string;
  readonly spanId: string;
}

function newCaller(): Caller {
  return { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
}

async function send(
  port: number,
  path: string,
  caller: Caller | undefined,
  body?: string,
): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = {};
  if (caller !== undefined) headers.traceparent = `00-${caller.traceId}-${caller.spanId}-01`;
  if (body !== undefined) headers['content-type'] = 'text/plain';
  return plainRequest({ port, path, method: body === undefined ? 'GET' : 'POST', headers }, body);
}

function serverSpans(traceId: string, port: number): ReadableSpan[] {
  return spans
    .getFinishedSpans()
    .filter(
      (s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === traceId && s.attributes['server.port'] === port,
    );
}

function childrenOf(parent: ReadableSpan): ReadableSpan[] {
  return spans.getFinishedSpans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
}

before(async () => {
  context.setGlobalContextManager(contextManager.enable());
  await svc.start();
  telemetry = installMeshSpans(svc.mesh, tracerProvider, processor);
});

after(async () => {
  telemetry?.close();
  await svc.stop();
  await tracerProvider.shutdown();
  context.disable();
});

const adapters: [string, (engine: InboundEngine) => Promise<{ port: number; close: () => Promise<void> }>][] = [
  ['node:http', (engine) => listen(nodeHttpFront(engine))],
  ['express 5', (engine) => listen(expressFront(engine))],
  ['fastify 5', fastifyFront],
];

for (const [name, start] of adapters) {
  describe(`${name}: the SERVER span is the handler's active context`, () => {
    const engine = frontEngine();
    let front: { port: number; close: () => Promise<void> };
    before(async () => {
      front = await start(engine);
    });
    after(async () => {
      await front.close();
      engine.close();
    });

    for (const body of [undefined, 'a body to parse first']) {
      test(`${body === undefined ? 'GET, mesh.fetch' : 'POST with a body, undici with the mesh dispatcher'}: the handler's spans and its mesh call join the caller's trace under the server span`, async () => {
        spans.reset();
        const caller = newCaller();
        const upstreamBefore = svc.seen.length;
        const ends = Promise.all([served(front.port), served(svc.port)]);
        const r = await send(front.port, '/front', caller, body);
        await ends;
        assert.equal(r.status, 200);
        const seen = JSON.parse(r.body) as Seen;
        assert.equal(seen.body, body ?? '');
        assert.equal(seen.upstream, 200);

        const [server, ...others] = serverSpans(caller.traceId, front.port);
        assert.ok(server, 'a SERVER span in the caller’s trace');
        assert.equal(others.length, 0, 'exactly one SERVER span');
        assert.equal(server.parentSpanContext?.spanId, caller.spanId, 'its parent is the caller’s span');
        assert.equal(server.parentSpanContext?.isRemote, true);
        assert.equal(server.attributes['http.response.status_code'], 200);
        if (name !== 'node:http') assert.equal(server.attributes['http.route'], '/front');
        const id = server.spanContext().spanId;
        assert.deepEqual([seen.inHandler, seen.afterBody, seen.afterAwait], [id, id, id]);

        const children = childrenOf(server);
        const appSpan = children.find((s) => s.name === 'app-work');
        assert.ok(appSpan, 'the span the handler started is a child of the server span');
        const request = children.find((s) => s.kind === SpanKind.CLIENT);
        assert.ok(request, 'the mesh request span is a child of the server span');
        const [attempt] = childrenOf(request);
        assert.ok(attempt, 'one attempt span under the request span');
        // the second server's own SERVER span continues the chain from the attempt, and its
        // application sees that span as its parent, as behind an Envoy sidecar
        const [reviews] = serverSpans(caller.traceId, svc.port);
        assert.ok(reviews);
        assert.equal(reviews.parentSpanContext?.spanId, attempt.spanContext().spanId);
        const upstream = svc.seen.slice(upstreamBefore);
        assert.equal(upstream.length, 1);
        assert.equal(upstream[0]!.headers.traceparent, `00-${caller.traceId}-${reviews.spanContext().spanId}-01`);
      });
    }

    test('a request RBAC denies: exactly one SERVER span, the handler never runs', async () => {
      spans.reset();
      const caller = newCaller();
      const handledBefore = handled;
      const end = served(front.port);
      const r = await send(front.port, '/admin', caller);
      const e = await end;
      assert.equal(r.status, 403);
      assert.equal(e.start, undefined, 'no scope ran');
      assert.equal(handled, handledBefore);
      const found = serverSpans(caller.traceId, front.port);
      assert.equal(found.length, 1);
      assert.equal(found[0]!.parentSpanContext?.spanId, caller.spanId);
      assert.equal(found[0]!.attributes['http.response.status_code'], 403);
      assert.equal(found[0]!.attributes['url.path'], '/admin');
      assert.equal(found[0]!.attributes['inboard.rbac.matched_policy'], 'default-deny-admin-0');
    });
  });
}

test('a request refused while the policy is pending (503): exactly one SERVER span, in error', async () => {
  spans.reset();
  const clock = new ManualClock();
  const engine = createInboundEngine({
    client: new ScriptedClient() as unknown as XdsClient,
    listenAddress: { ip: '127.0.0.1', port: 7001 },
    clock,
  });
  clock.advance(15_000);
  let reached = 0;
  const front = await listen(
    http.createServer(
      meshRequestListener(engine, (_req, res) => {
        reached++;
        res.end();
      }),
    ),
  );
  try {
    const caller = newCaller();
    const end = served(front.port);
    const r = await send(front.port, '/front', caller);
    await end;
    assert.equal(r.status, 503);
    assert.equal(reached, 0);
    const found = serverSpans(caller.traceId, front.port);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.parentSpanContext?.spanId, caller.spanId);
    assert.equal(found[0]!.status.message, 'inbound_policy_pending');
  } finally {
    await front.close();
    engine.close();
  }
});

test('the application is handed the mesh’s SERVER span as its parent, in W3C and in the B3 headers it was sent', async () => {
  const engine = frontEngine();
  const front = await listen(
    http.createServer(meshRequestListener(engine, (req, res) => res.end(JSON.stringify(req.headers)))),
  );
  try {
    for (const b3 of [false, true]) {
      spans.reset();
      const caller = newCaller();
      const headers: Record<string, string> = b3
        ? { 'x-b3-traceid': caller.traceId, 'x-b3-spanid': caller.spanId, 'x-b3-sampled': '1' }
        : { traceparent: `00-${caller.traceId}-${caller.spanId}-01` };
      const end = served(front.port);
      const r = await plainRequest({ port: front.port, path: '/front', headers });
      await end;
      const seen = JSON.parse(r.body) as Record<string, string>;
      const [server] = serverSpans(caller.traceId, front.port);
      assert.ok(server);
      assert.equal(server.parentSpanContext?.spanId, caller.spanId);
      const own = server.spanContext().spanId;
      assert.equal(seen.traceparent, `00-${caller.traceId}-${own}-01`);
      if (b3) {
        assert.deepEqual(
          [seen['x-b3-traceid'], seen['x-b3-spanid'], seen['x-b3-parentspanid'], seen['x-b3-sampled']],
          [caller.traceId, own, caller.spanId, '1'],
        );
      } else assert.equal(seen['x-b3-spanid'], undefined, 'no B3 headers the caller did not send');
    }
  } finally {
    await front.close();
    engine.close();
  }
});

describe('without telemetry installed', () => {
  const engine = frontEngine();
  const fronts: { port: number; close: () => Promise<void> }[] = [];
  before(async () => {
    telemetry?.close();
    telemetry = undefined;
    for (const [, start] of adapters) fronts.push(await start(engine));
  });
  after(async () => {
    for (const f of fronts) await f.close();
    engine.close();
  });

  test('handlers of every adapter run as before: no active span, no mesh span, no start event', async () => {
    spans.reset();
    for (const front of fronts) {
      const caller = newCaller();
      const end = served(front.port);
      const r = await send(front.port, '/front', caller, 'body');
      const e = await end;
      assert.equal(r.status, 200);
      const seen = JSON.parse(r.body) as Seen;
      assert.deepEqual(
        [seen.inHandler, seen.afterBody, seen.afterAwait, seen.body],
        [undefined, undefined, undefined, 'body'],
      );
      assert.equal(e.start, undefined);
    }
    // only the application's own spans, each a root of its own trace
    const recorded = spans.getFinishedSpans();
    assert.equal(recorded.length, fronts.length);
    for (const s of recorded) assert.deepEqual([s.name, s.parentSpanContext], ['app-work', undefined]);
  });
});
