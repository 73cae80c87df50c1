// The other side of an outbound request, from what xDS says about it: the EDS endpoint's
// filter_metadata.istio.workload string (the peer workload, as Envoy's istio_stats reads it when no
// metadata exchange happened) and the cluster (its istio metadata `services`, else its name
// `outbound|port|subset|fqdn`) for the destination service.
import type { Cluster } from '@inboard/xds';

export interface PeerWorkload {
  readonly workload: string;
  readonly namespace: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
  readonly cluster: string;
}

/** `<workload>;<namespace>;<canonical service>;<canonical revision>;<cluster>` (istiod's encoding). */
export function parseIstioWorkload(value: string | undefined): PeerWorkload | undefined {
  if (value === undefined || value === '') return undefined;
  const parts = value.split(';');
  if (parts.length < 5) return undefined;
  const [workload, namespace, canonicalService, canonicalRevision, cluster] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  return { workload, namespace, canonicalService, canonicalRevision, cluster };
}

export interface OutboundClusterName {
  readonly direction: 'outbound' | 'inbound';
  readonly port: number;
  readonly subset: string;
  readonly host: string;
}

/** Istio's `outbound|9080|v1|reviews.default.svc.cluster.local` (and `inbound|…`). */
export function parseClusterName(name: string): OutboundClusterName | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const [direction, port, subset, host] = parts as [string, string, string, string];
  if (direction !== 'outbound' && direction !== 'inbound') return undefined;
  const p = Number(port);
  if (!Number.isInteger(p) || p <= 0) return undefined;
  return { direction, port: p, subset, host };
}

export interface DestinationService {
  /** FQDN (or whatever host is known) */
  readonly host: string;
  /** the short service name */
  readonly name: string;
  /** the service's namespace when the FQDN or metadata tells it */
  readonly namespace: string | undefined;
}

function hostWithoutPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end > 0 ? authority.slice(0, end + 1) : authority;
  }
  const colon = authority.lastIndexOf(':');
  return colon > 0 && authority.indexOf(':') === colon ? authority.slice(0, colon) : authority;
}

/** `reviews.default.svc.cluster.local` → name `reviews`, namespace `default`. */
export function serviceFromHost(host: string): DestinationService {
  const dot = host.indexOf('.');
  if (dot < 0) return { host, name: host, namespace: undefined };
  const rest = host.slice(dot + 1);
  const ns = rest.split('.')[0];
  const kube = rest.includes('.svc.') || rest.endsWith('.svc');
  return { host, name: host.slice(0, dot), namespace: kube && ns !== '' ? ns : undefined };
}

/**
 * The destination service as istio_stats finds it: the cluster's istio metadata `services[0]`
 * (host, name, namespace), else (our addition for clusters without metadata) the host of an
 * `outbound|port|subset|host` cluster name, else the request's Host header, port and all (a
 * request no route matched: `reviews:9080`).
 */
export function destinationService(
  clusterName: string | undefined,
  cluster: Cluster | undefined,
  authority: string,
): DestinationService {
  const services = cluster?.istioMetadata?.services;
  if (Array.isArray(services) && services.length > 0) {
    const s = services[0] as Record<string, unknown>;
    const host = typeof s.host === 'string' ? s.host : undefined;
    if (host !== undefined && host !== '') {
      const fromHost = serviceFromHost(host);
      return {
        host,
        name: typeof s.name === 'string' && s.name !== '' ? s.name : fromHost.name,
        namespace: typeof s.namespace === 'string' && s.namespace !== '' ? s.namespace : fromHost.namespace,
      };
    }
  }
  if (clusterName !== undefined) {
    const parsed = parseClusterName(clusterName);
    if (parsed !== undefined && parsed.host !== '') return serviceFromHost(parsed.host);
  }
  // istio_stats keeps the Host header as it is for both (its port included)
  return { host: authority, name: authority, namespace: undefined };
}

/**
 * The FQDN of a host name as Kubernetes DNS would expand it from a pod in `dnsDomain`
 * (`<ns>.svc.cluster.local`): `reviews` → `reviews.default.svc.cluster.local`,
 * `reviews.prod` → `reviews.prod.svc.cluster.local`. IP addresses and names that already carry a
 * cluster domain are returned as they are.
 */
export function expandServiceHost(authority: string, dnsDomain: string | undefined): string {
  const host = hostWithoutPort(authority);
  if (host === '' || host.startsWith('[') || /^[0-9.]+$/.test(host)) return host;
  if (dnsDomain === undefined || dnsDomain === '') return host;
  const svc = dnsDomain.indexOf('.svc.');
  const clusterDomain = svc >= 0 ? dnsDomain.slice(svc + 5) : '';
  const labels = host.split('.');
  if (labels.length === 1) return `${host}.${dnsDomain}`;
  if (labels.length === 2) return clusterDomain !== '' ? `${host}.svc.${clusterDomain}` : host;
  if (labels.length === 3 && labels[2] === 'svc') return clusterDomain !== '' ? `${host}.${clusterDomain}` : host;
  return host;
}
