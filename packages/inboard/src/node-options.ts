// The node identity of a process that talks to Inboard's embedded control plane: what a pod gets
// from Kubernetes (name, namespace, labels, IP) given here as options or INBOARD_* variables, so
// several services on one laptop are distinct workloads with the labels subsets select on.
import { type BootstrapNode, type Env, type NodeIdentityOptions, nodeIdentityFromEnv } from '@inboard/xds';
import { InboardOptionError } from './errors.ts';

export interface InboardNodeOptions {
  /** pod name; env INBOARD_NAME, POD_NAME; default `<app>-<version>-<pid>`, else the host name */
  readonly name?: string;
  /** env INBOARD_NAMESPACE, POD_NAMESPACE; default "default" */
  readonly namespace?: string;
  /** the `app` label (what Service selectors pick); env INBOARD_APP */
  readonly app?: string;
  /** the `version` label (what DestinationRule subsets pick); env INBOARD_VERSION */
  readonly version?: string;
  /** more labels; env INBOARD_LABELS="k=v,k2=v2". `app` / `version` win over these */
  readonly labels?: Readonly<Record<string, string>>;
  /** the instance IP; env INBOARD_IP, INSTANCE_IP; default 127.0.0.1 */
  readonly ip?: string;
  /** env SERVICE_ACCOUNT */
  readonly serviceAccount?: string;
  /** `region/zone/subzone`; env INBOARD_LOCALITY */
  readonly locality?: string;
  /** `router` for gateways (istiod's node type for them); default `sidecar` */
  readonly type?: 'sidecar' | 'router';
  /** anything else nodeIdentityFromEnv accepts (clusterId, metadata, ...) */
  readonly identity?: NodeIdentityOptions;
}

function envValue(env: Env, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** `k=v,k2=v2` → labels. */
export function parseLabels(text: string, source: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new InboardOptionError(source, `expected k=v[,k=v...], got ${JSON.stringify(text)}`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

function parseLocality(text: string, source: string): { region: string; zone: string; subZone: string } {
  const parts = text.split('/');
  if (parts.length > 3)
    throw new InboardOptionError(source, `expected region/zone/subzone, got ${JSON.stringify(text)}`);
  return { region: parts[0] ?? '', zone: parts[1] ?? '', subZone: parts[2] ?? '' };
}

/** The node for the embedded control plane (or any bootstrap built in code), validated as istiod would. */
export function inboardNode(options: InboardNodeOptions = {}, env: Env = process.env): BootstrapNode {
  const app = options.app ?? envValue(env, 'INBOARD_APP');
  const version = options.version ?? envValue(env, 'INBOARD_VERSION');
  const envLabels = envValue(env, 'INBOARD_LABELS');
  let labels: Record<string, string> | undefined;
  if (envLabels !== undefined || options.labels !== undefined || app !== undefined || version !== undefined) {
    labels = { ...(envLabels === undefined ? {} : parseLabels(envLabels, 'INBOARD_LABELS')), ...options.labels };
    if (app !== undefined) labels['app'] = app;
    if (version !== undefined) labels['version'] = version;
  }
  // Processes of one host must not share a node id: default to a pod-like name per process.
  const podName =
    options.name ??
    envValue(env, 'INBOARD_NAME', 'POD_NAME') ??
    (app === undefined ? undefined : `${app}-${version ?? 'v1'}-${process.pid}`);
  const ip = options.ip ?? envValue(env, 'INBOARD_IP');
  const locality = options.locality ?? envValue(env, 'INBOARD_LOCALITY');
  const namespace = options.namespace ?? envValue(env, 'INBOARD_NAMESPACE');
  // Istio's sidecar injection sets CLUSTER_ID to "Kubernetes" unless the mesh names its cluster;
  // the embedded control plane labels endpoints the same way, so both ends of a request agree.
  const clusterId = options.identity?.clusterId ?? envValue(env, 'ISTIO_META_CLUSTER_ID', 'CLUSTER_ID') ?? 'Kubernetes';
  const identity: NodeIdentityOptions = {
    ...options.identity,
    clusterId,
    ...(podName === undefined ? {} : { podName }),
    ...(namespace === undefined ? {} : { namespace }),
    ...(ip === undefined ? {} : { instanceIps: [ip] }),
    ...(labels === undefined ? {} : { labels }),
    ...(options.serviceAccount === undefined ? {} : { serviceAccount: options.serviceAccount }),
    ...(locality === undefined ? {} : { locality: parseLocality(locality, 'locality') }),
    ...(app === undefined || options.identity?.workloadName !== undefined
      ? {}
      : { workloadName: version === undefined ? app : `${app}-${version}` }),
  };
  const node = nodeIdentityFromEnv(env, identity);
  if (options.type === 'router') return Object.freeze({ ...node, id: node.id.replace(/^sidecar~/, 'router~') });
  return node;
}
