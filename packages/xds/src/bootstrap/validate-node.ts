// What istiod checks when a stream's first request arrives (pilot/pkg/model/context.go
// ParseServiceNodeWithMetadata + ParseBootstrapNodeMetadata): the node id's shape, a usable IP, and
// that metadata values have the JSON types its Go structs decode (a wrong type fails the whole stream
// with InvalidArgument). Shared by the client (fail before connecting) and our control plane (reject).
import { isIP } from 'node:net';
import type { BootstrapProblem } from '../errors.ts';
import { describeJson, isRecord, joinPath } from './json-fields.ts';

/** Node types istiod accepts in the first part of the id (pkg/model/proxy.go IsApplicationNodeType). */
export const ISTIO_NODE_TYPES: readonly string[] = ['sidecar', 'router', 'waypoint', 'ztunnel', 'agentgateway'];

/**
 * How istiod's NodeMetadata / BootstrapNodeMetadata decode each key. `stringBool` is its StringBool
 * (a quoted "true"/"false"), `stringList` its comma-separated StringList, `podPorts` a string holding JSON.
 */
type MetadataKind =
  | 'string'
  | 'stringBool'
  | 'stringList'
  | 'stringMap'
  | 'int'
  | 'stringArray'
  | 'object'
  | 'podPorts';

const METADATA_KINDS: Readonly<Record<string, MetadataKind>> = {
  PROXY_CONFIG: 'object',
  ISTIO_VERSION: 'string',
  ISTIO_REVISION: 'string',
  LABELS: 'stringMap',
  STATIC_LABELS: 'stringMap',
  ANNOTATIONS: 'stringMap',
  INSTANCE_IPS: 'stringList',
  NAMESPACE: 'string',
  NODE_NAME: 'string',
  WORKLOAD_NAME: 'string',
  INTERCEPTION_MODE: 'string',
  SERVICE_ACCOUNT: 'string',
  HTTP_PROXY_PORT: 'string',
  MESH_ID: 'string',
  CLUSTER_ID: 'string',
  NETWORK: 'string',
  REQUESTED_NETWORK_VIEW: 'stringList',
  POD_PORTS: 'podPorts',
  TLS_SERVER_CERT_CHAIN: 'string',
  TLS_SERVER_KEY: 'string',
  TLS_SERVER_ROOT_CERT: 'string',
  TLS_CLIENT_CERT_CHAIN: 'string',
  TLS_CLIENT_KEY: 'string',
  TLS_CLIENT_ROOT_CERT: 'string',
  BASE: 'string',
  IDLE_TIMEOUT: 'string',
  HTTP10: 'string',
  GENERATOR: 'string',
  DNS_CAPTURE: 'stringBool',
  DNS_AUTO_ALLOCATE: 'stringBool',
  ENABLE_HBONE: 'stringBool',
  DISABLE_HBONE_SEND: 'stringBool',
  AUTO_REGISTER_GROUP: 'string',
  WORKLOAD_ENTRY: 'string',
  UNPRIVILEGED_POD: 'string',
  PLATFORM_METADATA: 'stringMap',
  STS_PORT: 'string',
  ENVOY_STATUS_PORT: 'int',
  ENVOY_PROMETHEUS_PORT: 'int',
  EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'stringBool',
  INBOUND_LISTENER_EXACT_BALANCE: 'stringBool',
  OUTBOUND_LISTENER_EXACT_BALANCE: 'stringBool',
  CLOUDRUN_ADDR: 'string',
  METADATA_DISCOVERY: 'stringBool',
  ENVOY_SKIP_DEPRECATED_LOGS: 'stringBool',
  NAME: 'string',
  OWNER: 'string',
  PILOT_SAN: 'stringArray',
  OUTLIER_LOG_PATH: 'string',
  APP_CONTAINERS: 'string',
  ISTIO_PROXY_SHA: 'string',
};

/** Go's strconv.ParseBool spellings. */
const GO_BOOLS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);

export interface NodeLike {
  readonly id: string;
  readonly metadata?: Readonly<Record<string, unknown>> | undefined;
}

/** Everything istiod would reject this node for; empty when it would accept it. `base` prefixes field paths. */
export function validateNodeForIstiod(node: NodeLike, base = 'node'): BootstrapProblem[] {
  const problems: BootstrapProblem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });
  const metadata = node.metadata ?? {};
  const metaBase = joinPath(base, 'metadata');

  for (const [key, value] of Object.entries(metadata)) {
    // Go's encoding/json matches struct fields case-insensitively.
    const kind = METADATA_KINDS[key] ?? METADATA_KINDS[key.toUpperCase()];
    if (kind === undefined || value === undefined) continue;
    const problem = checkKind(kind, value);
    if (problem !== undefined) add(joinPath(metaBase, key), problem);
  }

  const idField = joinPath(base, 'id');
  if (node.id === '') {
    add(idField, 'required: istiod rejects a stream whose first request has no node id');
    return problems;
  }
  const parts = node.id.split('~');
  if (parts.length !== 4) {
    add(
      idField,
      `expected 4 "~"-separated parts <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local, got ${parts.length} in ${describeJson(node.id)}`,
    );
    return problems;
  }
  const [type, ip] = parts as [string, string, string, string];
  if (!ISTIO_NODE_TYPES.includes(type)) {
    add(idField, `unknown node type ${describeJson(type)} (istiod accepts ${ISTIO_NODE_TYPES.join(', ')})`);
  }
  const instanceIps = metadataValue(metadata, 'INSTANCE_IPS');
  const listed = typeof instanceIps === 'string' && instanceIps !== '' ? instanceIps.split(',') : [];
  const metadataIpsValid = listed.length > 0 && listed.every((a) => isIP(a) !== 0);
  if (!metadataIpsValid && isIP(ip) === 0) {
    add(
      idField,
      `no valid IP address: neither INSTANCE_IPS metadata (${describeJson(instanceIps)}) nor the id's second part (${describeJson(ip)}) is an IP address`,
    );
  }
  return problems;
}

function metadataValue(metadata: Readonly<Record<string, unknown>>, key: string): unknown {
  if (Object.hasOwn(metadata, key)) return metadata[key];
  for (const [k, v] of Object.entries(metadata)) if (k.toUpperCase() === key) return v;
  return undefined;
}

function checkKind(kind: MetadataKind, v: unknown): string | undefined {
  switch (kind) {
    case 'string':
      return v === null || typeof v === 'string' ? undefined : `expected a string, got ${describeJson(v)}`;
    case 'stringBool':
      // StringBool.UnmarshalJSON unquotes first: a JSON boolean (or null) fails the whole metadata.
      return typeof v === 'string' && GO_BOOLS.has(v)
        ? undefined
        : `expected the string "true" or "false" (istiod's StringBool), got ${describeJson(v)}`;
    case 'stringList':
      return typeof v === 'string' ? undefined : `expected a comma-separated string, got ${describeJson(v)}`;
    case 'stringMap': {
      if (v === null) return undefined;
      if (!isRecord(v)) return `expected an object of strings, got ${describeJson(v)}`;
      const bad = Object.entries(v).find(([, x]) => x !== null && typeof x !== 'string');
      return bad === undefined
        ? undefined
        : `expected an object of strings, but ${JSON.stringify(bad[0])} is ${describeJson(bad[1])}`;
    }
    case 'int':
      return v === null || (typeof v === 'number' && Number.isSafeInteger(v))
        ? undefined
        : `expected an integer, got ${describeJson(v)}`;
    case 'stringArray':
      return v === null || (Array.isArray(v) && v.every((x) => x === null || typeof x === 'string'))
        ? undefined
        : `expected an array of strings, got ${describeJson(v)}`;
    case 'object':
      return v === null || isRecord(v) ? undefined : `expected an object, got ${describeJson(v)}`;
    case 'podPorts': {
      const message = 'expected a string holding a JSON array of {"name", "containerPort", "protocol"}';
      if (typeof v !== 'string') return `${message}, got ${describeJson(v)}`;
      try {
        const parsed: unknown = JSON.parse(v);
        if (parsed === null || (Array.isArray(parsed) && parsed.every((p) => p === null || isRecord(p)))) {
          return undefined;
        }
      } catch {
        // reported below
      }
      return `${message}, got ${describeJson(v)}`;
    }
  }
}
