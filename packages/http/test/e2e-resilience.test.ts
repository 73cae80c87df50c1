// Retries, timeouts, circuit breakers and outlier detection through the mesh dispatcher,
// against real loopback upstreams and a real ADS server. Time-dependent cases run on a
// ManualClock: the test waits for the upstream to receive a request, then moves time.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '@inboard/xds';
import { request } from 'undici';
import { type HttpRequestEvent, OUTLIER_CHANNEL, type OutlierChannelEvent, REQUEST_CHANNEL } from '../src/index.ts';
import {
  type ClusterConfig,
  ControlPlane,
  closedPort,
  cluster,
  forward,
  istioRetry,
  ms,
  respond,
  type ServiceConfig,
  Upstream,
  until,
} from './e2e-fixtures.ts';

const flaky = new Upstream('flaky', (_req, res, _body, n) => respond(res, n % 3 === 0 ? 503 : 200, `flaky ${n}`));
const alive = new Upstream('alive');
const held: ServerResponse[] = [];
const slow = new Upstream('slow');
const bad = new Upstream('bad', (_req, res) => respond(res, 503, 'bad'));
const good = new Upstream('good');
const seenIds = new Set<string>();
const upload = new Upstream('upload', (req, res, body) => {
  const id = String(req.headers['x-id']);
  if (!seenIds.has(id)) {
    seenIds.add(id);
    respond(res, 503, 'try again');
  } else {
    respond(res, 200, body);
  }
});
// response headers, part of the body, then the connection is gone
const cutoff = new Upstream('cutoff', (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
  res.write('partial', () => res.socket?.destroy());
});
// gRPC's UNAVAILABLE in the response headers of an HTTP 200, with the content-type the test asks for
const grpcFailing = new Upstream('grpcfail', (req, res) => {
  const ct = req.headers['x-reply-content-type'];
  res.writeHead(200, { 'grpc-status': '14', ...(typeof ct === 'string' ? { 'content-type': ct } : {}) });
  res.end();
});
const upstreams = [flaky, alive, slow, bad, good, upload, cutoff, grpcFailing];
const cp = new ControlPlane();
let dead: number;

function svc(name: string, action: ReturnType<typeof forward>): ServiceConfig {
  return { name, port: 9080, routes: [{ name, match: { prefix: '/' }, route: action }] };
}

/** An upstream handler that holds the first `holdFirst` requests, answering later ones. */
function holding(holdFirst: number) {
  return (_req: unknown, res: ServerResponse, _body: string, n: number) => {
    if (n <= holdFirst) held.push(res);
    else respond(res, 200, `slow ${n}`);
  };
}

/** consecutive_5xx 3, ejection for 30 s on a 10 s interval, every host may go */
const ejectAfterThree5xx = {
  consecutive_5xx: { value: 3 },
  interval: ms(10_000),
  base_ejection_time: ms(30_000),
  max_ejection_percent: { value: 100 },
};

before(async () => {
  for (const u of upstreams) await u.start();
  dead = await closedPort();
  const services: ServiceConfig[] = [
    svc('flaky', forward(cluster('flaky', 9080), { retry_policy: istioRetry(['5xx']) })),
    svc('halfdead', forward(cluster('halfdead', 9080))),
    svc('alldead', forward(cluster('alldead', 9080))),
    svc(
      'pertry',
      forward(cluster('slow', 9080), {
        retry_policy: { retry_on: '5xx', num_retries: { value: 1 }, per_try_timeout: ms(1000) },
      }),
    ),
    svc('routetimeout', forward(cluster('slow', 9080), { timeout: ms(5000), retry_policy: undefined })),
    svc('ratelimited', forward(cluster('slow', 9080), { retry_policy: istioRetry(['envoy-ratelimited']) })),
    svc('limited', forward(cluster('limited', 9080))),
    svc('outlier', forward(cluster('outlier', 9080), { retry_policy: undefined })),
    svc('grpcoutlier', forward(cluster('grpcoutlier', 9080), { retry_policy: undefined })),
    svc('cutoff', forward(cluster('cutoff', 9080), { retry_policy: undefined })),
    svc('upload', forward(cluster('upload', 9080), { retry_policy: istioRetry(['5xx']) })),
  ];
  const clusters: ClusterConfig[] = [
    { name: cluster('flaky', 9080), endpoints: [{ port: flaky.port }] },
    { name: cluster('halfdead', 9080), endpoints: [{ port: dead }, { port: alive.port }] },
    { name: cluster('alldead', 9080), endpoints: [{ port: dead }] },
    { name: cluster('slow', 9080), endpoints: [{ port: slow.port }] },
    {
      name: cluster('limited', 9080),
      endpoints: [{ port: slow.port }],
      extra: { circuit_breakers: { thresholds: [{ priority: 0, max_requests: { value: 1 } }] } },
    },
    {
      name: cluster('outlier', 9080),
      endpoints: [{ port: bad.port }, { port: good.port }],
      extra: { outlier_detection: ejectAfterThree5xx },
    },
    {
      name: cluster('grpcoutlier', 9080),
      endpoints: [{ port: grpcFailing.port }, { port: good.port }],
      extra: { outlier_detection: ejectAfterThree5xx },
    },
    {
      name: cluster('cutoff', 9080),
      endpoints: [{ port: cutoff.port }, { port: good.port }],
      extra: {
        outlier_detection: {
          // a reset after a 200 is one success and one failure: failure percentage sees it
          consecutive_5xx: { value: 0 },
          enforcing_consecutive_5xx: { value: 0 },
          enforcing_consecutive_gateway_failure: { value: 0 },
          failure_percentage_threshold: { value: 40 },
          enforcing_failure_percentage: { value: 100 },
          failure_percentage_minimum_hosts: { value: 1 },
          failure_percentage_request_volume: { value: 3 },
          interval: ms(10_000),
          base_ejection_time: ms(30_000),
          max_ejection_percent: { value: 100 },
        },
      },
    },
    { name: cluster('upload', 9080), endpoints: [{ port: upload.port }] },
  ];
  await cp.start(services, clusters);
});

after(async () => {
  for (const r of held) r.destroy();
  await cp.stop();
  for (const u of upstreams) await u.stop();
});

function collect(): { events: HttpRequestEvent[]; stop: () => void } {
  const events: HttpRequestEvent[] = [];
  const on = (e: unknown) => events.push(e as HttpRequestEvent);
  diagnosticsChannel.subscribe(REQUEST_CHANNEL, on);
  return { events, stop: () => diagnosticsChannel.unsubscribe(REQUEST_CHANNEL, on) };
}

describe('retries', () => {
  test('the default policy extended by 5xx absorbs an upstream failing 1 request in 3', async () => {
    const mesh = cp.mesh();
    const { events, stop } = collect();
    try {
      for (let i = 0; i < 30; i++) {
        const r = await request('http://flaky:9080/', { dispatcher: mesh.dispatcher });
        assert.equal(r.statusCode, 200, `request ${i}`);
        await r.body.text();
      }
      // every third upstream request failed and was retried: 30 successes took 44 requests
      assert.equal(flaky.seen.length, 44);
      assert.equal(events.filter((e) => e.target === 'flaky:9080' && e.attempts === 2).length, 14);
      assert.equal(flaky.seen.filter((s) => s.headers['x-envoy-attempt-count'] === '2').length, 14);
    } finally {
      stop();
      await mesh.close();
    }
  });

  // Envoy's wouldRetryFromHeaders looks at x-envoy-ratelimited first, on every attempt
  test('envoy-ratelimited: a 429 with x-envoy-ratelimited on the first attempt is retried', async () => {
    const mesh = cp.mesh();
    const start = slow.seen.length;
    slow.handler = (_req, res, _body, n) =>
      n === start + 1
        ? respond(res, 429, 'limited', { 'x-envoy-ratelimited': 'true' })
        : respond(res, 200, `slow ${n}`);
    try {
      const r = await request('http://ratelimited:9080/', { dispatcher: mesh.dispatcher });
      assert.equal(r.statusCode, 200);
      assert.equal(await r.body.text(), `slow ${start + 2}`);
      assert.equal(slow.seen.length, start + 2, 'two attempts');
    } finally {
      await mesh.close();
    }
  });

  test('a connect failure is retried on another endpoint (previous_hosts)', async () => {
    const mesh = cp.mesh();
    const { events, stop } = collect();
    try {
      for (let i = 0; i < 6; i++) {
        const r = await request('http://halfdead:9080/', { dispatcher: mesh.dispatcher });
        assert.equal(r.statusCode, 200);
        assert.equal(await r.body.text(), 'alive');
      }
      const retried = events.filter((e) => e.target === 'halfdead:9080' && e.attempts === 2);
      assert.ok(retried.length >= 2, 'round robin sent some first attempts to the dead endpoint');
      for (const e of retried) assert.equal(e.endpoint, `127.0.0.1:${alive.port}`);
    } finally {
      stop();
      await mesh.close();
    }
  });

  test('connect failures that exhaust the retries: 503 UF,URX', async () => {
    const mesh = cp.mesh();
    try {
      const r = await request('http://alldead:9080/', { dispatcher: mesh.dispatcher });
      assert.equal(r.statusCode, 503);
      assert.equal(r.headers['x-inboard-response-flags'], 'UF,URX');
      // Envoy's wording: the connection's failure reason is "delayed connect error: " + strerror
      assert.equal(
        await r.body.text(),
        'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused',
      );
    } finally {
      await mesh.close();
    }
  });

  // Envoy records no transport failure reason for a connection the upstream closed
  test('a connection closed before response headers: 503 UC, "reset reason: connection termination" and no more', async () => {
    const mesh = cp.mesh();
    slow.handler = (req) => req.socket.destroy();
    try {
      const r = await request('http://routetimeout:9080/', { dispatcher: mesh.dispatcher });
      assert.equal(r.statusCode, 503);
      assert.equal(r.headers['x-inboard-response-flags'], 'UC');
      assert.equal(
        await r.body.text(),
        'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
      );
    } finally {
      await mesh.close();
    }
  });

  test('a streamed POST body is buffered and replayed on retry', async () => {
    const mesh = cp.mesh();
    try {
      const before = upload.seen.length;
      const r = await request('http://upload:9080/items', {
        dispatcher: mesh.dispatcher,
        method: 'POST',
        headers: { 'x-id': 'stream-1' },
        body: Readable.from([Buffer.from('hello '), Buffer.from('world')]),
      });
      assert.equal(r.statusCode, 200);
      assert.equal(await r.body.text(), 'hello world');
      const tries = upload.seen.slice(before);
      assert.deepEqual(
        tries.map((s) => s.body),
        ['hello world', 'hello world'],
      );

      // the same through fetch, whose bodies reach the dispatcher as async iterables
      const f = await mesh.fetch('http://upload:9080/items', {
        method: 'POST',
        headers: { 'x-id': 'fetch-1' },
        body: new Blob(['from ', 'fetch']).stream(),
        duplex: 'half',
      });
      assert.equal(f.status, 200);
      assert.equal(await f.text(), 'from fetch');
    } finally {
      await mesh.close();
    }
  });

  test('a body over the buffer limit streams once and is not retried', async () => {
    const mesh = cp.mesh({ requestBufferLimitBytes: 16 });
    try {
      const before = upload.seen.length;
      const big = 'x'.repeat(100);
      const r = await request('http://upload:9080/big', {
        dispatcher: mesh.dispatcher,
        method: 'POST',
        headers: { 'x-id': 'big-1' },
        body: Readable.from([Buffer.from(big.slice(0, 50)), Buffer.from(big.slice(50))]),
      });
      assert.equal(r.statusCode, 503, 'the retriable 503 comes back: no retry without a replayable body');
      await r.body.text();
      assert.equal(upload.seen.length, before + 1);
      assert.equal(upload.seen.at(-1)!.body, big);
    } finally {
      await mesh.close();
    }
  });
});

describe('timeouts', () => {
  test('a per-try timeout cancels the attempt and the retry succeeds', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    slow.handler = holding(1);
    const start = slow.seen.length;
    try {
      const pending = request('http://pertry:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      // Envoy's setTimeoutHeaders: the per-try timeout is what the upstream may take
      assert.equal(slow.seen[start]!.headers['x-envoy-expected-rq-timeout-ms'], '1000');
      const timers = clock.pending; // the per-try timeout
      clock.advance(1000); // the per-try timeout fires
      await until(() => clock.pending === timers); // ... and the backoff timer (< 25 ms) replaces it
      clock.advance(100);
      await slow.received(start + 2);
      const r = await pending;
      assert.equal(r.statusCode, 200);
      assert.equal(await r.body.text(), `slow ${start + 2}`);
      assert.equal(slow.seen[start + 1]!.headers['x-envoy-attempt-count'], '2');
      assert.equal(slow.seen[start + 1]!.headers['x-envoy-expected-rq-timeout-ms'], '1000');
    } finally {
      await mesh.close();
    }
  });

  test('per-try timeouts on every attempt: 504 UT,URX', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 2);
    try {
      const pending = request('http://pertry:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      clock.advance(1000);
      await until(() => clock.pending > 0);
      clock.advance(100);
      await slow.received(start + 2);
      clock.advance(1000);
      const r = await pending;
      assert.equal(r.statusCode, 504);
      assert.equal(r.headers['x-inboard-response-flags'], 'UT,URX');
      assert.equal(await r.body.text(), 'upstream request timeout');
    } finally {
      await mesh.close();
    }
  });

  test('the route timeout answers 504 UT', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1);
    try {
      const pending = request('http://routetimeout:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      assert.equal(slow.seen[start]!.headers['x-envoy-expected-rq-timeout-ms'], '5000');
      const timers = clock.pending;
      clock.advance(4999);
      assert.equal(clock.pending, timers, 'still waiting just before the timeout');
      clock.advance(1);
      const r = await pending;
      assert.equal(r.statusCode, 504);
      assert.equal(r.headers['x-inboard-response-flags'], 'UT');
      await r.body.text();
    } finally {
      await mesh.close();
    }
  });
});

describe('x-envoy-upstream-rq-timeout-alt-response', () => {
  // Envoy's router: with the header (any value) a timeout answers 204 instead of 504, and the
  // header is removed before the request goes upstream
  test('the route timeout answers 204 UT, and the header is not sent upstream', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1);
    try {
      const pending = request('http://routetimeout:9080/', {
        dispatcher: mesh.dispatcher,
        headers: { 'x-envoy-upstream-rq-timeout-alt-response': 'true' },
      });
      await slow.received(start + 1);
      assert.equal(slow.seen[start]!.headers['x-envoy-upstream-rq-timeout-alt-response'], undefined);
      clock.advance(5000);
      const r = await pending;
      assert.equal(r.statusCode, 204);
      assert.equal(r.headers['x-inboard-response-flags'], 'UT');
      assert.equal(await r.body.text(), '');
    } finally {
      await mesh.close();
    }
  });
});

describe('circuit breakers', () => {
  test('max_requests 1 with a slow upstream: the second request gets 503 UO at once', async () => {
    const mesh = cp.mesh();
    const start = slow.seen.length;
    slow.handler = holding(start + 1);
    try {
      const first = request('http://limited:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      const second = await request('http://limited:9080/', { dispatcher: mesh.dispatcher });
      assert.equal(second.statusCode, 503);
      assert.equal(second.headers['x-inboard-response-flags'], 'UO');
      assert.equal(second.headers['x-envoy-overloaded'], 'true');
      await second.body.text();
      assert.equal(slow.seen.length, start + 1, 'the overflowing request never reached the upstream');
      respond(held.pop()!, 200, 'released');
      const r = await first;
      assert.equal(r.statusCode, 200);
      assert.equal(await r.body.text(), 'released');
      // the breaker is free again
      slow.handler = (_req, res) => respond(res, 200, 'free');
      const third = await request('http://limited:9080/', { dispatcher: mesh.dispatcher });
      assert.equal(await third.body.text(), 'free');
    } finally {
      await mesh.close();
    }
  });
});

describe('outlier detection', () => {
  test('an endpoint returning 5xx is ejected, gets no traffic, and returns when the ejection ends', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const outlier: OutlierChannelEvent[] = [];
    const on = (e: unknown) => outlier.push(e as OutlierChannelEvent);
    diagnosticsChannel.subscribe(OUTLIER_CHANNEL, on);
    const badEndpoint = `127.0.0.1:${bad.port}`;
    try {
      const send = async () => {
        const r = await request('http://outlier:9080/', { dispatcher: mesh.dispatcher });
        await r.body.text();
        return r.statusCode;
      };
      const badBefore = bad.seen.length;
      while (!outlier.some((e) => e.type === 'eject' && e.endpoint === badEndpoint)) await send();
      assert.equal(bad.seen.length - badBefore, 3, 'ejected after 3 consecutive 5xx');

      const ejectedAt = bad.seen.length;
      for (let i = 0; i < 10; i++) assert.equal(await send(), 200);
      assert.equal(bad.seen.length, ejectedAt, 'no traffic while ejected');

      clock.advance(29_999);
      assert.equal(await send(), 200);
      assert.equal(bad.seen.length, ejectedAt, 'still ejected before base_ejection_time');
      clock.advance(1); // the 30 s sweep returns it
      assert.ok(outlier.some((e) => e.type === 'uneject' && e.endpoint === badEndpoint));
      for (let i = 0; i < 4; i++) await send();
      assert.ok(bad.seen.length > ejectedAt, 'traffic again after the ejection ended');
    } finally {
      diagnosticsChannel.unsubscribe(OUTLIER_CHANNEL, on);
      await mesh.close();
    }
  });

  // Envoy's router maps a grpc-status in the response headers to an HTTP status for outlier
  // detection when the request is gRPC (its content-type), whatever the response's content-type
  // says; gRPC-Web is not gRPC there.
  for (const c of [
    { name: 'a gRPC request', ct: 'application/grpc', replyCt: undefined, ejected: true },
    { name: 'a gRPC+proto request', ct: 'application/grpc+proto', replyCt: 'application/grpc+proto', ejected: true },
    {
      name: 'a gRPC-Web request',
      ct: 'application/grpc-web+proto',
      replyCt: 'application/grpc-web+proto',
      ejected: false,
    },
    { name: 'a JSON request', ct: 'application/json', replyCt: 'application/grpc', ejected: false },
  ]) {
    test(`${c.name} answered 200 with grpc-status UNAVAILABLE: the endpoint is ${c.ejected ? '' : 'not '}ejected`, async () => {
      const mesh = cp.mesh({ clock: new ManualClock() });
      const outlier: OutlierChannelEvent[] = [];
      const on = (e: unknown) => outlier.push(e as OutlierChannelEvent);
      diagnosticsChannel.subscribe(OUTLIER_CHANNEL, on);
      const failing = `127.0.0.1:${grpcFailing.port}`;
      try {
        const before = grpcFailing.seen.length;
        for (let i = 0; i < 8; i++) {
          const r = await request('http://grpcoutlier:9080/svc/Method', {
            method: 'POST',
            dispatcher: mesh.dispatcher,
            headers: {
              'content-type': c.ct,
              ...(c.replyCt === undefined ? {} : { 'x-reply-content-type': c.replyCt }),
            },
            body: '',
          });
          await r.body.text();
          assert.equal(r.statusCode, 200);
        }
        const ejected = outlier.some((e) => e.type === 'eject' && e.endpoint === failing);
        assert.equal(ejected, c.ejected);
        // round robin over two endpoints: 3 failures then ejection, else every other request
        assert.equal(grpcFailing.seen.length - before, c.ejected ? 3 : 4);
      } finally {
        diagnosticsChannel.unsubscribe(OUTLIER_CHANNEL, on);
        await mesh.close();
      }
    });
  }

  test('an endpoint that resets its connections after the response headers is ejected too', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const outlier: OutlierChannelEvent[] = [];
    const on = (e: unknown) => outlier.push(e as OutlierChannelEvent);
    diagnosticsChannel.subscribe(OUTLIER_CHANNEL, on);
    const cutoffEndpoint = `127.0.0.1:${cutoff.port}`;
    try {
      let cut = 0;
      for (let i = 0; i < 8; i++) {
        const r = await request('http://cutoff:9080/', { dispatcher: mesh.dispatcher });
        assert.equal(r.statusCode, 200);
        await r.body.text().catch(() => cut++);
      }
      assert.equal(cut, 4, 'round robin: every other body is cut off');
      clock.advance(10_000); // the interval sweep
      assert.ok(
        outlier.some((e) => e.type === 'eject' && e.endpoint === cutoffEndpoint),
        'ejected for its failure percentage',
      );
      const before = cutoff.seen.length;
      for (let i = 0; i < 6; i++) {
        const r = await request('http://cutoff:9080/', { dispatcher: mesh.dispatcher });
        assert.equal(await r.body.text(), 'good');
      }
      assert.equal(cutoff.seen.length, before, 'no traffic while ejected');
    } finally {
      diagnosticsChannel.unsubscribe(OUTLIER_CHANNEL, on);
      await mesh.close();
    }
  });
});
