// The Host (:authority) to send upstream. Envoy sets a weighted cluster's host_rewrite_literal
// first, then the route's host_rewrite_literal or host_rewrite_header (first value, ignored when
// empty) overrides it. auto_host_rewrite depends on the picked endpoint and is the caller's.
// The caller keeps the original in x-envoy-original-host when it rewrites.
import type { HeaderRecord } from './header-mutation.ts';
import type { ClusterChoice, RouteEntry } from './route-table.ts';

/**
 * append_x_forwarded_host, as Envoy's updateAuthority does it before a route's host rewrite
 * (literal, header or auto; not a weighted cluster's own literal): the Host being replaced joins
 * x-forwarded-host (`,`-separated), unless it already is the header's last value (so a retry that
 * rewrites again does not repeat it).
 */
export function appendForwardedHost(headers: HeaderRecord, host: string): void {
  if (host === '') return;
  const xfh = headers['x-forwarded-host'];
  const value = typeof xfh === 'string' ? xfh : xfh?.join(',');
  if (value === undefined || value === '') {
    headers['x-forwarded-host'] = host;
    return;
  }
  const last = value.split(',').findLast((t) => t !== '');
  if (last !== host) headers['x-forwarded-host'] = `${value},${host}`;
}

/**
 * New authority, or undefined to keep the request's. `headers` are the mutated request headers.
 * With `authority` (the request's) and the route's append_x_forwarded_host, a route-level rewrite
 * also appends the Host it replaces to x-forwarded-host in `headers`: the weighted cluster's
 * literal when there is one (Envoy sets that first), else `authority`.
 */
export function rewriteHost(
  entry: RouteEntry,
  choice: ClusterChoice | undefined,
  headers: HeaderRecord,
  authority?: string,
): string | undefined {
  const action = entry.route.action;
  if (action.kind !== 'route') return undefined;
  const cw = choice?.weight?.hostRewriteLiteral;
  const clusterLiteral = cw !== undefined && cw !== '' ? cw : undefined;
  let routeHost: string | undefined;
  if (action.hostRewriteLiteral !== undefined && action.hostRewriteLiteral !== '')
    routeHost = action.hostRewriteLiteral;
  else if (action.hostRewriteHeader !== undefined && action.hostRewriteHeader !== '') {
    const v = headers[action.hostRewriteHeader.toLowerCase()];
    const first = typeof v === 'string' ? v : v?.[0];
    if (first !== undefined && first !== '') routeHost = first;
  }
  if (routeHost === undefined) return clusterLiteral;
  if (action.appendXForwardedHost && authority !== undefined) appendForwardedHost(headers, clusterLiteral ?? authority);
  return routeHost;
}
