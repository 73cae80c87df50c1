// The Host (:authority) to send upstream. Envoy sets a weighted cluster's host_rewrite_literal
// first, then the route's host_rewrite_literal or host_rewrite_header (first value, ignored when
// empty) overrides it. auto_host_rewrite depends on the picked endpoint and is the caller's.
// The caller keeps the original in x-envoy-original-host when it rewrites.
import type { HeaderRecord } from './header-mutation.ts';
import type { ClusterChoice, RouteEntry } from './route-table.ts';

/** New authority, or undefined to keep the request's. `headers` are the mutated request headers. */
export function rewriteHost(
  entry: RouteEntry,
  choice: ClusterChoice | undefined,
  headers: HeaderRecord,
): string | undefined {
  const action = entry.route.action;
  if (action.kind !== 'route') return undefined;
  if (action.hostRewriteLiteral !== undefined && action.hostRewriteLiteral !== '') return action.hostRewriteLiteral;
  if (action.hostRewriteHeader !== undefined && action.hostRewriteHeader !== '') {
    const v = headers[action.hostRewriteHeader.toLowerCase()];
    const first = typeof v === 'string' ? v : v?.[0];
    if (first !== undefined && first !== '') return first;
  }
  const literal = choice?.weight?.hostRewriteLiteral;
  return literal !== undefined && literal !== '' ? literal : undefined;
}
