// Read-only lookups into the outbound mesh for telemetry: from what a request event names (its
// target, cluster and endpoint) to the cluster's xDS config and the endpoint's Host (which carries
// the EDS endpoint's istio workload metadata and tlsMode). Goes through OutboundMesh's public API
// only: find(key) is the MeshTarget requests to that key use, if the mesh follows it now (it
// creates nothing, and does not keep an idle target from being released); its compiled snapshot
// holds the shared ClusterState of each cluster.
import type { ClusterState, CompiledTarget, Host, OutboundMesh } from '@inboard/http';
import type { Cluster } from '@inboard/xds';

export interface Upstream {
  readonly cluster: Cluster | undefined;
  readonly host: Host | undefined;
}

const NONE: Upstream = { cluster: undefined, host: undefined };

/** The ClusterStates behind a cluster name in a target's compiled snapshot (aggregate: its leaves). */
export function clusterStatesOf(mesh: OutboundMesh, target: string, clusterName: string): readonly ClusterState[] {
  const up = compiledOf(mesh, target)?.clusters.get(clusterName);
  if (up === undefined || up.kind === 'missing') return [];
  return up.kind === 'cluster' ? [up.state] : up.leaves;
}

/** The target's compiled snapshot (undefined while unresolved, released, or the mesh is closed). */
export function compiledOf(mesh: OutboundMesh, target: string): CompiledTarget | undefined {
  return mesh.find(target)?.compiled;
}

export function lookupUpstream(
  mesh: OutboundMesh,
  target: string,
  clusterName: string | undefined,
  endpoint: string | undefined,
): Upstream {
  if (clusterName === undefined) return NONE;
  const compiled = compiledOf(mesh, target);
  if (compiled === undefined) return NONE;
  const res = compiled.snapshot.clusters.get(clusterName);
  const cluster = res?.status === 'ok' ? res.cluster : undefined;
  if (endpoint === undefined) return { cluster, host: undefined };
  const up = compiled.clusters.get(clusterName);
  let host: Host | undefined;
  if (up?.kind === 'cluster') host = up.state.host(endpoint);
  else if (up?.kind === 'aggregate') {
    for (const leaf of up.leaves) {
      host = leaf.host(endpoint);
      if (host !== undefined) break;
    }
  }
  return { cluster, host };
}
