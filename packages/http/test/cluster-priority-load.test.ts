import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterState, choosePriority, computePriorityLoad } from '../src/cluster/index.ts';
import { counting, endpoints, group, makeCla, makeCluster, tally } from './cluster-fixtures.ts';

/** levels given as healthy percentages of 100 hosts each */
function loadOf(healthyPercents: number[], panic = 50) {
  return computePriorityLoad(
    healthyPercents.map((h) => ({ total: 100, healthy: h, degraded: 0 })),
    140,
    panic,
  );
}

describe('priority load (overprovisioning factor 1.4)', () => {
  it('spills from P0 to a healthy P1 as in Envoy’s priority table', () => {
    const rows: [number, number[]][] = [
      [100, [100, 0]],
      [72, [100, 0]],
      [71, [99, 1]],
      [50, [70, 30]],
      [25, [35, 65]],
      [0, [0, 100]],
    ];
    for (const [p0, expected] of rows) {
      assert.deepEqual(loadOf([p0, 100]).healthyLoad, expected, `P0 ${p0}% healthy`);
    }
  });

  // Envoy's tables describe the load before panic; panic (threshold 0 here) would otherwise take
  // over the rows where every level is short.
  it('normalizes when the priorities together are under 100% health', () => {
    assert.deepEqual(loadOf([100, 100], 0).healthyLoad, [100, 0]);
    assert.deepEqual(loadOf([72, 72], 0).healthyLoad, [100, 0]);
    assert.deepEqual(loadOf([71, 71], 0).healthyLoad, [99, 1]);
    assert.deepEqual(loadOf([50, 50], 0).healthyLoad, [70, 30]);
    assert.deepEqual(loadOf([25, 100], 0).healthyLoad, [35, 65]);
    assert.deepEqual(loadOf([25, 25], 0).healthyLoad, [50, 50]);
    // health {20·1.4=28, 30·1.4=42} normalizes to 70: 40% / 60%
    assert.deepEqual(
      computePriorityLoad(
        [
          { total: 100, healthy: 20, degraded: 0 },
          { total: 100, healthy: 30, degraded: 0 },
        ],
        140,
        0,
      ).healthyLoad,
      [40, 60],
    );
  });

  it('fills three levels greedily; the rounding remainder goes to the first healthy level', () => {
    assert.deepEqual(loadOf([100, 100, 100], 0).healthyLoad, [100, 0, 0]);
    assert.deepEqual(loadOf([71, 71, 100], 0).healthyLoad, [99, 1, 0]);
    assert.deepEqual(loadOf([50, 50, 100], 0).healthyLoad, [70, 30, 0]);
    assert.deepEqual(loadOf([25, 25, 100], 0).healthyLoad, [35, 35, 30]);
    // Envoy's docs round this row to 36/36/28; its integer code gives 35/35/28 + remainder 2 on P0.
    assert.deepEqual(loadOf([25, 25, 20], 0).healthyLoad, [37, 35, 28]);
    // With the default 50% threshold all three levels of that row are in panic: split by host count.
    assert.deepEqual(loadOf([25, 25, 20]).healthyLoad, [34, 33, 33]);
  });

  it('sends degraded load only where healthy hosts fall short (degraded table)', () => {
    const one = (h: number, d: number) => computePriorityLoad([{ total: 100, healthy: h, degraded: d }], 140, 50);
    assert.deepEqual([one(100, 0).healthyLoad, one(100, 0).degradedLoad], [[100], [0]]);
    assert.deepEqual([one(71, 0).healthyLoad, one(71, 0).degradedLoad], [[100], [0]]);
    assert.deepEqual([one(71, 29).healthyLoad, one(71, 29).degradedLoad], [[99], [1]]);
    assert.deepEqual([one(25, 65).healthyLoad, one(25, 65).degradedLoad], [[35], [65]]);
  });

  it('puts a level in panic only when the total is short and its healthy share is under the threshold', () => {
    // P0 20% healthy but P1 makes up for it: normalized health 100, no panic.
    assert.deepEqual(loadOf([20, 100]).panic, [false, false]);
    // both short (28 + 70 = 98): P0 (20% < 50%) panics, P1 (50%) does not
    const l = loadOf([20, 50]);
    assert.deepEqual(l.panic, [true, false]);
    assert.equal(l.totalPanic, false);
    assert.deepEqual(l.healthyLoad, [29, 71]);
  });

  it('splits by host count when every level is in panic', () => {
    const l = computePriorityLoad(
      [
        { total: 10, healthy: 1, degraded: 0 },
        { total: 30, healthy: 0, degraded: 0 },
      ],
      140,
      50,
    );
    assert.equal(l.totalPanic, true);
    assert.deepEqual(l.healthyLoad, [25, 75]);
  });

  it('with panic disabled and nothing healthy, keeps P0 at 100% (the pick then finds no host)', () => {
    const l = computePriorityLoad([{ total: 3, healthy: 0, degraded: 0 }], 140, 0);
    assert.deepEqual(l.healthyLoad, [100]);
    assert.deepEqual(l.panic, [false]);
  });

  it('choosePriority walks healthy loads then degraded loads with hash % 100 + 1', () => {
    const l = computePriorityLoad(
      [
        { total: 100, healthy: 25, degraded: 65 },
        { total: 10, healthy: 0, degraded: 0 },
      ],
      140,
      0,
    );
    assert.deepEqual(
      [l.healthyLoad, l.degradedLoad],
      [
        [35, 0],
        [65, 0],
      ],
    );
    assert.equal(choosePriority(0, l), 0); // P0 healthy
    assert.equal(choosePriority(34, l), 0);
    assert.equal(choosePriority(35, l), 1); // P0 degraded (code 0*2+1)
    assert.equal(choosePriority(99, l), 1);
  });
});

describe('ClusterState priority and panic routing', () => {
  it('routes 70/30 across priorities when half of P0 is unhealthy', () => {
    const state = new ClusterState(
      makeCluster(),
      makeCla([group(endpoints(10, 5, 0), { priority: 0 }), group(endpoints(10, 10, 1), { priority: 1 })]),
      { random: counting() },
    );
    const byPriority = tally(100, () => state.pick()!.priority);
    assert.deepEqual([byPriority.get(0), byPriority.get(1)], [70, 30]);
    const hosts = tally(100, () => state.pick()!.key);
    for (const key of hosts.keys()) assert.equal(state.host(key)!.health, 'healthy');
  });

  it('in panic balances across all hosts of the level, unhealthy ones included', () => {
    const state = new ClusterState(makeCluster(), makeCla([group(endpoints(10, 4))]), { random: counting() });
    assert.deepEqual(state.priorityLoad.panic, [true]);
    const picked = new Set(Array.from({ length: 10 }, () => state.pick()!.key));
    assert.equal(picked.size, 10);
  });

  it('with healthy_panic_threshold 0 never panics: only healthy hosts, none → no host', () => {
    const some = new ClusterState(makeCluster({ healthyPanicThreshold: 0 }), makeCla([group(endpoints(10, 4))]), {
      random: counting(),
    });
    const picked = new Set(Array.from({ length: 20 }, () => some.pick()!.key));
    assert.deepEqual([...picked].sort(), ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80']);
    const none = new ClusterState(makeCluster({ healthyPanicThreshold: 0 }), makeCla([group(endpoints(3, 0))]));
    assert.equal(none.pick(), undefined);
  });

  it('an empty assignment yields no host', () => {
    assert.equal(new ClusterState(makeCluster(), makeCla([])).pick(), undefined);
  });
});
