// The three ways into the mesh, each against real loopback upstreams and a real ADS server:
// Node's built-in global fetch through setGlobalDispatcher (undici's Dispatcher1Wrapper mirror),
// mesh.fetch, and an explicit dispatcher for undici.request / stream / fetch. Plus what every
// caller relies on: streamed responses, aborts, and local replies that look like responses.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { getGlobalDispatcher, request, stream, fetch as undiciFetch } from 'undici';
import { type HttpRequestEvent, type OutboundMesh, REQUEST_CHANNEL } from '../src/index.ts';
import { ControlPlane, cluster, forward, istioRetry, type RouteIn, respond, Upstream, until } from './e2e-fixtures.ts';

const C = cluster('reviews', 9080);
const flakyIds = new Set<string>();
let streaming: ServerResponse | undefined;
let held: ServerResponse | undefined;
const backend = new Upstream('backend', (req, res, body) => {
  if (req.url === '/stream') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first;');
    streaming = res;
    return;
  }
  if (req.url === '/hold') {
    held = res;
    return;
  }
  const id = req.headers['x-id'];
  if (typeof id === 'string' && !flakyIds.has(id)) {
    flakyIds.add(id);
    respond(res, 503, 'retry me');
    return;
  }
  respond(res, 200, body === '' ? `backend ${req.url}` : `echo ${body}`);
});
const cp = new ControlPlane();
let mesh: OutboundMesh;

const routes: RouteIn[] = [
  {
    name: 'direct',
    match: { prefix: '/direct' },
    direct_response: { status: 418, body: { inline_string: 'short and stout' } },
  },
  {
    name: 'all',
    match: { prefix: '/' },
    route: forward(C, { retry_policy: istioRetry(['5xx']) }),
    response_headers_to_add: [{ header: { key: 'x-mesh', value: 'inboard' } }],
  },
];

before(async () => {
  await backend.start();
  await cp.start(
    [{ name: 'reviews', port: 9080, routes, extraVirtualHosts: [] }],
    [{ name: C, endpoints: [{ port: backend.port }] }],
  );
  mesh = cp.mesh();
});

after(async () => {
  streaming?.destroy();
  held?.destroy();
  await mesh.close();
  await cp.stop();
  await backend.stop();
});

describe("Node's global fetch via setGlobalDispatcher", () => {
  test('routes, mutates response headers and retries a POST with its body', async () => {
    const restore = mesh.installGlobalDispatcher();
    try {
      assert.equal(getGlobalDispatcher(), mesh.dispatcher);
      const r = await globalThis.fetch('http://reviews:9080/global');
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'backend /global');
      assert.equal(r.headers.get('x-mesh'), 'inboard');

      const before = backend.seen.length;
      const post = await globalThis.fetch('http://reviews:9080/global-post', {
        method: 'POST',
        headers: { 'x-id': 'global-1' },
        body: 'retried body',
      });
      assert.equal(post.status, 200);
      assert.equal(await post.text(), 'echo retried body');
      assert.deepEqual(
        backend.seen.slice(before).map((s) => [s.headers['x-envoy-attempt-count'], s.body]),
        [
          ['1', 'retried body'],
          ['2', 'retried body'],
        ],
      );

      const local = await globalThis.fetch('http://reviews:9080/direct');
      assert.equal(local.status, 418);
      assert.equal(local.headers.get('content-type'), 'text/plain');
      assert.equal(await local.text(), 'short and stout');
    } finally {
      restore();
    }
    assert.notEqual(getGlobalDispatcher(), mesh.dispatcher);
  });
});

describe('mesh.fetch', () => {
  test('routes through the mesh and exposes local replies as responses', async () => {
    const r = await mesh.fetch('http://reviews:9080/via-mesh-fetch');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-mesh'), 'inboard');
    assert.equal(await r.text(), 'backend /via-mesh-fetch');
    const local = await mesh.fetch('http://reviews:9080/direct');
    assert.equal(local.status, 418);
    assert.equal(await local.text(), 'short and stout');
  });
});

describe('an explicit dispatcher', () => {
  test('undici.request', async () => {
    const r = await request('http://reviews:9080/req', { dispatcher: mesh.dispatcher });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['x-mesh'], 'inboard');
    assert.equal(await r.body.text(), 'backend /req');
  });

  test('undici.stream', async () => {
    const chunks: Buffer[] = [];
    let status = 0;
    await stream('http://reviews:9080/str', { dispatcher: mesh.dispatcher, method: 'GET' }, ({ statusCode }) => {
      status = statusCode;
      return new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      });
    });
    assert.equal(status, 200);
    assert.equal(Buffer.concat(chunks).toString(), 'backend /str');
  });

  test('undici.fetch with { dispatcher }', async () => {
    const r = await undiciFetch('http://reviews:9080/uf', { dispatcher: mesh.dispatcher });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-mesh'), 'inboard');
    assert.equal(await r.text(), 'backend /uf');
  });
});

describe('streaming and aborts', () => {
  test('the response body streams to the caller before the upstream finishes', async () => {
    const r = await request('http://reviews:9080/stream', { dispatcher: mesh.dispatcher });
    assert.equal(r.statusCode, 200);
    const it = r.body[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(String(first.value), 'first;');
    streaming!.end('second');
    let rest = '';
    for (let c = await it.next(); c.done !== true; c = await it.next()) rest += String(c.value);
    assert.equal(rest, 'second');
  });

  test('aborting a request in flight rejects it and reports DC', async () => {
    const events: HttpRequestEvent[] = [];
    const on = (e: unknown) => events.push(e as HttpRequestEvent);
    diagnosticsChannel.subscribe(REQUEST_CHANNEL, on);
    try {
      const ac = new AbortController();
      const before = backend.seen.length;
      const pending = mesh.fetch('http://reviews:9080/hold', { signal: ac.signal });
      await backend.received(before + 1);
      ac.abort();
      await assert.rejects(pending, { name: 'AbortError' });
      await until(() => events.some((e) => e.path === '/hold'));
      const e = events.find((x) => x.path === '/hold')!;
      assert.deepEqual(e.flags, ['DC']);
      assert.equal(e.status, 0);
    } finally {
      diagnosticsChannel.unsubscribe(REQUEST_CHANNEL, on);
    }
  });
});
