import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregateLoadBalancer } from '../src/cluster/aggregate-lb.ts';
import { ClusterState } from '../src/cluster/cluster-state.ts';
import { counting, endpoints, group, makeCla, makeCluster, tally } from './cluster-fixtures.ts';

/** primary: 10 hosts (10.0.1.x), `healthy` of them healthy; secondary: 10 healthy hosts (10.0.2.x) */
function setup(healthy: number, panicThreshold = 50) {
  const primary = new ClusterState(makeCluster({ name: 'primary' }), makeCla([group(endpoints(10, healthy, 1))]), {
    random: counting(),
  });
  const secondary = new ClusterState(makeCluster({ name: 'secondary' }), makeCla([group(endpoints(10, 10, 2))]), {
    random: counting(),
  });
  const lb = new AggregateLoadBalancer(
    makeCluster({ name: 'agg', type: 'AGGREGATE', healthyPanicThreshold: panicThreshold }),
    [primary, secondary],
    counting(),
  );
  return { primary, secondary, lb };
}

const leafOf = (lb: AggregateLoadBalancer) => () => lb.pick(() => undefined)!.state.name;

describe('AGGREGATE clusters (linearized priority levels)', () => {
  it('a healthy primary takes all the traffic', () => {
    const { lb } = setup(10);
    assert.deepEqual([...tally(100, leafOf(lb))], [['primary', 100]]);
  });

  it('spills from a partly unhealthy primary to the secondary with the 1.4 overprovisioning factor', () => {
    // 6/10 healthy: 1.4 × 60% = 84% primary, 16% secondary
    const six = setup(6);
    const counts = tally(100, leafOf(six.lb));
    assert.deepEqual([counts.get('primary'), counts.get('secondary')], [84, 16]);
    // 2/10: 28% / 72%
    const two = setup(2);
    const c2 = tally(100, leafOf(two.lb));
    assert.deepEqual([c2.get('primary'), c2.get('secondary')], [28, 72]);
  });

  it('fails over entirely when the primary has no healthy host, and only to healthy primary hosts otherwise', () => {
    const { lb } = setup(0);
    assert.deepEqual([...tally(100, leafOf(lb))], [['secondary', 100]]);
    const partly = setup(6);
    for (let i = 0; i < 100; i++) {
      const p = partly.lb.pick(() => undefined)!;
      assert.equal(p.host.health, 'healthy');
    }
  });

  it("follows a leaf's health changes (EDS updates)", () => {
    const { primary, lb } = setup(10);
    assert.equal(leafOf(lb)(), 'primary');
    primary.update(makeCla([group(endpoints(10, 0, 1))]));
    assert.deepEqual([...tally(20, leafOf(lb))], [['secondary', 20]]);
  });

  it('in total panic splits by host count and picks any host of the level', () => {
    const primary = new ClusterState(makeCluster({ name: 'primary' }), makeCla([group(endpoints(2, 0, 1))]), {
      random: counting(),
    });
    const secondary = new ClusterState(makeCluster({ name: 'secondary' }), makeCla([group(endpoints(2, 0, 2))]), {
      random: counting(),
    });
    const lb = new AggregateLoadBalancer(
      makeCluster({ name: 'agg', type: 'AGGREGATE' }),
      [primary, secondary],
      counting(),
    );
    assert.deepEqual(lb.priorityLoad.healthyLoad, [50, 50]);
    const counts = tally(100, leafOf(lb));
    assert.deepEqual([counts.get('primary'), counts.get('secondary')], [50, 50]);
  });

  it('no host anywhere: no pick', () => {
    const empty = new ClusterState(makeCluster({ name: 'empty' }), makeCla([]), { random: counting() });
    const lb = new AggregateLoadBalancer(makeCluster({ name: 'agg', type: 'AGGREGATE' }), [empty], counting());
    assert.equal(
      lb.pick(() => undefined),
      undefined,
    );
  });
});
