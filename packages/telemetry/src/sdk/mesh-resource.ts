// The OpenTelemetry Resource of this workload. The xDS node already says who the process is, in
// Istio's words (the node id `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`, metadata NAME,
// NAMESPACE, WORKLOAD_NAME, OWNER, NODE_NAME, INSTANCE_IPS, pod LABELS); this names the same
// identity with the semantic conventions' resource attributes, so spans and metrics exported by
// the SDK describe the workload Istio's own telemetry labels:
//   service.name / service.version   the canonical service / revision (source_canonical_service…)
//   service.namespace, k8s.namespace.name, k8s.pod.name, k8s.pod.ip, k8s.node.name, and the
//   owning controller (k8s.deployment.name, k8s.statefulset.name…) from OWNER.
import { isIP } from 'node:net';
import type { BootstrapNode } from '@inboard/xds';
import type { Attributes } from '@opentelemetry/api';
import {
  defaultResource,
  detectResources,
  hostDetector,
  osDetector,
  processDetector,
  type Resource,
  type ResourceDetector,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
  serviceNameEnvDetector,
} from '@opentelemetry/resources';
import {
  ATTR_K8S_CRONJOB_NAME,
  ATTR_K8S_DAEMONSET_NAME,
  ATTR_K8S_DEPLOYMENT_NAME,
  ATTR_K8S_JOB_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_NODE_NAME,
  ATTR_K8S_POD_IP,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_REPLICASET_NAME,
  ATTR_K8S_STATEFULSET_NAME,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  ATTR_SERVICE_VERSION,
} from '@opentelemetry/semantic-conventions';
import { UNKNOWN } from '../istio-labels.ts';
import { localWorkload, nodeIdParts } from '../local-workload.ts';
import type { Env } from './mesh-sampler.ts';

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

// OWNER is `kubernetes://apis/<group>/<version>/namespaces/<ns>/<resource>/<name>`
const OWNER_ATTRIBUTE: Readonly<Record<string, string>> = {
  deployments: ATTR_K8S_DEPLOYMENT_NAME,
  statefulsets: ATTR_K8S_STATEFULSET_NAME,
  daemonsets: ATTR_K8S_DAEMONSET_NAME,
  replicasets: ATTR_K8S_REPLICASET_NAME,
  jobs: ATTR_K8S_JOB_NAME,
  cronjobs: ATTR_K8S_CRONJOB_NAME,
};

/** The resource attributes the node's id and metadata give (only those it actually gives). */
export function meshResourceAttributes(node: Pick<BootstrapNode, 'id' | 'metadata'>): Attributes {
  const md = node.metadata as Readonly<Record<string, unknown>>;
  const local = localWorkload(node);
  const out: Attributes = {};
  if (local.canonicalService !== UNKNOWN) {
    out[ATTR_SERVICE_NAME] = local.canonicalService;
    out[ATTR_SERVICE_VERSION] = local.canonicalRevision;
  }
  if (local.namespace !== UNKNOWN) {
    out[ATTR_SERVICE_NAMESPACE] = local.namespace;
    out[ATTR_K8S_NAMESPACE_NAME] = local.namespace;
  }
  const fromId = nodeIdParts(node.id);
  const pod = str(md.NAME) ?? str(fromId?.pod);
  if (pod !== undefined) out[ATTR_K8S_POD_NAME] = pod;
  const ip = str(str(md.INSTANCE_IPS)?.split(',')[0]) ?? fromId?.ip;
  if (ip !== undefined && isIP(ip) !== 0) out[ATTR_K8S_POD_IP] = ip;
  const nodeName = str(md.NODE_NAME);
  if (nodeName !== undefined) out[ATTR_K8S_NODE_NAME] = nodeName;
  const owner = str(md.OWNER)?.split('/');
  const kind = owner?.[owner.length - 2];
  const ownerName = str(owner?.[owner.length - 1]);
  const ownerAttribute = kind === undefined ? undefined : OWNER_ATTRIBUTE[kind];
  if (ownerAttribute !== undefined && ownerName !== undefined) out[ownerAttribute] = ownerName;
  return out;
}

// NodeSDK's detector names (OTEL_NODE_RESOURCE_DETECTORS); the environment is always read
const DETECTORS: Readonly<Record<string, readonly ResourceDetector[]>> = {
  host: [hostDetector],
  os: [osDetector],
  process: [processDetector],
  serviceinstance: [serviceInstanceIdDetector],
  env: [],
};

/** NodeSDK's default detectors, or those OTEL_NODE_RESOURCE_DETECTORS names. */
export function detectorsFromEnv(env: Env): ResourceDetector[] {
  const names = (env.OTEL_NODE_RESOURCE_DETECTORS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0 || names.includes('all'))
    return [serviceInstanceIdDetector, processDetector, hostDetector, osDetector];
  if (names.includes('none')) return [];
  return [...new Set(names.flatMap((n) => DETECTORS[n] ?? []))];
}

export interface MeshResourceOptions {
  readonly node: Pick<BootstrapNode, 'id' | 'metadata'> | undefined;
  /** host, process… detectors (default: NodeSDK's, or OTEL_NODE_RESOURCE_DETECTORS) */
  readonly detectors: readonly ResourceDetector[];
  /** highest precedence */
  readonly attributes: Attributes | undefined;
}

/**
 * SDK defaults < detectors < the mesh identity < OTEL_RESOURCE_ATTRIBUTES < OTEL_SERVICE_NAME <
 * the attributes given: what the operator sets explicitly wins over what the node says. Resolves
 * once asynchronous detector attributes have settled.
 */
export async function meshResource(options: MeshResourceOptions): Promise<Resource> {
  let resource = defaultResource();
  if (options.detectors.length > 0) resource = resource.merge(detectResources({ detectors: [...options.detectors] }));
  if (options.node !== undefined)
    resource = resource.merge(resourceFromAttributes(meshResourceAttributes(options.node)));
  resource = resource.merge(detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] }));
  if (options.attributes !== undefined) resource = resource.merge(resourceFromAttributes(options.attributes));
  await resource.waitForAsyncAttributes?.();
  return resource;
}
