// The mesh's HTTP/1.1 response parser on its own: Buffers in, a recording sink out. Every framing,
// every way a response can be split across reads (each must give the same events), pausing, the
// sink starting the next exchange from onEnd, and each protocol error with its code (undici's
// HTTPParserError `HPE_*` codes, as llhttp reports them, so the mesh maps them as before).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errors } from 'undici';
import { type ResponseHeaders, ResponseParser, type ResponseSink } from '../src/http1/response-parser.ts';

type Event =
  | { type: 'head'; status: number; statusText: string; headers: ResponseHeaders; raw: string[] }
  | { type: 'data'; body: string }
  | { type: 'end'; trailers: ResponseHeaders; raw: string[] };

interface Recorder extends ResponseSink {
  readonly events: Event[];
}

function recorder(hooks: { onData?: (chunk: Buffer) => boolean; onEnd?: () => void } = {}): Recorder {
  const events: Event[] = [];
  return {
    events,
    onHead(status, statusText, headers, raw) {
      events.push({ type: 'head', status, statusText, headers: { ...headers }, raw: [...raw] });
    },
    onData(chunk) {
      // consecutive chunks are one body event: how the bytes were split must not matter
      const last = events.at(-1);
      if (last?.type === 'data') last.body += chunk.toString('latin1');
      else events.push({ type: 'data', body: chunk.toString('latin1') });
      return hooks.onData?.(chunk) ?? true;
    },
    onEnd(trailers, raw) {
      events.push({ type: 'end', trailers: { ...trailers }, raw: [...raw] });
      hooks.onEnd?.();
    },
  };
}

interface Outcome {
  events: Event[];
  done: boolean;
  upgraded: boolean;
  keepAlive: boolean;
  hint: number | undefined;
  /** bytes after the response (not this response's) */
  rest: string;
  error: string | undefined;
}

interface Run {
  method?: string;
  upgrade?: boolean;
  maxHeaderSize?: number;
  /** the connection closes after the bytes */
  close?: boolean;
}

/** Feeds `chunks` to a fresh parser, as reads of one connection. */
function feed(chunks: readonly Buffer[], run: Run = {}): Outcome {
  const sink = recorder();
  const parser = new ResponseParser(sink, run.maxHeaderSize ?? 16 * 1024);
  parser.start(run.method ?? 'GET', run.upgrade ?? false);
  let rest = '';
  let error: string | undefined;
  try {
    for (const chunk of chunks) {
      if (parser.done || parser.upgraded) {
        rest += chunk.toString('latin1');
        continue;
      }
      const at = parser.execute(chunk, 0);
      if (at < chunk.length) {
        assert.ok(parser.done || parser.upgraded, 'execute stops early only at the end of the response');
        rest += chunk.subarray(at).toString('latin1');
      }
    }
    if (run.close === true && !parser.done && !parser.upgraded) parser.finish();
  } catch (err) {
    error = (err as { code?: string }).code ?? String(err);
  }
  return {
    events: sink.events,
    done: parser.done,
    upgraded: parser.upgraded,
    keepAlive: parser.keepAlive,
    hint: parser.keepAliveHintMs,
    rest,
    error,
  };
}

function whole(text: string, run?: Run): Outcome {
  return feed([Buffer.from(text, 'latin1')], run);
}

/** Splits at every offset (two reads) and byte by byte: each must give what one read gives. */
function assertSplitInvariant(text: string, run?: Run): Outcome {
  const bytes = Buffer.from(text, 'latin1');
  const expected = feed([bytes], run);
  for (let k = 1; k < bytes.length; k++) {
    const got = feed([bytes.subarray(0, k), bytes.subarray(k)], run);
    assert.deepEqual(got, expected, `split at ${k} of ${JSON.stringify(text)}`);
  }
  const single = feed(
    [...bytes].map((b) => Buffer.from([b])),
    run,
  );
  assert.deepEqual(single, expected, `byte by byte: ${JSON.stringify(text)}`);
  return expected;
}

function head(status: number, headers: ResponseHeaders, statusText = 'OK'): Partial<Event> {
  return { type: 'head', status, statusText, headers };
}

function shape(o: Outcome): unknown[] {
  return o.events.map((e) =>
    e.type === 'head'
      ? { type: 'head', status: e.status, statusText: e.statusText, headers: e.headers }
      : e.type === 'data'
        ? e
        : { type: 'end', trailers: e.trailers },
  );
}

describe('framing', () => {
  test('Content-Length: the body is exactly that many bytes; the rest of the read is not this response', () => {
    const o = whole('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhelloHTTP/1.1');
    assert.deepEqual(shape(o), [
      head(200, { 'content-length': '5', 'x-a': '1' }),
      { type: 'data', body: 'hello' },
      { type: 'end', trailers: {} },
    ]);
    assert.equal(o.done, true);
    assert.equal(o.keepAlive, true);
    assert.equal(o.rest, 'HTTP/1.1');
    assert.deepEqual(o.events[0]?.type === 'head' && o.events[0].raw, ['Content-Length', '5', 'X-A', '1']);
  });

  test('Content-Length: 0 ends the response at its head', () => {
    const o = whole('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
    assert.deepEqual(shape(o), [head(200, { 'content-length': '0' }), { type: 'end', trailers: {} }]);
    assert.equal(o.keepAlive, true);
  });

  test('chunked, with chunk extensions and trailers (repeated trailer names become arrays)', () => {
    const o = whole(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;name=value;q="x"\r\nhello\r\n6 ; ext\r\n world\r\n0;last\r\nGrpc-Status: 0\r\nX-T: a\r\nx-t: b\r\n\r\n',
    );
    assert.deepEqual(shape(o), [
      head(200, { 'transfer-encoding': 'chunked' }),
      { type: 'data', body: 'hello world' },
      { type: 'end', trailers: { 'grpc-status': '0', 'x-t': ['a', 'b'] } },
    ]);
    const end = o.events.at(-1);
    assert.deepEqual(end?.type === 'end' && end.raw, ['Grpc-Status', '0', 'X-T', 'a', 'x-t', 'b']);
    assert.equal(o.keepAlive, true);
  });

  test('chunked as the last of several codings is chunked framing', () => {
    const o = whole(
      'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    assert.deepEqual(shape(o).slice(1), [
      { type: 'data', body: 'abc' },
      { type: 'end', trailers: {} },
    ]);
    assert.equal(o.done, true);
  });

  test('a Transfer-Encoding not ending in chunked reads to the close (RFC 9112 §6.3), never reused', () => {
    const open = whole('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\nraw bytes');
    assert.equal(open.done, false);
    assert.deepEqual(shape(open).slice(1), [{ type: 'data', body: 'raw bytes' }]);
    const closed = whole('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\nraw bytes', { close: true });
    assert.equal(closed.done, true);
    assert.equal(closed.keepAlive, false);
  });

  test('no framing header: the body runs to the close, and finish() completes it', () => {
    const o = whole('HTTP/1.1 200 OK\r\nx: y\r\n\r\nuntil the end', { close: true });
    assert.deepEqual(shape(o), [
      head(200, { x: 'y' }),
      { type: 'data', body: 'until the end' },
      { type: 'end', trailers: {} },
    ]);
    assert.equal(o.keepAlive, false);
  });

  test('finish() before the body is complete is not a complete response', () => {
    const sink = recorder();
    const p = new ResponseParser(sink, 16384);
    p.start('GET', false);
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    assert.equal(p.finish(), false);
    assert.equal(p.done, false);
    assert.equal(
      sink.events.some((e) => e.type === 'end'),
      false,
    );
  });

  test('HEAD: no body whatever the framing headers say, and the connection stays reusable', () => {
    for (const h of ['content-length: 10', 'transfer-encoding: chunked']) {
      const o = whole(`HTTP/1.1 200 OK\r\n${h}\r\n\r\nHTTP/1.1 200`, { method: 'HEAD' });
      assert.equal(o.done, true, h);
      assert.equal(o.keepAlive, true, h);
      assert.equal(o.rest, 'HTTP/1.1 200', h);
      assert.deepEqual(
        o.events.map((e) => e.type),
        ['head', 'end'],
      );
    }
  });

  test('204 and 304 have no body; one that announces a body is not reused (deliberately stricter than llhttp)', () => {
    for (const status of [204, 304]) {
      const plain = whole(`HTTP/1.1 ${status} X\r\n\r\n`);
      assert.equal(plain.done, true);
      assert.equal(plain.keepAlive, true);
      const zero = whole(`HTTP/1.1 ${status} X\r\ncontent-length: 0\r\n\r\n`);
      assert.equal(zero.keepAlive, true);
      for (const h of ['content-length: 3', 'transfer-encoding: chunked']) {
        const o = whole(`HTTP/1.1 ${status} X\r\n${h}\r\n\r\nabc`);
        assert.equal(o.done, true, `${status} ${h}`);
        assert.equal(o.keepAlive, false, `${status} ${h}`);
        assert.equal(o.rest, 'abc');
        assert.deepEqual(
          o.events.map((e) => e.type),
          ['head', 'end'],
        );
      }
    }
  });

  test('1xx interim responses are dropped before the final one', () => {
    const o = whole(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n' +
        'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
    );
    assert.deepEqual(shape(o), [
      head(200, { 'content-length': '2' }),
      { type: 'data', body: 'ok' },
      { type: 'end', trailers: {} },
    ]);
  });

  test("101 to an upgrade request: the connection is the caller's, the bytes after the head are not parsed", () => {
    const o = whole(
      'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n\x81\x05hello',
      {
        upgrade: true,
      },
    );
    assert.equal(o.upgraded, true);
    assert.equal(o.keepAlive, false);
    assert.deepEqual(shape(o), [head(101, { upgrade: 'websocket', connection: 'upgrade' }, 'Switching Protocols')]);
    assert.equal(o.rest, '\x81\x05hello');
  });

  test('101 without an upgrade request is a protocol error (undici destroys the socket too: "bad upgrade")', () => {
    assert.equal(whole('HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\n\r\n').error, 'HPE_INVALID_STATUS');
  });

  test('a 2xx to CONNECT hands the connection over; a non-2xx to CONNECT is an ordinary response', () => {
    const ok = whole('HTTP/1.1 200 Connection Established\r\n\r\ntunnel', { method: 'CONNECT' });
    assert.equal(ok.upgraded, true);
    assert.equal(ok.rest, 'tunnel');
    const refused = whole('HTTP/1.1 407 Proxy Auth\r\ncontent-length: 1\r\n\r\nx', { method: 'CONNECT' });
    assert.equal(refused.upgraded, false);
    assert.equal(refused.done, true);
  });

  test('keep-alive: HTTP/1.1 unless "close" is listed; HTTP/1.0 only when keep-alive is listed', () => {
    assert.equal(whole('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n').keepAlive, true);
    assert.equal(whole('HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n').keepAlive, false);
    assert.equal(whole('HTTP/1.1 200 OK\r\nconnection: x-foo, close\r\ncontent-length: 0\r\n\r\n').keepAlive, false);
    assert.equal(whole('HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n').keepAlive, false);
    assert.equal(whole('HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n').keepAlive, true);
    const v10 = whole('HTTP/1.0 200 OK\r\n\r\nbody', { close: true });
    assert.deepEqual(shape(v10).slice(1), [
      { type: 'data', body: 'body' },
      { type: 'end', trailers: {} },
    ]);
  });

  test('the Keep-Alive timeout hint is read in milliseconds; none without the header or parameter', () => {
    assert.equal(whole('HTTP/1.1 200 OK\r\nkeep-alive: timeout=5, max=100\r\ncontent-length: 0\r\n\r\n').hint, 5000);
    assert.equal(whole('HTTP/1.1 200 OK\r\nKeep-Alive: max=9,Timeout = 7\r\ncontent-length: 0\r\n\r\n').hint, 7000);
    assert.equal(whole('HTTP/1.1 200 OK\r\nkeep-alive: max=100\r\ncontent-length: 0\r\n\r\n').hint, undefined);
    assert.equal(whole('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n').hint, undefined);
  });

  test('repeated headers become arrays, __proto__ is a plain key, values are trimmed', () => {
    const o = whole(
      'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n__proto__:  x \t\r\nEmpty:\r\ncontent-length: 0\r\n\r\n',
    );
    const h = o.events[0];
    assert.ok(h?.type === 'head');
    assert.deepEqual(h.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(Object.hasOwn(h.headers, '__proto__'), true);
    assert.equal(Object.getOwnPropertyDescriptor(h.headers, '__proto__')?.value, 'x');
    assert.equal(h.headers.empty, '');
    assert.equal(Object.getPrototypeOf(h.headers), Object.prototype);
  });

  test('status lines: no reason phrase, an empty one, obs-text in it', () => {
    assert.equal(
      (whole('HTTP/1.1 200\r\ncontent-length: 0\r\n\r\n').events[0] as { statusText: string }).statusText,
      '',
    );
    assert.equal(
      (whole('HTTP/1.1 404 \r\ncontent-length: 0\r\n\r\n').events[0] as { statusText: string }).statusText,
      '',
    );
    assert.equal(
      (whole('HTTP/1.1 200 D\xe9j\xe0 vu\r\ncontent-length: 0\r\n\r\n').events[0] as { statusText: string }).statusText,
      'D\xe9j\xe0 vu',
    );
  });

  test('equal Content-Length values, repeated or listed, are one length (RFC 9110 §8.6; llhttp refuses duplicates)', () => {
    const o = whole('HTTP/1.1 200 OK\r\ncontent-length: 3\r\nContent-Length: 3, 3\r\n\r\nabc');
    assert.equal(o.error, undefined);
    assert.equal(o.done, true);
  });
});

describe('every byte boundary', () => {
  const samples: [string, string, Run?][] = [
    ['content-length', 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world'],
    [
      'chunked with extensions and trailers',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-t: 1\r\n\r\n',
    ],
    ['close-delimited', 'HTTP/1.0 200 OK\r\nx: y\r\n\r\nto the end', { close: true }],
    ['HEAD', 'HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n', { method: 'HEAD' }],
    ['204', 'HTTP/1.1 204 No Content\r\nx: 1\r\n\r\n'],
    [
      '1xx then 200',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 EH\r\nlink: a\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nz',
    ],
    ['101 upgrade', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\nframes', { upgrade: true }],
    ['response then leftover', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n'],
    ['an error in the head', 'HTTP/1.1 200 OK\r\nbad header\r\ncontent-length: 0\r\n\r\n'],
    ['an error in the chunk framing', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n'],
  ];
  for (const [name, text, run] of samples) {
    test(`${name}: split at every offset and byte by byte, the same events`, () => {
      assertSplitInvariant(text, run);
    });
  }

  test('a head exactly maxHeaderSize long parses however it is split; one byte more overflows', () => {
    const fill = (n: number) => `HTTP/1.1 200 OK\r\nx: ${'a'.repeat(n - 'HTTP/1.1 200 OK\r\nx: '.length)}\r\n\r\n`;
    const max = 64;
    const atLimit = fill(max);
    assert.equal(atLimit.length, max + 4);
    const ok = assertSplitInvariant(atLimit, { maxHeaderSize: max });
    assert.equal(ok.error, undefined);
    assert.equal(ok.events[0]?.type, 'head');
    const over = assertSplitInvariant(fill(max + 1), { maxHeaderSize: max });
    assert.equal(over.error, 'UND_ERR_HEADERS_OVERFLOW');
  });
});

describe('pausing', () => {
  test('a sink returning false stops execute after that chunk; execute from the returned offset resumes', () => {
    let pause = true;
    const sink = recorder({ onData: () => !pause });
    const p = new ResponseParser(sink, 16384);
    p.start('GET', false);
    const bytes = Buffer.from(
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n',
      'latin1',
    );
    const at = p.execute(bytes, 0);
    assert.equal(bytes.subarray(at).toString(), '\r\n3\r\ndef\r\n0\r\n\r\n');
    assert.deepEqual(
      sink.events.map((e) => (e.type === 'data' ? e.body : e.type)),
      ['head', 'abc'],
    );
    pause = false;
    const end = p.execute(bytes, at);
    assert.equal(end, bytes.length);
    assert.equal(p.done, true);
    assert.deepEqual(
      sink.events.map((e) => (e.type === 'data' ? e.body : e.type)),
      ['head', 'abcdef', 'end'],
    );
  });

  test('a pause on the last Content-Length bytes still ends the response', () => {
    const sink = recorder({ onData: () => false });
    const p = new ResponseParser(sink, 16384);
    p.start('GET', false);
    const bytes = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc');
    assert.equal(p.execute(bytes, 0), bytes.length);
    assert.equal(p.done, true);
  });

  test('pausing on a Content-Length body split over reads: every byte once, in order', () => {
    let calls = 0;
    const sink = recorder({ onData: () => ++calls % 2 === 0 });
    const p = new ResponseParser(sink, 16384);
    p.start('GET', false);
    const bytes = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789');
    for (let k = 40; k < bytes.length; k += 3) {
      const read = bytes.subarray(k === 40 ? 0 : k, Math.min(k + 3, bytes.length));
      let at = 0;
      while (at < read.length && !p.done) at = p.execute(read, at);
    }
    assert.equal(p.done, true);
    assert.equal((sink.events[1] as { body: string }).body, '0123456789');
  });
});

describe('re-entrancy', () => {
  for (const [name, first] of [
    ['Content-Length', 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na'],
    ['no body', 'HTTP/1.1 204 No Content\r\n\r\n'],
    ['Content-Length: 0', 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'],
    ['chunked', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n'],
  ] as const) {
    test(`${name}: onEnd starting the next exchange stops execute at the end of this response`, () => {
      let p!: ResponseParser;
      const sink = recorder({ onEnd: () => p.start('GET', false) });
      p = new ResponseParser(sink, 16384);
      p.start('GET', false);
      const second = 'HTTP/1.1 201 Created\r\ncontent-length: 1\r\n\r\nb';
      const bytes = Buffer.from(first + second);
      const at = p.execute(bytes, 0);
      assert.equal(at, first.length);
      assert.deepEqual(
        sink.events.map((e) => e.type),
        name === 'Content-Length' || name === 'chunked' ? ['head', 'data', 'end'] : ['head', 'end'],
      );
      // the leftover is the next exchange's, parsed only when the caller says so
      assert.equal(p.execute(bytes, at), bytes.length);
      assert.equal((sink.events.at(-3) as { status: number }).status, 201);
    });
  }

  test('data with no request outstanding is a protocol error', () => {
    const p = new ResponseParser(recorder(), 16384);
    assert.throws(() => p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), { code: 'HPE_INVALID_CONSTANT' });
  });
});

describe('protocol errors', () => {
  const cases: [string, string, string, Run?][] = [
    ['obs-fold', 'HTTP/1.1 200 OK\r\nx: a\r\n b\r\ncontent-length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    [
      'a bare LF ending a header line',
      'HTTP/1.1 200 OK\r\nx: a\ny: b\r\ncontent-length: 0\r\n\r\n',
      'HPE_INVALID_HEADER_TOKEN',
    ],
    ['a bare LF ending the status line', 'HTTP/1.1 200 OK\nx: a\r\ncontent-length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nx : a\r\ncontent-length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nnocolon\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['an empty header name', 'HTTP/1.1 200 OK\r\n: a\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['an invalid header name char', 'HTTP/1.1 200 OK\r\nx(y): a\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a NUL in a header value', 'HTTP/1.1 200 OK\r\nx: a\x00b\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a CR in a header value', 'HTTP/1.1 200 OK\r\nx: a\rb\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['DEL in a header value', 'HTTP/1.1 200 OK\r\nx: a\x7fb\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    [
      'conflicting Content-Length fields',
      'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
    [
      'conflicting listed Content-Length',
      'HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\nab',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
    ['a signed Content-Length', 'HTTP/1.1 200 OK\r\ncontent-length: +1\r\n\r\na', 'HPE_INVALID_CONTENT_LENGTH'],
    ['an empty Content-Length', 'HTTP/1.1 200 OK\r\ncontent-length:\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    ['a non-numeric Content-Length', 'HTTP/1.1 200 OK\r\ncontent-length: 1a\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    [
      'a Content-Length past 2^53',
      'HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999\r\n\r\n',
      'HPE_INVALID_CONTENT_LENGTH',
    ],
    [
      'Content-Length with Transfer-Encoding',
      'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
    [
      'Content-Length with Transfer-Encoding, on a HEAD',
      'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
      { method: 'HEAD' },
    ],
    ['a non-hex chunk size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['an empty chunk size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    [
      'a chunk size with leading space',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n 1\r\na\r\n',
      'HPE_INVALID_CHUNK_SIZE',
    ],
    [
      'a chunk size past 2^52',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10000000000000\r\n',
      'HPE_INVALID_CHUNK_SIZE',
    ],
    [
      'a bare LF after the chunk size',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n',
      'HPE_LF_EXPECTED',
    ],
    [
      'chunk data not followed by CRLF',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\nab\r\n',
      'HPE_STRICT',
    ],
    [
      'chunk data followed by a bare LF',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n',
      'HPE_STRICT',
    ],
    [
      'obs-fold in a trailer',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\nx: a\r\n b\r\n\r\n',
      'HPE_INVALID_HEADER_TOKEN',
    ],
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['HTTP/2.0', 'HTTP/2.0 200 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['HTTP/1.2', 'HTTP/1.2 200 OK\r\n\r\n', 'HPE_INVALID_VERSION'],
    ['HTTP/1.10', 'HTTP/1.10 200 OK\r\n\r\n', 'HPE_INVALID_VERSION'],
    ['a two-digit status', 'HTTP/1.1 20 OK\r\n\r\n', 'HPE_INVALID_STATUS'],
    ['a four-digit status', 'HTTP/1.1 2000 OK\r\n\r\n', 'HPE_INVALID_STATUS'],
    ['a status starting with 0', 'HTTP/1.1 099 OK\r\n\r\n', 'HPE_INVALID_STATUS'],
    ['a non-numeric status', 'HTTP/1.1 2x0 OK\r\n\r\n', 'HPE_INVALID_STATUS'],
    ['no space after the version', 'HTTP/1.1200 OK\r\n\r\n', 'HPE_INVALID_VERSION'],
    ['a control char in the reason phrase', 'HTTP/1.1 200 O\x01K\r\n\r\n', 'HPE_INVALID_STATUS'],
  ];
  for (const [name, text, code, run] of cases) {
    test(`${name}: ${code}`, () => {
      const o = whole(text, run);
      assert.equal(o.error, code);
      // nothing of a malformed head reaches the sink
      if (!text.includes('chunked\r\n\r\n') || run?.method === 'HEAD') assert.deepEqual(o.events, []);
    });
  }

  test("the errors are undici's HTTPParserError and HeadersOverflowError", () => {
    const p = new ResponseParser(recorder(), 32);
    p.start('GET', false);
    assert.throws(
      () => p.execute(Buffer.from(`HTTP/1.1 200 OK\r\nx: ${'a'.repeat(40)}\r\n\r\n`)),
      errors.HeadersOverflowError,
    );
    const q = new ResponseParser(recorder(), 16384);
    q.start('GET', false);
    assert.throws(() => q.execute(Buffer.from('HTTP/1.1 200 OK\r\nx : a\r\n\r\n')), errors.HTTPParserError);
  });

  test('a head over maxHeaderSize overflows before its end arrives (UND_ERR_HEADERS_OVERFLOW)', () => {
    const p = new ResponseParser(recorder(), 1024);
    p.start('GET', false);
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\n'));
    assert.throws(() => p.execute(Buffer.from(`x: ${'a'.repeat(2000)}`)), { code: 'UND_ERR_HEADERS_OVERFLOW' });
  });

  test('trailers over maxHeaderSize overflow', () => {
    const o = whole(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n${'x: aaaaaaaaaa\r\n'.repeat(10)}\r\n`, {
      maxHeaderSize: 100,
    });
    assert.equal(o.error, 'UND_ERR_HEADERS_OVERFLOW');
  });

  test('a chunk size line (extensions included) over maxHeaderSize is refused, in one read or many; 5,000 bytes pass', () => {
    const line = (n: number) =>
      `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1;${'e'.repeat(n)}\r\na\r\n0\r\n\r\n`;
    assert.equal(whole(line(5000)).error, undefined, 'llhttp takes a 5,000-byte extension too');
    const text = line(17_000);
    assert.equal(whole(text).error, 'HPE_INVALID_CHUNK_SIZE');
    const bytes = Buffer.from(text);
    assert.equal(feed([bytes.subarray(0, 100), bytes.subarray(100)]).error, 'HPE_INVALID_CHUNK_SIZE');
  });

  test('bare LF lines are refused as they arrive, not after the timeout: a head, a blank line, a last chunk', () => {
    for (const text of [
      'HTTP/1.1 200 OK\ncontent-length: 2\n\nok',
      'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\nok',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\n\n',
    ]) {
      assert.equal(whole(text).error, 'HPE_LF_EXPECTED', JSON.stringify(text));
    }
  });

  test('a trailer line over maxHeaderSize overflows, in one read or many', () => {
    const text = `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\nx: ${'a'.repeat(200)}\r\n\r\n`;
    assert.equal(whole(text, { maxHeaderSize: 100 }).error, 'UND_ERR_HEADERS_OVERFLOW');
    const bytes = Buffer.from(text);
    assert.equal(
      feed([bytes.subarray(0, 60), bytes.subarray(60)], { maxHeaderSize: 100 }).error,
      'UND_ERR_HEADERS_OVERFLOW',
    );
  });
});
