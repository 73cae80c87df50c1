// Host names as istiod treats them: short-name expansion in a config namespace, wildcard matching
// (pkg/config/host), cluster keys `outbound|port|subset|host`, and the spellings a proxyless client
// may use for a service (grpcgen lds.go tryFindFQDN, httproute.go generateVirtualHostDomains).
import { isIP } from 'node:net';

/** `ResolveShortnameToFQDN`: a name without a dot becomes `<name>.<ns>.svc.<domainSuffix>`. */
export function resolveShortname(host: string, namespace: string, domainSuffix: string): string {
  if (host === '' || host === '*' || host.includes('.') || isIP(host) !== 0) return host;
  return `${host}.${namespace}.svc.${domainSuffix}`;
}

/** `gateways:` entries resolve like hosts: `name` → `<vs ns>/name`; `mesh` stays. */
export function resolveGatewayName(g: string, namespace: string): string {
  if (g === 'mesh') return g;
  const slash = g.indexOf('/');
  if (slash >= 0) return g.slice(0, slash) === '.' ? `${namespace}${g.slice(slash)}` : g;
  // `name.ns` (or `name.ns.svc.cluster.local`) is an older spelling of `ns/name`: the namespace is
  // the label after the name, the rest of a FQDN is dropped
  const dot = g.indexOf('.');
  if (dot > 0) {
    const next = g.indexOf('.', dot + 1);
    return `${g.slice(dot + 1, next < 0 ? undefined : next)}/${g.slice(0, dot)}`;
  }
  return `${namespace}/${g}`;
}

export function isWildcard(host: string): boolean {
  return host.startsWith('*');
}

/** host.Name.Matches: do the two (possibly wildcard) names overlap? */
export function hostsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const aw = isWildcard(a);
  const bw = isWildcard(b);
  if (aw && bw) {
    // *.foo.com overlaps *.com and *.bar.foo.com
    return a.length > b.length ? a.endsWith(b.slice(1)) : b.endsWith(a.slice(1));
  }
  if (aw) return a === '*' || b.endsWith(a.slice(1));
  if (bw) return b === '*' || a.endsWith(b.slice(1));
  return false;
}

/** host.Name.SubsetOf: is every name `a` stands for also matched by `b`? */
export function hostSubsetOf(a: string, b: string): boolean {
  if (a === b || b === '*') return true;
  if (!isWildcard(b)) return false;
  if (isWildcard(a)) return a.length >= b.length && a.endsWith(b.slice(1));
  return a.endsWith(b.slice(1));
}

/** How specific a (wildcard) host is: longer is more specific, exact beats any wildcard. */
export function hostSpecificity(host: string): number {
  return isWildcard(host) ? host.length - 1 : 1_000_000 + host.length;
}

/** `net.JoinHostPort`. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `model.BuildSubsetKey(TrafficDirectionOutbound, subset, host, port)`. */
export function clusterName(port: number, subset: string, host: string): string {
  return `outbound|${port}|${subset}|${host}`;
}

export interface ClusterKey {
  readonly direction: string;
  readonly port: number;
  readonly subset: string;
  readonly host: string;
}

export function parseClusterName(name: string): ClusterKey | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const port = Number(parts[1]);
  if (!Number.isInteger(port) || port <= 0) return undefined;
  return { direction: parts[0] ?? '', port, subset: parts[2] ?? '', host: parts[3] ?? '' };
}

/** `<ns>` of a Kubernetes FQDN `<name>.<ns>.svc.<suffix>`, or undefined. */
function kubeParts(host: string): { name: string; namespace: string; svcIndex: number } | undefined {
  const svc = host.indexOf('.svc.');
  const dot = host.indexOf('.');
  if (svc <= 0 || dot <= 0 || dot + 1 > svc) return undefined;
  return { name: host.slice(0, dot), namespace: host.slice(dot + 1, svc), svcIndex: svc };
}

/**
 * Every LDS name a proxyless client can subscribe to for this host (without port): the FQDN, and
 * for a Kubernetes service in the node's own namespace `name`, `name.ns` and `name.ns.svc`
 * (istiod's tryFindFQDN only expands names of the proxy's own namespace).
 */
export function listenerHostSpellings(host: string, nodeNamespace: string, dnsDomain: string): string[] {
  const out = [host];
  const k = kubeParts(host);
  if (k === undefined || k.namespace !== nodeNamespace) return out;
  // expansion is `<short>.<DNSDomain>`: only when that reproduces the FQDN
  if (`${k.name}.${dnsDomain}` !== host) return out;
  out.push(k.name, `${k.name}.${k.namespace}`, `${k.name}.${k.namespace}.svc`);
  return out;
}

/**
 * Virtual host domains for a service port as istiod builds them for a proxyless node
 * (ports kept, since SidecarIgnorePort is false for GENERATOR=grpc): the FQDN and its absolute form,
 * the Kubernetes short forms (bare name only from the same namespace), and the VIPs.
 */
export function virtualHostDomains(host: string, port: number, vips: readonly string[], dnsDomain: string): string[] {
  const domains: string[] = [];
  const withPort = (d: string) => domains.push(d, `${d}:${port}`);
  withPort(host);
  if (!isWildcard(host)) withPort(`${host}.`);
  // GenerateAltVirtualHosts: only when the proxy domain is a Kubernetes one sharing the suffix
  const svcAt = dnsDomain.indexOf('.svc.');
  if (svcAt >= 0) {
    const suffix = dnsDomain.slice(svcAt + 1); // svc.cluster.local
    const k = kubeParts(host);
    if (k !== undefined && host.endsWith(suffix)) {
      const nsDotName = host.slice(0, k.svcIndex); // name.ns
      if (k.namespace === dnsDomain.slice(0, svcAt)) {
        withPort(k.name);
        withPort(`${nsDotName}.svc`);
        withPort(nsDotName);
      } else {
        withPort(nsDotName);
        withPort(`${nsDotName}.svc`);
      }
    }
  }
  for (const vip of vips) {
    if (vip === '' || vip === '0.0.0.0') continue;
    if (vip.includes(':')) domains.push(`[${vip}]`, `[${vip}]:${port}`);
    else withPort(vip);
  }
  return domains;
}

/**
 * A meshConfig default exportTo (`defaultServiceExportTo` & co.): unset or empty is public, as
 * istiod's initDefaultExportMaps reads a missing list.
 */
export function meshDefaultExportTo(list: readonly string[] | undefined): readonly string[] {
  return list === undefined || list.length === 0 ? ['*'] : list;
}

/** exportTo visibility: is an object of namespace `ns` with this exportTo visible from `viewer`? */
export function exportedTo(exportTo: readonly string[], ns: string, viewer: string): boolean {
  for (const e of exportTo) {
    if (e === '*' || e === viewer || (e === '.' && ns === viewer)) return true;
  }
  return false;
}
