// A streamed request body (what fetch sends), as Envoy's router handles it: the request goes
// upstream at once and each chunk follows as the caller sends it, while a copy is kept for retries
// up to the buffer limit. Every chunk is stream activity (the stream idle timer restarts, as
// decodeData resets it); once the last one came the request is complete, so the connection
// manager's timeouts answer 504 rather than 408 and the route timeout starts. Real loopback
// upstreams and ADS server; time moves on a ManualClock where timers matter.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ManualClock } from '@inboard/xds';
import { packAny } from '@inboard/xds/codec';
import { request } from 'undici';
import {
  ATTEMPT_END_CHANNEL,
  type AttemptEvent,
  type HttpRequestEvent,
  type OutboundMesh,
  REQUEST_CHANNEL,
  REQUEST_START_CHANNEL,
} from '../src/index.ts';
import { ControlPlane, cluster, forward, istioRetry, ms, respond, Upstream, until } from './e2e-fixtures.ts';

const held: ServerResponse[] = [];
const up = new Upstream('uploads');
const cp = new ControlPlane();

/** What a LiveUpstream saw of one request: its body as it arrived, and whether it ended or broke off. */
interface LiveRequest {
  body: string;
  ended: boolean;
  aborted: boolean;
}

/**
 * An upstream whose handler runs at the request headers (the Upstream fixture waits for the whole
 * body), recording each request's body as it arrives.
 */
class LiveUpstream {
  readonly server: Server;
  readonly requests: LiveRequest[] = [];
  handler: (req: IncomingMessage, res: ServerResponse, n: number) => void = (_req, res) => respond(res, 200, 'ok');

  constructor() {
    this.server = createServer((req, res) => {
      const seen: LiveRequest = { body: '', ended: false, aborted: false };
      this.requests.push(seen);
      req.on('data', (c: Buffer) => {
        seen.body += c.toString();
      });
      req.on('end', () => {
        seen.ended = true;
      });
      req.on('close', () => {
        if (!seen.ended) seen.aborted = true;
      });
      this.handler(req, res, this.requests.length);
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await new Promise((resolve) => this.server.once('listening', resolve));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const live = new LiveUpstream();
const shadow = new Upstream('shadow');

/** An h2c upstream (a gRPC-style server): each stream goes to `onStream`; `closed` counts streams that closed. */
const h2 = {
  server: createH2Server() as Http2Server,
  closed: 0,
  onStream: (_s: ServerHttp2Stream) => {},
};
h2.server.on('stream', (s) => {
  s.on('close', () => h2.closed++);
  h2.onStream(s);
});

before(async () => {
  await up.start();
  await live.start();
  await shadow.start();
  h2.server.listen(0, '127.0.0.1');
  await new Promise((resolve) => h2.server.once('listening', resolve));
  const noRetry = { retry_policy: undefined };
  const svc = (name: string, action: ReturnType<typeof forward>, hcmExtra?: object) => ({
    name,
    port: 9080,
    routes: [{ name, match: { prefix: '/' }, route: action }],
    hcmExtra,
  });
  await cp.start(
    [
      svc('idle', forward(cluster('uploads', 9080), noRetry), { stream_idle_timeout: ms(300) }),
      svc(
        'msd',
        forward(cluster('uploads', 9080), { ...noRetry, max_stream_duration: { max_stream_duration: ms(2000) } }),
      ),
      // istiod's default retry policy plus 5xx, as a VirtualService with retries writes it
      svc('live', forward(cluster('live', 9080), { retry_policy: istioRetry(['5xx']) })),
      svc('livetimeout', forward(cluster('live', 9080), { retry_policy: undefined, timeout: ms(1000) })),
      svc(
        'pertry',
        forward(cluster('live', 9080), { retry_policy: istioRetry(['5xx'], { per_try_timeout: ms(1000) }) }),
      ),
      svc(
        'mirrored',
        forward(cluster('live', 9080), {
          request_mirror_policies: [
            {
              cluster: cluster('shadow', 9080),
              runtime_fraction: { default_value: { numerator: 100, denominator: 0 } },
            },
          ],
        }),
      ),
      svc('bidi', forward(cluster('bidi', 9080), { retry_policy: istioRetry(['5xx']) })),
      // routes /only and nothing else: other paths are answered locally (404 NR)
      {
        name: 'picky',
        port: 9080,
        routes: [{ name: 'picky', match: { prefix: '/only' }, route: forward(cluster('live', 9080), noRetry) }],
      },
    ],
    [
      { name: cluster('uploads', 9080), endpoints: [{ port: up.port }] },
      { name: cluster('live', 9080), endpoints: [{ port: live.port }] },
      { name: cluster('shadow', 9080), endpoints: [{ port: shadow.port }] },
      {
        name: cluster('bidi', 9080),
        endpoints: [{ port: (h2.server.address() as AddressInfo).port }],
        extra: {
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': packAny(
              'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              { explicit_http_config: { http2_protocol_options: {} } },
            ),
          },
        },
      },
    ],
  );
});

after(async () => {
  for (const r of held) r.destroy();
  await cp.stop();
  await up.stop();
  await live.stop();
  await shadow.stop();
  await new Promise((resolve) => h2.server.close(resolve));
});

/**
 * A request body whose chunks the test hands over one at a time; send() returns once the previous
 * one was taken. null ends the body, an Error makes it throw.
 */
function chunkGate() {
  let give: ((c: Buffer | null | Error) => void) | undefined;
  let asked!: () => void;
  let askedNext = new Promise<void>((r) => {
    asked = r;
  });
  async function* body(): AsyncGenerator<Buffer> {
    for (;;) {
      const c = await new Promise<Buffer | null | Error>((r) => {
        give = r;
        asked();
      });
      if (c === null) return;
      if (c instanceof Error) throw c;
      yield c;
    }
  }
  return {
    body: body(),
    async send(c: Buffer | null | Error): Promise<void> {
      await askedNext;
      askedNext = new Promise<void>((r) => {
        asked = r;
      });
      give!(c);
    },
  };
}

/** An upstream handler that answers 200 with the request body it got. */
function echo(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => respond(res, 200, Buffer.concat(chunks).toString()));
}

/** POSTs the body `gate` hands over to `url` through the mesh (undici's request). */
function upload(mesh: OutboundMesh, url: string, gate: ReturnType<typeof chunkGate>) {
  return request(url, { method: 'POST', body: gate.body as unknown as Readable, dispatcher: mesh.dispatcher });
}

/**
 * An interactive upload with mesh.fetch: the body comes from `gate`, its first chunk is sent, and
 * the response is returned with a reader of its chunks (`text()`: the next one as a string).
 */
async function startChat(mesh: OutboundMesh, url: string, gate: ReturnType<typeof chunkGate>, first: string) {
  const pending = mesh.fetch(url, { method: 'POST', body: ReadableStream.from(gate.body), duplex: 'half' });
  await gate.send(Buffer.from(first));
  const res = await pending;
  const reader = res.body!.getReader();
  const text = async () => Buffer.from((await reader.read()).value!).toString();
  return { res, reader, text };
}

test('chunks of a streamed body keep the stream idle timer from firing while the upload flows', async () => {
  const clock = new ManualClock();
  const mesh = cp.mesh({ clock, requestBufferLimitBytes: 16 });
  up.handler = (_req, res) => respond(res, 200, 'uploaded');
  const gate = chunkGate();
  try {
    const pending = upload(mesh, 'http://idle:9080/', gate);
    // 5 chunks 200 ms apart: never 300 ms of silence, though the upload takes 1 s
    // (a reply that cut the upload short ends the wait for the body to be read)
    const answered = pending.then(() => undefined);
    for (let i = 0; i < 5; i++) {
      await Promise.race([gate.send(Buffer.alloc(64, 97)), answered]);
      clock.advance(200);
    }
    await Promise.race([gate.send(null), answered]);
    const r = await pending;
    assert.equal(r.statusCode, 200);
    assert.equal(await r.body.text(), 'uploaded');
    assert.equal(up.seen.at(-1)!.body.length, 5 * 64);
  } finally {
    await mesh.close();
  }
});

test('a streamed body that ended counts as a complete request: max_stream_duration answers 504', async () => {
  const clock = new ManualClock();
  const mesh = cp.mesh({ clock, requestBufferLimitBytes: 16 });
  const start = up.seen.length;
  up.handler = (_req, res) => held.push(res);
  const gate = chunkGate();
  try {
    const pending = upload(mesh, 'http://msd:9080/', gate);
    for (let i = 0; i < 3; i++) await gate.send(Buffer.alloc(64, 98));
    await gate.send(null);
    await up.received(start + 1);
    clock.advance(2000);
    const r = await pending;
    assert.equal(r.statusCode, 504);
    assert.equal(await r.body.text(), 'downstream duration timeout');
  } finally {
    await mesh.close();
  }
});

/** The events of the requests run by `f` (request, attempt-end), while someone listens to both. */
async function withEvents<T>(
  f: (events: { requests: HttpRequestEvent[]; attempts: AttemptEvent[] }) => Promise<T>,
): Promise<T> {
  const events = { requests: [] as HttpRequestEvent[], attempts: [] as AttemptEvent[] };
  const onRequest = (e: unknown) => events.requests.push(e as HttpRequestEvent);
  const onAttempt = (e: unknown) => events.attempts.push(e as AttemptEvent);
  const onStart = () => {};
  diagnosticsChannel.subscribe(REQUEST_CHANNEL, onRequest);
  diagnosticsChannel.subscribe(ATTEMPT_END_CHANNEL, onAttempt);
  diagnosticsChannel.subscribe(REQUEST_START_CHANNEL, onStart);
  try {
    return await f(events);
  } finally {
    diagnosticsChannel.unsubscribe(REQUEST_CHANNEL, onRequest);
    diagnosticsChannel.unsubscribe(ATTEMPT_END_CHANNEL, onAttempt);
    diagnosticsChannel.unsubscribe(REQUEST_START_CHANNEL, onStart);
  }
}

test('an interactive upload through fetch: the answer to the first chunk comes before the caller sends the next', async () => {
  const mesh = cp.mesh();
  // headers once the first chunk is in, then an echo of each chunk as it comes
  live.handler = (req, res) => {
    req.on('data', (c: Buffer) => {
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(`<${c}>`);
    });
    req.on('end', () => res.end('.'));
  };
  const gate = chunkGate();
  try {
    const { res, reader, text } = await startChat(mesh, 'http://live:9080/chat', gate, 'hello');
    assert.equal(res.status, 200);
    assert.equal(await text(), '<hello>');
    await gate.send(Buffer.from('again'));
    assert.equal(await text(), '<again>');
    await gate.send(null);
    assert.equal(await text(), '.');
    assert.equal((await reader.read()).done, true);
    assert.equal(live.requests.at(-1)!.body, 'helloagain');
  } finally {
    await mesh.close();
  }
});

test('a retry resends the kept chunks, then the ones the caller sends after the first attempt started', async () => {
  const mesh = cp.mesh();
  const start = live.requests.length;
  // the first attempt is answered 503 at its first chunk, the second echoes the whole body
  live.handler = (req, res, n) => {
    if (n === start + 1) {
      req.once('data', () => respond(res, 503, 'try again'));
      return;
    }
    echo(req, res);
  };
  const gate = chunkGate();
  try {
    const pending = upload(mesh, 'http://live:9080/upload', gate);
    await gate.send(Buffer.from('one,'));
    await until(() => live.requests.length === start + 2);
    await gate.send(Buffer.from('two,'));
    await gate.send(Buffer.from('three'));
    await gate.send(null);
    const r = await pending;
    assert.equal(r.statusCode, 200);
    assert.equal(await r.body.text(), 'one,two,three');
    assert.equal(live.requests.length, start + 2);
    assert.equal(live.requests[start]!.body, 'one,');
    assert.equal(live.requests[start]!.ended, false, 'the retried attempt was reset, not ended as if complete');
  } finally {
    await mesh.close();
  }
});

test('a body that passes the buffer limit while a retry waits in its backoff: 507, as from Envoy', async () => {
  const clock = new ManualClock();
  const mesh = cp.mesh({ clock, requestBufferLimitBytes: 16 });
  const start = live.requests.length;
  live.handler = (req, res) => req.once('data', () => respond(res, 503, 'try again'));
  const gate = chunkGate();
  try {
    await withEvents(async (events) => {
      const pending = upload(mesh, 'http://live:9080/big', gate);
      await gate.send(Buffer.alloc(8, 97));
      // the 503 came: the retry waits for its backoff (the clock does not move)
      await until(() => events.attempts.some((a) => a.status === 503));
      await gate.send(Buffer.alloc(16, 98));
      const r = await pending;
      assert.equal(r.statusCode, 507);
      assert.equal(await r.body.text(), 'exceeded request buffer limit while retrying upstream');
      assert.equal(live.requests.length, start + 1, 'no second attempt');
      const e = events.requests.at(-1)!;
      assert.equal(e.details, 'request_payload_exceeded_retry_buffer_limit');
      assert.deepEqual(e.flags, []);
    });
  } finally {
    await mesh.close();
  }
});

test('a caller stream that fails mid-way resets the attempt; the caller gets its own error, flagged DC', async () => {
  const mesh = cp.mesh();
  const start = live.requests.length;
  live.handler = () => {}; // never answers: the body decides
  const gate = chunkGate();
  try {
    await withEvents(async (events) => {
      const pending = upload(mesh, 'http://live:9080/broken', gate);
      await gate.send(Buffer.from('first'));
      await until(() => live.requests[start]?.body === 'first');
      await gate.send(new Error('caller body broke'));
      await assert.rejects(pending, /caller body broke/);
      await until(() => live.requests[start]!.aborted);
      const e = events.requests.at(-1)!;
      assert.deepEqual(e.flags, ['DC']);
      assert.equal(e.details, 'downstream_remote_disconnect');
      assert.equal(e.bytes.sent, 5);
    });
  } finally {
    await mesh.close();
  }
});

test('an upstream that answers before the body ends: the caller gets the answer and its body is no longer read', async () => {
  const mesh = cp.mesh();
  const start = live.requests.length;
  live.handler = (req, res) => req.once('data', () => respond(res, 413, 'too large'));
  // a caller with more to send, later: its iterator records whether the mesh let it go
  const calls = { next: 0, returned: false };
  const body = {
    [Symbol.asyncIterator]() {
      return {
        next(): Promise<IteratorResult<Buffer>> {
          calls.next++;
          if (calls.next === 1) return Promise.resolve({ done: false, value: Buffer.from('head') });
          return new Promise(() => {});
        },
        return(): Promise<IteratorResult<Buffer>> {
          calls.returned = true;
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
  try {
    const r = await request('http://live:9080/upload', {
      method: 'POST',
      body: body as unknown as Readable,
      dispatcher: mesh.dispatcher,
    });
    assert.equal(r.statusCode, 413);
    assert.equal(await r.body.text(), 'too large');
    await until(() => calls.returned);
    assert.equal(calls.next, 2, 'nothing asked of the caller after the answer');
    assert.equal(live.requests.length, start + 1, 'a 413 is not retried');
    assert.equal(live.requests[start]!.body, 'head');
  } finally {
    await mesh.close();
  }
});

test("a caller's Node stream is destroyed when its request ends before the body: an early answer, a local reply", async () => {
  const mesh = cp.mesh();
  live.handler = (req, res) => req.once('data', () => respond(res, 413, 'too large'));
  try {
    // the upstream answers after the first chunk; the caller has more, later
    const stalled = new Readable({ read() {} });
    stalled.push('head');
    const r = await request('http://live:9080/upload', { method: 'POST', body: stalled, dispatcher: mesh.dispatcher });
    assert.equal(r.statusCode, 413);
    await r.body.text();
    await until(() => stalled.destroyed);

    // no route: answered by the mesh, the body never read — a file stays open unless destroyed
    const dir = mkdtempSync(join(tmpdir(), 'inboard-upload-'));
    const file = join(dir, 'upload.bin');
    writeFileSync(file, Buffer.alloc(200_000, 1));
    const fileStream = createReadStream(file);
    const nr = await request('http://picky:9080/elsewhere', {
      method: 'POST',
      body: fileStream,
      dispatcher: mesh.dispatcher,
    });
    assert.equal(nr.statusCode, 404);
    await nr.body.text();
    await until(() => fileStream.destroyed);
    await once(fileStream, 'close');
    rmSync(dir, { recursive: true, force: true });
  } finally {
    await mesh.close();
  }
});

test("the dispatcher's destroy() ends a streamed upload whose caller stalls (close() waits for it)", {
  timeout: 20_000,
}, async () => {
  const mesh = cp.mesh();
  const start = live.requests.length;
  live.handler = () => {}; // waits for a body that does not come
  const gate = chunkGate();
  const pending = upload(mesh, 'http://live:9080/upload', gate);
  const failed = pending.then(
    () => 'answered',
    () => 'failed',
  );
  await gate.send(Buffer.from('part '));
  await until(() => live.requests[start]?.body === 'part ');
  await mesh.dispatcher.destroy();
  assert.equal(await failed, 'failed');
  await until(() => live.requests[start]!.aborted);
});

test('the route timeout starts once the streamed body is complete, as Envoy arms it at the end of the request', async () => {
  const clock = new ManualClock();
  const mesh = cp.mesh({ clock });
  const start = live.requests.length;
  live.handler = (_req, res) => held.push(res);
  const gate = chunkGate();
  try {
    const pending = upload(mesh, 'http://livetimeout:9080/', gate);
    const answered = pending.then(() => true);
    await gate.send(Buffer.from('slow '));
    await until(() => live.requests[start]?.body === 'slow ');
    clock.advance(5000); // the caller takes its time: no route timeout yet
    await gate.send(Buffer.from('upload'));
    await until(() => live.requests[start]?.body === 'slow upload');
    assert.equal(await Promise.race([answered, Promise.resolve(false)]), false);
    await gate.send(null);
    await until(() => live.requests[start]!.ended);
    clock.advance(999);
    assert.equal(await Promise.race([answered, new Promise((r) => setImmediate(() => r(false)))]), false);
    clock.advance(1);
    const r = await pending;
    assert.equal(r.statusCode, 504);
    assert.equal(await r.body.text(), 'upstream request timeout');
  } finally {
    await mesh.close();
  }
});

test('over HTTP/2, a bidirectional exchange: chunks and answers interleave, and a stream the upstream ends first is closed', async () => {
  // the mesh's own pools: a plaintext cluster with http2_protocol_options is h2c (prior knowledge)
  const mesh = cp.mesh();
  // echoes each chunk; ends the response (and its stream) at "bye", whatever the caller still has
  h2.onStream = (s) => {
    s.respond({ ':status': 200, 'content-type': 'text/plain' });
    s.on('data', (c: Buffer) => {
      if (String(c) === 'bye') s.end('<bye>');
      else s.write(`<${c}>`);
    });
  };
  const closedBefore = h2.closed;
  const gate = chunkGate();
  try {
    const { res, reader, text } = await startChat(mesh, 'http://bidi:9080/chat', gate, 'ping');
    assert.equal(res.status, 200);
    assert.equal(await text(), '<ping>');
    await gate.send(Buffer.from('pong'));
    assert.equal(await text(), '<pong>');
    await gate.send(Buffer.from('bye'));
    assert.equal(await text(), '<bye>');
    assert.equal((await reader.read()).done, true);
    // the request side is closed too, not left half open on the upstream's connection
    await until(() => h2.closed === closedBefore + 1);
  } finally {
    await mesh.close();
  }
});

test('the per-try timeout starts once the streamed body is complete; the retry it causes resends the whole body', async () => {
  const clock = new ManualClock();
  const mesh = cp.mesh({ clock });
  const start = live.requests.length;
  // the first attempt is never answered, the second echoes the body
  live.handler = (req, res, n) => {
    if (n === start + 1) return;
    echo(req, res);
  };
  const gate = chunkGate();
  try {
    const pending = upload(mesh, 'http://pertry:9080/', gate);
    await gate.send(Buffer.from('take '));
    await until(() => live.requests[start]?.body === 'take ');
    clock.advance(3000); // a slow caller is not the upstream's fault: no per-try timeout yet
    await gate.send(Buffer.from('your time'));
    await gate.send(null);
    await until(() => live.requests[start]!.ended);
    assert.equal(live.requests.length, start + 1);
    clock.advance(1000); // the per-try timeout, from the end of the request
    await until(() => clock.pending > 0 && live.requests.length === start + 1);
    clock.advance(1000); // the backoff
    const r = await pending;
    assert.equal(r.statusCode, 200);
    assert.equal(await r.body.text(), 'take your time');
    assert.equal(live.requests.length, start + 2);
  } finally {
    await mesh.close();
  }
});

test('a streamed body within the limit is mirrored whole once it is complete', async () => {
  const mesh = cp.mesh();
  const start = shadow.seen.length;
  live.handler = echo;
  const gate = chunkGate();
  try {
    const pending = upload(mesh, 'http://mirrored:9080/copy', gate);
    await gate.send(Buffer.from('first '));
    await gate.send(Buffer.from('second'));
    await gate.send(null);
    const r = await pending;
    assert.equal(await r.body.text(), 'first second');
    await shadow.received(start + 1);
    const copy = shadow.seen[start]!;
    assert.equal(copy.url, '/copy');
    assert.equal(copy.headers.host, 'mirrored-shadow:9080');
    assert.equal(copy.body, 'first second');
  } finally {
    await mesh.close();
  }
});
