// Slow start through the mesh: a DestinationRule's warmup reaches the client as the cluster's
// round_robin_lb_config.slow_start_config; an endpoint that joins later gets a share of real
// requests that grows over the window as the injected clock is stepped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '@inboard/xds';
import { request } from 'undici';
import { seededRandom } from '../src/cluster/random-source.ts';
import type { OutboundMesh } from '../src/index.ts';
import { type ClusterConfig, ControlPlane, cluster, forward, type ServiceConfig, Upstream } from './e2e-fixtures.ts';

const a = new Upstream('a');
const b = new Upstream('b');
const cp = new ControlPlane();
const C = cluster('warm', 9080);
const svc: ServiceConfig = {
  name: 'warm',
  port: 9080,
  routes: [{ name: 'all', match: { prefix: '/' }, route: forward(C) }],
};
// what istiod sends for `warmupDurationSecs: 60s` with `simple: ROUND_ROBIN`
const warmup = { round_robin_lb_config: { slow_start_config: { slow_start_window: { seconds: 60, nanos: 0 } } } };
const clusters = (ports: readonly number[]): ClusterConfig[] => [
  { name: C, endpoints: ports.map((port) => ({ port })), extra: warmup },
];

before(async () => {
  for (const u of [a, b]) await u.start();
  await cp.start([svc], clusters([a.port]));
});

after(async () => {
  await cp.stop();
  for (const u of [a, b]) await u.stop();
});

/** Sends `n` requests one after the other; how many of them reached b. */
async function toB(mesh: OutboundMesh, n: number): Promise<number> {
  const before = b.seen.length;
  for (let i = 0; i < n; i++) {
    const r = await request('http://warm:9080/', { dispatcher: mesh.dispatcher });
    assert.equal(r.statusCode, 200);
    await r.body.text();
  }
  return b.seen.length - before;
}

describe('slow start', () => {
  test('an endpoint that joins gets min weight at first, a growing share, then its full share after the window', async () => {
    const clock = new ManualClock();
    const mesh = cp.mesh({ clock, random: seededRandom(11) });
    try {
      await mesh.ready('warm:9080');
      assert.equal(await toB(mesh, 10), 0);
      // a has been up for longer than the window when b joins
      clock.advance(60_000);
      cp.set([svc], clusters([a.port, b.port]));
      const target = mesh.target('warm:9080');
      while (true) {
        const c = target.compiled?.clusters.get(C);
        if (c?.kind === 'cluster' && c.state.hosts.length === 2) break;
        await new Promise((r) => setImmediate(r));
      }

      // weights 1 : 0.1 → b gets 1 in 11
      const first = await toB(mesh, 110);
      assert.ok(first >= 8 && first <= 12, `b got ${first} of 110 at min weight`);
      // 30 s in: 1 : 0.5 → 1 in 3
      clock.advance(30_000);
      const half = await toB(mesh, 90);
      assert.ok(half >= 24 && half <= 33, `b got ${half} of 90 half way through the window`);
      // 54 s in: 1 : 0.9
      clock.advance(24_000);
      const late = await toB(mesh, 95);
      assert.ok(late >= 40 && late <= 50, `b got ${late} of 95 near the end of the window`);
      // the window is over: plain round robin
      clock.advance(6_000);
      assert.equal(await toB(mesh, 40), 20);
    } finally {
      await mesh.close();
    }
  });
});
