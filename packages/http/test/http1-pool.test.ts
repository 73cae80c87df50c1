// The mesh's HTTP/1.1 connection pool against real loopback sockets: node:http servers for
// ordinary exchanges, scripted TCP servers for the edges (HTTP/1.0, early responses, bytes out of
// turn, connections cut short). Each request goes through `new Http1Pool(origin)` with a recording
// DispatchHandler, which fails the test on a second terminal callback. Where undici's Pool is the
// reference (errors, codes), the same scenario runs through it too.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildConnector, errors, Pool } from 'undici';
import { Http1Pool } from '../src/http1/http1-pool.ts';
import { closedPort, until } from './e2e-fixtures.ts';
import { ok, type Peer, Recording, ScriptedServer, send } from './http1-pool-fixtures.ts';

/** A node:http server that counts its connections and answers `<method> <path> <body>`. */
class NodeServer {
  readonly server: Server;
  readonly sockets: Socket[] = [];
  constructor(handler?: Parameters<typeof createServer>[1]) {
    this.server = createServer(
      handler ??
        ((req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => {
            const body = `${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`;
            res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
            res.end(body);
          });
        }),
    );
    this.server.on('connection', (s: Socket) => this.sockets.push(s));
  }
  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const echo = new NodeServer();
const pools: { destroy(): Promise<void> }[] = [];
const servers: { stop(): Promise<void> }[] = [];

function pool(origin: string, options: ConstructorParameters<typeof Http1Pool>[1] = {}): Http1Pool {
  const p = new Http1Pool(origin, options);
  pools.push(p);
  return p;
}

async function scripted(onRequest?: ConstructorParameters<typeof ScriptedServer>[0]): Promise<ScriptedServer> {
  const s = await new ScriptedServer(onRequest).start();
  servers.push(s);
  return s;
}

/** Answers every request with `text` (a 200 "ok" by default). */
function answering(text = ok()): (peer: Peer) => void {
  return (peer) => peer.write(text);
}

before(async () => {
  await echo.start();
});

after(async () => {
  for (const p of pools) await p.destroy();
  for (const s of servers) await s.stop();
  await echo.stop();
});

describe('connections', () => {
  test('sequential requests reuse one kept-alive connection', async () => {
    const p = pool(echo.origin);
    const before = echo.sockets.length;
    for (const path of ['/a', '/b', '/c']) {
      const r = send(p, { path });
      await r.done;
      assert.equal(r.status, 200);
      assert.equal(r.body, `GET ${path} `);
    }
    assert.equal(echo.sockets.length - before, 1);
    assert.equal(p.connections, 1);
  });

  test('a request with connection: close ends its connection; the next one opens another', async () => {
    const s = await scripted(answering());
    const p = pool(s.origin);
    const r1 = send(p, { headers: { connection: 'close' } });
    await r1.done;
    assert.equal(r1.status, 200);
    await (await s.peer(1)).closed;
    const r2 = send(p);
    await r2.done;
    assert.equal(r2.status, 200);
    assert.equal(s.peers.length, 2);
    assert.equal(s.peers[0]!.requests[0]!.headers.connection, 'close');
  });

  test('a response with connection: close ends its connection; no failure for the next request', async () => {
    const s = await scripted(answering(ok('bye', 'connection: close\r\n')));
    const p = pool(s.origin);
    const r1 = send(p);
    await r1.done;
    assert.equal(r1.body, 'bye');
    await (await s.peer(1)).closed;
    const r2 = send(p);
    await r2.done;
    assert.equal(r2.body, 'bye');
    assert.equal(s.peers.length, 2);
  });

  test('HTTP/1.0 responses: not kept alive unless they say so; a body to the close is complete', async () => {
    const s = await scripted((peer, req) => {
      if (req.path === '/ka') peer.write('HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nka');
      else if (req.path === '/cl') peer.write('HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\ncl');
      else {
        peer.write('HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the close');
        peer.socket.end();
      }
    });
    const p = pool(s.origin);
    const eof = send(p, { path: '/eof' });
    await eof.done;
    assert.equal(eof.error, undefined);
    assert.equal(eof.body, 'until the close');
    const cl = send(p, { path: '/cl' });
    await cl.done;
    assert.equal(cl.body, 'cl');
    await (await s.peer(2)).closed;
    const ka = send(p, { path: '/ka' });
    await ka.done;
    const ka2 = send(p, { path: '/ka' });
    await ka2.done;
    assert.equal(ka2.body, 'ka');
    assert.equal(s.peers.length, 3, 'the keep-alive HTTP/1.0 connection carried two');
  });

  test('the server closing an idle kept-alive connection: the next request gets a fresh one', async () => {
    const s = await scripted((peer) => {
      peer.write(ok());
      peer.socket.end();
    });
    const p = pool(s.origin);
    const r1 = send(p);
    await r1.done;
    await (await s.peer(1)).closed;
    await until(() => p.connections === 0);
    const r2 = send(p);
    await r2.done;
    assert.equal(r2.error, undefined);
    assert.equal(r2.status, 200);
    assert.equal(s.peers.length, 2);
  });

  test('a server closing right after a response it did not mark close: the next request, sent at once, gets a fresh connection', async () => {
    const s = await scripted((peer) => {
      peer.write(ok());
      peer.socket.end();
    });
    const p = pool(s.origin);
    for (const next of [
      (go: () => void) => go(),
      (go: () => void) => queueMicrotask(go),
      (go: () => void) => process.nextTick(go),
    ]) {
      let second: Recording | undefined;
      const first = send(p, {}, { onResponseEnd: () => next(() => (second = send(p))) });
      await first.done;
      await until(() => second !== undefined);
      await second!.done;
      assert.equal(second!.error, undefined);
      assert.equal(second!.status, 200);
    }
  });

  test('the connection cap: requests past it wait, and go out in the order they came', async () => {
    const s = await scripted();
    const p = pool(s.origin, { connections: 1 });
    const recs = ['/1', '/2', '/3', '/4'].map((path) => send(p, { path }));
    const peer = await s.peer(1);
    for (let n = 1; n <= 4; n++) {
      const req = await peer.request(n);
      assert.equal(req.path, `/${n}`);
      // nothing of the next request is written before this response
      assert.equal(peer.requests.length, n);
      peer.write(ok(`r${n}`));
      await recs[n - 1]!.done;
    }
    assert.deepEqual(
      recs.map((r) => r.body),
      ['r1', 'r2', 'r3', 'r4'],
    );
    assert.equal(s.peers.length, 1);
  });

  test('maxRequestsPerConnection closes a connection after that many requests', async () => {
    const s = await scripted(answering());
    const p = pool(s.origin, { maxRequestsPerConnection: 2 });
    for (let i = 0; i < 3; i++) await send(p).done;
    await (await s.peer(1)).closed;
    assert.equal(s.peers.length, 2);
    assert.equal(s.peers[0]!.requests.length, 2);
    assert.equal(s.peers[1]!.requests.length, 1);
  });

  test('a Keep-Alive timeout hint at or under the threshold closes the connection after the response', async () => {
    const s = await scripted(answering(ok('ok', 'keep-alive: timeout=2\r\n')));
    const p = pool(s.origin);
    const r = send(p);
    await r.done;
    assert.equal(r.status, 200);
    await (await s.peer(1)).closed;
    await until(() => p.connections === 0);
  });

  test('idle expiry: a kept-alive connection idle past keepAliveTimeout is closed by the client', async () => {
    const s = await scripted(answering());
    const p = pool(s.origin, { keepAliveTimeout: 50 });
    await send(p).done;
    const peer = await s.peer(1);
    await peer.closed;
    assert.equal(p.connections, 0);
    await send(p).done;
    assert.equal(s.peers.length, 2);
  });

  test('after a blocked event loop, an idle connection past its keep-alive is not reused (the sweep could not run)', async () => {
    const s = await scripted(answering());
    for (const connections of [undefined, 1]) {
      const p = pool(s.origin, { keepAliveTimeout: 100, connections });
      const before = s.peers.length;
      await send(p).done;
      // the event loop blocked past the keep-alive (the server may have closed the connection;
      // its FIN is not read yet)
      const end = performance.now() + 150;
      while (performance.now() < end);
      const r = send(p);
      await r.done;
      assert.equal(r.status, 200);
      assert.equal(s.peers.length - before, 2, `connections: ${connections}`);
    }
  });

  test('a Keep-Alive hint shorter than keepAliveTimeout shortens the idle time (hint minus the threshold)', async () => {
    const s = await scripted(answering(ok('ok', 'keep-alive: timeout=3\r\n')));
    const p = pool(s.origin, { keepAliveTimeout: 600_000, keepAliveTimeoutThreshold: 2950 });
    await send(p).done;
    await (await s.peer(1)).closed;
    assert.equal(p.connections, 0);
  });
});

describe('responses', () => {
  test('HEAD: no body read whatever Content-Length says, the connection reused', async () => {
    const s = await scripted((peer, req) =>
      peer.write(req.method === 'HEAD' ? 'HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n' : ok('after')),
    );
    const p = pool(s.origin);
    const head = send(p, { method: 'HEAD' });
    await head.done;
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '1000');
    assert.equal(head.body, '');
    const next = send(p);
    await next.done;
    assert.equal(next.body, 'after');
    assert.equal(s.peers.length, 1);
  });

  test('interim 1xx responses (103 Early Hints) are dropped; chunked trailers reach onResponseEnd', async () => {
    const hints = await new NodeServer((_req, res) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload' });
      res.writeHead(200, { trailer: 'x-checksum' });
      res.write('chunk one ');
      res.addTrailers({ 'x-checksum': 'abc' });
      res.end('chunk two');
    }).start();
    servers.push(hints);
    const r = send(pool(hints.origin));
    await r.done;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'chunk one chunk two');
    assert.deepEqual(r.trailers, { 'x-checksum': 'abc' });
  });

  test('an Expect header is refused as undici refuses it (NotSupportedError); expectContinue goes to undici', async () => {
    const p = pool(echo.origin);
    const r = send(p, { method: 'POST', body: 'x', headers: { expect: '100-continue' } });
    await r.done;
    assert.ok(r.error instanceof errors.NotSupportedError);
    const viaUndici = send(p, { method: 'POST', body: 'x', expectContinue: true } as never);
    await viaUndici.done;
    assert.equal(viaUndici.body, 'POST / x');
  });

  test('a large streamed upload under backpressure: every byte once, no listener left behind', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const count = 256;
      async function* body() {
        for (let i = 0; i < count; i++) yield chunk;
      }
      const sink = await new NodeServer((req, res) => {
        let n = 0;
        req.on('data', (c: Buffer) => {
          n += c.length;
        });
        req.on('end', () => res.end(String(n)));
      }).start();
      servers.push(sink);
      const p = pool(sink.origin);
      for (const headers of [{}, { 'content-length': String(chunk.length * count) }]) {
        const r = send(p, { method: 'PUT', headers, body: body() as never });
        await r.done;
        assert.equal(r.body, String(chunk.length * count));
      }
      assert.equal(sink.sockets.length, 1);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.map((w) => w.name),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('failures', () => {
  test('the server closing mid-response: UND_ERR_SOCKET, as undici', async () => {
    const s = await scripted((peer) => {
      peer.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
      peer.socket.end();
    });
    const own = send(pool(s.origin));
    await own.done;
    const undici = new Pool(s.origin);
    const ref = new Recording();
    undici.dispatch({ origin: s.origin, method: 'GET', path: '/' }, ref);
    await ref.done;
    await undici.destroy();
    assert.ok(own.error instanceof errors.SocketError);
    assert.equal(own.error?.code, 'UND_ERR_SOCKET');
    assert.equal(own.error?.code, ref.error?.code);
    assert.deepEqual(own.calls, ['start', 'headers', 'data', 'error']);
    assert.equal(own.body, 'partial');
  });

  test('the server closing before any response: UND_ERR_SOCKET', async () => {
    const s = await scripted((peer) => peer.socket.destroy());
    const r = send(pool(s.origin));
    await r.done;
    assert.equal(r.error?.code, 'UND_ERR_SOCKET');
  });

  test('connect refused: the connector error (ECONNREFUSED), as undici; no connection left', async () => {
    const origin = `http://127.0.0.1:${await closedPort()}`;
    const p = pool(origin);
    const r = send(p);
    await r.done;
    assert.equal(r.error?.code, 'ECONNREFUSED');
    assert.deepEqual(r.calls, ['error']);
    assert.equal(p.connections, 0);
    assert.equal(p.empty, true);
  });

  test('a handler throwing from onResponseEnd fails no other request (the next one on its connection)', async () => {
    const s = await scripted(answering());
    const p = pool(s.origin, { connections: 1 });
    const thrower = send(
      p,
      { path: '/1' },
      {
        onResponseEnd() {
          throw new Error('handler bug');
        },
      },
    );
    const next = send(p, { path: '/2' });
    await thrower.done;
    await next.done;
    assert.equal(next.error, undefined);
    assert.equal(next.status, 200);
  });

  test("a malformed response: undici's HTTPParserError, the connection closed", async () => {
    const s = await scripted((peer) => peer.write('HTTP/1.1 200 OK\r\nbad header\r\n\r\n'));
    const p = pool(s.origin);
    const r = send(p);
    await r.done;
    assert.ok(r.error instanceof errors.HTTPParserError);
    assert.equal(r.error?.code, 'HPE_INVALID_HEADER_TOKEN');
    await (await s.peer(1)).closed;
  });

  test('a response head over maxHeaderSize: UND_ERR_HEADERS_OVERFLOW', async () => {
    const s = await scripted((peer) => peer.write(ok('x', `x-big: ${'a'.repeat(2000)}\r\n`)));
    const r = send(pool(s.origin, { maxHeaderSize: 1024 }));
    await r.done;
    assert.equal(r.error?.code, 'UND_ERR_HEADERS_OVERFLOW');
  });

  test('bytes after a complete response in the same read: the response stands, the connection is not reused', async () => {
    const s = await scripted((peer) => peer.write(`${ok()}HTTP/1.1 200 OK\r\n`));
    const p = pool(s.origin);
    const r = send(p);
    await r.done;
    assert.equal(r.error, undefined);
    assert.equal(r.body, 'ok');
    await (await s.peer(1)).closed;
    await send(p).done;
    assert.equal(s.peers.length, 2);
  });

  test('bytes after a complete response, with the next request waiting for the connection: it goes out on a fresh one', async () => {
    const s = await scripted((peer, req) => peer.write(req.path === '/1' ? `${ok('one')}garbage` : ok('two')));
    const p = pool(s.origin, { connections: 1 });
    const first = send(p, { path: '/1' });
    const second = send(p, { path: '/2' });
    await first.done;
    await second.done;
    assert.equal(first.body, 'one');
    assert.equal(second.error, undefined);
    assert.equal(second.body, 'two');
    assert.deepEqual(
      s.peers.map((peer) => peer.requests.map((r) => r.path)),
      [['/1'], ['/2']],
    );
  });

  test('bytes with no request outstanding: the idle connection is closed, nothing fails', async () => {
    const s = await scripted(answering());
    const p = pool(s.origin);
    await send(p).done;
    const peer = await s.peer(1);
    peer.write('HTTP/1.1 200 OK\r\n\r\n');
    await peer.closed;
    await until(() => p.connections === 0);
    const r = send(p);
    await r.done;
    assert.equal(r.status, 200);
    assert.equal(s.peers.length, 2);
  });

  test('headers timeout (short: a timer of its own): UND_ERR_HEADERS_TIMEOUT, the connection closed', async () => {
    const s = await scripted();
    const r = send(pool(s.origin, { headersTimeout: 50 }));
    await r.done;
    assert.ok(r.error instanceof errors.HeadersTimeoutError);
    await (await s.peer(1)).closed;
  });

  test('a headers timeout of 2 s (the shared one-second sweep, not a timer) never fires early', async () => {
    const s = await scripted();
    const started = performance.now();
    const r = send(pool(s.origin, { headersTimeout: 2000 }));
    await r.done;
    const elapsed = performance.now() - started;
    assert.ok(r.error instanceof errors.HeadersTimeoutError);
    // undici's coarse timers fire late, never early; a sweep may be up to a second behind
    assert.ok(elapsed >= 2000 && elapsed < 4500, `fired after ${elapsed.toFixed(0)} ms`);
  });

  test('body timeout (short): UND_ERR_BODY_TIMEOUT after the head', async () => {
    const s = await scripted((peer) => peer.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    const r = send(pool(s.origin, { bodyTimeout: 50 }));
    await r.done;
    assert.ok(r.error instanceof errors.BodyTimeoutError);
    assert.equal(r.body, 'abc');
  });

  test("a request's own headersTimeout over the pool's: 0 is none, a value is that", async () => {
    const s = await scripted();
    const p = pool(s.origin, { headersTimeout: 50 });
    const none = send(p, { path: '/none', headersTimeout: 0 });
    // a request with the pool's 50 ms, sent after it: once it timed out, so would have the first
    const witness = send(p, { path: '/witness' });
    await witness.done;
    assert.ok(witness.error instanceof errors.HeadersTimeoutError);
    (await s.peer(1)).write(ok('late'));
    await none.done;
    assert.equal(none.body, 'late');
    const own = send(pool(s.origin), { headersTimeout: 50 });
    await own.done;
    assert.ok(own.error instanceof errors.HeadersTimeoutError);
  });

  test("a request's own bodyTimeout over the pool's", async () => {
    const s = await scripted((peer, req) => {
      peer.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nabc');
      if (req.path === '/none') held = peer;
    });
    let held: Peer | undefined;
    const p = pool(s.origin, { bodyTimeout: 50 });
    const none = send(p, { path: '/none', bodyTimeout: 0 });
    await until(() => none.body === 'abc');
    const witness = send(p, { path: '/witness' });
    await witness.done;
    assert.ok(witness.error instanceof errors.BodyTimeoutError);
    held!.write('def');
    await none.done;
    assert.equal(none.body, 'abcdef');
    const own = send(pool(s.origin), { bodyTimeout: 50 });
    await own.done;
    assert.ok(own.error instanceof errors.BodyTimeoutError);
  });

  test('the body timeout does not run while the handler has paused the response (as undici)', async () => {
    let first: Peer | undefined;
    const s = await scripted((peer) => {
      first ??= peer;
      peer.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nabc');
    });
    const p = pool(s.origin, { bodyTimeout: 50 });
    const paused = send(p, {}, { onResponseData: (c, _chunk, rec) => rec.chunks.length === 1 && c.pause() });
    await until(() => paused.body === 'abc');
    const witness = send(p);
    await witness.done;
    assert.ok(witness.error instanceof errors.BodyTimeoutError);
    assert.equal(paused.calls.includes('error'), false);
    first!.write('def');
    paused.controller!.resume();
    await paused.done;
    assert.equal(paused.error, undefined);
    assert.equal(paused.body, 'abcdef');
  });

  test('the headers timeout does not run while a streamed request body is still going out (as undici)', async () => {
    const s = await scripted((peer, req) => {
      if (req.method === 'POST') peer.write(ok(`got ${req.body}`));
    });
    const p = pool(s.origin, { headersTimeout: 50 });
    let witness: Recording | undefined;
    async function* body() {
      yield 'slow ';
      // the caller takes longer than the headers timeout to send the rest
      witness = send(p, { path: '/witness' });
      await witness.done;
      yield 'upload';
    }
    const upload = send(p, { method: 'POST', body: body() as never });
    await upload.done;
    assert.ok(witness?.error instanceof errors.HeadersTimeoutError);
    assert.equal(upload.error, undefined);
    assert.equal(upload.body, 'got slow upload');
  });
});

describe('backpressure and abort', () => {
  test('a large body to a handler that pauses on every chunk: every byte, in order', async () => {
    const size = 8 * 1024 * 1024;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) payload.writeUInt32BE(i / 4, i);
    const big = await new NodeServer((_req, res) => {
      res.writeHead(200, { 'content-length': size });
      res.end(payload);
    }).start();
    servers.push(big);
    const p = pool(big.origin);
    let pauses = 0;
    const r = send(
      p,
      {},
      {
        onResponseData(c) {
          pauses++;
          c.pause();
          setImmediate(() => c.resume());
        },
      },
    );
    await r.done;
    assert.equal(r.error, undefined);
    assert.ok(pauses > 1);
    assert.equal(Buffer.concat(r.chunks).equals(payload), true);
    // and the connection is reusable after it
    const again = send(p);
    await again.done;
    assert.equal(again.status, 200);
    assert.equal(big.sockets.length, 1);
  });

  test('pause while a read still holds the next response bytes: they wait in order', async () => {
    const s = await scripted((peer) => {
      // the whole chunked body in one write: the handler pauses on the first chunk of it
      peer.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n');
    });
    const r = send(
      pool(s.origin),
      {},
      {
        onResponseData(c) {
          c.pause();
          setImmediate(() => c.resume());
        },
      },
    );
    await r.done;
    assert.equal(r.body, 'abc');
  });

  test("the server's close behind bytes a paused handler has not taken: the response completes from them", async () => {
    // a complete chunked response and the FIN in one go (a server's last response): the handler
    // pauses on the first chunk and resumes only once the connection is closed at both ends
    const s = await scripted((peer) => {
      peer.socket.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    });
    const r = send(
      pool(s.origin),
      {},
      {
        onResponseData(c, _chunk, rec) {
          if (rec.chunks.length !== 1) return;
          c.pause();
          void s.peer(1).then((p) => p.closed.then(() => c.resume()));
        },
      },
    );
    await r.done;
    assert.equal(r.error, undefined);
    assert.equal(r.body, 'hello world');
  });

  test('abort from onRequestStart (before anything is written): one error, the connection serves the next request', async () => {
    const s = await scripted(answering());
    const p = pool(s.origin);
    await send(p, { path: '/first' }).done;
    const reason = new Error('gave up while waiting');
    const aborted = send(p, { path: '/aborted' }, { onRequestStart: (c) => c.abort(reason) });
    await aborted.done;
    assert.deepEqual(aborted.calls, ['start', 'error']);
    assert.equal(aborted.error, reason);
    const next = send(p, { path: '/next' });
    await next.done;
    assert.equal(next.status, 200);
    assert.equal(s.peers.length, 1);
    assert.deepEqual(
      s.peers[0]!.requests.map((r) => r.path),
      ['/first', '/next'],
    );
  });

  test('a handler throwing from onRequestStart: that request fails with the error, the others go on', async () => {
    const s = await scripted(answering());
    const p = pool(s.origin, { connections: 1 });
    const boom = new Error('handler bug');
    const first = send(p, { path: '/1' });
    // waits for the connection: sent from the first one's end
    const thrower = send(
      p,
      { path: '/2' },
      {
        onRequestStart() {
          throw boom;
        },
      },
    );
    const third = send(p, { path: '/3' });
    await first.done;
    await thrower.done;
    assert.equal(thrower.error, boom);
    await third.done;
    assert.equal(third.status, 200);
    assert.deepEqual(
      s.peers.flatMap((peer) => peer.requests.map((r) => r.path)),
      ['/1', '/3'],
    );
  });

  test('abort mid-body: one onResponseError with the reason, the connection closed', async () => {
    const s = await scripted((peer) => peer.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    const reason = new Error('caller went away');
    const r = send(pool(s.origin), {}, { onResponseData: (c) => c.abort(reason) });
    await r.done;
    assert.equal(r.error, reason);
    await (await s.peer(1)).closed;
  });

  test('abort from onResponseStart: no body events, one error', async () => {
    const s = await scripted((peer) => peer.write(ok('body')));
    const r = send(pool(s.origin), {}, { onResponseStart: (c) => c.abort(new Error('no')) });
    await r.done;
    assert.deepEqual(r.calls, ['start', 'headers', 'error']);
  });
});

describe('request bodies', () => {
  test('an async iterable without Content-Length goes out chunked', async () => {
    const s = await scripted(answering());
    async function* body() {
      yield 'hello ';
      yield Buffer.from('world');
      yield new Uint8Array([0x21]);
    }
    const r = send(pool(s.origin), { method: 'POST', body: body() as never });
    await r.done;
    const req = await (await s.peer(1)).request(1);
    assert.equal(req.headers['transfer-encoding'], 'chunked');
    assert.equal(req.headers['content-length'], undefined);
    assert.equal(req.body.toString(), 'hello world!');
    assert.match(req.raw, /\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n1\r\n!\r\n0\r\n\r\n$/);
  });

  test("a Node Readable with the caller's Content-Length goes out with it", async () => {
    const s = await scripted(answering());
    const r = send(pool(s.origin), {
      method: 'PUT',
      headers: { 'content-length': '6' },
      body: Readable.from([Buffer.from('abc'), Buffer.from('def')]),
    });
    await r.done;
    assert.equal(r.status, 200);
    const req = await (await s.peer(1)).request(1);
    assert.equal(req.headers['content-length'], '6');
    assert.equal(req.headers['transfer-encoding'], undefined);
    assert.equal(req.body.toString(), 'abcdef');
  });

  for (const [name, chunks] of [
    ['more', ['abc', 'def']],
    ['fewer', ['ab']],
  ] as const) {
    test(`a streamed body with ${name} bytes than its Content-Length: RequestContentLengthMismatchError`, async () => {
      const s = await scripted(answering());
      const r = send(pool(s.origin), {
        method: 'POST',
        headers: { 'content-length': '4' },
        body: Readable.from(chunks.map((c) => Buffer.from(c))),
      });
      await r.done;
      assert.ok(r.error instanceof errors.RequestContentLengthMismatchError);
      await (await s.peer(1)).closed;
    });
  }

  test('a string, bytes or no body that does not match its Content-Length: RequestContentLengthMismatchError on dispatch, the connection kept', async () => {
    const s = await scripted(answering());
    const p = pool(s.origin, { maxRequestsPerConnection: 2 });
    await send(p).done;
    for (const [body, length] of [
      ['abc', '9'],
      [Buffer.from('abc'), '2'],
      [null, '1'],
    ] as const) {
      const r = send(p, { method: 'POST', headers: { 'content-length': length }, body });
      await r.done;
      assert.ok(r.error instanceof errors.RequestContentLengthMismatchError);
    }
    // refused before anything was written: the connection carries the next request, and the
    // refused ones did not count towards maxRequestsPerConnection
    await send(p).done;
    assert.equal(s.peers.length, 1);
    assert.equal(s.peers[0]!.requests.length, 2);
  });

  test('a body iterator that throws fails the request with its error and closes the connection', async () => {
    const s = await scripted(answering());
    const boom = new Error('boom');
    async function* body() {
      yield 'a';
      throw boom;
    }
    const r = send(pool(s.origin), { method: 'POST', body: body() as never });
    await r.done;
    assert.equal(r.error, boom);
    await (await s.peer(1)).closed;
  });

  test('a response before the request body is finished: it stands, the body stops, the connection is not reused', async () => {
    const s = await scripted(answering());
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let finalized = false;
    async function* body() {
      try {
        yield 'first';
        await gate;
        yield 'second';
      } finally {
        finalized = true;
      }
    }
    const p = pool(s.origin);
    const r = send(p, { method: 'POST', body: body() as never });
    const peer = await s.peer(1);
    await until(() => peer.received.includes('first'));
    peer.write(ok('too large'));
    await r.done;
    assert.equal(r.body, 'too large');
    release();
    await peer.closed;
    await until(() => finalized);
    assert.equal(peer.received.includes('second'), false);
    await send(p).done;
    assert.equal(s.peers.length, 2);
  });
});

describe('validation', () => {
  for (const [name, opts] of [
    ['a header value with a newline', { headers: { 'x-a': 'b\r\nx-injected: 1' } }],
    ['an invalid header name', { headers: { 'bad name': 'x' } }],
    ['transfer-encoding from the caller', { headers: { 'transfer-encoding': 'chunked' } }],
    ['a path without a slash', { path: 'nope' }],
    ['a path with a space', { path: '/a b' }],
    ['an invalid method', { method: 'G T' }],
  ] as const) {
    test(`${name}: undici's InvalidArgumentError on dispatch, no connection opened`, async () => {
      const s = await scripted(answering());
      const p = pool(s.origin);
      const r = send(p, opts as never);
      // failed on dispatch: no connection opened for it
      assert.equal(p.connections, 0);
      assert.deepEqual(r.calls, ['error']);
      await r.done;
      assert.ok(r.error instanceof errors.InvalidArgumentError, String(r.error));
      // the same request through undici's Pool fails the same way
      const undici = new Pool(s.origin);
      const ref = new Recording();
      undici.dispatch({ origin: s.origin, method: 'GET', path: '/', ...opts } as never, ref);
      await ref.done;
      await undici.destroy();
      assert.equal(r.error?.constructor, ref.error?.constructor);
      // a valid request after it: the first bytes the server ever saw
      await send(p).done;
      assert.equal(s.peers[0]?.requests[0]?.method, 'GET');
      assert.equal(s.peers[0]?.received.startsWith('GET / HTTP/1.1\r\n'), true);
    });
  }
});

describe('close and destroy', () => {
  test('close() lets the request in flight finish, then closes every connection', async () => {
    const s = await scripted();
    const p = pool(s.origin);
    const r = send(p);
    const peer = await s.peer(1);
    await peer.request(1);
    const closed = p.close();
    assert.throws(() => send(p), errors.ClientClosedError);
    peer.write(ok('last'));
    await r.done;
    assert.equal(r.body, 'last');
    await closed;
    await peer.closed;
    assert.equal(p.connections, 0);
  });

  test('close() with a request waiting for a connection: it is still sent when the connection it waited for dies', async () => {
    const s = await scripted((peer, req) => {
      if (req.path === '/2') peer.write(ok('second'));
    });
    const p = pool(s.origin, { connections: 1 });
    const first = send(p, { path: '/1' });
    const second = send(p, { path: '/2' });
    const peer = await s.peer(1);
    await peer.request(1);
    const closed = p.close();
    peer.socket.destroy();
    await first.done;
    assert.equal(first.error?.code, 'UND_ERR_SOCKET');
    await second.done;
    assert.equal(second.body, 'second');
    await closed;
    assert.equal(p.connections, 0);
  });

  test('destroy() fails the requests in flight and waiting', async () => {
    const s = await scripted();
    const p = pool(s.origin, { connections: 1 });
    const inFlight = send(p);
    const waiting = send(p);
    await (await s.peer(1)).request(1);
    await p.destroy();
    await inFlight.done;
    await waiting.done;
    assert.ok(inFlight.error instanceof errors.ClientDestroyedError);
    assert.ok(waiting.error instanceof errors.ClientDestroyedError);
    assert.deepEqual(waiting.calls, ['error']);
  });

  test('destroy() while a connection is being opened: its request fails, nothing is sent on it', async () => {
    const s = await scripted(answering());
    const real = buildConnector({});
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let connected!: () => void;
    const done = new Promise<void>((resolve) => {
      connected = resolve;
    });
    const p = pool(s.origin, {
      connect: (opts, cb) => {
        void gate.then(() =>
          real(opts, (err, socket) => {
            cb(err, socket as never);
            connected();
          }),
        );
      },
    });
    const r = send(p);
    await p.destroy();
    await r.done;
    assert.ok(r.error instanceof errors.ClientDestroyedError);
    open();
    await done;
    const peer = await s.peer(1);
    await peer.closed;
    assert.equal(peer.received, '');
    assert.deepEqual(r.calls, ['error']);
  });
});

describe('the undici fallback', () => {
  test('an upgrade request goes through undici and gets the socket', async () => {
    const s = await scripted();
    s.server.removeAllListeners('connection');
    s.server.on('connection', (socket: Socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
        socket.on('data', (d: Buffer) => socket.write(d));
      });
      socket.on('error', () => {});
    });
    const p = pool(s.origin);
    const { upgrade } = await import('undici');
    const u = await upgrade(`${s.origin}/ws`, { dispatcher: p as never, protocol: 'websocket' });
    u.socket.write('ping');
    const [echoed] = (await once(u.socket, 'data')) as [Buffer];
    assert.equal(echoed.toString(), 'ping');
    u.socket.destroy();
  });

  test('while a tool subscribes to undici:request:create, requests go through undici (it sees them)', async () => {
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
    const seen: string[] = [];
    const listener = (m: unknown) => seen.push((m as { request: { path: string } }).request.path);
    const p = pool(echo.origin);
    subscribe('undici:request:create', listener);
    try {
      const r = send(p, { path: '/observed' });
      await r.done;
      assert.equal(r.body, 'GET /observed ');
    } finally {
      unsubscribe('undici:request:create', listener);
    }
    const r2 = send(p, { path: '/own' });
    await r2.done;
    assert.deepEqual(seen, ['/observed']);
  });
});

describe('the process', () => {
  test('an idle kept-alive connection does not keep the process alive; one carrying a request does', async () => {
    const s = await scripted(answering());
    const poolModule = fileURLToPath(new URL('../src/http1/http1-pool.ts', import.meta.url));
    // two requests, the second on the first's idle connection once it ended; then nothing: the
    // process must exit with the connection still open (keepAliveTimeout 60 s)
    const script = `
      import { Http1Pool } from ${JSON.stringify(poolModule)};
      const pool = new Http1Pool(process.argv[1], { keepAliveTimeout: 60_000 });
      const get = (path, then) => pool.dispatch({ origin: pool.origin.origin, method: 'GET', path }, {
        onResponseStart() {}, onResponseData() {},
        onResponseEnd() { process.stdout.write(path + ' '); then(); },
        onResponseError(_c, err) { console.error(err); process.exitCode = 1; },
      });
      get('/1', () => setImmediate(() => get('/2', () => {})));
    `;
    const child = spawn(
      process.execPath,
      ['--conditions=inboard-source', '--input-type=module', '-e', script, s.origin],
      // a guard only: a process kept alive by its pool is killed and the test fails on its signal
      { stdio: ['ignore', 'pipe', 'inherit'], signal: AbortSignal.timeout(20_000) },
    );
    child.on('error', () => {});
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    assert.equal(signal, null, 'exited by itself');
    assert.equal(code, 0);
    assert.equal(out, '/1 /2 ');
    assert.equal(s.peers.length, 1);
  });
});
