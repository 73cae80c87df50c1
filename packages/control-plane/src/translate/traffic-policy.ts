// DestinationRule traffic policies merged the way istiod merges them (MergeTrafficPolicy):
// subset over port-level over top-level, where a port-level entry replaces the four settings
// wholesale (no inheritance from the level above), and the consistent-hash lookups routes use.
import type {
  ConsistentHashLB,
  Destination,
  DestinationRuleSpec,
  PortTrafficPolicy,
  TrafficPolicy,
} from '../config/istio-types.ts';

function portSettings(
  list: readonly PortTrafficPolicy[] | undefined,
  port: number | undefined,
): PortTrafficPolicy | undefined {
  if (list === undefined || port === undefined) return undefined;
  return list.find((p) => p.port?.number === port);
}

/** `MergeTrafficPolicy(original, overlay, port)`. */
export function mergeTrafficPolicy(
  original: TrafficPolicy | undefined,
  overlay: TrafficPolicy | undefined,
  port: number | undefined,
): TrafficPolicy | undefined {
  if (overlay === undefined) return original;
  // the level below must already have its own port-level settings applied
  const base =
    original !== undefined && (original.portLevelSettings?.length ?? 0) > 0
      ? mergeTrafficPolicy(undefined, original, port)
      : original;
  let merged: TrafficPolicy = {
    connectionPool: overlay.connectionPool ?? base?.connectionPool,
    loadBalancer: overlay.loadBalancer ?? base?.loadBalancer,
    outlierDetection: overlay.outlierDetection ?? base?.outlierDetection,
    tls: overlay.tls ?? base?.tls,
  };
  const p = portSettings(overlay.portLevelSettings, port);
  if (p !== undefined) {
    merged = {
      connectionPool: p.connectionPool,
      loadBalancer: p.loadBalancer,
      outlierDetection: p.outlierDetection,
      tls: p.tls,
    };
  }
  return merged;
}

/** The effective policy of the default cluster (subset '') or of a subset, for a service port. */
export function clusterTrafficPolicy(
  dr: DestinationRuleSpec | undefined,
  port: number,
  subset: string,
): TrafficPolicy | undefined {
  if (dr === undefined) return undefined;
  const top = mergeTrafficPolicy(undefined, dr.trafficPolicy, port);
  if (subset === '') return top;
  const s = dr.subsets?.find((x) => x.name === subset);
  return mergeTrafficPolicy(top, s?.trafficPolicy, port);
}

/** hashForService: the consistent hash of a default route (top level, port level overriding). */
export function consistentHashForService(
  dr: DestinationRuleSpec | undefined,
  port: number,
): ConsistentHashLB | undefined {
  if (dr === undefined) return undefined;
  let hash = dr.trafficPolicy?.loadBalancer?.consistentHash;
  const p = portSettings(dr.trafficPolicy?.portLevelSettings, port);
  if (p?.loadBalancer?.consistentHash !== undefined) hash = p.loadBalancer.consistentHash;
  return hash;
}

/** HashForHTTPDestination: subset port-level > subset > port-level (destination port) > top level. */
export function consistentHashForDestination(
  dr: DestinationRuleSpec | undefined,
  destination: Destination,
): ConsistentHashLB | undefined {
  if (dr === undefined) return undefined;
  const port = destination.port?.number;
  const top = dr.trafficPolicy?.loadBalancer?.consistentHash;
  const pls = portSettings(dr.trafficPolicy?.portLevelSettings, port)?.loadBalancer?.consistentHash;
  let subsetHash: ConsistentHashLB | undefined;
  let subsetPls: ConsistentHashLB | undefined;
  const subset = dr.subsets?.find((s) => s.name === (destination.subset ?? ''));
  if (subset !== undefined) {
    subsetHash = subset.trafficPolicy?.loadBalancer?.consistentHash;
    subsetPls = portSettings(subset.trafficPolicy?.portLevelSettings, port)?.loadBalancer?.consistentHash;
  }
  return subsetPls ?? subsetHash ?? pls ?? top;
}
