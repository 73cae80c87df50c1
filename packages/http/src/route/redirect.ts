// RedirectAction → the Location of the redirect, as Http::Utility::newUri builds it:
// - scheme: scheme_redirect, else the request's;
// - host: host_redirect, else the request's, minus its port when port_redirect is set or when
//   the scheme changes and the port was the old scheme's default (:80 for http, :443 for https);
// - port: port_redirect, appended as given;
// - path: path_redirect (a query in it replaces the request's query and survives strip_query),
//   else the request's path after the redirect's prefix_rewrite / regex_rewrite; strip_query
//   drops the query otherwise.

import { pathEndOf } from './match-context.ts';
import type { RouteRequest } from './route-request.ts';
import type { RouteEntry } from './route-table.ts';

export interface RedirectResponse {
  /** 301 (default), 302, 303, 307 or 308 */
  readonly status: number;
  readonly location: string;
}

function requestHostFor(authority: string, newScheme: string, newPort: string, requestScheme: string): string {
  if (authority === '') return authority;
  let end: number;
  if (authority.charCodeAt(0) === 91 /* [ */) {
    end = authority.lastIndexOf(']:');
    if (end >= 0) end += 1;
  } else {
    end = authority.lastIndexOf(':');
  }
  if (end < 0) return authority;
  const requestPort = authority.slice(end);
  let remove = newPort !== '';
  if (newScheme !== requestScheme) {
    remove ||= requestScheme === 'https' && requestPort === ':443';
    remove ||= requestScheme === 'http' && requestPort === ':80';
  }
  return remove ? authority.slice(0, end) : authority;
}

/** undefined when the route is not a redirect. */
export function redirectResponse(entry: RouteEntry, req: RouteRequest): RedirectResponse | undefined {
  const a = entry.route.action;
  if (a.kind !== 'redirect') return undefined;

  let path = req.path;
  if (entry.pathRewriter !== undefined) {
    const rewritten = entry.pathRewriter(path, entry.pathMatch.matchedLength(path, pathEndOf(path)));
    if (rewritten !== undefined) path = rewritten;
  }

  const scheme = a.schemeRedirect !== undefined && a.schemeRedirect !== '' ? a.schemeRedirect : req.scheme;
  const port = a.portRedirect !== undefined && a.portRedirect !== 0 ? `:${a.portRedirect}` : '';
  const host =
    a.hostRedirect !== undefined && a.hostRedirect !== ''
      ? a.hostRedirect
      : requestHostFor(req.authority, scheme, port, req.scheme);

  const pathRedirect = a.pathRedirect ?? '';
  const redirectHasQuery = pathRedirect.includes('?');
  let finalPath: string;
  if (pathRedirect === '') {
    finalPath = path;
  } else if (redirectHasQuery) {
    finalPath = pathRedirect;
  } else {
    const q = path.indexOf('?');
    finalPath = q < 0 ? pathRedirect : pathRedirect + path.slice(q);
  }
  if (!finalPath.startsWith('/')) finalPath = '/' + finalPath;
  if (!redirectHasQuery && a.stripQuery) {
    const q = finalPath.indexOf('?');
    if (q >= 0) finalPath = finalPath.slice(0, q);
  }
  return { status: a.responseCode, location: `${scheme}://${host}${port}${finalPath}` };
}
