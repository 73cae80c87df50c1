// Istio labels of an inbound request (reporter=destination), as an Envoy server sidecar's
// istio_stats computes them: destination_* from this workload, source_* from what the connection
// tells about the caller (its SPIFFE principal and the namespace in it; without Istio's metadata
// exchange the caller's workload is unknown). destination_service is the request's host expanded
// to the service FQDN (Envoy uses the inbound cluster's service metadata, which proxyless
// listeners do not have).
import { isIP } from 'node:net';
import type { InboundRequestEvent } from '@inboard/http';
import { type IstioLabels, LATEST, orUnknown, UNKNOWN } from './istio-labels.ts';
import type { LocalWorkload } from './local-workload.ts';
import type { LabelSet } from './outbound-labels.ts';
import { expandServiceHost, serviceFromHost } from './peer-workload.ts';

const MAX_CACHED = 10_000;

/** `spiffe://td/ns/<ns>/sa/<sa>` → `<ns>` (istio_stats' getNamespace). */
export function namespaceOfPrincipal(principal: string | undefined): string | undefined {
  if (principal === undefined) return undefined;
  const i = principal.indexOf('/ns/');
  if (i < 0) return undefined;
  const rest = principal.slice(i + 4);
  const end = rest.indexOf('/');
  return end < 0 ? rest : rest.slice(0, end);
}

export class InboundLabeler {
  readonly #local: LocalWorkload;
  readonly #cache = new Map<string, LabelSet>();

  constructor(local: LocalWorkload) {
    this.#local = local;
  }

  labelSet(e: InboundRequestEvent): LabelSet {
    const key = `${e.authority}\u0000${e.status}\u0000${e.responseFlags}\u0000${e.peerPrincipal}\u0000${e.connectionSecurityPolicy}`;
    let set = this.#cache.get(key);
    if (set === undefined) {
      if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
      const l = this.#local;
      const mtls = e.connectionSecurityPolicy === 'mutual_tls';
      const host = expandServiceHost(e.authority, l.dnsDomain);
      // an address says nothing about the service: report the Host header as Envoy does
      const service =
        host === ''
          ? undefined
          : isIP(host.replace(/^\[|\]$/g, '')) !== 0
            ? { host: e.authority, name: e.authority }
            : serviceFromHost(host);
      const labels: IstioLabels = {
        reporter: 'destination',
        source_workload: UNKNOWN,
        source_workload_namespace: orUnknown(namespaceOfPrincipal(e.peerPrincipal)),
        source_principal: orUnknown(e.peerPrincipal),
        source_app: UNKNOWN,
        source_version: UNKNOWN,
        source_canonical_service: UNKNOWN,
        source_canonical_revision: LATEST,
        source_cluster: UNKNOWN,
        destination_workload: l.workload,
        destination_workload_namespace: l.namespace,
        destination_principal: mtls ? orUnknown(l.principal) : UNKNOWN,
        destination_app: l.app,
        destination_version: l.version,
        destination_service: service?.host ?? l.canonicalService,
        destination_service_name: service?.name ?? l.canonicalService,
        destination_service_namespace: l.namespace,
        destination_canonical_service: l.canonicalService,
        destination_canonical_revision: l.canonicalRevision,
        destination_cluster: l.cluster,
        request_protocol: 'http',
        response_flags: e.responseFlags === '' ? '-' : e.responseFlags,
        connection_security_policy: mtls ? 'mutual_tls' : 'none',
        response_code: String(e.status),
        grpc_response_status: '',
      };
      set = { labels: Object.freeze(labels), series: undefined };
      this.#cache.set(key, set);
    }
    return set;
  }
}
