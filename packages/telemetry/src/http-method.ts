// HTTP method normalisation of the OpenTelemetry HTTP semantic conventions: known methods as
// they are, anything else `_OTHER` (with http.request.method_original on spans).
const KNOWN = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY']);

export function semconvMethod(method: string): string {
  return KNOWN.has(method) ? method : '_OTHER';
}

const split = new Map<string, readonly [string, number | undefined]>();

/** `host:port` → [host, port]; IPv6 in brackets; port undefined when absent. Memoised (few distinct values). */
export function splitAuthority(authority: string): readonly [string, number | undefined] {
  let r = split.get(authority);
  if (r === undefined) {
    if (split.size >= 10_000) split.clear();
    r = parseAuthority(authority);
    split.set(authority, r);
  }
  return r;
}

function parseAuthority(authority: string): [string, number | undefined] {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) return [authority, undefined];
    const host = authority.slice(1, end);
    const rest = authority.slice(end + 1);
    return [host, rest.startsWith(':') ? Number(rest.slice(1)) || undefined : undefined];
  }
  const colon = authority.lastIndexOf(':');
  if (colon <= 0 || authority.indexOf(':') !== colon) return [authority, undefined];
  return [authority.slice(0, colon), Number(authority.slice(colon + 1)) || undefined];
}
