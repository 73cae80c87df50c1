// Which (apiVersion, kind) pairs Inboard reads, and the schema of each. Everything else is skipped
// with a note: a config directory often holds Deployments, ConfigMaps or Istio kinds Inboard does
// not implement (EnvoyFilter, Telemetry...).
import { z } from 'zod';
import { grpcRouteSpecSchema, httpRouteSpecSchema, kubernetesGatewaySpecSchema } from './gateway-api-schemas.ts';
import type {
  AuthorizationPolicy,
  DestinationRule,
  Gateway,
  GatewayGRPCRoute,
  GatewayHTTPRoute,
  IstioKind,
  KubernetesGateway,
  PeerAuthentication,
  RequestAuthentication,
  ServiceEntry,
  Sidecar,
  VirtualService,
  WorkloadEntry,
} from './istio-types.ts';
import { meshConfigSchema } from './mesh-config-schema.ts';
import {
  destinationRuleSpecSchema,
  gatewaySpecSchema,
  serviceEntrySpecSchema,
  sidecarSpecSchema,
  virtualServiceSpecSchema,
  workloadEntrySpecSchema,
} from './networking-schemas.ts';
import {
  k8sEndpointSliceBodySchema,
  k8sEndpointsBodySchema,
  k8sPodBodySchema,
  k8sServiceSpecSchema,
} from './registry-schemas.ts';
import { isDns1123Label, objectMeta } from './schema-primitives.ts';
import {
  authorizationPolicySpecSchema,
  peerAuthenticationSpecSchema,
  requestAuthenticationSpecSchema,
} from './security-schemas.ts';

export const NETWORKING_GROUP = 'networking.istio.io';
export const SECURITY_GROUP = 'security.istio.io';
export const INBOARD_GROUP = 'inboard.dev';
export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

const NETWORKING_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'];
const SECURITY_VERSIONS = ['v1', 'v1beta1'];
const GATEWAY_API_VERSIONS = ['v1', 'v1beta1'];

function istioObject<K extends IstioKind, S>(kind: K, spec: z.ZodType<S>) {
  return z.object({ apiVersion: z.string(), kind: z.literal(kind), metadata: objectMeta, spec });
}

// The annotations are the type-level proof that each schema yields the translator's contract type.
const gatewaySchema: z.ZodType<Gateway> = istioObject('Gateway', gatewaySpecSchema).superRefine((g, ctx) => {
  // istiod: "Gateway name must conform to the DNS label format (no dots)".
  if (!isDns1123Label(g.metadata.name))
    ctx.addIssue({
      code: 'custom',
      message: `invalid gateway name "${g.metadata.name}": must be a DNS label (no dots)`,
      path: ['metadata', 'name'],
    });
});
const virtualServiceSchema: z.ZodType<VirtualService> = istioObject('VirtualService', virtualServiceSpecSchema);
const destinationRuleSchema: z.ZodType<DestinationRule> = istioObject('DestinationRule', destinationRuleSpecSchema);
const serviceEntrySchema: z.ZodType<ServiceEntry> = istioObject('ServiceEntry', serviceEntrySpecSchema);
const workloadEntrySchema: z.ZodType<WorkloadEntry> = istioObject('WorkloadEntry', workloadEntrySpecSchema);
const sidecarSchema: z.ZodType<Sidecar> = istioObject('Sidecar', sidecarSpecSchema);
const peerAuthenticationSchema: z.ZodType<PeerAuthentication> = istioObject(
  'PeerAuthentication',
  peerAuthenticationSpecSchema,
);
const authorizationPolicySchema: z.ZodType<AuthorizationPolicy> = istioObject(
  'AuthorizationPolicy',
  authorizationPolicySpecSchema,
);
const requestAuthenticationSchema: z.ZodType<RequestAuthentication> = istioObject(
  'RequestAuthentication',
  requestAuthenticationSpecSchema,
);
const httpRouteSchema: z.ZodType<GatewayHTTPRoute> = istioObject('HTTPRoute', httpRouteSpecSchema);
const grpcRouteSchema: z.ZodType<GatewayGRPCRoute> = istioObject('GRPCRoute', grpcRouteSpecSchema);
// `kind: Gateway` in YAML; held as KubernetesGateway so it cannot be taken for an Istio Gateway
const kubernetesGatewaySchema: z.ZodType<KubernetesGateway> = z
  .object({
    apiVersion: z.string(),
    kind: z.literal('Gateway'),
    metadata: objectMeta,
    spec: kubernetesGatewaySpecSchema,
  })
  .transform((g) => ({ ...g, kind: 'KubernetesGateway' as const }));

export const k8sServiceSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('Service'),
  metadata: objectMeta,
  spec: k8sServiceSpecSchema,
});
export const k8sEndpointsSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('Endpoints'),
  metadata: objectMeta,
  ...k8sEndpointsBodySchema.shape,
});
export const k8sEndpointSliceSchema = k8sEndpointSliceBodySchema.and(
  z.object({ apiVersion: z.string(), kind: z.literal('EndpointSlice'), metadata: objectMeta }),
);
export const k8sPodSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('Pod'),
  metadata: objectMeta,
  ...k8sPodBodySchema.shape,
});
export const meshConfigDocumentSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('MeshConfig'),
  metadata: z.object({ name: z.string().optional() }).optional(),
  spec: meshConfigSchema,
});

export type KindCategory =
  | 'istio'
  | 'k8s-service'
  | 'k8s-endpoints'
  | 'k8s-endpointslice'
  | 'k8s-pod'
  | 'registry'
  | 'mesh-config';

export interface KindInfo {
  readonly group: string;
  readonly kind: string;
  readonly versions: readonly string[];
  readonly category: KindCategory;
  /** Undefined for `Registry`, whose services are validated one by one. */
  readonly schema: z.ZodType | undefined;
}

const KINDS: readonly KindInfo[] = [
  { group: NETWORKING_GROUP, kind: 'Gateway', versions: NETWORKING_VERSIONS, category: 'istio', schema: gatewaySchema },
  {
    group: NETWORKING_GROUP,
    kind: 'VirtualService',
    versions: NETWORKING_VERSIONS,
    category: 'istio',
    schema: virtualServiceSchema,
  },
  {
    group: NETWORKING_GROUP,
    kind: 'DestinationRule',
    versions: NETWORKING_VERSIONS,
    category: 'istio',
    schema: destinationRuleSchema,
  },
  {
    group: NETWORKING_GROUP,
    kind: 'ServiceEntry',
    versions: NETWORKING_VERSIONS,
    category: 'istio',
    schema: serviceEntrySchema,
  },
  {
    group: NETWORKING_GROUP,
    kind: 'WorkloadEntry',
    versions: NETWORKING_VERSIONS,
    category: 'istio',
    schema: workloadEntrySchema,
  },
  { group: NETWORKING_GROUP, kind: 'Sidecar', versions: NETWORKING_VERSIONS, category: 'istio', schema: sidecarSchema },
  {
    group: SECURITY_GROUP,
    kind: 'PeerAuthentication',
    versions: SECURITY_VERSIONS,
    category: 'istio',
    schema: peerAuthenticationSchema,
  },
  {
    group: SECURITY_GROUP,
    kind: 'AuthorizationPolicy',
    versions: SECURITY_VERSIONS,
    category: 'istio',
    schema: authorizationPolicySchema,
  },
  {
    group: SECURITY_GROUP,
    kind: 'RequestAuthentication',
    versions: SECURITY_VERSIONS,
    category: 'istio',
    schema: requestAuthenticationSchema,
  },
  {
    group: GATEWAY_API_GROUP,
    kind: 'HTTPRoute',
    versions: GATEWAY_API_VERSIONS,
    category: 'istio',
    schema: httpRouteSchema,
  },
  { group: GATEWAY_API_GROUP, kind: 'GRPCRoute', versions: ['v1'], category: 'istio', schema: grpcRouteSchema },
  {
    group: GATEWAY_API_GROUP,
    kind: 'Gateway',
    versions: GATEWAY_API_VERSIONS,
    category: 'istio',
    schema: kubernetesGatewaySchema,
  },
  { group: '', kind: 'Service', versions: ['v1'], category: 'k8s-service', schema: k8sServiceSchema },
  { group: '', kind: 'Endpoints', versions: ['v1'], category: 'k8s-endpoints', schema: k8sEndpointsSchema },
  { group: '', kind: 'Pod', versions: ['v1'], category: 'k8s-pod', schema: k8sPodSchema },
  {
    group: 'discovery.k8s.io',
    kind: 'EndpointSlice',
    versions: ['v1'],
    category: 'k8s-endpointslice',
    schema: k8sEndpointSliceSchema,
  },
  { group: INBOARD_GROUP, kind: 'Registry', versions: ['v1alpha1'], category: 'registry', schema: undefined },
  {
    group: INBOARD_GROUP,
    kind: 'MeshConfig',
    versions: ['v1alpha1'],
    category: 'mesh-config',
    schema: meshConfigDocumentSchema,
  },
];

/** Groups where an unknown kind deserves a clearer note ("not supported", not just "unknown"). */
const KNOWN_GROUPS = new Set([NETWORKING_GROUP, SECURITY_GROUP, INBOARD_GROUP, GATEWAY_API_GROUP]);

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export type KindLookup = { readonly found: KindInfo } | { readonly badVersion: KindInfo } | { readonly skip: string };

export function lookupKind(apiVersion: string, kind: string): KindLookup {
  const { group, version } = splitApiVersion(apiVersion);
  const info = KINDS.find((k) => k.group === group && k.kind === kind);
  if (info !== undefined) return info.versions.includes(version) ? { found: info } : { badVersion: info };
  if (KNOWN_GROUPS.has(group)) return { skip: `skipped: ${kind} (${apiVersion}) is not supported by Inboard` };
  return { skip: `skipped: unknown kind ${kind} (${apiVersion})` };
}

export function supportedApiVersions(info: KindInfo): string[] {
  return info.versions.map((v) => (info.group === '' ? v : `${info.group}/${v}`));
}

export const SUPPORTED_KINDS: readonly { readonly apiVersions: readonly string[]; readonly kind: string }[] = KINDS.map(
  (k) => ({
    apiVersions: supportedApiVersions(k),
    kind: k.kind,
  }),
);
