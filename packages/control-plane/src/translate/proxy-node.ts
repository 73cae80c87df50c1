// The node of an ADS stream read the way istiod reads it (pilot/pkg/model/context.go
// ParseServiceNodeWithMetadata + ParseMetadata): `<type>~<ip>~<pod>.<ns>~<ns>.svc.<domain>` plus typed
// metadata. A node istiod would reject is an InvalidNodeError naming every offending field.
import { isIP } from 'node:net';
import { type BootstrapProblem, InboardError, validateNodeForIstiod } from '@inboard/xds';
import { type JsonValue, type Struct, type StructIn, structToJs } from '@inboard/xds/codec';

export interface ProxyLocality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export interface PodPort {
  readonly name?: string | undefined;
  readonly containerPort: number;
  readonly protocol?: string | undefined;
}

export interface ProxyNode {
  /** The full node id. */
  readonly nodeId: string;
  /** First part of the id: sidecar, router, waypoint, ... */
  readonly type: string;
  /** INSTANCE_IPS when valid, else the id's second part. */
  readonly ipAddresses: readonly string[];
  /** Third part of the id (`<pod>.<namespace>`), istiod's proxy.ID. */
  readonly id: string;
  readonly podName: string;
  /** Config namespace: NAMESPACE metadata, else the first label of the DNS domain. */
  readonly namespace: string;
  /** Fourth part of the id (`<ns>.svc.cluster.local`), used to expand short names. */
  readonly dnsDomain: string;
  /** LABELS (+ STATIC_LABELS) plus the topology labels istiod adds. */
  readonly labels: Readonly<Record<string, string>>;
  /** CLUSTER_ID metadata ('' when absent). */
  readonly clusterId: string;
  readonly serviceAccount: string | undefined;
  readonly generator: string | undefined;
  readonly istioVersion: string | undefined;
  readonly workloadName: string | undefined;
  readonly network: string | undefined;
  readonly locality: ProxyLocality;
  readonly podPorts: readonly PodPort[];
  /** All metadata as JSON. */
  readonly metadata: Readonly<Record<string, JsonValue>>;
}

/** What parseProxyNode reads: a decoded Node, a NodeIn, or plain JSON metadata. */
export interface NodeInput {
  readonly id?: string | undefined;
  readonly metadata?: StructIn | Struct | Readonly<Record<string, unknown>> | undefined;
  readonly locality?: { readonly region?: string; readonly zone?: string; readonly sub_zone?: string } | undefined;
}

/** A node istiod would reject: `problems` name each field (`node.id`, `node.metadata.LABELS`, ...). */
export class InvalidNodeError extends InboardError {
  readonly problems: readonly BootstrapProblem[];
  constructor(problems: readonly BootstrapProblem[]) {
    super('INBOARD_CP_INVALID_NODE', problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.problems = Object.freeze([...problems]);
  }
}

function isStruct(m: unknown): m is StructIn {
  if (m === null || typeof m !== 'object') return false;
  const fields = (m as { fields?: unknown }).fields;
  return fields !== null && typeof fields === 'object' && Object.keys(m).every((k) => k === 'fields');
}

/** Metadata as plain JSON, whichever form it came in. */
export function nodeMetadataJson(metadata: NodeInput['metadata']): Record<string, JsonValue> {
  if (metadata === undefined) return {};
  if (isStruct(metadata)) return structToJs({ fields: metadata.fields ?? {} } as Struct);
  return JSON.parse(JSON.stringify(metadata)) as Record<string, JsonValue>;
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function stringMap(v: JsonValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function podPorts(v: JsonValue | undefined): PodPort[] {
  if (typeof v !== 'string' || v === '') return [];
  try {
    const parsed: unknown = JSON.parse(v);
    if (!Array.isArray(parsed)) return [];
    const out: PodPort[] = [];
    for (const p of parsed) {
      if (p === null || typeof p !== 'object') continue;
      const { name, containerPort, protocol } = p as Record<string, unknown>;
      if (typeof containerPort !== 'number') continue;
      out.push({
        name: typeof name === 'string' ? name : undefined,
        containerPort,
        protocol: typeof protocol === 'string' ? protocol : undefined,
      });
    }
    return out;
  } catch {
    return [];
  }
}

/** Metadata lookup the way Go's encoding/json matches keys: exact first, then case-insensitively. */
function meta(m: Readonly<Record<string, JsonValue>>, key: string): JsonValue | undefined {
  if (Object.hasOwn(m, key)) return m[key];
  for (const [k, v] of Object.entries(m)) if (k.toUpperCase() === key) return v;
  return undefined;
}

/** Parses a node as istiod does; throws InvalidNodeError when istiod would end the stream. */
export function parseProxyNode(node: NodeInput): ProxyNode {
  const id = node.id ?? '';
  let metadata: Record<string, JsonValue>;
  try {
    metadata = nodeMetadataJson(node.metadata);
  } catch (err) {
    throw new InvalidNodeError([{ field: 'node.metadata', message: `not representable as JSON: ${String(err)}` }]);
  }
  const problems = validateNodeForIstiod({ id, metadata });
  if (problems.length > 0) throw new InvalidNodeError(problems);

  const [type = '', idIp = '', proxyId = '', dnsDomain = ''] = id.split('~');
  const listed = str(meta(metadata, 'INSTANCE_IPS'))?.split(',') ?? [];
  const ipAddresses = listed.length > 0 && listed.every((a) => isIP(a) !== 0) ? listed : [idIp];

  const dot = proxyId.indexOf('.');
  const podName = dot < 0 ? proxyId : proxyId.slice(0, dot);
  const namespace =
    str(meta(metadata, 'NAMESPACE')) ??
    (dnsDomain.split('.')[0] || undefined) ??
    (dot < 0 ? undefined : proxyId.slice(dot + 1)) ??
    'default';

  const clusterId = str(meta(metadata, 'CLUSTER_ID')) ?? '';
  const network = str(meta(metadata, 'NETWORK'));
  const labels: Record<string, string> = {
    ...stringMap(meta(metadata, 'STATIC_LABELS')),
    ...stringMap(meta(metadata, 'LABELS')),
  };
  const loc = node.locality;
  const locality: ProxyLocality = {
    region: loc?.region || labels['topology.kubernetes.io/region'] || '',
    zone: loc?.zone || labels['topology.kubernetes.io/zone'] || '',
    subZone: loc?.sub_zone || labels['topology.istio.io/subzone'] || '',
  };
  // istiod (ads.go setTopologyLabels) adds these so selectors can use them
  if (clusterId !== '') labels['topology.istio.io/cluster'] ??= clusterId;
  if (network !== undefined) labels['topology.istio.io/network'] ??= network;
  if (locality.region !== '') labels['topology.kubernetes.io/region'] ??= locality.region;
  if (locality.zone !== '') labels['topology.kubernetes.io/zone'] ??= locality.zone;
  if (locality.subZone !== '') labels['topology.istio.io/subzone'] ??= locality.subZone;

  return {
    nodeId: id,
    type,
    ipAddresses,
    id: proxyId,
    podName,
    namespace,
    dnsDomain,
    labels,
    clusterId,
    serviceAccount: str(meta(metadata, 'SERVICE_ACCOUNT')),
    generator: str(meta(metadata, 'GENERATOR')),
    istioVersion: str(meta(metadata, 'ISTIO_VERSION')),
    workloadName: str(meta(metadata, 'WORKLOAD_NAME')),
    network,
    locality,
    podPorts: podPorts(meta(metadata, 'POD_PORTS')),
    metadata,
  };
}
