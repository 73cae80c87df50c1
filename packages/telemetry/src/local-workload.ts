// Who this process is, in Istio's telemetry vocabulary, read from the bootstrap node the xDS client
// announces: metadata NAMESPACE, WORKLOAD_NAME, CLUSTER_ID, SERVICE_ACCOUNT and the pod LABELS
// (app, version, service.istio.io/canonical-name, -revision). These become the source_* labels
// of outbound (reporter=source) metrics and the destination_* labels of inbound ones.
import type { BootstrapNode } from '@inboard/xds';
import { LATEST, UNKNOWN } from './istio-labels.ts';

export interface LocalWorkload {
  readonly workload: string;
  readonly namespace: string;
  readonly app: string;
  readonly version: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
  /** CLUSTER_ID (Istio's multicluster id) */
  readonly cluster: string;
  /** `spiffe://<trust domain>/ns/<ns>/sa/<sa>` when the service account is known */
  readonly principal: string | undefined;
  /** from the node id (`<ns>.svc.cluster.local`): expands short host names to FQDNs */
  readonly dnsDomain: string | undefined;
  readonly meshId: string | undefined;
}

export interface LocalWorkloadOptions {
  /** SPIFFE trust domain (default `cluster.local`, Istio's) */
  readonly trustDomain?: string;
}

/** A non-empty string, else undefined (node metadata values as Istio reads them). */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Istio's canonical service and revision (pkg/config/labels): the canonical-name label, then
 * app.kubernetes.io/name, then app, then the workload name; revision likewise from
 * canonical-revision, app.kubernetes.io/version, version, else `latest`.
 */
export function canonicalServiceOf(
  labels: Readonly<Record<string, string | undefined>>,
  workload: string | undefined,
): { readonly service: string | undefined; readonly revision: string } {
  const service =
    str(labels['service.istio.io/canonical-name']) ??
    str(labels['app.kubernetes.io/name']) ??
    str(labels.app) ??
    workload;
  const revision =
    str(labels['service.istio.io/canonical-revision']) ??
    str(labels['app.kubernetes.io/version']) ??
    str(labels.version) ??
    LATEST;
  return { service, revision };
}

export interface NodeIdParts {
  readonly ip: string;
  readonly pod: string;
  readonly namespace: string | undefined;
  readonly dnsDomain: string;
}

/** `sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local` → its parts (undefined when not that shape). */
export function nodeIdParts(id: string): NodeIdParts | undefined {
  const parts = id.split('~');
  if (parts.length !== 4) return undefined;
  const [, ip, podId, dnsDomain] = parts as [string, string, string, string];
  const dot = podId.lastIndexOf('.');
  return {
    ip,
    pod: dot > 0 ? podId.slice(0, dot) : podId,
    namespace: dot > 0 ? podId.slice(dot + 1) : undefined,
    dnsDomain,
  };
}

/** Only the node's id and metadata are read (a peer's exchanged metadata is described the same way). */
export function localWorkload(
  node: Pick<BootstrapNode, 'id' | 'metadata'>,
  options: LocalWorkloadOptions = {},
): LocalWorkload {
  const md = node.metadata as Readonly<Record<string, unknown>>;
  const rawLabels = md.LABELS;
  const labels: Record<string, string | undefined> = {};
  if (rawLabels !== null && typeof rawLabels === 'object' && !Array.isArray(rawLabels)) {
    for (const [k, v] of Object.entries(rawLabels)) labels[k] = str(v);
  }
  const id = nodeIdParts(node.id);
  const namespace = str(md.NAMESPACE) ?? id?.namespace ?? id?.dnsDomain.split('.')[0];
  const workload = str(md.WORKLOAD_NAME);
  const canonical = canonicalServiceOf(labels, workload);
  const sa = str(md.SERVICE_ACCOUNT);
  const trustDomain = options.trustDomain ?? 'cluster.local';
  return {
    workload: workload ?? UNKNOWN,
    namespace: namespace ?? UNKNOWN,
    app: labels.app ?? UNKNOWN,
    version: labels.version ?? UNKNOWN,
    canonicalService: canonical.service ?? UNKNOWN,
    canonicalRevision: canonical.revision,
    cluster: str(md.CLUSTER_ID) ?? UNKNOWN,
    principal:
      sa !== undefined && namespace !== undefined ? `spiffe://${trustDomain}/ns/${namespace}/sa/${sa}` : undefined,
    dnsDomain: id?.dnsDomain,
    meshId: str(md.MESH_ID),
  };
}
