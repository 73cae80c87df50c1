// Builds the translator's MeshConfigSnapshot from accepted entries: Istio objects as they are,
// services from Kubernetes Services and Inboard Registries, and their endpoints joined from
// Registry entries, EndpointSlices (or Endpoints) and Pods, the way istiod's kube registry does.

import { type ConfigEntry, type EndpointCandidate, entryProblem, type PodInfo } from './config-entry.ts';
import type { ConfigProblem } from './config-problem.ts';
import type {
  IstioObject,
  MeshConfig,
  MeshConfigSnapshot,
  RegistryEndpoint,
  RegistryService,
  RegistryServiceEndpoints,
} from './istio-types.ts';
import { compact } from './stable-json.ts';

const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
// Label values cannot hold '/', so Istio spells the locality label with dots.
const LOCALITY_LABEL = 'istio-locality';
const NETWORK_LABEL = 'topology.istio.io/network';

export interface AssemblyOptions {
  readonly version: string;
  /** Used when no `MeshConfig` document is loaded. */
  readonly meshConfig?: MeshConfig | undefined;
}

export interface Assembly {
  readonly snapshot: MeshConfigSnapshot;
  readonly warnings: ConfigProblem[];
}

export function assembleSnapshot(entries: readonly ConfigEntry[], options: AssemblyOptions): Assembly {
  const warnings: ConfigProblem[] = [];
  const istio: IstioObject[] = [];
  const services = new Map<string, { service: RegistryService; inline: readonly RegistryEndpoint[] | undefined }>();
  const slices = new Map<string, ConfigEntry[]>();
  const legacy = new Map<string, ConfigEntry[]>();
  const podsByName = new Map<string, PodInfo>();
  const podsByIp = new Map<string, PodInfo>();
  let meshConfig = options.meshConfig;

  for (const e of entries) {
    const b = e.body;
    switch (b.type) {
      case 'istio':
        istio.push(b.object);
        break;
      case 'service':
        services.set(`${b.service.namespace}/${b.service.name}`, { service: b.service, inline: b.endpoints });
        break;
      case 'endpoints': {
        const target = b.source === 'EndpointSlice' ? slices : legacy;
        const key = `${b.namespace}/${b.service}`;
        target.set(key, [...(target.get(key) ?? []), e]);
        break;
      }
      case 'pod':
        podsByName.set(`${b.namespace}/${b.name}`, b.pod);
        for (const ip of b.pod.ips) podsByIp.set(`${b.namespace}/${ip}`, b.pod);
        break;
      case 'mesh-config':
        meshConfig = b.meshConfig;
        break;
    }
  }

  for (const [key, list] of [...slices, ...legacy]) {
    if (services.has(key)) continue;
    for (const e of list) {
      warnings.push(entryProblem(e, 'warning', `endpoints of unknown service ${key} are ignored`));
    }
  }

  const endpoints: RegistryServiceEndpoints[] = [];
  for (const [key, { service, inline }] of services) {
    // Like istiod, EndpointSlices win over the legacy Endpoints API when both exist.
    const k8s = slices.get(key) ?? legacy.get(key);
    if (inline === undefined && k8s === undefined) continue;
    const list: RegistryEndpoint[] = [...(inline ?? [])];
    for (const e of k8s ?? []) {
      if (e.body.type !== 'endpoints') continue;
      for (const c of e.body.endpoints) {
        const pod =
          (c.podName === undefined ? undefined : podsByName.get(`${service.namespace}/${c.podName}`)) ??
          podsByIp.get(`${service.namespace}/${c.address}`);
        list.push(fromCandidate(c, service, pod));
      }
    }
    endpoints.push({ service: service.name, namespace: service.namespace, endpoints: list });
  }

  const snapshot: MeshConfigSnapshot = compact({
    version: options.version,
    istio,
    services: [...services.values()].map((s) => s.service),
    endpoints,
    meshConfig,
  });
  return { snapshot, warnings };
}

function fromCandidate(c: EndpointCandidate, service: RegistryService, pod: PodInfo | undefined): RegistryEndpoint {
  const ports: Record<string, number> = {};
  for (const sp of service.ports) {
    const match = c.ports.find((p) => p.name === (sp.name ?? ''));
    if (match !== undefined) ports[sp.name ?? String(sp.port)] = match.port;
  }
  const labels = pod?.labels;
  const tlsMode = labels?.[TLS_MODE_LABEL];
  return compact({
    address: c.address,
    ports: Object.keys(ports).length > 0 ? ports : undefined,
    labels: labels !== undefined && Object.keys(labels).length > 0 ? labels : undefined,
    serviceAccount: pod?.serviceAccount,
    locality: labels?.[LOCALITY_LABEL]?.split('.').join('/'),
    network: labels?.[NETWORK_LABEL],
    tlsMode: tlsMode === 'istio' || tlsMode === 'disabled' ? tlsMode : undefined,
    health: c.health === 'HEALTHY' ? undefined : c.health,
  });
}
