// Istio's HTTP metadata exchange (istio/proxy's peer_metadata filter): a caller announces itself
// with `x-envoy-peer-metadata-id` (its node id) and `x-envoy-peer-metadata` (base64 of a
// google.protobuf.Struct describing its workload), so the server can label reporter=destination
// metrics with the caller's workload, app and version. Encoded once per process; a peer's header
// is decoded once and cached.
import type { MetadataExchangeHeaders } from '@inboard/http';
import type { BootstrapNode } from '@inboard/xds';
import { decodeMessage, encodeMessage, jsToStruct } from '@inboard/xds/codec';
import { canonicalServiceOf, type LocalWorkload, localWorkload, str } from './local-workload.ts';

/** Workload kinds the exchange names in OWNER (istio/proxy's WorkloadType suffixes). */
const WORKLOAD_TYPES = new Set(['pod', 'deployment', 'job', 'cronjob']);
const OWNER_PREFIX = 'kubernetes://apis/apps/v1/namespaces/';

/**
 * The workload kind an OWNER names (`…/namespaces/<ns>/<kind>s/<workload>`), as istio/proxy
 * reads it: the path segment before `s/<workload>`.
 */
function workloadType(owner: string | undefined, workload: string | undefined): string | undefined {
  if (owner === undefined || owner.length <= (workload?.length ?? 0) + 2) return undefined;
  const head = owner.slice(0, owner.length - (workload?.length ?? 0) - 2);
  const kind = head.slice(head.lastIndexOf('/') + 1);
  return WORKLOAD_TYPES.has(kind) ? kind : undefined;
}

/**
 * The Struct Istio's peer_metadata filter sends for a node: NAME, NAMESPACE, WORKLOAD_NAME,
 * CLUSTER_ID, LABELS with only the canonical service and revision, app and version, and OWNER
 * rebuilt from the workload kind — not the whole node metadata (pod labels, IPs, platform data
 * stay home). Keys in sorted order, as its deterministic serialization writes them. Where the
 * node has no canonical-name / -revision label (Istio's injector always adds them to a pod), the
 * values Istio's injector would have set go instead, so the server names this workload as its
 * own metrics do.
 */
export function exchangedMetadata(node: Pick<BootstrapNode, 'id' | 'metadata'>): Record<string, unknown> {
  const md = node.metadata as Readonly<Record<string, unknown>>;
  const raw = md.LABELS !== null && typeof md.LABELS === 'object' ? (md.LABELS as Record<string, unknown>) : {};
  const workload = str(md.WORKLOAD_NAME);
  const canonical = canonicalServiceOf(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, str(v)])), workload);
  const labels: Record<string, string> = {};
  const app = str(raw.app);
  if (app !== undefined) labels.app = app;
  if (canonical.service !== undefined) labels['service.istio.io/canonical-name'] = canonical.service;
  labels['service.istio.io/canonical-revision'] = canonical.revision;
  const version = str(raw.version);
  if (version !== undefined) labels.version = version;
  const out: Record<string, unknown> = {};
  const cluster = str(md.CLUSTER_ID);
  if (cluster !== undefined) out.CLUSTER_ID = cluster;
  out.LABELS = labels;
  const name = str(md.NAME);
  if (name !== undefined) out.NAME = name;
  const namespace = str(md.NAMESPACE);
  if (namespace !== undefined) out.NAMESPACE = namespace;
  const type = workloadType(str(md.OWNER), workload);
  if (type !== undefined) out.OWNER = `${OWNER_PREFIX}${namespace ?? ''}/${type}s/${workload ?? ''}`;
  if (workload !== undefined) out.WORKLOAD_NAME = workload;
  return out;
}

/** This workload's exchange headers (undefined when the node has no metadata to tell). */
export function peerMetadataHeaders(node: BootstrapNode): MetadataExchangeHeaders | undefined {
  const md = node.metadata as Readonly<Record<string, unknown>>;
  if (str(md.NAMESPACE) === undefined && str(md.WORKLOAD_NAME) === undefined && str(md.NAME) === undefined)
    return undefined;
  const bytes = encodeMessage('google.protobuf.Struct', jsToStruct(exchangedMetadata(node)));
  return { id: node.id, metadata: Buffer.from(bytes).toString('base64') };
}

const MAX_CACHED = 1000;
// by node id, then by metadata: no key string is built per request
const cache = new Map<string | undefined, Map<string, LocalWorkload | null>>();
let cached = 0;

/** The caller a metadata exchange header describes; undefined when absent or not decodable. */
export function peerFromMetadata(metadata: string | undefined, id: string | undefined): LocalWorkload | undefined {
  if (metadata === undefined || metadata === '') return undefined;
  let byMetadata = cache.get(id);
  if (byMetadata === undefined) cache.set(id, (byMetadata = new Map()));
  let peer = byMetadata.get(metadata);
  if (peer === undefined) {
    peer = null;
    try {
      const struct = decodeMessage('google.protobuf.Struct', Buffer.from(metadata, 'base64')) as Record<
        string,
        unknown
      >;
      peer = localWorkload({ id: id ?? '', metadata: struct as BootstrapNode['metadata'] });
    } catch {
      // not a Struct: the caller stays unknown, as with Envoy
    }
    if (cached >= MAX_CACHED) {
      for (const m of cache.values()) m.clear();
      cached = 0;
    }
    byMetadata.set(metadata, peer);
    cached++;
  }
  return peer ?? undefined;
}
