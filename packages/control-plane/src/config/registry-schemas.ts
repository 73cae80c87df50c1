// The service registry as config: Kubernetes Service, Endpoints, EndpointSlice and Pod objects
// (as `kubectl get -o yaml` writes them), and Inboard's compact `Registry` for local runs.
//
// Kubernetes objects carry many fields Inboard does not need (sessionAffinity, ipFamilies...), so
// their schemas drop unknown fields silently; the Inboard Registry is ours, and strict.
import { z } from 'zod';
import type { EndpointHealth, RegistryServicePort } from './istio-types.ts';
import {
  dnsLabel,
  exportTo,
  isDns1123Label,
  isIpAddress,
  labels,
  port,
  stringMap,
  valid,
  wildcardDomainError,
} from './schema-primitives.ts';

function custom(ctx: z.RefinementCtx, message: string, path?: PropertyKey[]): void {
  ctx.addIssue(path === undefined ? { code: 'custom', message } : { code: 'custom', message, path });
}

const targetPort = z.union([port, z.string().min(1)]);
const portProtocol = z.enum(['TCP', 'UDP', 'SCTP']);

/** Kubernetes rules for a service's port list: names required when there are several, unique names and numbers. */
function checkServicePorts(
  ports: readonly { name?: string | undefined; port: number; protocol?: string | undefined }[],
  ctx: z.RefinementCtx,
): void {
  const names = new Set<string>();
  const numbers = new Set<string>();
  ports.forEach((p, i) => {
    const name = p.name ?? '';
    if (ports.length > 1 && name === '')
      custom(ctx, 'port name is required when a service has more than one port', [i, 'name']);
    if (name !== '' && names.has(name)) custom(ctx, `duplicate port name "${name}"`, [i, 'name']);
    names.add(name);
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (numbers.has(key)) custom(ctx, `duplicate port ${key}`, [i, 'port']);
    numbers.add(key);
  });
}

// ------------------------------------------------------------------------------------------------
// Kubernetes core/v1 Service, Endpoints, Pod and discovery.k8s.io/v1 EndpointSlice
// ------------------------------------------------------------------------------------------------

const k8sServicePort = z.object({
  name: dnsLabel.optional(),
  port,
  targetPort: targetPort.optional(),
  protocol: portProtocol.optional(),
  appProtocol: z.string().optional(),
});

export const k8sServiceSpecSchema = z.object({
  ports: z.array(k8sServicePort).superRefine(checkServicePorts).optional(),
  selector: stringMap.nullish(),
  clusterIP: z.string().optional(),
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).optional(),
  externalName: z.string().optional(),
});
export type K8sServiceSpec = z.output<typeof k8sServiceSpecSchema>;

const objectReference = z.object({
  kind: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
});

const endpointAddress = z.object({
  ip: z.string().superRefine(valid((ip) => (isIpAddress(ip) ? undefined : `"${ip}" is not an IP address`))),
  hostname: z.string().optional(),
  nodeName: z.string().optional(),
  targetRef: objectReference.optional(),
});

const endpointPort = z.object({
  name: z.string().optional(),
  port,
  protocol: portProtocol.optional(),
  appProtocol: z.string().optional(),
});

/** core/v1 Endpoints: the object's own fields, not a spec. */
export const k8sEndpointsBodySchema = z.object({
  subsets: z
    .array(
      z.object({
        addresses: z.array(endpointAddress).nullish(),
        notReadyAddresses: z.array(endpointAddress).nullish(),
        ports: z.array(endpointPort).nullish(),
      }),
    )
    .nullish(),
});
export type K8sEndpointsBody = z.output<typeof k8sEndpointsBodySchema>;

export const k8sEndpointSliceBodySchema = z
  .object({
    addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
    endpoints: z
      .array(
        z.object({
          addresses: z.array(z.string()).min(1, 'an endpoint needs at least one address'),
          conditions: z
            .object({
              ready: z.boolean().nullish(),
              serving: z.boolean().nullish(),
              terminating: z.boolean().nullish(),
            })
            .optional(),
          hostname: z.string().optional(),
          nodeName: z.string().optional(),
          zone: z.string().optional(),
          targetRef: objectReference.optional(),
        }),
      )
      .nullish(),
    ports: z
      .array(
        z.object({
          name: z.string().nullish(),
          port: port.nullish(),
          protocol: portProtocol.optional(),
          appProtocol: z.string().optional(),
        }),
      )
      .nullish(),
  })
  .superRefine((slice, ctx) => {
    if (slice.addressType === 'FQDN') return;
    (slice.endpoints ?? []).forEach((ep, i) => {
      ep.addresses.forEach((a, j) => {
        if (!isIpAddress(a)) custom(ctx, `"${a}" is not an IP address`, ['endpoints', i, 'addresses', j]);
      });
    });
  });
export type K8sEndpointSliceBody = z.output<typeof k8sEndpointSliceBodySchema>;

/** Only what the registry reads from a Pod: labels (metadata), service account, IPs. */
export const k8sPodBodySchema = z.object({
  spec: z.object({ serviceAccountName: z.string().optional(), nodeName: z.string().optional() }).optional(),
  status: z
    .object({ podIP: z.string().optional(), podIPs: z.array(z.object({ ip: z.string() })).nullish() })
    .optional(),
});
export type K8sPodBody = z.output<typeof k8sPodBodySchema>;

// ------------------------------------------------------------------------------------------------
// Inboard Registry (inboard.dev/v1alpha1): services with their endpoints, for local runs
// ------------------------------------------------------------------------------------------------

const HEALTH: readonly EndpointHealth[] = ['HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED', 'UNKNOWN'];

const endpointAddressText = z.string().superRefine(
  valid((a) => {
    if (a === '') return 'address must not be empty';
    if (isIpAddress(a) || a === 'localhost') return undefined;
    return wildcardDomainError(a) === undefined && !a.includes('*')
      ? undefined
      : `"${a}" is not an IP address or a hostname`;
  }),
);

export const registryEndpointSchema = z.strictObject({
  address: endpointAddressText,
  /** The endpoint port of every service port without an entry in `ports`. */
  port: port.optional(),
  ports: z.record(z.string(), port).optional(),
  labels: labels.optional(),
  locality: z
    .string()
    .refine((l) => l.split('/').length <= 3, 'locality must be region/zone/subzone')
    .optional(),
  weight: z.number().int().min(0, 'weight must not be negative').optional(),
  serviceAccount: z.string().min(1).optional(),
  workloadName: z.string().min(1).optional(),
  tlsMode: z.enum(['istio', 'disabled']).optional(),
  health: z.enum(HEALTH as [EndpointHealth, ...EndpointHealth[]]).optional(),
  network: z.string().optional(),
  clusterId: z.string().optional(),
});
export type RegistryEndpointInput = z.output<typeof registryEndpointSchema>;

const registryPortSchema: z.ZodType<RegistryServicePort> = z.strictObject({
  name: dnsLabel.optional(),
  port,
  targetPort: targetPort.optional(),
  protocol: portProtocol.optional(),
  appProtocol: z.string().optional(),
});

export const registryServiceSchema = z
  .strictObject({
    name: z
      .string()
      .superRefine(
        valid((n) => (isDns1123Label(n) ? undefined : `"${n}" is not a valid service name (a DNS-1123 label)`)),
      ),
    namespace: dnsLabel.optional(),
    ports: z.array(registryPortSchema).min(1, 'a service needs at least one port').superRefine(checkServicePorts),
    labels: labels.optional(),
    selector: labels.optional(),
    clusterIP: z.string().optional(),
    exportTo: exportTo({ allowNone: false }).optional(),
    endpoints: z.array(registryEndpointSchema).optional(),
  })
  .superRefine((svc, ctx) => {
    // An endpoint's `ports` keys name service ports, by name or by number.
    const keys = new Set(
      svc.ports.flatMap((p) => (p.name === undefined ? [String(p.port)] : [p.name, String(p.port)])),
    );
    (svc.endpoints ?? []).forEach((ep, i) => {
      for (const key of Object.keys(ep.ports ?? {})) {
        if (!keys.has(key))
          custom(ctx, `"${key}" is not a port of service ${svc.name} (use a port name or number)`, [
            'endpoints',
            i,
            'ports',
            key,
          ]);
      }
    });
  });
export type RegistryServiceInput = z.output<typeof registryServiceSchema>;

/** The Registry document around the services (each service is validated on its own). */
export const registryEnvelopeSchema = z.object({
  metadata: z.object({ name: z.string().optional(), namespace: dnsLabel.optional() }).optional(),
  spec: z.object({ services: z.array(z.unknown()) }),
});
