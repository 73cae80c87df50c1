// Istio labels of an inbound request (reporter=destination), as an Envoy server sidecar's
// istio_stats computes them: destination_* from this workload, source_* from what the caller
// announced through Istio's metadata exchange (x-envoy-peer-metadata: its workload, namespace,
// app, version, canonical service, cluster) and from its SPIFFE principal (and the namespace in
// it) under mTLS; unknown when it told nothing. destination_service is the request's host expanded
// to the service FQDN (Envoy uses the inbound cluster's service metadata, which proxyless
// listeners do not have).
import { isIP } from 'node:net';
import type { InboundRequestEvent } from '@inboard/http';
import { grpcStatusCode, grpcStatusLabel } from './grpc-status.ts';
import { type IstioLabels, LATEST, orUnknown, UNKNOWN } from './istio-labels.ts';
import type { LocalWorkload } from './local-workload.ts';
import type { LabelSet } from './outbound-labels.ts';
import { peerFromMetadata } from './peer-metadata.ts';
import { expandServiceHost, serviceFromHost } from './peer-workload.ts';

function peerNamespace(peer: LocalWorkload | undefined): string | undefined {
  return peer === undefined || peer.namespace === UNKNOWN ? undefined : peer.namespace;
}

const MAX_CACHED = 10_000;

/** `spiffe://td/ns/<ns>/sa/<sa>` → `<ns>` (istio_stats' getNamespace). */
export function namespaceOfPrincipal(principal: string | undefined): string | undefined {
  if (principal === undefined) return undefined;
  const i = principal.indexOf('/ns/');
  if (i < 0) return undefined;
  const rest = principal.slice(i + 4);
  const end = rest.indexOf('/');
  const ns = end < 0 ? rest : rest.slice(0, end);
  return ns === '' ? undefined : ns;
}

export class InboundLabeler {
  readonly #local: LocalWorkload;
  // label sets per caller (the peer objects are cached by peerFromMetadata), then per request key
  readonly #byPeer = new Map<LocalWorkload | undefined, Map<string, LabelSet>>();

  constructor(local: LocalWorkload) {
    this.#local = local;
  }

  labelSet(e: InboundRequestEvent): LabelSet {
    const peer = peerFromMetadata(e.peerMetadata, e.peerMetadataId);
    let cache = this.#byPeer.get(peer);
    if (cache === undefined) {
      if (this.#byPeer.size >= MAX_CACHED) this.#byPeer.clear();
      this.#byPeer.set(peer, (cache = new Map()));
    }
    const grpcCode = grpcStatusCode(e.grpc, e.grpcStatus, e.status);
    const key = `${e.authority}\u0000${e.status}\u0000${e.responseFlags}\u0000${e.peerPrincipal}\u0000${e.connectionSecurityPolicy}\u0000${e.grpc ? grpcCode : 'h'}`;
    let set = cache.get(key);
    if (set === undefined) {
      if (cache.size >= MAX_CACHED) cache.clear();
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
        source_workload: peer?.workload ?? UNKNOWN,
        // istio_stats: the namespace of the peer's SAN first (authenticated), the metadata the
        // caller sent only without one
        source_workload_namespace: orUnknown(namespaceOfPrincipal(e.peerPrincipal) ?? peerNamespace(peer)),
        source_principal: orUnknown(e.peerPrincipal),
        source_app: peer?.app ?? UNKNOWN,
        source_version: peer?.version ?? UNKNOWN,
        source_canonical_service: peer?.canonicalService ?? UNKNOWN,
        source_canonical_revision: peer?.canonicalRevision ?? LATEST,
        source_cluster: peer?.cluster ?? UNKNOWN,
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
        request_protocol: e.grpc ? 'grpc' : 'http',
        response_flags: e.responseFlags === '' ? '-' : e.responseFlags,
        connection_security_policy: mtls ? 'mutual_tls' : 'none',
        response_code: String(e.status),
        grpc_response_status: grpcStatusLabel(grpcCode),
      };
      set = { labels: Object.freeze(labels), series: undefined };
      cache.set(key, set);
    }
    return set;
  }
}
