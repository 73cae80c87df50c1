// The dispatch layer's small parts, without sockets: header normalisation, the error → reset
// reason mapping, request body buffering, the shadow host, and local replies honouring pause
// and abort.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { type Dispatcher, errors } from 'undici';
import { autoSniHost, NO_REQUEST_SNI } from '../src/cluster/auto-sni.ts';
import { replyLocally } from '../src/dispatch/local-reply.ts';
import {
  bodyBufferInterceptor,
  HAS_ENVOY,
  HAS_HOST,
  localOriginOf,
  NotInMeshError,
  normalizeHeaders,
  PerTryTimeoutError,
  RequestBody,
  RouteTimeoutError,
  resetReasonOf,
  shadowHost,
  toRawHeaders,
  UpstreamOverflowError,
} from '../src/index.ts';
import { until } from './e2e-fixtures.ts';

function codeError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('normalizeHeaders', () => {
  test('reads every undici header shape into one lower-case record', () => {
    const shapes: unknown[] = [
      { Host: 'a:1', 'X-Envoy-Retry-On': '5xx', Accept: ['a', 'b'], skip: undefined },
      ['Host', 'a:1', 'x-envoy-retry-on', '5xx', 'accept', 'a', 'ACCEPT', 'b'],
      [
        ['host', 'a:1'],
        ['x-envoy-retry-on', '5xx'],
        ['accept', ['a', 'b']],
      ],
      new Map<string, unknown>([
        ['host', 'a:1'],
        ['x-envoy-retry-on', '5xx'],
        ['accept', ['a', 'b']],
      ]),
    ];
    for (const h of shapes) {
      const out: Record<string, string | string[]> = {};
      const bits = normalizeHeaders(h, out);
      assert.deepEqual(out, { host: 'a:1', 'x-envoy-retry-on': '5xx', accept: ['a', 'b'] });
      assert.equal(bits, HAS_HOST | HAS_ENVOY);
    }
  });

  test('numbers and buffers become strings; no headers, no bits', () => {
    const out: Record<string, string | string[]> = {};
    assert.equal(normalizeHeaders({ 'content-length': 3, 'x-b': Buffer.from('bin') }, out), 0);
    assert.deepEqual(out, { 'content-length': '3', 'x-b': 'bin' });
    assert.equal(normalizeHeaders(undefined, {}), 0);
  });

  test('toRawHeaders gives one name/value pair per value', () => {
    const raw = toRawHeaders({ a: '1', 'set-cookie': ['x=1', 'y=2'], gone: undefined });
    assert.deepEqual(
      raw.map((b) => b.toString()),
      ['a', '1', 'set-cookie', 'x=1', 'set-cookie', 'y=2'],
    );
  });
});

describe('reset reasons', () => {
  test('connect failures before the request started, terminations after', () => {
    assert.equal(resetReasonOf(codeError('ECONNREFUSED'), false), 'remote_connection_failure');
    assert.equal(resetReasonOf(codeError('UND_ERR_CONNECT_TIMEOUT'), false), 'connection_timeout');
    assert.equal(resetReasonOf(codeError('UND_ERR_SOCKET'), true), 'connection_termination');
    assert.equal(resetReasonOf(codeError('ECONNRESET'), true), 'connection_termination');
    assert.equal(resetReasonOf(codeError('HPE_INVALID_CONSTANT'), true), 'protocol_error');
    // undici's llhttp errors come with no code (it looks the error name up the wrong way round)
    const llhttp = new (errors.HTTPParserError as unknown as new (m: string) => Error)('Response does not match');
    assert.equal((llhttp as { code?: string }).code, undefined);
    assert.equal(resetReasonOf(llhttp, true), 'protocol_error');
    assert.equal(
      resetReasonOf(codeError('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code NGHTTP2_REFUSED_STREAM'), true),
      'remote_refused_stream_reset',
    );
    assert.equal(resetReasonOf(codeError('ERR_TLS_CERT_ALTNAME_INVALID'), false), 'remote_connection_failure');
  });

  test('the mesh own errors: overflow is never retried, timeouts are local resets', () => {
    assert.equal(resetReasonOf(new UpstreamOverflowError('c'), false), 'overflow');
    assert.equal(resetReasonOf(new PerTryTimeoutError(10), true), 'local_reset');
    assert.equal(resetReasonOf(new NotInMeshError('x:1'), false), undefined);
  });

  test('errors that are not upstream failures are passed through', () => {
    assert.equal(resetReasonOf(codeError('UND_ERR_ABORTED'), true), undefined);
    assert.equal(resetReasonOf(codeError('UND_ERR_INVALID_ARG'), false), undefined);
    assert.equal(resetReasonOf(new Error('no code'), true), undefined);
  });

  test('outlier detection sees connect failures, timeouts and resets, not overflow', () => {
    assert.equal(localOriginOf(codeError('ECONNREFUSED'), 'remote_connection_failure'), 'connect_failure');
    assert.equal(localOriginOf(new RouteTimeoutError(5), 'local_reset'), 'timeout');
    assert.equal(localOriginOf(codeError('UND_ERR_SOCKET'), 'connection_termination'), 'reset');
    assert.equal(localOriginOf(new UpstreamOverflowError('c'), 'overflow'), undefined);
  });
});

describe('shadowHost', () => {
  test('-shadow goes before the port', () => {
    assert.equal(shadowHost('reviews:9080'), 'reviews-shadow:9080');
    assert.equal(shadowHost('reviews'), 'reviews-shadow');
    assert.equal(shadowHost('[::1]:80'), '[::1]-shadow:80');
    assert.equal(shadowHost('[::1]'), '[::1]-shadow');
  });
});

/** Runs the buffer interceptor over `body`; returns the options the next layer got (at once). */
function buffered(body: unknown, limit: number): Dispatcher.DispatchOptions {
  let got: Dispatcher.DispatchOptions | undefined;
  const next = (opts: Dispatcher.DispatchOptions) => {
    got = opts;
    return true;
  };
  bodyBufferInterceptor({ limit })(next)(
    { origin: 'http://x', path: '/', method: 'POST', body } as Dispatcher.DispatchOptions,
    {},
  );
  assert.ok(got !== undefined, 'the request goes on without waiting for its body');
  return got;
}

async function drain(body: unknown): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts).toString();
}

/** An endless source of 10-byte chunks that counts how many were taken. */
function counting() {
  const state = { pulled: 0 };
  async function* source(): AsyncGenerator<Buffer> {
    for (;;) {
      state.pulled++;
      yield Buffer.alloc(10, 120);
    }
  }
  return { state, source: source() };
}

describe('request body buffering', () => {
  test('a stream goes on at once as a RequestBody each reader gets whole, from the first chunk', async () => {
    const opts = buffered(Readable.from([Buffer.from('ab'), 'cd']), 16);
    const body = opts.body as unknown as RequestBody;
    assert.ok(body instanceof RequestBody);
    assert.equal(await drain(body.reader()), 'abcd');
    assert.equal(await drain(body.reader()), 'abcd', 'a second attempt replays the kept chunks');
    assert.equal(body.complete, true);
    assert.equal(body.overflowed, false);
    assert.equal(body.buffered().toString(), 'abcd');
  });

  test('past the limit a body streams on once, complete and in order, and cannot be read again', async () => {
    const body = buffered(Readable.from(['aaaa', 'bbbb', 'cccc']), 5).body as unknown as RequestBody;
    assert.equal(await drain(body.reader()), 'aaaabbbbcccc');
    assert.equal(body.overflowed, true);
    await assert.rejects(drain(body.reader()), /buffer limit/);
  });

  test('with no copy kept (no retry, no mirror) each chunk is let go once sent and the caller is read on demand', async () => {
    const { state, source } = counting();
    const body = new RequestBody(source, 35);
    body.keepNoCopy();
    body.start();
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.equal(state.pulled, 0, 'nothing read ahead');
    const reader = body.reader();
    for (let i = 0; i < 3; i++) assert.equal((await reader.next()).done, false);
    assert.equal(state.pulled, 3, 'one chunk per chunk sent');
    await assert.rejects(body.reader().next(), /not kept/, 'what was sent is gone');
    body.close();
  });

  test('the caller is read ahead up to the limit, then only as fast as the attempt takes chunks', async () => {
    const { state, source } = counting();
    const body = new RequestBody(source, 35);
    body.start();
    await until(() => state.pulled >= 4);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.equal(state.pulled, 4, 'read ahead: 40 bytes, the first past the 35-byte limit');
    const reader = body.reader();
    for (let i = 0; i < 6; i++) await reader.next();
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.equal(state.pulled, 6, 'past the limit, one chunk per chunk sent');
    body.close();
  });

  test('strings and buffers pass untouched; a failing stream fails its readers and tells the request', async () => {
    assert.equal(buffered('text', 1).body, 'text');
    const b = Buffer.from('x');
    assert.equal(buffered(b, 1).body, b);
    const failing = new Readable({
      read() {
        this.destroy(new Error('body broke'));
      },
    });
    const body = buffered(failing, 16).body as unknown as RequestBody;
    let told: Error | undefined;
    body.listener = {
      onBodyChunk() {},
      onBodyEnd() {},
      onBodyOverflow() {},
      onBodyError(err) {
        told = err;
      },
    };
    await assert.rejects(drain(body.reader()), /body broke/);
    assert.match(String(told?.message), /body broke/);
  });
});

describe('local replies', () => {
  test('delivered as a response, honouring pause and resume', async () => {
    const events: string[] = [];
    let controller: Dispatcher.DispatchController | undefined;
    const done = new Promise<void>((resolve) => {
      replyLocally(
        {
          onRequestStart: (c) => {
            controller = c;
            events.push('start');
          },
          onResponseStart: (c, status, headers) => {
            events.push(`headers ${status} ${headers['x-inboard-response-flags']}`);
            c.pause();
          },
          onResponseData: (_c, chunk) => events.push(`data ${chunk.length}`),
          onResponseEnd: () => {
            events.push('end');
            resolve();
          },
        },
        new NotInMeshError('x:1'),
        true,
      );
    });
    while (events.length < 2) await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ['start', 'headers 502 NR'], 'paused: no body yet');
    assert.ok(Array.isArray(controller!.rawHeaders), 'raw headers for fetch');
    controller!.resume();
    await done;
    assert.equal(events.at(-1), 'end');
    assert.match(events[2]!, /^data \d+$/);
  });

  test('an abort during the reply ends it with one error', async () => {
    const errors: Error[] = [];
    let ended = false;
    await new Promise<void>((resolve) => {
      replyLocally(
        {
          onResponseStart: (c) => c.abort(new Error('caller gave up')),
          onResponseData: () => {
            ended = true;
          },
          onResponseEnd: () => {
            ended = true;
          },
          onResponseError: (_c, err) => {
            errors.push(err);
            resolve();
          },
        },
        new NotInMeshError('x:1'),
        false,
      );
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.message, 'caller gave up');
    assert.equal(ended, false);
  });
});

test('auto_sni / auto_san_validation take the request host without its port, an IP literal included (the connector sends no SNI for it)', () => {
  assert.equal(autoSniHost('api.example.com'), 'api.example.com');
  assert.equal(autoSniHost('api.example.com:8443'), 'api.example.com');
  assert.equal(autoSniHost('127.0.0.1:80'), '127.0.0.1');
  assert.equal(autoSniHost('[::1]:443'), '::1');
  assert.equal(autoSniHost('[::1]'), '::1');
  assert.equal(autoSniHost(''), NO_REQUEST_SNI);
  // a host named like the old sentinel is a host like any other
  assert.equal(autoSniHost('inboard'), 'inboard');
  assert.notEqual(autoSniHost('inboard:80'), NO_REQUEST_SNI);
});
