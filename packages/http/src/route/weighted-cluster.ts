// RouteAction.cluster_specifier → the cluster (and its weighted-cluster settings) for a request.
// weighted_clusters: `r % sum(weights)`, then the cluster with begin <= r < end over the running
// sum, like RouteEntryImplBase::pickWeightedCluster (total_weight is deprecated and ignored).

import { firstHeaderValue, type RouteRequest } from './route-request.ts';
import type { ClusterChoice, RouteEntry } from './route-table.ts';

/**
 * undefined when the route does not forward, or when cluster_header names no cluster (missing or
 * empty header): Envoy then replies cluster_not_found_response_code (503 by default) with NC.
 * `random` is a non-negative integer; Envoy uses the stream's one random value for this and for
 * runtime_fraction route matching.
 */
export function chooseCluster(entry: RouteEntry, req: RouteRequest, random: number): ClusterChoice | undefined {
  const action = entry.route.action;
  if (action.kind !== 'route') return undefined;
  const spec = action.clusterSpecifier;
  switch (spec.kind) {
    case 'cluster':
      return entry.clusters[0];
    case 'weighted_clusters': {
      const r = random % entry.totalWeight;
      const ends = entry.clusterEnds;
      for (let i = 0; i < ends.length; i++) if (r < ends[i]!) return entry.clusters[i];
      return undefined;
    }
    case 'cluster_header': {
      const name = firstHeaderValue(req.headers(spec.header));
      if (name === undefined || name === '') return undefined;
      return {
        name,
        weight: undefined,
        requestHeaders: entry.requestHeaders,
        responseHeaders: entry.responseHeaders,
        filters: entry.filters,
      };
    }
  }
}
