// Slow start (Istio warmupDurationSecs / warmup): the weight formula against values worked out
// from Envoy's EdfLoadBalancerBase::applySlowStartFactor, and a cluster's picks as its hosts age
// on a ManualClock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, type SlowStartConfig } from '@inboard/xds';
import { ClusterState } from '../src/cluster/index.ts';
import { seededRandom } from '../src/cluster/random-source.ts';
import { slowStartFactor, slowStartRefreshMs } from '../src/cluster/slow-start.ts';
import { constant, ep, group, makeCla, makeCluster, tally } from './cluster-fixtures.ts';

const config = (windowMs: number, aggression = 1, minWeightFraction = 0.1): SlowStartConfig => ({
  windowMs,
  aggression,
  minWeightFraction,
});

describe('slow start factor (Envoy applySlowStartFactor)', () => {
  it('is the linear time factor with aggression 1, clamped below at min weight', () => {
    // Envoy's SlowStartNoWait: a 60 s window, 12 s in → max(12/60, 0.1) = 0.2; 20 s in → 1/3
    assert.equal(slowStartFactor(config(60_000), 12_000), 0.2);
    assert.equal(slowStartFactor(config(60_000), 20_000), 20 / 60);
    // 3 s of 60 s is 0.05, below the default min weight of 10 %
    assert.equal(slowStartFactor(config(60_000), 3_000), 0.1);
    // ... and with min_weight_percent 0 the time factor itself, at least 1 ms of the window
    assert.equal(slowStartFactor(config(60_000, 1, 0), 3_000), 0.05);
    assert.equal(slowStartFactor(config(1_000, 1, 0), 0), 0.001);
  });

  it('counts whole milliseconds, and is 1 from the end of the window on', () => {
    assert.equal(slowStartFactor(config(3_000, 1, 0), 1_500.9), 0.5);
    assert.equal(slowStartFactor(config(3_000), 2_999.9), 2_999 / 3_000);
    assert.equal(slowStartFactor(config(3_000), 3_000), 1);
    assert.equal(slowStartFactor(config(3_000), 1e9), 1);
  });

  it('raises the time factor to 1 / aggression', () => {
    // Envoy's SlowStartWithRuntimeAggression: a 10 s window, aggression 1.5, 9 s in →
    // (9/10)^(1/1.5) = 0.9322; a host 0 ms in → max((1/10000)^(1/1.5) = 0.00215, 0.1) = 0.1
    assert.ok(Math.abs(slowStartFactor(config(10_000, 1.5), 9_000) - 0.932_169) < 1e-6);
    assert.equal(slowStartFactor(config(10_000, 1.5), 0), 0.1);
    // aggression 0.5 squares it: a slower start
    assert.ok(Math.abs(slowStartFactor(config(10_000, 0.5, 0), 5_000) - 0.25) < 1e-12);
    // min_weight_percent 50 with aggression 2: max(sqrt(0.16), 0.5) = 0.5
    assert.equal(slowStartFactor(config(10_000, 2, 0.5), 1_600), 0.5);
  });

  it('refreshes a hundredth of the window, between 10 ms and 1 s', () => {
    assert.equal(slowStartRefreshMs(config(60_000)), 600);
    assert.equal(slowStartRefreshMs(config(600_000)), 1000);
    assert.equal(slowStartRefreshMs(config(100)), 10);
  });
});

const B = '10.0.0.2:80';

/** A cluster of host A that has been up for a while, then B joins with a slow start window. */
function withLateHost(policy: 'ROUND_ROBIN' | 'LEAST_REQUEST', slowStart: SlowStartConfig | undefined) {
  const clock = new ManualClock();
  const state = new ClusterState(makeCluster({ lbPolicy: policy, slowStart }), makeCla([group([ep('10.0.0.1')])]), {
    clock,
    random: seededRandom(7),
  });
  clock.advance(120_000);
  state.update(makeCla([group([ep('10.0.0.1'), ep('10.0.0.2')])]));
  return { clock, state };
}

function shareOfB(state: ClusterState, n: number): number {
  return (tally(n, () => state.pick()!.key).get(B) ?? 0) / n;
}

describe('slow start in a cluster', () => {
  for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST'] as const) {
    it(`${policy}: a host that joins ramps from min weight to its full share over the window`, () => {
      const { clock, state } = withLateHost(policy, config(60_000));
      // B at 10 %: 0.1 / 1.1 of the picks
      assert.ok(Math.abs(shareOfB(state, 1100) - 0.1 / 1.1) < 0.01);
      // 30 s in: 0.5 / 1.5
      clock.advance(30_000);
      assert.ok(Math.abs(shareOfB(state, 1500) - 1 / 3) < 0.01);
      // 48 s in: 0.8 / 1.8
      clock.advance(18_000);
      assert.ok(Math.abs(shareOfB(state, 1800) - 0.8 / 1.8) < 0.01);
      // the window is over: an even split (P2C's is random), and no timer left behind
      clock.advance(12_000);
      assert.equal(clock.pending, 0);
      assert.ok(Math.abs(shareOfB(state, 1000) - 0.5) < 0.03);
    });
  }

  it('without slow start, a host that joins gets its full share at once', () => {
    const { clock, state } = withLateHost('ROUND_ROBIN', undefined);
    assert.equal(shareOfB(state, 1000), 0.5);
    assert.equal(clock.pending, 0);
  });

  it('weights apply as Envoy computes them: 12 s into a 60 s window B is picked 1 in 6 (weights 1 : 0.2)', () => {
    const { clock, state } = withLateHost('ROUND_ROBIN', config(60_000));
    clock.advance(12_000);
    state.refresh(); // a membership or health change rebuilds the schedule, as Envoy's refresh does
    assert.equal(shareOfB(state, 600), 100 / 600);
  });

  it('after the window the cluster is back to plain rotation', () => {
    const { clock, state } = withLateHost('ROUND_ROBIN', config(1_000));
    clock.advance(1_000);
    const picks = Array.from({ length: 6 }, () => state.pick()!.key);
    for (let i = 2; i < 6; i++) assert.equal(picks[i], picks[i - 2]);
    assert.notEqual(picks[0], picks[1]);
  });

  it('aggression shapes the ramp: 2.0 gives sqrt(time factor)', () => {
    const { clock, state } = withLateHost('ROUND_ROBIN', config(100_000, 2, 0));
    clock.advance(25_000); // sqrt(0.25) = 0.5 → 0.5 / 1.5
    state.refresh();
    assert.ok(Math.abs(shareOfB(state, 1500) - 1 / 3) < 0.005);
  });

  it('the hosts a cluster starts with ramp together: shares stay even', () => {
    const clock = new ManualClock();
    const state = new ClusterState(
      makeCluster({ slowStart: config(60_000) }),
      makeCla([group([ep('10.0.0.1'), ep('10.0.0.2')])]),
      { clock, random: constant(0) },
    );
    assert.equal(shareOfB(state, 1000), 0.5);
    clock.advance(30_000);
    assert.equal(shareOfB(state, 1000), 0.5);
  });

  it('a host that is unhealthy when it joins starts its window when it turns healthy', () => {
    const clock = new ManualClock();
    const state = new ClusterState(makeCluster({ slowStart: config(60_000) }), makeCla([group([ep('10.0.0.1')])]), {
      clock,
      random: seededRandom(3),
    });
    clock.advance(120_000);
    state.update(makeCla([group([ep('10.0.0.1'), ep('10.0.0.2', 80, 'UNHEALTHY')])]));
    clock.advance(30_000);
    assert.equal(state.host(B)!.slowStartWeight, 1, 'not scaled while unhealthy');
    state.update(makeCla([group([ep('10.0.0.1'), ep('10.0.0.2')])]));
    assert.equal(state.host(B)!.slowStartWeight, 0.1, 'starts at min weight now, not 30 s in');
    clock.advance(30_000);
    assert.equal(state.host(B)!.slowStartWeight, 0.5);
  });

  it('disposing the cluster stops the refresh timer', () => {
    const { clock, state } = withLateHost('ROUND_ROBIN', config(60_000));
    assert.equal(clock.pending, 1);
    state.dispose();
    assert.equal(clock.pending, 0);
  });
});
