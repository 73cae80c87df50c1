// max_connections / max_pending_requests circuit breakers and max_stream_duration through the
// mesh dispatcher, against real loopback upstreams and a real ADS server. The upstream holds
// the requests it is told to; time moves only on a ManualClock.
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
} from './e2e-fixtures.ts';

const held: ServerResponse[] = [];
const slow = new Upstream('slow');
let connections = 0;
slow.server.on('connection', () => connections++);
const cp = new ControlPlane();

/** Holds requests number `from`..`to` (1-based totals), answers the others. */
function holding(from: number, to: number) {
  return (_req: unknown, res: ServerResponse, _body: string, n: number) => {
    if (n >= from && n <= to) held.push(res);
    else respond(res, 200, `slow ${n}`);
  };
}

function svc(name: string, action: ReturnType<typeof forward>, hcmExtra?: ServiceConfig['hcmExtra']): ServiceConfig {
  return { name, port: 9080, routes: [{ name, match: { prefix: '/' }, route: action }], hcmExtra };
}

before(async () => {
  await slow.start();
  const noRetry = { retry_policy: undefined };
  const services: ServiceConfig[] = [
    svc('pool', forward(cluster('pool', 9080), noRetry)),
    svc('msd', forward(cluster('slow', 9080), { ...noRetry, max_stream_duration: { max_stream_duration: ms(2000) } })),
    svc('hcmmsd', forward(cluster('slow', 9080), noRetry), {
      common_http_protocol_options: { max_stream_duration: ms(3000) },
    }),
    svc('msdoff', forward(cluster('slow', 9080), { ...noRetry, max_stream_duration: { max_stream_duration: ms(0) } }), {
      common_http_protocol_options: { max_stream_duration: ms(3000) },
    }),
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
    { name: cluster('slow', 9080), endpoints: [{ port: slow.port }] },
  ];
  await cp.start(services, clusters);
});

after(async () => {
  for (const r of held) r.destroy();
  await cp.stop();
  await slow.stop();
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

describe('max_stream_duration', () => {
  test("the route's max_stream_duration before response headers: 408 UMSDR", async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    const start = slow.seen.length;
    slow.handler = holding(start + 1, start + 1);
    try {
      const pending = request('http://msd:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      clock.advance(1999);
      assert.equal(clock.pending, 1, 'still waiting just before the limit');
      clock.advance(1);
      const r = await pending;
      assert.equal(r.statusCode, 408);
      assert.equal(r.headers['x-inboard-response-flags'], 'UMSDR');
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
      clock.advance(2999);
      assert.equal(clock.pending, 1);
      clock.advance(1);
      const r = await pending;
      assert.equal(r.statusCode, 408);
      assert.equal(r.headers['x-inboard-response-flags'], 'UMSDR');
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
      assert.equal(clock.pending, 0, 'no timer bounds the stream');
      respond(held.pop()!, 200, 'done');
      const r = await pending;
      assert.equal(await r.body.text(), 'done');
    } finally {
      await mesh.close();
    }
  });
});
