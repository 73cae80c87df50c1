// Istio labels of an outbound request (reporter=source), as an Envoy client sidecar's istio_stats
// computes them: source_* from this workload, destination_* from the EDS endpoint's istio workload
// metadata, destination_service from the cluster. One label set per distinct (target, cluster,
// peer, status, flags, protocol) is built and then reused, so a request costs a string key and a
// map lookup.
import type { HttpRequestEvent, OutboundMesh } from '@inboard/http';
import { formatResponseFlags } from '@inboard/http';
import { type IstioLabels, LATEST, orUnknown, UNKNOWN } from './istio-labels.ts';
import type { IstioSeries } from './istio-stats.ts';
import type { LocalWorkload } from './local-workload.ts';
import { destinationService, parseIstioWorkload } from './peer-workload.ts';
import { lookupUpstream } from './upstream-lookup.ts';

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

export class OutboundLabeler {
  readonly #local: LocalWorkload;
  readonly #mesh: OutboundMesh | undefined;
  readonly #cache = new Map<string, LabelSet>();

  constructor(local: LocalWorkload, mesh: OutboundMesh | undefined) {
    this.#local = local;
    this.#mesh = mesh;
  }

  labelSet(e: HttpRequestEvent, grpc: boolean): LabelSet {
    const { cluster, host } =
      this.#mesh === undefined
        ? { cluster: undefined, host: undefined }
        : lookupUpstream(this.#mesh, e.target, e.cluster, e.endpoint);
    const workload = host?.istioWorkload;
    const flags = flagsText(e.flags);
    const key = `${e.target}\u0000${e.authority}\u0000${e.cluster}\u0000${workload}\u0000${e.status}\u0000${flags}\u0000${grpc ? 1 : 0}\u0000${cluster?.tls === undefined ? 0 : 1}`;
    let set = this.#cache.get(key);
    if (set === undefined) {
      if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
      const peer = parseIstioWorkload(workload);
      const service = destinationService(e.cluster, cluster, e.authority);
      const l = this.#local;
      const labels: IstioLabels = {
        reporter: 'source',
        source_workload: l.workload,
        source_workload_namespace: l.namespace,
        // the local SAN is only presented when the upstream connection is TLS
        source_principal: cluster?.tls !== undefined ? orUnknown(l.principal) : UNKNOWN,
        source_app: l.app,
        source_version: l.version,
        source_canonical_service: l.canonicalService,
        source_canonical_revision: l.canonicalRevision,
        source_cluster: l.cluster,
        destination_workload: orUnknown(peer?.workload),
        destination_workload_namespace: orUnknown(peer?.namespace),
        // the peer certificate's SAN is not visible to the data plane's events
        destination_principal: UNKNOWN,
        // the endpoint encoding carries no app / version
        destination_app: UNKNOWN,
        destination_version: UNKNOWN,
        destination_service: orUnknown(service.host),
        destination_service_name: orUnknown(service.name),
        destination_service_namespace: orUnknown(peer?.namespace),
        destination_canonical_service: orUnknown(peer?.canonicalService),
        destination_canonical_revision: orUnknown(peer?.canonicalRevision, LATEST),
        destination_cluster: orUnknown(peer?.cluster),
        request_protocol: grpc ? 'grpc' : 'http',
        response_flags: flags,
        connection_security_policy: UNKNOWN,
        response_code: String(e.status),
        grpc_response_status: '',
      };
      set = { labels: Object.freeze(labels), series: undefined };
      this.#cache.set(key, set);
    }
    return set;
  }
}
