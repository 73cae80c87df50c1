// A target's snapshot compiled for the data plane, once per snapshot: the route table, the
// upstream clusters (shared ClusterState objects from the ClusterManager, so host, outlier and
// circuit breaker state outlive snapshots), and the HCM fault filter. Immutable once built; a
// request keeps the CompiledTarget it started with.
import type { Cluster, TargetSnapshot } from '@inboard/xds';
import { AggregateLoadBalancer } from '../cluster/aggregate-lb.ts';
import type { ClusterState } from '../cluster/cluster-state.ts';
import type { TargetUsage } from '../dispatch/target-directory.ts';
import type { ActiveFaults } from '../fault/active-faults.ts';
import { type CompiledFault, compileFault } from '../fault/compiled-fault.ts';
import type { RandomSource } from '../route/random.ts';
import { compileRouteTable, type RouteTable } from '../route/route-table.ts';

export type UpstreamCluster =
  | { readonly kind: 'cluster'; readonly name: string; readonly state: ClusterState }
  /** AGGREGATE: the leaf clusters in priority order (missing leaves left out) */
  | {
      readonly kind: 'aggregate';
      readonly name: string;
      readonly cluster: Cluster;
      /** the aggregate cluster's own state: its circuit breakers (max_retries) */
      readonly state: ClusterState;
      readonly leaves: readonly ClusterState[];
      /** picks over the leaves' linearized priority levels */
      readonly lb: AggregateLoadBalancer;
    }
  | { readonly kind: 'missing'; readonly name: string; readonly reason: string };

/** The HCM's envoy.filters.http.fault filter. */
export interface FaultFilter {
  /** the filter's name in http_filters (the key of per-route overrides) */
  readonly name: string;
  readonly config: CompiledFault;
  /** disabled unless a route enables it */
  readonly disabledByDefault: boolean;
  /** the active_faults gauge and counters, shared by every snapshot of the target */
  readonly faults: ActiveFaults;
}

export interface CompiledTarget {
  readonly target: string;
  readonly snapshot: TargetSnapshot;
  readonly generation: number;
  readonly routeTable: RouteTable;
  readonly clusters: ReadonlyMap<string, UpstreamCluster>;
  readonly faultFilter: FaultFilter | undefined;
  /** the target's requests in flight, shared by every snapshot of the target (idle tracking) */
  readonly usage: TargetUsage;
}

/** Hands out the shared ClusterState of a cluster for a snapshot (see ClusterManager). */
export type ClusterStateSource = (name: string, cluster: Cluster, snapshot: TargetSnapshot) => ClusterState;

/** Throws RouteCompileError / FaultCompileError for config the route table cannot hold. */
export function compileTarget(
  snapshot: TargetSnapshot,
  clusterState: ClusterStateSource,
  faults: ActiveFaults,
  usage: TargetUsage,
  random: RandomSource,
  localAddress?: string,
): CompiledTarget {
  const routeTable = compileRouteTable(snapshot.routeConfig, { random, localAddress });
  let faultFilter: FaultFilter | undefined;
  for (const f of snapshot.hcm.httpFilters) {
    if (f.config.kind !== 'fault') continue;
    faultFilter = { name: f.name, config: compileFault(f.config.fault), disabledByDefault: f.disabled, faults };
    break;
  }
  const clusters = new Map<string, UpstreamCluster>();
  const states = new Map<string, ClusterState>();
  const stateOf = (name: string, cluster: Cluster): ClusterState => {
    let s = states.get(name);
    if (s === undefined) {
      s = clusterState(name, cluster, snapshot);
      states.set(name, s);
    }
    return s;
  };
  for (const [name, res] of snapshot.clusters) {
    if (res.status === 'missing') {
      clusters.set(name, { kind: 'missing', name, reason: res.reason });
    } else if (res.cluster.type !== 'AGGREGATE') {
      clusters.set(name, { kind: 'cluster', name, state: stateOf(name, res.cluster) });
    }
  }
  for (const [name, res] of snapshot.clusters) {
    if (res.status !== 'ok' || res.cluster.type !== 'AGGREGATE') continue;
    const leaves: ClusterState[] = [];
    for (const leaf of res.leaves) {
      const u = clusters.get(leaf);
      if (u?.kind === 'cluster') leaves.push(u.state);
    }
    clusters.set(name, {
      kind: 'aggregate',
      name,
      cluster: res.cluster,
      state: stateOf(name, res.cluster),
      leaves,
      lb: new AggregateLoadBalancer(res.cluster, leaves, random),
    });
  }
  return {
    target: snapshot.target,
    snapshot,
    generation: snapshot.generation,
    routeTable,
    clusters,
    faultFilter,
    usage,
  };
}
