// RouteAction.cluster_specifier → the cluster (and its weighted-cluster settings) for a request.
// weighted_clusters: `r % sum(weights)`, then the cluster with begin <= r < end over the running
// sum, like RouteEntryImplBase::pickWeightedCluster (total_weight is deprecated and ignored).
// With header_name, a single-valued header holding an unsigned 64-bit integer (absl's SimpleAtoi:
// surrounding whitespace and a leading '+' allowed) replaces the random value; a missing,
// repeated or unparsable header falls back to the random value.

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
      const total = entry.totalWeight;
      const header = spec.headerName === undefined ? undefined : req.headers(spec.headerName);
      const r = (typeof header === 'string' ? headerValueModulo(header, total) : undefined) ?? random % total;
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

const UINT64_MAX = (1n << 64n) - 1n;

/** `value % total` when value parses as a uint64 (SimpleAtoi), else undefined. */
function headerValueModulo(value: string, total: number): number | undefined {
  const m = /^[ \t\n\v\f\r]*\+?([0-9]+)[ \t\n\v\f\r]*$/.exec(value);
  if (m === null) return undefined;
  const digits = m[1]!;
  if (digits.length <= 15) return Number(digits) % total;
  const n = BigInt(digits);
  return n > UINT64_MAX ? undefined : Number(n % BigInt(total));
}
