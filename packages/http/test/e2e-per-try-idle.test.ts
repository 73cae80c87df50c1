// The retry policy's per_try_idle_timeout through the mesh dispatcher, as Envoy's upstream
// request runs it: armed when the attempt gets its stream, restarted by every response header and
// body event, and still running while the body streams. Silence before the headers is a per-try
// timeout (retried under the policy, else 504 UT); silence after them resets the stream. Real
// loopback upstream and ADS server; time moves only on a ManualClock.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ATTEMPT_START_CHANNEL, REQUEST_START_CHANNEL } from '@inboard/http';
import { ManualClock } from '@inboard/xds';
import { request } from 'undici';
import { ControlPlane, cluster, forward, ms, Upstream, watchBody } from './e2e-fixtures.ts';

const held: ServerResponse[] = [];
const slow = new Upstream('slow');
const cp = new ControlPlane();

before(async () => {
  await slow.start();
  await cp.start(
    [
      {
        name: 'idletry',
        port: 9080,
        routes: [
          {
            name: 'idletry',
            match: { prefix: '/' },
            route: forward(cluster('slow', 9080), {
              retry_policy: { retry_on: '5xx', num_retries: { value: 1 }, per_try_idle_timeout: ms(100) },
            }),
          },
        ],
      },
    ],
    [{ name: cluster('slow', 9080), endpoints: [{ port: slow.port }] }],
  );
});

after(async () => {
  for (const r of held) r.destroy();
  await cp.stop();
  await slow.stop();
});

describe('per_try_idle_timeout', () => {
  test('a silent attempt is retried; a silent body after the headers fails the response', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock });
    // attempt start events are published for requests that had a start event
    let attempts = 0;
    const onStart = () => {};
    const onAttempt = () => {
      attempts++;
    };
    subscribe(REQUEST_START_CHANNEL, onStart);
    subscribe(ATTEMPT_START_CHANNEL, onAttempt);
    const start = slow.seen.length;
    slow.handler = (_req, res, _body, n) => {
      held.push(res);
      if (n === start + 2) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('a');
      }
    };
    try {
      const pending = request('http://idletry:9080/', { dispatcher: mesh.dispatcher });
      await slow.received(start + 1);
      const timers = clock.pending;
      clock.advance(99);
      assert.equal(clock.pending, timers, 'the first attempt still waits at 99 ms');
      clock.advance(1); // silent for 100 ms: the attempt is cancelled, a retry is scheduled
      // the backoff (jittered, well under 100 ms): step the clock until the retry starts, and not
      // a millisecond further, so the retry's own idle timer starts from there whatever the load
      while (attempts < 2) {
        await new Promise((r) => setImmediate(r));
        if (attempts < 2) clock.advance(1);
      }
      await slow.received(start + 2);
      const r = await pending;
      assert.equal(r.statusCode, 200);
      assert.equal(slow.seen.length, start + 2, 'retried once');
      const { chunks, first, ended } = watchBody(r.body);
      await first;
      clock.advance(99);
      assert.equal(Buffer.concat(chunks).toString(), 'a', 'still streaming 99 ms after the last chunk');
      clock.advance(1);
      const err = await ended;
      assert.equal(err?.code, 'INBOARD_HTTP_PER_TRY_TIMEOUT');
      assert.equal(err?.details, 'upstream_per_try_idle_timeout');
    } finally {
      unsubscribe(REQUEST_START_CHANNEL, onStart);
      unsubscribe(ATTEMPT_START_CHANNEL, onAttempt);
      await mesh.close();
    }
  });
});
