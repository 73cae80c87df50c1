// The load balancer of an AGGREGATE cluster (Envoy's aggregate cluster extension): the priority
// levels of its leaf clusters, in leaf order, become one list of levels (a leaf's empty levels
// left out), for example [primary P0, primary P1, secondary P0]. Envoy's priority load runs over
// that list (each level with its own cluster's overprovisioning factor, the aggregate cluster's
// panic threshold), so traffic spills from an unhealthy primary to the secondary by health as it
// spills between priorities; the chosen level's cluster then picks a host in that level only,
// with its own LB policy and panic state.

import type { Cluster } from '@inboard/xds';
import type { ClusterState, PickOptions } from './cluster-state.ts';
import type { Host } from './host.ts';
import { choosePriority, computePriorityLoad, type PriorityLevelCounts, type PriorityLoad } from './priority-load.ts';
import type { RandomSource } from './random-source.ts';

export interface AggregatePick {
  readonly state: ClusterState;
  readonly host: Host;
}

export class AggregateLoadBalancer {
  readonly leaves: readonly ClusterState[];
  readonly #panicThreshold: number;
  readonly #random: RandomSource;
  /** the leaves' versions the levels were computed from */
  #versions: number[] = [];
  /** per linearized level: the leaf and its priority */
  #levels: { readonly leaf: ClusterState; readonly priority: number }[] = [];
  #load: PriorityLoad | undefined;

  constructor(aggregate: Cluster, leaves: readonly ClusterState[], random: RandomSource) {
    this.leaves = leaves;
    this.#panicThreshold = aggregate.healthyPanicThreshold;
    this.#random = random;
  }

  /** The linearized levels' priority load (recomputed when a leaf's hosts or health changed). */
  get priorityLoad(): PriorityLoad {
    const leaves = this.leaves;
    let stale = this.#load === undefined || this.#versions.length !== leaves.length;
    for (let i = 0; !stale && i < leaves.length; i++) stale = this.#versions[i] !== leaves[i]!.version;
    if (stale) {
      const counts: PriorityLevelCounts[] = [];
      const levels: { leaf: ClusterState; priority: number }[] = [];
      for (const leaf of leaves) {
        leaf.levelCounts.forEach((c, priority) => {
          if (c.total === 0) return;
          counts.push(c);
          levels.push({ leaf, priority });
        });
      }
      this.#levels = levels;
      this.#versions = leaves.map((l) => l.version);
      this.#load = computePriorityLoad(counts, 140, this.#panicThreshold);
    }
    return this.#load!;
  }

  /**
   * Picks the level by the aggregate's priority load, then a host in it. `options` gives the pick
   * options for a leaf (its request hash, previous hosts). Undefined: no host (503 UH).
   */
  pick(options: (leaf: ClusterState) => PickOptions | undefined): AggregatePick | undefined {
    const load = this.priorityLoad;
    const code = choosePriority(this.#random() % 100, load);
    const level = this.#levels[code >> 1];
    if (level === undefined) return undefined;
    const host = level.leaf.pickInPriority(level.priority, (code & 1) === 1, options(level.leaf));
    return host === undefined ? undefined : { state: level.leaf, host };
  }
}
