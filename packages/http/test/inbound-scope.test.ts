// Inbound scopes on a real node:http server: an admitted request's handler runs inside every
// registered scope (its body events too), the end event carries the very start event the scopes
// saw, requests the policy answers never reach a scope, and a failing scope never costs the
// application its request.
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, test } from 'node:test';
import { plaintextListenerDenying, scriptedEngine } from '../../../test/support/inbound-engine.ts';
import { plainRequest } from '../../../test/support/plain-request.ts';
import {
  INBOUND_CHANNEL,
  type InboundRequestEvent,
  type InboundScope,
  type InboundStartEvent,
  meshRequestListener,
  registerInboundScope,
} from '../src/index.ts';

// the engine answers /admin itself (RBAC DENY): those requests never reach a scope
const engine = scriptedEngine(plaintextListenerDenying('127.0.0.1', 9080, 'deny-admin', '/admin'), '127.0.0.1', 9080);

const storage = new AsyncLocalStorage<string[]>();
/** What the handler saw: the scopes it ran in, at entry and once the body was read. */
interface Seen {
  entry: string[] | undefined;
  afterBody: string[] | undefined;
  body: string;
}
let handled = 0;
const server = http.createServer(
  meshRequestListener(engine, (req, res) => {
    handled++;
    const entry = storage.getStore();
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const seen: Seen = { entry, afterBody: storage.getStore(), body };
      res.end(JSON.stringify(seen));
    });
  }),
);
let port = 0;
const unregisters: (() => void)[] = [];

/** A scope that records the start events it saw and names itself in the async context. */
function namedScope(name: string, starts: InboundStartEvent[]): InboundScope {
  return (start, run) => {
    starts.push(start);
    storage.run([...(storage.getStore() ?? []), name], run);
  };
}

function register(scope: InboundScope): void {
  unregisters.push(registerInboundScope(scope));
}

before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterEach(() => {
  for (const u of unregisters.splice(0)) u();
});

after(async () => {
  engine.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The next inbound event of this server; subscribing is also what lets scopes run. */
function nextEvent(): Promise<InboundRequestEvent> {
  return new Promise((resolve) => {
    const fn = (msg: unknown) => {
      unsubscribe(INBOUND_CHANNEL, fn);
      resolve(msg as InboundRequestEvent);
    };
    subscribe(INBOUND_CHANNEL, fn);
  });
}

async function send(
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; seen: Seen | undefined }> {
  const r = await plainRequest({ port, path, method: body === undefined ? 'GET' : 'POST', headers }, body);
  return { status: r.status, seen: r.status === 200 ? (JSON.parse(r.body) as Seen) : undefined };
}

test('the handler and its body events run inside the scopes, outermost first; the end event carries the same start', async () => {
  const starts: InboundStartEvent[] = [];
  register(namedScope('outer', starts));
  register(namedScope('inner', starts));
  const ev = nextEvent();
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const r = await send('/x/../reviews/1?q=2', 'hello', { traceparent, 'user-agent': 'scope-test' });
  const e = await ev;
  assert.equal(r.status, 200);
  assert.deepEqual(r.seen, { entry: ['outer', 'inner'], afterBody: ['outer', 'inner'], body: 'hello' });
  assert.equal(starts.length, 2);
  assert.equal(starts[0], starts[1], 'every scope gets the one start event');
  const start = starts[0]!;
  assert.equal(e.start, start, 'the end event references it');
  assert.deepEqual(
    {
      method: start.method,
      path: start.path,
      authority: start.authority,
      scheme: start.scheme,
      protocol: start.protocol,
      traceId: start.trace.w3c?.traceId,
      parentId: start.trace.w3c?.parentId,
      userAgent: start.userAgent,
      destinationPort: start.destinationPort,
    },
    {
      method: 'POST',
      path: '/reviews/1?q=2',
      authority: `127.0.0.1:${port}`,
      scheme: 'http',
      protocol: 'HTTP/1.1',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      userAgent: 'scope-test',
      destinationPort: port,
    },
  );
  assert.equal(start.sourcePort, e.sourcePort);
  assert.ok(start.sourcePort > 0);
  assert.equal(start.startTime, e.startTime);
});

test('a request the policy denies reaches no scope; its end event has no start', async () => {
  const starts: InboundStartEvent[] = [];
  register(namedScope('scope', starts));
  const before = handled;
  const ev = nextEvent();
  const r = await send('/admin');
  const e = await ev;
  assert.equal(r.status, 403);
  assert.equal(handled, before);
  assert.deepEqual(starts, []);
  assert.equal(e.start, undefined);
});

test('a scope that throws, or returns without running, is skipped: the handler runs once, in the other scopes', async () => {
  const starts: InboundStartEvent[] = [];
  register(() => {
    throw new Error('broken instrumentation');
  });
  register(() => {});
  register(namedScope('working', starts));
  const before = handled;
  const ev = nextEvent();
  const r = await send('/reviews/1');
  await ev;
  assert.equal(r.status, 200);
  assert.equal(handled, before + 1);
  assert.deepEqual(r.seen?.entry, ['working']);
  assert.equal(starts.length, 1);
});

test('scopes only run while someone listens for the end; an unregistered scope runs no more', async () => {
  const starts: InboundStartEvent[] = [];
  const unregister = registerInboundScope(namedScope('scope', starts));
  try {
    const r = await send('/reviews/1');
    assert.equal(r.status, 200);
    assert.equal(r.seen?.entry, undefined, 'no end would be published: the handler runs directly');
    assert.deepEqual(starts, []);
    unregister();
    const ev = nextEvent();
    const r2 = await send('/reviews/2');
    assert.equal((await ev).start, undefined);
    assert.equal(r2.seen?.entry, undefined);
    assert.deepEqual(starts, []);
  } finally {
    unregister();
  }
});
