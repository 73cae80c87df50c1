// The xDS node istiod expects from a proxyless workload, derived from the pod environment the way
// istio-agent derives it (POD_NAME, POD_NAMESPACE, INSTANCE_IP, SERVICE_ACCOUNT, ISTIO_META_*, the
// Downward API labels file), with defaults that work on a laptop (hostname, 127.0.0.1, "default").
import { readFileSync as fsReadFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { JsonValue } from '../codec.ts';
import { BootstrapError, type BootstrapProblem } from '../errors.ts';
import { deepFreeze } from './deep-freeze.ts';
import { parseDownwardApi } from './downward-api.ts';
import { describeJson, isRecord, setOwn } from './json-fields.ts';
import type { BootstrapNode, Env, JsonObject, Locality } from './types.ts';
import { bootstrapNode } from './user-agent.ts';
import { validateNodeForIstiod } from './validate-node.ts';

/** Where the injector's Downward API volume puts the pod labels. */
export const DEFAULT_LABELS_FILE = '/etc/istio/pod/labels';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

export interface NodeIdentityOptions {
  /** Default: env POD_NAME, else the first label of the host name. */
  podName?: string;
  /** Default: env POD_NAMESPACE, else ISTIO_META_NAMESPACE, else "default". */
  namespace?: string;
  /** Default: env INSTANCE_IP (comma-separated allowed), else ISTIO_META_INSTANCE_IPS, else 127.0.0.1. */
  instanceIps?: readonly string[];
  /** Default: env SERVICE_ACCOUNT. Unset means istiod does not compare it with the token's SA. */
  serviceAccount?: string;
  /** Default: env ISTIO_META_CLUSTER_ID, else CLUSTER_ID. Must match istiod's cluster id when set. */
  clusterId?: string;
  /** Default: env ISTIO_VERSION, else ISTIO_META_ISTIO_VERSION. */
  istioVersion?: string;
  /** Default: env ISTIO_META_WORKLOAD_NAME, else the pod name without its ReplicaSet/pod suffixes. */
  workloadName?: string;
  /** Pod labels; when given, no labels file is read. */
  labels?: Readonly<Record<string, string>>;
  /** Downward API labels file. Default /etc/istio/pod/labels, silently skipped if it does not exist. */
  labelsFile?: string;
  /** For the id's DNS domain `<ns>.svc.<clusterDomain>`. Default cluster.local. */
  clusterDomain?: string;
  /** Node.cluster. Default `<canonical service>.<namespace>` as istio-agent computes it. */
  cluster?: string;
  locality?: Partial<Locality>;
  /** Extra metadata, applied over ISTIO_META_* (booleans become "true"/"false"). */
  metadata?: Readonly<Record<string, JsonValue | undefined>>;
  /** For tests. */
  hostname?: string;
  readFileSync?: (path: string) => string;
}

const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_SOURCE = 'environment';

/** Builds the node and checks it with `validateNodeForIstiod`; throws BootstrapError listing every problem. */
export function nodeIdentityFromEnv(env: Env = process.env, options: NodeIdentityOptions = {}): BootstrapNode {
  const problems: BootstrapProblem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });
  const fromEnv = (...names: string[]): { value: string; field: string } | undefined => {
    for (const name of names) {
      const value = env[name];
      if (value !== undefined && value !== '') return { value, field: name };
    }
    return undefined;
  };

  const podName = options.podName ?? fromEnv('POD_NAME')?.value ?? firstLabel(options.hostname ?? osHostname());
  if (podName === '' || podName.includes('~')) {
    add(
      options.podName !== undefined ? 'podName' : 'POD_NAME',
      `expected a pod name without "~", got ${describeJson(podName)}`,
    );
  }

  const nsSource =
    options.namespace !== undefined
      ? { value: options.namespace, field: 'namespace' }
      : fromEnv('POD_NAMESPACE', 'ISTIO_META_NAMESPACE');
  const namespace = nsSource?.value ?? 'default';
  if (!NAMESPACE_RE.test(namespace)) {
    add(
      nsSource?.field ?? 'POD_NAMESPACE',
      `expected a Kubernetes namespace name (a DNS label), got ${describeJson(namespace)}`,
    );
  }

  const instanceIps = resolveInstanceIps(options, fromEnv, add);

  const serviceAccount = options.serviceAccount ?? fromEnv('SERVICE_ACCOUNT', 'ISTIO_META_SERVICE_ACCOUNT')?.value;
  const clusterId = options.clusterId ?? fromEnv('ISTIO_META_CLUSTER_ID', 'CLUSTER_ID')?.value;
  const istioVersion = options.istioVersion ?? fromEnv('ISTIO_VERSION', 'ISTIO_META_ISTIO_VERSION')?.value;
  const workloadName = options.workloadName ?? fromEnv('ISTIO_META_WORKLOAD_NAME')?.value ?? workloadFromPod(podName);
  const labels = resolveLabels(env, options, add);
  const clusterDomain = options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;

  // 1. ISTIO_META_* / ISTIO_METAJSON_* pass through, as istio-agent does.
  const metadata: JsonObject = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (name.startsWith('ISTIO_METAJSON_') && name.length > 'ISTIO_METAJSON_'.length) {
      try {
        setOwn(metadata, name.slice('ISTIO_METAJSON_'.length), JSON.parse(value) as JsonValue);
      } catch (err) {
        add(name, `expected JSON, got ${describeJson(value)} (${err instanceof Error ? err.message : String(err)})`);
      }
    } else if (name.startsWith('ISTIO_META_') && name.length > 'ISTIO_META_'.length) {
      setOwn(metadata, name.slice('ISTIO_META_'.length), value);
    }
  }
  // 2. The typed fields (they agree with the id).
  metadata['NAMESPACE'] = namespace;
  metadata['INSTANCE_IPS'] = instanceIps.join(',');
  metadata['LABELS'] = labels;
  metadata['NAME'] = podName;
  metadata['WORKLOAD_NAME'] = workloadName;
  if (clusterId !== undefined) metadata['CLUSTER_ID'] = clusterId;
  if (serviceAccount !== undefined) metadata['SERVICE_ACCOUNT'] = serviceAccount;
  if (istioVersion !== undefined) metadata['ISTIO_VERSION'] = istioVersion;
  // 3. Caller's extras.
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    if (value === undefined) continue;
    if (key === 'NAMESPACE' || key === 'INSTANCE_IPS') {
      add(
        `metadata.${key}`,
        `set it with the ${key === 'NAMESPACE' ? 'namespace' : 'instanceIps'} option: it is part of the node id`,
      );
      continue;
    }
    setOwn(metadata, key, value);
  }
  // 4. Inboard reads what istiod's grpc generator produces, nothing else.
  const generator = metadata['GENERATOR'];
  if (generator !== undefined && generator !== 'grpc') {
    add(
      options.metadata?.['GENERATOR'] !== undefined ? 'metadata.GENERATOR' : 'ISTIO_META_GENERATOR',
      `Inboard needs istiod's "grpc" generator, got ${describeJson(generator)}`,
    );
  }
  metadata['GENERATOR'] = 'grpc';
  // 5. istiod decodes booleans in metadata as StringBool: a JSON boolean would fail the whole stream.
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value === 'boolean') metadata[key] = value ? 'true' : 'false';
  }

  const id = `sidecar~${instanceIps[0] ?? ''}~${podName}.${namespace}~${namespace}.svc.${clusterDomain}`;
  const cluster =
    options.cluster ??
    `${labels['service.istio.io/canonical-name'] ?? labels['app.kubernetes.io/name'] ?? labels['app'] ?? workloadName}.${namespace}`;
  const locality: Locality | undefined =
    options.locality === undefined
      ? undefined
      : {
          region: options.locality.region ?? '',
          zone: options.locality.zone ?? '',
          subZone: options.locality.subZone ?? '',
        };

  const node = bootstrapNode(id, cluster, metadata, locality);
  problems.push(...validateNodeForIstiod(node));
  if (problems.length > 0) throw BootstrapError.fromProblems(ENV_SOURCE, dedupe(problems));
  return deepFreeze(node);
}

function resolveInstanceIps(
  options: NodeIdentityOptions,
  fromEnv: (...names: string[]) => { value: string; field: string } | undefined,
  add: (field: string, message: string) => void,
): string[] {
  if (options.instanceIps !== undefined) {
    if (options.instanceIps.length === 0) add('instanceIps', 'expected at least one IP address');
    options.instanceIps.forEach((ip, i) => {
      if (isIP(ip) === 0) add(`instanceIps[${i}]`, `expected an IP address, got ${describeJson(ip)}`);
    });
    return [...new Set(options.instanceIps)];
  }
  const source = fromEnv('INSTANCE_IP', 'ISTIO_META_INSTANCE_IPS');
  if (source === undefined) return ['127.0.0.1'];
  const ips = source.value.split(',').map((s) => s.trim());
  for (const ip of ips) {
    if (isIP(ip) === 0)
      add(source.field, `expected an IP address (or a comma-separated list), got ${describeJson(ip)}`);
  }
  return [...new Set(ips)];
}

function resolveLabels(
  env: Env,
  options: NodeIdentityOptions,
  add: (field: string, message: string) => void,
): Record<string, string> {
  if (options.labels !== undefined) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.labels)) {
      if (typeof v === 'string') setOwn(out, k, v);
      else add(`labels.${k}`, `expected a string, got ${describeJson(v)}`);
    }
    return out;
  }
  const path = options.labelsFile ?? DEFAULT_LABELS_FILE;
  const read = options.readFileSync ?? ((p: string) => fsReadFileSync(p, 'utf8'));
  let text: string | undefined;
  try {
    text = read(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // The default file only exists in injected pods; an explicitly named one must exist.
    if (!(code === 'ENOENT' && options.labelsFile === undefined)) {
      add(path, `cannot read the labels file: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (text !== undefined) {
    const parsed = parseDownwardApi(text);
    for (const p of parsed.problems) add(`${path}:${p.line}`, p.message);
    return parsed.values;
  }
  // Older injection templates passed labels as JSON in the environment.
  const json = env['ISTIO_METAJSON_LABELS'];
  if (json !== undefined && json !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      return {}; // the ISTIO_METAJSON_ passthrough reports the syntax error
    }
    if (isRecord(parsed) && Object.values(parsed).every((v) => typeof v === 'string')) {
      return { ...(parsed as Record<string, string>) };
    }
    add('ISTIO_METAJSON_LABELS', `expected a JSON object of strings, got ${describeJson(json)}`);
  }
  return {};
}

function firstLabel(host: string): string {
  const label = host.split('.')[0] ?? '';
  return label === '' ? 'localhost' : label;
}

/** `reviews-v1-5f7b9c8d4-abcde` → `reviews-v1` (Deployment → ReplicaSet → pod suffixes). */
function workloadFromPod(podName: string): string {
  const m = /^(.+)-[a-z0-9]{5,10}-[a-z0-9]{5}$/.exec(podName);
  return m?.[1] ?? podName;
}

function dedupe(problems: BootstrapProblem[]): BootstrapProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.field}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
