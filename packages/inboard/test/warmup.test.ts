// A DestinationRule's warmup, end to end: the embedded control plane sends it as the cluster's
// slow start, and a reviews pod that the registry adds later gets a share of mesh.fetch traffic
// that grows over the warmup duration (the mesh's clock is stepped, its random source seeded).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seededRandom } from '@inboard/http';
import { ManualClock } from '@inboard/xds';
import { Inboard } from 'inboard';
import { registry, TestControlPlane, upstream } from './helpers.ts';

const DR = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
      warmup: {duration: 100s, minimumPercent: 20}
`;
const CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';

describe('DestinationRule warmup', () => {
  const cp = new TestControlPlane();
  const clock = new ManualClock();
  let old: Awaited<ReturnType<typeof upstream>>;
  let fresh: Awaited<ReturnType<typeof upstream>>;
  let mesh: Inboard;

  before(async () => {
    old = await upstream('old');
    fresh = await upstream('fresh');
    await cp.start({
      'dr.yaml': DR,
      'registry.yaml': registry([{ name: 'reviews', endpoints: [{ port: old.port, version: 'v1' }] }]),
    });
    mesh = await Inboard.start({
      env: {},
      controlPlane: cp.address,
      node: { app: 'productpage' },
      outbound: { clock, random: seededRandom(5) },
    });
  });

  after(async () => {
    await mesh.close();
    await old.close();
    await fresh.close();
    await cp.stop();
  });

  /** `n` requests one after the other: how many reached the fresh pod. */
  async function toFresh(n: number): Promise<number> {
    const before = fresh.seen.length;
    for (let i = 0; i < n; i++) {
      const res = await mesh.fetch('http://reviews:9080/');
      assert.equal(res.status, 200);
      await res.text();
    }
    return fresh.seen.length - before;
  }

  test('a pod that joins ramps from the minimum percent to an even share over the duration', async () => {
    assert.equal(await toFresh(5), 0);
    clock.advance(100_000); // the old pod has finished its own warmup
    await cp.apply({
      'registry.yaml': registry([
        {
          name: 'reviews',
          endpoints: [
            { port: old.port, version: 'v1' },
            { port: fresh.port, version: 'v1' },
          ],
        },
      ]),
    });
    const target = mesh.outbound.target('reviews:9080');
    for (;;) {
      const c = target.compiled?.clusters.get(CLUSTER);
      if (c?.kind === 'cluster' && c.state.hosts.length === 2) break;
      await new Promise((r) => setImmediate(r));
    }
    // least request over weights 1 : 0.2 (nothing in flight): 1 in 6
    const first = await toFresh(120);
    assert.ok(first >= 15 && first <= 25, `fresh got ${first} of 120 at 20 %`);
    // 60 s in: 1 : 0.6
    clock.advance(60_000);
    const later = await toFresh(160);
    assert.ok(later >= 50 && later <= 70, `fresh got ${later} of 160 at 60 %`);
    // warmed up: power of two choices between equals
    clock.advance(40_000);
    const even = await toFresh(200);
    assert.ok(even >= 85 && even <= 115, `fresh got ${even} of 200 once warm`);
  });
});
