// Istio's HTTP metadata exchange (istio/proxy's metadata_exchange filter): a caller announces
// itself with `x-envoy-peer-metadata-id` (its node id) and `x-envoy-peer-metadata` (base64 of a
// google.protobuf.Struct holding its node metadata: NAMESPACE, WORKLOAD_NAME, LABELS, CLUSTER_ID,
// …), so the server can label reporter=destination metrics with the caller's workload, app and
// version. Encoded once per process; a peer's header is decoded once and cached.
import type { MetadataExchangeHeaders } from '@inboard/http';
import type { BootstrapNode } from '@inboard/xds';
import { decodeMessage, encodeMessage, jsToStruct } from '@inboard/xds/codec';
import { type LocalWorkload, localWorkload } from './local-workload.ts';

/** The node metadata keys sent, as Envoy's exchange sends them (FlatNode's fields). */
const EXCHANGED_KEYS = [
  'NAME',
  'NAMESPACE',
  'WORKLOAD_NAME',
  'OWNER',
  'LABELS',
  'CLUSTER_ID',
  'MESH_ID',
  'SERVICE_ACCOUNT',
  'INSTANCE_IPS',
  'ISTIO_VERSION',
  'APP_CONTAINERS',
  'PLATFORM_METADATA',
] as const;

/** This workload's exchange headers (undefined when the node has no metadata to tell). */
export function peerMetadataHeaders(node: BootstrapNode): MetadataExchangeHeaders | undefined {
  const md = node.metadata as Readonly<Record<string, unknown>>;
  const out: Record<string, unknown> = {};
  for (const k of EXCHANGED_KEYS) {
    const v = md[k];
    if (typeof v === 'string' || (v !== null && typeof v === 'object')) out[k] = v;
  }
  if (Object.keys(out).length === 0) return undefined;
  const bytes = encodeMessage('google.protobuf.Struct', jsToStruct(out));
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
