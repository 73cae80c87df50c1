// max_connections / max_pending_requests circuit breakers, max_stream_duration and gRPC's
// grpc-timeout through the mesh dispatcher, against real loopback upstreams and a real ADS
// server. The upstream holds the requests it is told to; time moves only on a ManualClock.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '@inboard/xds';
import { request } from 'undici';
import {
  type ClusterConfig,
  ControlPlane,
  cluster,
  forward,
  ms,
  respond,
  type ServiceConfig,
  Upstream,
  until,
  watchBody,
} from './e2e-fixtures.ts';

const held: ServerResponse[] = [];
const slow = new Upstream('slow');
let connections = 0;
slow.server.on('connection', () => connections++);
const cp = new ControlPlane();
// a server that counts the connections it is given
const counted = new Upstream('counted');
let countedConnections = 0;
counted.server.on('connection', () => countedConnections++);
// two hosts of one cluster: the first request either of them receives is held
const pairHeld: ServerResponse[] = [];
let pairSeen = 0;
const pairHandler = (_req: unknown, res: ServerResponse) => {
  if (++pairSeen === 1) pairHeld.push(res);
  else respond(res, 200, `pair ${pairSeen}`);
};
const pairA = new Upstream('pa', pairHandler);
const pairB = new Upstream('pb', pairHandler);

/** Holds requests number `from`..`to` (1-based totals), answers the others. */
function holding(from: number, to: number) {
  return (_req: unknown, res: ServerResponse, _body: string, n: number) => {
    if (n >= from && n <= to) held.push(res);
    else respond(res, 200, `slow ${n}`);
  };
}

/**
 * Moves the clock to 1 ms before `ms` (no timer may fire there), then to `ms`: the response that
 * answers the pending request then.
 */
async function answeredAt<T>(clock: ManualClock, pending: Promise<T>, ms: number): Promise<T> {
  const timers = clock.pending;
  clock.advance(ms - 1);
  assert.equal(clock.pending, timers, `still waiting at ${ms - 1} ms`);
  clock.advance(1);
  return pending;
}

function svc(name: string, action: ReturnType<typeof forward>, hcmExtra?: ServiceConfig['hcmExtra']): ServiceConfig {
  return { name, port: 9080, routes: [{ name, match: { prefix: '/' }, route: action }], hcmExtra };
}

before(async () => {
  await slow.start();
  await counted.start();
  await pairA.start();
  await pairB.start();
  const noRetry = { retry_policy: undefined };
  const services: ServiceConfig[] = [
    svc('pool', forward(cluster('pool', 9080), noRetry)),
    svc('queue', forward(cluster('queue', 9080), noRetry)),
    svc('pair', forward(cluster('pair', 9080), noRetry)),
    svc('perconn', forward(cluster('perconn', 9080), noRetry)),
    svc('msd', forward(cluster('slow', 9080), { ...noRetry, max_stream_duration: { max_stream_duration: ms(2000) } })),
    svc('hcmmsd', forward(cluster('slow', 9080), noRetry), {
      common_http_protocol_options: { max_stream_duration: ms(3000) },
    }),
    svc('msdoff', forward(cluster('slow', 9080), { ...noRetry, max_stream_duration: { max_stream_duration: ms(0) } }), {
      common_http_protocol_options: { max_stream_duration: ms(3000) },
    }),
    svc('grpcnc', forward('outbound|9080|gone|slow.default.svc.cluster.local', noRetry)),
    // what istiod sends a proxyless node for a VirtualService timeout (route/route.go setTimeout)
    svc(
      'newto',
      forward(cluster('slow', 9080), {
        ...noRetry,
        timeout: ms(200),
        max_stream_duration: { max_stream_duration: ms(1500) },
      }),
    ),
    // ... and what it sends a sidecar: timeout plus the deprecated max_grpc_timeout
    svc('sidecarto', forward(cluster('slow', 9080), { ...noRetry, timeout: ms(200), max_grpc_timeout: ms(200) })),
    svc('hcmidle', forward(cluster('slow', 9080), noRetry), { stream_idle_timeout: ms(300) }),
    svc(
      'idle',
      forward(cluster('slow', 9080), {
        idle_timeout: ms(100),
        retry_policy: { retry_on: '5xx,reset,connect-failure', num_retries: { value: 2 } },
      }),
    ),
    // istiod's default route: the deprecated max_grpc_timeout of 0s (grpc-timeout, uncapped)
    svc('grpcto', forward(cluster('slow', 9080), { ...noRetry, max_grpc_timeout: ms(0) })),
    svc(
      'grpccap',
      forward(cluster('slow', 9080), {
        ...noRetry,
        max_stream_duration: {
          max_stream_duration: ms(5000),
          grpc_timeout_header_max: ms(1000),
          grpc_timeout_header_offset: ms(100),
        },
      }),
    ),
  ];
  const clusters: ClusterConfig[] = [
    {
      name: cluster('pool', 9080),
      endpoints: [{ port: slow.port }],
      extra: {
        circuit_breakers: {
          thresholds: [{ priority: 0, max_connections: { value: 1 }, max_pending_requests: { value: 1 } }],
        },
      },
    },
    {
      name: cluster('queue', 9080),
      endpoints: [{ port: slow.port }],
      extra: {
        circuit_breakers: {
          thresholds: [
            {
              priority: 0,
              max_connections: { value: 1 },
              max_pending_requests: { value: 10 },
              max_requests: { value: 2 },
            },
          ],
        },
      },
    },
    {
      name: cluster('pair', 9080),
      endpoints: [{ port: pairA.port }, { port: pairB.port }],
      extra: {
        circuit_breakers: {
          thresholds: [{ priority: 0, max_connections: { value: 1 }, max_pending_requests: { value: 1 } }],
        },
      },
    },
    { name: cluster('slow', 9080), endpoints: [{ port: slow.port }] },
    // DestinationRule connectionPool.http.maxRequestsPerConnection: 2
    {
      name: cluster('perconn', 9080),
      endpoints: [{ port: counted.port }],
      extra: { max_requests_per_connection: { value: 2 } },
    },
  ];
  await cp.start(services, clusters);
});

after(async () => {
  for (const r of held) r.destroy();
  for (const r of pairHeld) r.destroy();
  await cp.stop();
  await slow.stop();
  await counted.stop();
  await pairA.stop();
  await pairB.stop();
});

describe('max_connections and max_pending_requests', () => {
  test('1 + 1: one request on the connection, one pending, the next 503 UO at once; the pending one follows', async () => {
    const mesh = cp.mesh();
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const first = request('http://pool:9080/1', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      const connectionsBefore = connections;
      const second = request('http://pool:9080/2', { dispatcher: mesh.dispatcher });
      const third = await request('http://pool:9080/3', { dispatcher: mesh.dispatcher });
      assert.equal(third.statusCode, 503);
      assert.equal(third.headers['x-inboard-response-flags'], 'UO');
      assert.equal(third.headers['x-envoy-overloaded'], 'true');
      await third.body.text();
      assert.equal(slow.seen.length, start + 1, 'the pending request waits for the busy connection');

      respond(held.pop()!, 200, 'released');
      const r1 = await first;
      assert.equal(await r1.body.text(), 'released');
      const r2 = await second;
      assert.equal(r2.statusCode, 200);
      assert.equal(await r2.body.text(), `slow ${start + 2}`);
      assert.equal(slow.seen[start + 1]?.url, '/2');
      assert.equal(slow.seen.length, start + 2, 'the overflowing request never reached the upstream');
      assert.equal(connections, connectionsBefore, 'the pending request reused the one connection');
    } finally {
      await mesh.close();
    }
  });

  test('a pending request that times out leaves the queue, so the next one may wait instead of overflowing', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const first = request('http://pool:9080/1', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      const second = request('http://pool:9080/2', {
        dispatcher: mesh.dispatcher,
        headers: { 'x-envoy-upstream-rq-timeout-ms': '1000' },
      });
      clock.advance(1000);
      const r2 = await second;
      assert.equal(r2.statusCode, 504);
      assert.equal(r2.headers['x-inboard-response-flags'], 'UT');
      await r2.body.text();

      const third = request('http://pool:9080/3', { dispatcher: mesh.dispatcher });
      respond(held.pop()!, 200, 'released');
      assert.equal((await first).statusCode, 200);
      const r3 = await third;
      assert.equal(r3.statusCode, 200, 'the third request waited as pending, not 503 UO');
      await r3.body.text();
      assert.deepEqual(
        slow.seen.slice(start).map((s) => s.url),
        ['/1', '/3'],
        'the timed-out pending request was never sent',
      );
    } finally {
      await mesh.close();
    }
  });
});

describe("max_requests and max_connections as Envoy's pool applies them", () => {
  test('a request waiting for a connection holds no max_requests unit: 1 connection, 2 requests, 4 calls all succeed', async () => {
    const mesh = cp.mesh();
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const first = request('http://queue:9080/1', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      const rest = [2, 3, 4].map((i) => request(`http://queue:9080/${i}`, { dispatcher: mesh.dispatcher }));
      respond(held.pop()!, 200, 'released');
      const responses = await Promise.all([first, ...rest]);
      assert.deepEqual(
        responses.map((r) => r.statusCode),
        [200, 200, 200, 200],
      );
      for (const r of responses) await r.body.text();
      assert.deepEqual(
        slow.seen.slice(start).map((s) => s.url),
        ['/1', '/2', '/3', '/4'],
      );
    } finally {
      await mesh.close();
    }
  });

  test('max_connections 1 over two hosts: a host without a connection still opens one', async () => {
    const mesh = cp.mesh();
    try {
      const first = request('http://pair:9080/1', { dispatcher: mesh.dispatcher });
      await until(() => pairSeen === 1);
      // the second pick is the other host, whose pool has no connection: it does not wait
      const second = request('http://pair:9080/2', { dispatcher: mesh.dispatcher });
      await until(() => pairSeen === 2);
      const r2 = await second;
      assert.equal(r2.statusCode, 200);
      assert.equal(await r2.body.text(), 'pair 2');
      assert.deepEqual([pairA.seen.length, pairB.seen.length], [1, 1]);
      respond(pairHeld.pop()!, 200, 'released');
      assert.equal((await first).statusCode, 200);
    } finally {
      for (const r of pairHeld.splice(0)) r.destroy();
      await mesh.close();
    }
  });
});

describe('max_requests_per_connection', () => {
  for (const http1 of ['inboard', 'undici'] as const) {
    test(`a connection carries at most that many requests (http1: ${http1})`, async () => {
      const mesh = cp.mesh({ http1 });
      const before = countedConnections;
      try {
        for (let i = 1; i <= 5; i++) {
          const r = await request(`http://perconn:9080/${i}`, { dispatcher: mesh.dispatcher });
          assert.equal(r.statusCode, 200);
          await r.body.text();
        }
        // 2 + 2 + 1 requests: three connections, where a kept-alive one would carry all five
        assert.equal(countedConnections - before, 3);
      } finally {
        await mesh.close();
      }
    });
  }
});

describe('max_stream_duration', () => {
  // Envoy's connection manager (onStreamMaxDurationReached): maybeRequestTimeoutCode, 504 for a
  // request it received in full, "downstream duration timeout", no response flag
  test("the route's max_stream_duration before response headers: 504, no flag (the request was complete)", async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const pending = request('http://msd:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      const r = await answeredAt(clock, pending, 2000);
      assert.equal(r.statusCode, 504);
      assert.equal(r.headers['x-inboard-response-flags'], undefined);
      assert.equal(await r.body.text(), 'downstream duration timeout');
    } finally {
      await mesh.close();
    }
  });

  test('after response headers the stream is reset: the body fails', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      held.push(res);
    };
    try {
      const r = await request('http://msd:9080/', { dispatcher: mesh.dispatcher });
      assert.equal(r.statusCode, 200);
      await slow.received(start + 1);
      const body = r.body.text();
      clock.advance(2000);
      await assert.rejects(body, { code: 'INBOARD_HTTP_MAX_STREAM_DURATION' });
    } finally {
      await mesh.close();
    }
  });

  test("the connection manager's max_stream_duration applies when the route sets none", async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const pending = request('http://hcmmsd:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      const r = await answeredAt(clock, pending, 3000);
      assert.equal(r.statusCode, 504);
      assert.equal(r.headers['x-inboard-response-flags'], undefined);
      await r.body.text();
    } finally {
      await mesh.close();
    }
  });

  test("a route's max_stream_duration of 0 turns the connection manager's off", async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const pending = request('http://msdoff:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      clock.advance(3000);
      respond(held.pop()!, 200, 'done');
      const r = await pending;
      assert.equal(await r.body.text(), 'done');
    } finally {
      await mesh.close();
    }
  });

  // Envoy: a route with max_stream_duration uses the "new timeouts" (usingNewTimeouts), and the
  // router's finalTimeout then ignores the route's timeout: istiod's proxyless route (timeout T
  // plus max_stream_duration T) is bounded by the connection manager alone.
  test('timeout 200 ms with max_stream_duration 1500 ms: the route timeout is ignored, 504 at 1500 ms', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const pending = request('http://newto:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      assert.equal(slow.seen[start]?.headers['x-envoy-expected-rq-timeout-ms'], undefined, 'no route timeout');
      const r = await answeredAt(clock, pending, 1500);
      assert.equal(r.statusCode, 504);
      assert.equal(r.headers['x-inboard-response-flags'], undefined);
      assert.equal(await r.body.text(), 'downstream duration timeout');
    } finally {
      await mesh.close();
    }
  });

  test("a sidecar's route (timeout + max_grpc_timeout): 504 UT upstream request timeout, x-envoy-expected-rq-timeout-ms upstream", async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const pending = request('http://sidecarto:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      assert.equal(slow.seen[start]?.headers['x-envoy-expected-rq-timeout-ms'], '200');
      clock.advance(200);
      const r = await pending;
      assert.equal(r.statusCode, 504);
      assert.equal(r.headers['x-inboard-response-flags'], 'UT');
      assert.equal(await r.body.text(), 'upstream request timeout');
    } finally {
      await mesh.close();
    }
  });
});

describe('grpc-timeout', () => {
  const grpc = (target: string, dispatcher: ManualClockMesh['dispatcher'], timeout?: string) =>
    request(target, {
      dispatcher,
      method: 'POST',
      body: Buffer.from([0, 0, 0, 0, 0]),
      headers: { 'content-type': 'application/grpc', ...(timeout === undefined ? {} : { 'grpc-timeout': timeout }) },
    });

  /** the local reply a gRPC caller gets when the deadline fires */
  interface Expiry {
    readonly grpcStatus: string;
    readonly message: string;
    readonly flags: string | undefined;
    /** grpc-timeout as the upstream saw it */
    readonly upstreamTimeout?: string | undefined;
  }
  // Envoy's connection manager: DEADLINE_EXCEEDED, no flag; its router: 504 UT → UNAVAILABLE
  const DURATION: Expiry = { grpcStatus: '4', message: 'downstream duration timeout', flags: undefined };
  const ROUTE_TIMEOUT: Expiry = { grpcStatus: '14', message: 'upstream request timeout', flags: 'UT' };

  async function expiresAfter(target: string, timeout: string | undefined, after: number, e: Expiry): Promise<void> {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const pending = grpc(target, mesh.dispatcher, timeout);
      await slow.received(start + 1);
      if (e.upstreamTimeout !== undefined) assert.equal(slow.seen[start]?.headers['grpc-timeout'], e.upstreamTimeout);
      const timers = clock.pending;
      clock.advance(after - 1);
      assert.equal(clock.pending, timers, 'still waiting just before the deadline');
      clock.advance(1);
      assert.ok(clock.pending < timers, 'the deadline fired');
      const r = await pending;
      // Envoy's local reply to a gRPC caller: 200, trailers-only, DEADLINE_EXCEEDED
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['content-type'], 'application/grpc');
      assert.equal(r.headers['grpc-status'], e.grpcStatus);
      assert.equal(r.headers['grpc-message'], e.message);
      assert.equal(r.headers['x-inboard-response-flags'], e.flags);
      assert.equal((await r.body.arrayBuffer()).byteLength, 0);
    } finally {
      await mesh.close();
    }
  }

  // Envoy's router (finalTimeout, not usingNewTimeouts): max_grpc_timeout makes the grpc-timeout
  // the route timeout, and setTimeoutHeaders sends it upstream as grpc-timeout and
  // x-envoy-expected-rq-timeout-ms; it expires as any route timeout (504 UT, UNAVAILABLE).
  test("the caller's grpc-timeout is the route timeout when the route sets max_grpc_timeout: 0s (istiod)", async () => {
    await expiresAfter('http://grpcto:9080/pkg.Svc/Method', '250m', 250, { ...ROUTE_TIMEOUT, upstreamTimeout: '250m' });
    assert.equal(slow.seen.at(-1)?.headers['x-envoy-expected-rq-timeout-ms'], '250');
  });

  test("max_grpc_timeout caps the caller's grpc-timeout and stands in for a missing one", async () => {
    await expiresAfter('http://sidecarto:9080/pkg.Svc/Method', '10S', 200, {
      ...ROUTE_TIMEOUT,
      upstreamTimeout: '200m',
    });
    await expiresAfter('http://sidecarto:9080/pkg.Svc/Method', undefined, 200, {
      ...ROUTE_TIMEOUT,
      upstreamTimeout: '200m',
    });
    await expiresAfter('http://sidecarto:9080/pkg.Svc/Method', '150m', 150, {
      ...ROUTE_TIMEOUT,
      upstreamTimeout: '150m',
    });
  });

  // Envoy's connection manager (refreshDurationTimeout): grpc_timeout_header_max caps the header,
  // the offset is taken off, and with the new timeouts the result goes upstream as grpc-timeout.
  test('grpc_timeout_header_max caps it and grpc_timeout_header_offset is taken off', async () => {
    await expiresAfter('http://grpccap:9080/pkg.Svc/Method', '10S', 900, { ...DURATION, upstreamTimeout: '900m' });
    await expiresAfter('http://grpccap:9080/pkg.Svc/Method', '500m', 400, { ...DURATION, upstreamTimeout: '400m' });
  });

  test("istiod's proxyless route: DEADLINE_EXCEEDED at max_stream_duration, the route timeout ignored", async () => {
    await expiresAfter('http://newto:9080/pkg.Svc/Method', undefined, 1500, { ...DURATION, upstreamTimeout: '1500m' });
  });

  test("without the header, the route's max_stream_duration applies; with max_grpc_timeout 0 only, nothing", async () => {
    await expiresAfter('http://grpccap:9080/pkg.Svc/Method', undefined, 5000, DURATION);
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const pending = grpc('http://grpcto:9080/pkg.Svc/Method', mesh.dispatcher);
      await slow.received(start + 1);
      assert.equal(slow.seen[start]?.headers['x-envoy-expected-rq-timeout-ms'], undefined, 'no timeout');
      clock.advance(60_000);
      respond(held.pop()!, 200, 'done');
      assert.equal(await (await pending).body.text(), 'done');
    } finally {
      await mesh.close();
    }
  });

  test('a malformed grpc-timeout is no timeout', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const pending = grpc('http://grpcto:9080/pkg.Svc/Method', mesh.dispatcher, '1x');
      await slow.received(start + 1);
      clock.advance(60_000);
      respond(held.pop()!, 200, 'done');
      assert.equal(await (await pending).body.text(), 'done');
    } finally {
      await mesh.close();
    }
  });

  test('other local replies to gRPC callers are gRPC too: no cluster (503 NC) → 200, UNAVAILABLE', async () => {
    const mesh = cp.mesh();
    try {
      const r = await grpc('http://grpcnc:9080/pkg.Svc/Method', mesh.dispatcher);
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['grpc-status'], '14');
      assert.equal(r.headers['x-inboard-response-flags'], 'NC');
      assert.equal((await r.body.arrayBuffer()).byteLength, 0);
      // the same failure to a plain HTTP caller stays a 503
      const plain = await request('http://grpcnc:9080/x', { dispatcher: mesh.dispatcher });
      assert.equal(plain.statusCode, 503);
      await plain.body.dump();
    } finally {
      await mesh.close();
    }
  });
});

type ManualClockMesh = ReturnType<ControlPlane['mesh']>;

describe('idle_timeout', () => {
  // Envoy's connection manager (onIdleTimeout): flag SI, "stream timeout", maybeRequestTimeoutCode
  // (504: the request was complete); the stream is reset, so no retry. Precise, on the clock.
  test("the route's idle_timeout: a stream silent that long gets 504 SI, and is not retried", async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 3);
    try {
      const pending = request('http://idle:9080/quiet', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      const r = await answeredAt(clock, pending, 100);
      assert.equal(r.statusCode, 504);
      assert.equal(r.headers['x-inboard-response-flags'], 'SI');
      assert.equal(await r.body.text(), 'stream timeout');
      assert.equal(slow.seen.length, start + 1, 'one attempt only');
    } finally {
      await mesh.close();
    }
  });

  test('response headers and body chunks restart the idle interval; silence after them resets the stream', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    let res: ServerResponse | undefined;
    slow.handler = (_req, r) => {
      res = r;
      held.push(r);
    };
    try {
      const pending = request('http://idle:9080/slow-body', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      clock.advance(60);
      res!.writeHead(200, { 'content-type': 'text/plain' });
      res!.write('a');
      const r = await pending;
      assert.equal(r.statusCode, 200);
      const { chunks, first, ended } = watchBody(r.body);
      await first;
      clock.advance(99);
      clock.advance(0);
      assert.deepEqual(Buffer.concat(chunks).toString(), 'a', 'still streaming 99 ms after the last chunk');
      clock.advance(1);
      const err = await ended;
      assert.equal(err?.code, 'INBOARD_HTTP_STREAM_IDLE_TIMEOUT');
    } finally {
      await mesh.close();
    }
  });

  test("the connection manager's stream_idle_timeout applies when the route sets no idle_timeout", async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const pending = request('http://hcmidle:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      const r = await answeredAt(clock, pending, 300);
      assert.equal(r.statusCode, 504);
      assert.equal(r.headers['x-inboard-response-flags'], 'SI');
      assert.equal(await r.body.text(), 'stream timeout');
    } finally {
      await mesh.close();
    }
  });
});
