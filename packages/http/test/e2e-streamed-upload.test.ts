// A request body streamed past the buffer limit, as Envoy's connection manager sees it: every
// chunk sent upstream is stream activity (the stream idle timer restarts, as decodeData resets
// it), and once the last one went the request is complete, so the connection manager's timeouts
// answer 504 rather than 408. Real loopback upstream and ADS server; time moves on a ManualClock.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ManualClock } from '@inboard/xds';
import { request } from 'undici';
import { ControlPlane, cluster, forward, ms, respond, Upstream } from './e2e-fixtures.ts';

const held: ServerResponse[] = [];
const up = new Upstream('uploads');
const cp = new ControlPlane();

before(async () => {
  await up.start();
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
    ],
    [{ name: cluster('uploads', 9080), endpoints: [{ port: up.port }] }],
  );
});

after(async () => {
  for (const r of held) r.destroy();
  await cp.stop();
  await up.stop();
});

/** A request body whose chunks the test hands over one at a time; send() returns once the previous one was taken. */
function chunkGate() {
  let give: ((c: Buffer | null) => void) | undefined;
  let asked!: () => void;
  let askedNext = new Promise<void>((r) => {
    asked = r;
  });
  async function* body(): AsyncGenerator<Buffer> {
    for (;;) {
      const c = await new Promise<Buffer | null>((r) => {
        give = r;
        asked();
      });
      if (c === null) return;
      yield c;
    }
  }
  return {
    body: body(),
    async send(c: Buffer | null): Promise<void> {
      await askedNext;
      askedNext = new Promise<void>((r) => {
        asked = r;
      });
      give!(c);
    },
  };
}

test('chunks of a streamed body keep the stream idle timer from firing while the upload flows', async () => {
  const clock = new ManualClock();
  const mesh = cp.mesh({ clock, requestBufferLimitBytes: 16 });
  up.handler = (_req, res) => respond(res, 200, 'uploaded');
  const gate = chunkGate();
  try {
    const pending = request('http://idle:9080/', {
      method: 'POST',
      body: gate.body as unknown as Readable,
      dispatcher: mesh.dispatcher,
    });
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
    const pending = request('http://msd:9080/', {
      method: 'POST',
      body: gate.body as unknown as Readable,
      dispatcher: mesh.dispatcher,
    });
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
