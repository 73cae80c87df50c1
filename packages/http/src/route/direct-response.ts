// DirectResponseAction: the local reply a route answers with. Response header mutations
// (entry.responseHeaders) apply to it as to any response. A 201 or 3xx answer also carries a
// Location, as Envoy's router adds one: the request's own URI (scheme, authority and path with
// its query) since a direct-response route has no redirect settings to change it.
import type { RouteRequest } from './route-request.ts';
import type { RouteEntry } from './route-table.ts';

export interface DirectResponse {
  readonly status: number;
  readonly body: string | Uint8Array | undefined;
}

/** undefined when the route does not answer directly. */
export function directResponse(entry: RouteEntry): DirectResponse | undefined {
  const a = entry.route.action;
  return a.kind === 'direct_response' ? { status: a.status, body: a.body } : undefined;
}

/** The Location Envoy adds to a direct response of `status` (201 or 3xx), else undefined. */
export function directResponseLocation(status: number, req: RouteRequest): string | undefined {
  if (status !== 201 && (status < 300 || status > 399)) return undefined;
  const path = req.path.startsWith('/') ? req.path : `/${req.path}`;
  return `${req.scheme}://${req.authority}${path}`;
}
