// Istio labels of an outbound request (reporter=source), as an Envoy client sidecar's istio_stats
// computes them: source_* from this workload, destination_* from the EDS endpoint's istio workload
// metadata, destination_service from the cluster. One label set per distinct (target, cluster,
// endpoint, authority, status, flags, protocol) is built and then reused.
import type { HttpRequestEvent, OutboundMesh } from '@inboard/http';
import { BLACKHOLE_CLUSTER, formatResponseFlags, PASSTHROUGH_CLUSTER } from '@inboard/http';
import { grpcStatusCode, grpcStatusLabel } from './grpc-status.ts';
import { type IstioLabels, LATEST, orUnknown, UNKNOWN } from './istio-labels.ts';
import type { IstioSeries } from './istio-stats.ts';
import type { LocalWorkload } from './local-workload.ts';
import { peerFromMetadata } from './peer-metadata.ts';
import { type DestinationService, destinationService, parseIstioWorkload } from './peer-workload.ts';
import { compiledOf, lookupUpstream } from './upstream-lookup.ts';

/** A label value the metadata exchange actually told (not its `unknown`). */
function known(v: string | undefined): string | undefined {
  return v === undefined || v === UNKNOWN ? undefined : v;
}

/** A label set and what recorders attach to it. */
export interface LabelSet {
  readonly labels: IstioLabels;
  /** the native series of these labels, once IstioStats handed it out */
  series: IstioSeries | undefined;
}

const MAX_CACHED = 10_000;

export function flagsText(flags: HttpRequestEvent['flags']): string {
  return flags.length === 0 ? '-' : formatResponseFlags(flags);
}

/** Label sets by endpoint (the last level: requests to one service spread over its endpoints). */
type ByEndpoint = Map<string | undefined, LabelSet>;

/** Label sets of one target under one compiled snapshot: cluster → authority → peer → status key → endpoint. */
interface TargetCache {
  readonly compiled: unknown;
  readonly byCluster: Map<
    string | undefined,
    Map<string, Map<LocalWorkload | undefined, Map<number | string, ByEndpoint>>>
  >;
}

/** Whether two requests share every label but the endpoint's (under one snapshot and protocol). */
function sameLabelsButEndpoint(e: HttpRequestEvent, last: HttpRequestEvent): boolean {
  return (
    e.status === last.status &&
    e.target === last.target &&
    e.cluster === last.cluster &&
    e.authority === last.authority &&
    e.flags === last.flags &&
    e.peerMetadata === last.peerMetadata &&
    e.peerMetadataId === last.peerMetadataId &&
    e.grpcStatus === last.grpcStatus &&
    e.route === last.route
  );
}

/**
 * The destination service of a request no mesh route handled, as istio_stats names it from the
 * route (`allow_any`, `block_all`) or the cluster: the Host header, and the catch-all cluster as
 * the name. Undefined for requests through the mesh's own routes.
 */
function catchAllService(e: HttpRequestEvent): DestinationService | undefined {
  const name =
    e.route === 'block_all'
      ? BLACKHOLE_CLUSTER
      : e.route === 'allow_any'
        ? PASSTHROUGH_CLUSTER
        : e.cluster === PASSTHROUGH_CLUSTER || e.cluster === BLACKHOLE_CLUSTER
          ? e.cluster
          : undefined;
  return name === undefined ? undefined : { host: e.authority, name, namespace: undefined };
}

export class OutboundLabeler {
  readonly #local: LocalWorkload;
  readonly #mesh: OutboundMesh | undefined;
  // Nested maps keyed by the event's own strings (their hashes are cached by the engine), so a
  // request costs a few map lookups and no key string, and one lookup when it differs from the
  // request before in its endpoint at most. A target's entries are dropped when its compiled
  // snapshot changes: endpoint metadata and cluster TLS come from that snapshot.
  readonly #targets = new Map<string, TargetCache>();
  #size = 0;
  // the last request labelled, under which snapshot and protocol, and the label sets of its
  // endpoints: consecutive requests mostly differ in the endpoint at most
  #last: HttpRequestEvent | undefined = undefined;
  #lastCompiled: unknown = undefined;
  #lastGrpc = false;
  #lastByEndpoint: ByEndpoint | undefined = undefined;

  constructor(local: LocalWorkload, mesh: OutboundMesh | undefined) {
    this.#local = local;
    this.#mesh = mesh;
  }

  labelSet(e: HttpRequestEvent, grpc: boolean): LabelSet {
    const compiled = this.#mesh === undefined ? undefined : compiledOf(this.#mesh, e.target);
    const last = this.#last;
    let byEndpoint = this.#lastByEndpoint;
    if (
      byEndpoint === undefined ||
      last === undefined ||
      compiled !== this.#lastCompiled ||
      grpc !== this.#lastGrpc ||
      !sameLabelsButEndpoint(e, last)
    ) {
      byEndpoint = this.#byEndpoint(e, grpc, compiled);
      this.#last = e;
      this.#lastCompiled = compiled;
      this.#lastGrpc = grpc;
      this.#lastByEndpoint = byEndpoint;
    }
    let set = byEndpoint.get(e.endpoint);
    if (set === undefined) {
      if (this.#size >= MAX_CACHED) {
        this.#targets.clear();
        this.#size = 0;
        this.#lastByEndpoint = undefined;
        return this.labelSet(e, grpc);
      }
      set = this.#build(
        e,
        grpc,
        grpcStatusCode(grpc, e.grpcStatus, e.status),
        flagsText(e.flags),
        peerFromMetadata(e.peerMetadata, e.peerMetadataId),
      );
      byEndpoint.set(e.endpoint, set);
      this.#size++;
    }
    return set;
  }

  #byEndpoint(e: HttpRequestEvent, grpc: boolean, compiled: unknown): ByEndpoint {
    let t = this.#targets.get(e.target);
    if (t === undefined || t.compiled !== compiled) {
      t = { compiled, byCluster: new Map() };
      this.#targets.set(e.target, t);
    }
    // a passthrough or black-holed request has no cluster of the mesh: its route names it
    const clusterKey = e.cluster ?? e.route;
    let byAuthority = t.byCluster.get(clusterKey);
    if (byAuthority === undefined) t.byCluster.set(clusterKey, (byAuthority = new Map()));
    let byPeer = byAuthority.get(e.authority);
    if (byPeer === undefined) byAuthority.set(e.authority, (byPeer = new Map()));
    // the upstream's own account of itself (Istio's metadata exchange), when it gave one
    const peerMx = peerFromMetadata(e.peerMetadata, e.peerMetadataId);
    let byStatus = byPeer.get(peerMx);
    if (byStatus === undefined) byPeer.set(peerMx, (byStatus = new Map()));
    const flags = flagsText(e.flags);
    // HTTP: status × 2; gRPC: odd, with the grpc_response_status code (-2…16) in it
    const code = grpcStatusCode(grpc, e.grpcStatus, e.status);
    const key =
      flags === '-'
        ? grpc
          ? (e.status * 32 + code + 2) * 2 + 1
          : e.status * 2
        : `${e.status}|${flags}|${grpc ? code : 'h'}`;
    let byEndpoint = byStatus.get(key);
    if (byEndpoint === undefined) byStatus.set(key, (byEndpoint = new Map()));
    return byEndpoint;
  }

  #build(e: HttpRequestEvent, grpc: boolean, grpcCode: number, flags: string, mx: LocalWorkload | undefined): LabelSet {
    const { cluster, host } =
      this.#mesh === undefined
        ? { cluster: undefined, host: undefined }
        : lookupUpstream(this.#mesh, e.target, e.cluster, e.endpoint);
    const peer = parseIstioWorkload(host?.istioWorkload);
    const service = catchAllService(e) ?? destinationService(e.cluster, cluster, e.authority);
    // istio_stats' peer namespace: the peer certificate's SAN namespace (not visible here), else the
    // peer's (the metadata exchange's, else the endpoint's); the service namespace is the same
    const peerNamespace = known(mx?.namespace) ?? orUnknown(peer?.namespace);
    const l = this.#local;
    const labels: IstioLabels = {
      reporter: 'source',
      source_workload: l.workload,
      source_workload_namespace: l.namespace,
      // the local SAN is only presented when the upstream connection is Istio mTLS (TLS origination
      // presents no certificate, or a DestinationRule's own)
      source_principal: cluster?.tls?.identityCertificate !== undefined ? orUnknown(l.principal) : UNKNOWN,
      source_app: l.app,
      source_version: l.version,
      source_canonical_service: l.canonicalService,
      source_canonical_revision: l.canonicalRevision,
      source_cluster: l.cluster,
      destination_workload: known(mx?.workload) ?? orUnknown(peer?.workload),
      destination_workload_namespace: peerNamespace,
      // the peer certificate's SAN is not visible to the data plane's events
      destination_principal: UNKNOWN,
      // the endpoint encoding carries no app / version: only the metadata exchange tells them
      destination_app: mx?.app ?? UNKNOWN,
      destination_version: mx?.version ?? UNKNOWN,
      destination_service: orUnknown(service.host),
      destination_service_name: orUnknown(service.name),
      destination_service_namespace: peerNamespace,
      destination_canonical_service: known(mx?.canonicalService) ?? orUnknown(peer?.canonicalService),
      destination_canonical_revision:
        mx !== undefined ? mx.canonicalRevision : orUnknown(peer?.canonicalRevision, LATEST),
      destination_cluster: known(mx?.cluster) ?? orUnknown(peer?.cluster),
      request_protocol: grpc ? 'grpc' : 'http',
      response_flags: flags,
      connection_security_policy: UNKNOWN,
      response_code: String(e.status),
      grpc_response_status: grpcStatusLabel(grpcCode),
    };
    return { labels: Object.freeze(labels), series: undefined };
  }
}
