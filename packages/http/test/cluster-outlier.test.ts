import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OutlierDetection } from '@inboard/xds';
import { ManualClock } from '@inboard/xds';
import { ClusterState, grpcStatusToHttpStatus, type OutlierEvent, parseGrpcStatus } from '../src/cluster/index.ts';
import {
  constant,
  counting,
  endpoints,
  group,
  makeCla,
  makeCluster,
  makeOutlier,
  sequence,
} from './cluster-fixtures.ts';

function setup(n: number, outlier: Partial<OutlierDetection> = {}, random = constant(0)) {
  const clock = new ManualClock();
  const state = new ClusterState(
    makeCluster({ outlierDetection: makeOutlier({ maxEjectionPercent: 100, ...outlier }), healthyPanicThreshold: 0 }),
    makeCla([group(endpoints(n))]),
    { clock, random },
  );
  const events: OutlierEvent[] = [];
  state.onOutlierEvent((e) => events.push(e));
  const host = (i: number) => state.host(`10.0.0.${i}:80`)!;
  const fail = (i: number, times: number, status = 500) => {
    for (let k = 0; k < times; k++) state.recordResult(host(i), { status });
  };
  return { clock, state, events, host, fail };
}

describe('outlier detection: consecutive errors', () => {
  it('ejects a host after consecutive_5xx (5) errors and stops routing to it', () => {
    const { state, events, host, fail } = setup(3);
    fail(1, 4, 500);
    assert.equal(host(1).ejected, false);
    fail(1, 1, 500);
    assert.equal(host(1).ejected, true);
    assert.deepEqual(
      events.map((e) => [e.type, e.host.key, 'reason' in e ? e.reason : '']),
      [['eject', '10.0.0.1:80', 'consecutive_5xx']],
    );
    const picked = new Set(Array.from({ length: 10 }, () => state.pick()!.key));
    assert.ok(!picked.has('10.0.0.1:80'));
    assert.equal(state.outlierDetector!.ejectedCount, 1);
  });

  it('a success in between resets the count', () => {
    const { host, fail, state } = setup(3);
    fail(1, 4);
    state.recordResult(host(1), { status: 200 });
    fail(1, 4);
    assert.equal(host(1).ejected, false);
  });

  it('counts local-origin failures as 503/504 unless split_external_local_origin_errors', () => {
    const { host, state } = setup(3);
    for (const r of ['connect_failure', 'timeout', 'reset', 'connect_failure'] as const)
      state.recordResult(host(1), { localOrigin: r });
    state.recordResult(host(1), { localOrigin: 'success' }); // connection success alone is not a result
    assert.equal(host(1).ejected, false);
    state.recordResult(host(1), { localOrigin: 'timeout' });
    assert.equal(host(1).ejected, true);
  });

  it('with split errors, local-origin failures eject via consecutive_local_origin_failure only', () => {
    const { host, state, events } = setup(3, {
      splitExternalLocalOriginErrors: true,
      consecutiveLocalOriginFailure: 3,
    });
    for (let i = 0; i < 2; i++) state.recordResult(host(1), { localOrigin: 'connect_failure' });
    state.recordResult(host(1), { localOrigin: 'success' });
    for (let i = 0; i < 2; i++) state.recordResult(host(1), { localOrigin: 'timeout' });
    assert.equal(host(1).ejected, false);
    state.recordResult(host(1), { localOrigin: 'reset' });
    assert.equal(host(1).ejected, true);
    assert.equal(events[0]!.type === 'eject' && events[0]!.reason, 'consecutive_local_origin_failure');
    // 5xx responses still count separately
    for (let i = 0; i < 5; i++) state.recordResult(host(2), { status: 500 });
    assert.equal(host(2).ejected, true);
  });

  it('consecutive gateway failures (502/503/504) eject only when enforced (off by default)', () => {
    const off = setup(3, { consecutive5xx: 100, consecutiveGatewayFailure: 3 });
    off.fail(1, 3, 502);
    assert.equal(off.host(1).ejected, false);
    assert.deepEqual(
      off.events.map((e) => e.type === 'eject' && [e.reason, e.enforced]),
      [['consecutive_gateway_failure', false]],
    );

    const on = setup(3, { consecutive5xx: 100, consecutiveGatewayFailure: 3, enforcingConsecutiveGatewayFailure: 100 });
    on.fail(1, 2, 504);
    on.fail(1, 1, 500); // a non-gateway 5xx breaks the gateway run
    on.fail(1, 2, 503);
    assert.equal(on.host(1).ejected, false);
    on.fail(1, 1, 502);
    assert.equal(on.host(1).ejected, true);
  });

  it('enforcing_consecutive_5xx is a percentage rolled per ejection', () => {
    const notThisTime = setup(3, { enforcingConsecutive5xx: 50 }, constant(60)); // 60 % 100 ≥ 50
    notThisTime.fail(1, 5);
    assert.equal(notThisTime.host(1).ejected, false);
    const thisTime = setup(3, { enforcingConsecutive5xx: 50 }, constant(149)); // 49 < 50
    thisTime.fail(1, 5);
    assert.equal(thisTime.host(1).ejected, true);
  });

  it('maps gRPC statuses to HTTP the way Envoy reports them', () => {
    assert.deepEqual([0, 1, 4, 8, 13, 14, 16].map(grpcStatusToHttpStatus), [200, 499, 504, 429, 500, 503, 401]);
  });

  it('reads grpc-status as Envoy does: empty is none, what is not a code 0–16 is InvalidCode (HTTP 500)', () => {
    const read = (v: string) => {
      const code = parseGrpcStatus(v);
      return code === undefined ? undefined : grpcStatusToHttpStatus(code);
    };
    assert.equal(read(''), undefined);
    assert.deepEqual(['14', ' 14 ', '+14', '014'].map(read), [503, 503, 503, 503]);
    assert.deepEqual(['17', '0x1', '1e1', '-1', 'abc', '+', '1 4'].map(parseGrpcStatus), [-1, -1, -1, -1, -1, -1, -1]);
    assert.equal(read('17'), 500);
  });
});

describe('outlier detection: ejection time and un-ejection', () => {
  it('un-ejects at the first interval sweep after base_ejection_time', () => {
    const { clock, host, fail, events } = setup(3);
    fail(1, 5);
    clock.advance(20_000); // sweeps at 10 s and 20 s: 30 s not yet elapsed
    assert.equal(host(1).ejected, true);
    clock.advance(10_000); // sweep at 30 s
    assert.equal(host(1).ejected, false);
    assert.deepEqual(
      events.map((e) => e.type),
      ['eject', 'uneject'],
    );
  });

  it('doubles the ejection time on a repeat ejection and caps it at max_ejection_time', () => {
    const { clock, host, fail, state } = setup(3, { maxEjectionTime: 70_000 });
    const ejectFor = () => {
      fail(1, 5);
      assert.equal(host(1).ejected, true);
      const d = state.outlierDetector!.ejectionDuration(host(1))!;
      // advance to the sweep that releases it
      let waited = 0;
      while (host(1).ejected) {
        clock.advance(10_000);
        waited += 10_000;
      }
      return [d, waited];
    };
    // ejections at t=0 (sweep phase 0): durations 30 s, 60 s, then capped at 70 s
    assert.deepEqual(ejectFor(), [30_000, 30_000]);
    assert.deepEqual(ejectFor(), [60_000, 60_000]);
    assert.deepEqual(ejectFor(), [70_000, 70_000]);
    assert.deepEqual(ejectFor(), [70_000, 70_000]);
  });

  it('decays the multiplier while the host stays healthy', () => {
    const { clock, host, fail, state } = setup(3);
    fail(1, 5);
    clock.advance(30_000);
    fail(1, 5); // second ejection right away: 60 s
    assert.equal(state.outlierDetector!.ejectionDuration(host(1)), 60_000);
    clock.advance(60_000);
    assert.equal(host(1).ejected, false);
    clock.advance(30_000); // healthy sweeps an interval after un-ejection: 2 → 0
    fail(1, 5);
    assert.equal(state.outlierDetector!.ejectionDuration(host(1)), 30_000);
  });

  it('stops the sweep timer on dispose', () => {
    const { clock, state } = setup(3);
    assert.equal(clock.pending, 1);
    state.dispose();
    assert.equal(clock.pending, 0);
  });
});

describe('outlier detection: max_ejection_percent', () => {
  it('never ejects more than the percentage of hosts', () => {
    const { host, fail, events } = setup(10, { maxEjectionPercent: 10 });
    fail(1, 5);
    fail(2, 5);
    assert.deepEqual([host(1).ejected, host(2).ejected], [true, false]);
    assert.equal(events.at(-1)!.type, 'eject_overflow');
  });

  it('ejects nobody from a small cluster when one host is already over the percentage', () => {
    const { host, fail } = setup(5, { maxEjectionPercent: 10 }); // 1 of 5 = 20% > 10%
    fail(1, 5);
    assert.equal(host(1).ejected, false);
  });

  it('always_eject_one_host permits one ejection regardless', () => {
    const { host, fail } = setup(5, { maxEjectionPercent: 10, alwaysEjectOneHost: true });
    fail(1, 5);
    fail(2, 5);
    assert.deepEqual([host(1).ejected, host(2).ejected], [true, false]);
  });

  it('frees the slot when an ejected host leaves the cluster', () => {
    const { host, fail, state } = setup(10, { maxEjectionPercent: 10 });
    fail(1, 5);
    state.update(makeCla([group(endpoints(10).slice(1))]));
    assert.equal(state.outlierDetector!.ejectedCount, 0);
    fail(2, 5);
    assert.equal(host(2).ejected, false); // 1 of 9 = 11% > 10%
  });
});

describe('outlier detection: interval sweeps', () => {
  it('ejects success-rate outliers (mean − 1.9 × stdev) from the last interval', () => {
    const { clock, host, state, events } = setup(5);
    for (let i = 1; i <= 5; i++) {
      for (let k = 0; k < 100; k++) state.recordResult(host(i), { status: i === 3 && k % 2 === 0 ? 500 : 200 });
    }
    // rates 100,100,50,100,100: mean 90, stdev 20, threshold 52
    clock.advance(10_000);
    assert.equal(host(3).ejected, true);
    assert.equal(events[0]!.type === 'eject' && events[0]!.reason, 'success_rate');
  });

  it('needs success_rate_request_volume requests per host and success_rate_minimum_hosts hosts', () => {
    const { clock, host, state } = setup(5);
    for (let i = 1; i <= 5; i++) {
      for (let k = 0; k < 99; k++) state.recordResult(host(i), { status: i === 3 && k % 2 === 0 ? 500 : 200 });
    }
    clock.advance(10_000);
    assert.equal(host(3).ejected, false);
  });

  it('ejects by failure percentage when enforced', () => {
    const { clock, host, state, events } = setup(5, {
      enforcingFailurePercentage: 100,
      enforcingSuccessRate: 0,
      consecutive5xx: 1000,
      consecutiveGatewayFailure: 1000,
    });
    for (let i = 1; i <= 5; i++) {
      for (let k = 0; k < 50; k++) state.recordResult(host(i), { status: i === 2 && k < 45 ? 503 : 200 });
    }
    clock.advance(10_000);
    assert.equal(host(2).ejected, true);
    assert.deepEqual(
      events.filter((e) => e.type === 'eject' && e.enforced).map((e) => e.type === 'eject' && e.reason),
      ['failure_percentage'],
    );
  });

  it('adds max_ejection_time_jitter drawn from the random source', () => {
    const { clock, host, fail } = setup(3, { maxEjectionTimeJitter: 20_000 }, sequence([0, 15_000]));
    fail(1, 5); // enforcement draw 0, jitter draw 15000 % 20001 = 15 s
    clock.advance(40_000);
    assert.equal(host(1).ejected, true);
    clock.advance(10_000);
    assert.equal(host(1).ejected, false);
  });
});

describe('outlier detection inside ClusterState', () => {
  it('keeps ejection state for persisting endpoints across EDS updates', () => {
    const { host, fail, state } = setup(3);
    fail(1, 5);
    state.update(makeCla([group(endpoints(4))]));
    assert.equal(host(1).ejected, true);
    assert.equal(state.outlierDetector!.ejectedCount, 1);
  });

  it('balances over ejected hosts again once the priority is in panic', () => {
    const clock = new ManualClock();
    const state = new ClusterState(
      makeCluster({ outlierDetection: makeOutlier({ maxEjectionPercent: 100 }) }),
      makeCla([group(endpoints(2))]),
      { clock, random: counting() },
    );
    for (let k = 0; k < 5; k++) state.recordResult(state.host('10.0.0.1:80')!, { status: 500 });
    assert.deepEqual(state.priorityLoad.panic, [false]); // 1 of 2 healthy: 70% health, 50% not < 50%
    for (let k = 0; k < 5; k++) state.recordResult(state.host('10.0.0.2:80')!, { status: 500 });
    assert.deepEqual(state.priorityLoad.panic, [true]);
    assert.equal(new Set([state.pick()!.key, state.pick()!.key]).size, 2);
  });
});
