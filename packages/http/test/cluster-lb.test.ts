import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterState } from '../src/cluster/index.ts';
import {
  constant,
  counting,
  endpoints,
  ep,
  group,
  locality,
  makeCla,
  makeCluster,
  sequence,
  tally,
} from './cluster-fixtures.ts';

const keys = (state: ClusterState, n: number, pick = () => state.pick()!.key) => Array.from({ length: n }, pick);

describe('ROUND_ROBIN', () => {
  it('rotates through equally weighted hosts, starting at the seed', () => {
    const state = new ClusterState(makeCluster(), makeCla([group(endpoints(3))]), { random: constant(0) });
    assert.deepEqual(keys(state, 4), ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.1:80']);
    const seeded = new ClusterState(makeCluster(), makeCla([group(endpoints(3))]), { random: constant(4) });
    assert.deepEqual(keys(seeded, 2), ['10.0.0.2:80', '10.0.0.3:80']);
  });

  it('keeps its position across EDS updates instead of restarting at the seed', () => {
    const state = new ClusterState(makeCluster(), makeCla([group(endpoints(3))]), { random: constant(0) });
    const picks: string[] = [];
    for (let i = 0; i < 6; i++) {
      picks.push(state.pick()!.key);
      // an unrelated change between requests: a fourth, unhealthy endpoint comes and goes
      const extra = i % 2 === 0 ? [ep('10.0.0.9', 80, 'UNHEALTHY')] : [];
      state.update(makeCla([group([...endpoints(3), ...extra])]));
    }
    assert.deepEqual(picks, ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
  });

  it('interleaves unequal weights smoothly (EDF) in proportion to weight', () => {
    const cla = makeCla([
      group([ep('10.0.0.1', 80, 'HEALTHY', 1), ep('10.0.0.2', 80, 'HEALTHY', 2), ep('10.0.0.3', 80, 'HEALTHY', 3)]),
    ]);
    const state = new ClusterState(makeCluster(), cla, { random: constant(0) });
    assert.deepEqual(
      keys(state, 6).map((k) => k.slice(7, 8)),
      ['3', '2', '3', '1', '2', '3'],
    );
    const counts = tally(600, () => state.pick()!.key);
    assert.deepEqual(
      [counts.get('10.0.0.1:80'), counts.get('10.0.0.2:80'), counts.get('10.0.0.3:80')],
      [100, 200, 300],
    );
  });

  it('never picks DRAINING, UNHEALTHY or TIMEOUT hosts; UNKNOWN and HEALTHY are healthy', () => {
    const cla = makeCla([
      group([
        ep('10.0.0.1', 80, 'UNKNOWN'),
        ep('10.0.0.2', 80, 'HEALTHY'),
        ep('10.0.0.3', 80, 'DRAINING'),
        ep('10.0.0.4', 80, 'UNHEALTHY'),
        ep('10.0.0.5', 80, 'TIMEOUT'),
        ep('10.0.0.6', 80, 'HEALTHY'),
        ep('10.0.0.7', 80, 'HEALTHY'),
        ep('10.0.0.8', 80, 'HEALTHY'),
        ep('10.0.0.9', 80, 'HEALTHY'),
        ep('10.0.0.10', 80, 'HEALTHY'),
      ]),
    ]);
    const state = new ClusterState(makeCluster(), cla, { random: counting() });
    const picked = new Set(keys(state, 50));
    assert.equal(picked.size, 7);
    for (const bad of ['10.0.0.3:80', '10.0.0.4:80', '10.0.0.5:80']) assert.ok(!picked.has(bad));
  });

  it('uses DEGRADED hosts only for the load healthy hosts cannot take', () => {
    const mixed = (healthy: number, degraded: number) =>
      makeCla([
        group([
          ...Array.from({ length: healthy }, (_, i) => ep(`10.0.1.${i + 1}`)),
          ...Array.from({ length: degraded }, (_, i) => ep(`10.0.2.${i + 1}`, 80, 'DEGRADED')),
        ]),
      ]);
    const enough = new ClusterState(makeCluster(), mixed(8, 2), { random: counting() });
    assert.ok(keys(enough, 100).every((k) => k.startsWith('10.0.1.')));
    const short = new ClusterState(makeCluster(), mixed(5, 5), { random: counting() });
    const byHealth = tally(100, () => short.pick()!.health);
    assert.deepEqual([byHealth.get('healthy'), byHealth.get('degraded')], [70, 30]);
  });
});

describe('LEAST_REQUEST', () => {
  it('power of two choices: keeps the sampled host with fewer active requests', () => {
    // draws: seed, then per pick: priority, choice 1, choice 2
    const random = sequence([0, 0, 1, 2, 0, 2, 1, 0, 3, 3]);
    const state = new ClusterState(makeCluster({ lbPolicy: 'LEAST_REQUEST' }), makeCla([group(endpoints(4))]), {
      random,
    });
    state.host('10.0.0.2:80')!.activeRequests = 5;
    state.host('10.0.0.3:80')!.activeRequests = 1;
    assert.equal(state.pick()!.key, '10.0.0.3:80'); // samples hosts 2 (5 active) and 3 (1 active)
    assert.equal(state.pick()!.key, '10.0.0.3:80'); // samples 3 then 2
    assert.equal(state.pick()!.key, '10.0.0.4:80'); // samples 4 twice
  });

  it('on a tie keeps the first sampled host', () => {
    const random = sequence([0, 0, 3, 0]);
    const state = new ClusterState(makeCluster({ lbPolicy: 'LEAST_REQUEST' }), makeCla([group(endpoints(4))]), {
      random,
    });
    assert.equal(state.pick()!.key, '10.0.0.4:80');
  });

  it('honours choice_count', () => {
    const random = sequence([0, 0, 0, 1, 2]);
    const state = new ClusterState(
      makeCluster({ lbPolicy: 'LEAST_REQUEST', leastRequestChoiceCount: 3 }),
      makeCla([group(endpoints(3))]),
      { random },
    );
    state.host('10.0.0.1:80')!.activeRequests = 2;
    state.host('10.0.0.2:80')!.activeRequests = 2;
    assert.equal(state.pick()!.key, '10.0.0.3:80');
  });

  it('with unequal weights uses weight / (active + 1) ^ bias', () => {
    const cla = makeCla([group([ep('10.0.0.1', 80, 'HEALTHY', 1), ep('10.0.0.2', 80, 'HEALTHY', 2)])]);
    const state = new ClusterState(makeCluster({ lbPolicy: 'LEAST_REQUEST' }), cla, { random: constant(0) });
    state.host('10.0.0.2:80')!.activeRequests = 3; // 2 / 4 = 0.5 against 1 / 1
    const counts = tally(300, () => state.pick()!.key);
    assert.deepEqual([counts.get('10.0.0.1:80'), counts.get('10.0.0.2:80')], [200, 100]);

    // the cluster's active_request_bias
    const plain = new ClusterState(makeCluster({ lbPolicy: 'LEAST_REQUEST', leastRequestActiveRequestBias: 0 }), cla, {
      random: constant(0),
    });
    plain.host('10.0.0.2:80')!.activeRequests = 3; // bias 0: plain weighted round robin
    const c2 = tally(300, () => plain.pick()!.key);
    assert.deepEqual([c2.get('10.0.0.1:80'), c2.get('10.0.0.2:80')], [100, 200]);
  });

  it('tracks load through Host.acquire/release', () => {
    const state = new ClusterState(makeCluster({ lbPolicy: 'LEAST_REQUEST' }), makeCla([group(endpoints(2))]), {
      random: sequence([0, 0, 0, 1]),
    });
    const a = state.host('10.0.0.1:80')!;
    a.acquire();
    assert.equal(state.pick()!.key, '10.0.0.2:80');
    a.release();
    assert.equal(a.activeRequests, 0);
  });
});

describe('RANDOM', () => {
  it('uses the same random value for the priority and the host index', () => {
    const state = new ClusterState(makeCluster({ lbPolicy: 'RANDOM' }), makeCla([group(endpoints(3))]), {
      random: sequence([0, 4, 5, 9]),
    });
    assert.deepEqual(keys(state, 3), ['10.0.0.2:80', '10.0.0.3:80', '10.0.0.1:80']);
  });
});

describe('locality weighted load balancing', () => {
  const twoLocalities = (bHealthy: number, weights: [number | undefined, number | undefined] = [1, 3]) =>
    makeCla([
      group(endpoints(2, 2, 1), { locality: locality('r', 'a'), weight: weights[0] }),
      group(endpoints(2, bHealthy, 2), { locality: locality('r', 'b'), weight: weights[1] }),
    ]);
  const zoneOf = (k: string) => (k.startsWith('10.0.1.') ? 'a' : 'b');

  it('splits traffic by EDS locality weight', () => {
    const state = new ClusterState(makeCluster({ localityWeightedLb: true }), twoLocalities(2), { random: counting() });
    const zones = tally(400, () => zoneOf(state.pick()!.key));
    assert.deepEqual([zones.get('a'), zones.get('b')], [100, 300]);
  });

  it('scales a locality by min(1, 1.4 × healthy share)', () => {
    // b: 3 × min(1, 1.4 × 1/2) = 2.1 against a: 1
    const state = new ClusterState(makeCluster({ localityWeightedLb: true }), twoLocalities(1), { random: counting() });
    const zones = tally(3100, () => zoneOf(state.pick()!.key));
    assert.deepEqual([zones.get('a'), zones.get('b')], [1000, 2100]);
  });

  it('gives no traffic to a locality without weight', () => {
    const state = new ClusterState(makeCluster({ localityWeightedLb: true }), twoLocalities(2, [1, undefined]), {
      random: counting(),
    });
    assert.ok(keys(state, 20).every((k) => zoneOf(k) === 'a'));
  });

  it('ignores locality weights unless locality weighted LB is configured', () => {
    const state = new ClusterState(makeCluster(), twoLocalities(2), { random: counting() });
    const zones = tally(400, () => zoneOf(state.pick()!.key));
    assert.deepEqual([zones.get('a'), zones.get('b')], [200, 200]);
  });
});

describe("EDS DRAINING hosts (Envoy's excluded hosts)", () => {
  it("leave a priority's host total: 1 HEALTHY + 3 DRAINING sends everything to the healthy host, no panic", () => {
    const cla = makeCla([
      group([
        ep('10.0.0.1'),
        ep('10.0.0.2', 80, 'DRAINING'),
        ep('10.0.0.3', 80, 'DRAINING'),
        ep('10.0.0.4', 80, 'DRAINING'),
      ]),
    ]);
    const state = new ClusterState(makeCluster(), cla, { random: counting() });
    assert.deepEqual(state.priorityLoad.panic, [false]);
    assert.deepEqual(new Set(keys(state, 100)), new Set(['10.0.0.1:80']));
  });

  it('do not make P0 spill to P1', () => {
    const cla = makeCla([
      group([ep('10.0.0.1'), ep('10.0.0.2'), ep('10.0.0.3', 80, 'DRAINING'), ep('10.0.0.4', 80, 'DRAINING')]),
      group([ep('10.0.1.1'), ep('10.0.1.2')], { priority: 1 }),
    ]);
    const state = new ClusterState(makeCluster(), cla, { random: counting() });
    assert.deepEqual(state.priorityLoad.healthyLoad, [100, 0]);
    assert.ok(keys(state, 100).every((k) => k === '10.0.0.1:80' || k === '10.0.0.2:80'));
  });

  it("do not lower a locality's effective weight", () => {
    const cla = makeCla([
      group([ep('10.0.1.1'), ep('10.0.1.2', 80, 'DRAINING'), ep('10.0.1.3', 80, 'DRAINING')], {
        locality: locality('r', 'a'),
        weight: 1,
      }),
      group([ep('10.0.2.1'), ep('10.0.2.2')], { locality: locality('r', 'b'), weight: 1 }),
    ]);
    const state = new ClusterState(makeCluster({ localityWeightedLb: true }), cla, { random: counting() });
    const zones = tally(200, () => (state.pick()!.key.startsWith('10.0.1.') ? 'a' : 'b'));
    assert.deepEqual([zones.get('a'), zones.get('b')], [100, 100]);
  });

  it('are still among "all hosts" once the level is in panic', () => {
    // 3 counted hosts, 1 healthy: 33% < 50% → panic, which balances over every host, draining included
    const cla = makeCla([
      group([
        ep('10.0.0.1'),
        ep('10.0.0.2', 80, 'UNHEALTHY'),
        ep('10.0.0.3', 80, 'UNHEALTHY'),
        ep('10.0.0.4', 80, 'DRAINING'),
      ]),
    ]);
    const state = new ClusterState(makeCluster(), cla, { random: counting() });
    assert.deepEqual(state.priorityLoad.panic, [true]);
    assert.equal(new Set(keys(state, 40)).size, 4);
  });
});

describe('host selection retries (previous_hosts)', () => {
  it('re-picks when the pick is a previous host, up to the retry count', () => {
    const state = new ClusterState(makeCluster(), makeCla([group(endpoints(3))]), { random: constant(0) });
    const previousHosts = new Set(['10.0.0.1:80']);
    assert.equal(state.pick({ previousHosts, hostSelectionRetryCount: 1 })!.key, '10.0.0.2:80');
    // without re-picks the predicate is not applied
    assert.equal(state.pick({ previousHosts, hostSelectionRetryCount: 0 })!.key, '10.0.0.3:80');
    assert.equal(state.pick({ previousHosts, hostSelectionRetryCount: 0 })!.key, '10.0.0.1:80');
  });

  it('uses the last pick when every attempt hits a previous host', () => {
    const state = new ClusterState(makeCluster(), makeCla([group(endpoints(2))]), { random: constant(0) });
    const all = new Set(['10.0.0.1:80', '10.0.0.2:80']);
    assert.equal(state.pick({ previousHosts: all, hostSelectionRetryCount: 2 })!.key, '10.0.0.1:80');
  });
});

describe('ClusterState.update', () => {
  it('keeps the Host object and its state for endpoints whose address:port persists', () => {
    const state = new ClusterState(makeCluster(), makeCla([group(endpoints(3))]), { random: constant(0) });
    const kept = state.host('10.0.0.2:80')!;
    kept.activeRequests = 4;
    state.update(makeCla([group([ep('10.0.0.2', 80, 'HEALTHY', 5), ep('10.0.0.9')])]));
    assert.equal(state.host('10.0.0.2:80'), kept);
    assert.equal(kept.activeRequests, 4);
    assert.equal(kept.weight, 5);
    assert.equal(state.host('10.0.0.1:80'), undefined);
    assert.deepEqual(
      state.hosts.map((h) => h.key),
      ['10.0.0.2:80', '10.0.0.9:80'],
    );
  });

  it('applies health changes from EDS', () => {
    const state = new ClusterState(makeCluster({ healthyPanicThreshold: 0 }), makeCla([group(endpoints(2))]), {
      random: constant(0),
    });
    state.update(makeCla([group([ep('10.0.0.1', 80, 'DRAINING'), ep('10.0.0.2')])]));
    assert.ok(keys(state, 5).every((k) => k === '10.0.0.2:80'));
  });

  it('carries hosts into a state built for a changed cluster config', () => {
    const old = new ClusterState(makeCluster(), makeCla([group(endpoints(2))]), { random: constant(0) });
    const h = old.host('10.0.0.1:80')!;
    h.acquire();
    const next = new ClusterState(makeCluster({ lbPolicy: 'LEAST_REQUEST' }), makeCla([group(endpoints(2))]), {
      random: constant(0),
      previous: old,
    });
    assert.equal(next.host('10.0.0.1:80'), h);
    assert.equal(h.activeRequests, 1);
  });

  it('brackets IPv6 addresses in host keys', () => {
    const state = new ClusterState(makeCluster(), makeCla([group([ep('fd00::1', 8080)])]));
    assert.equal(state.pick()!.key, '[fd00::1]:8080');
  });
});

describe('drop_overload', () => {
  it('drops the configured fraction', () => {
    const cla = {
      ...makeCla([group(endpoints(1))]),
      dropOverloads: [{ category: 'throttle', dropPercentage: { numerator: 25, denominator: 100 } }],
    };
    const state = new ClusterState(makeCluster(), cla, {
      random: sequence([0, 0, 1073741823, 1073741824, 4294967295]),
    });
    assert.deepEqual(
      [state.shouldDrop(), state.shouldDrop(), state.shouldDrop(), state.shouldDrop()],
      [true, true, false, false],
    );
  });
});
