// One config version, indexed once: services from the registry and ServiceEntries (with their
// endpoints, WorkloadEntries included), and the Istio objects resolved and sorted the way istiod
// orders them (creation time, then name, then namespace). Every node's view is built from this.
import type {
  AuthorizationPolicy,
  DestinationRule,
  DestinationRuleSpec,
  EndpointHealth,
  Gateway,
  HTTPRetry,
  IstioObject,
  LocalityLoadBalancerSetting,
  MeshConfig,
  MeshConfigSnapshot,
  PeerAuthentication,
  RegistryEndpoint,
  RegistryService,
  RegistryServicePort,
  Sidecar,
  Subset,
  VirtualService,
  WorkloadEntrySpec,
} from '../config/istio-types.ts';
import { convertKubernetesGateways } from './gateway-api-gateways.ts';
import { grpcRouteVirtualServices, httpRouteVirtualServices } from './gateway-api-routes.ts';
import { meshDefaultExportTo, resolveGatewayName, resolveShortname } from './hostnames.ts';
import { mergeDelegateVirtualServices } from './virtual-service-delegation.ts';

export const DEFAULT_DOMAIN_SUFFIX = 'cluster.local';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_ROOT_NAMESPACE = 'istio-system';
export const DEFAULT_CLUSTER_ID = 'Kubernetes';

/** Istio protocols (pkg/config/protocol); UNSUPPORTED means "sniffed", which counts as HTTP. */
export type Protocol =
  | 'HTTP'
  | 'HTTP2'
  | 'HTTPS'
  | 'GRPC'
  | 'GRPC-WEB'
  | 'HTTP_PROXY'
  | 'TCP'
  | 'TLS'
  | 'UDP'
  | 'MONGO'
  | 'REDIS'
  | 'MYSQL'
  | 'UNSUPPORTED';

export interface MeshPort {
  readonly name: string;
  readonly port: number;
  /** Container port (number) or named port; undefined = same as `port`. */
  readonly targetPort: number | string | undefined;
  readonly protocol: Protocol;
}

export interface MeshEndpoint {
  readonly address: string;
  /** Endpoint port per service port name / number (as string). */
  readonly ports: Readonly<Record<string, number>>;
  readonly labels: Readonly<Record<string, string>>;
  /** "region/zone/subzone", '' when unknown. */
  readonly locality: string;
  readonly weight: number;
  /** Full spiffe:// identity, or undefined. */
  readonly serviceAccount: string | undefined;
  readonly workloadName: string;
  readonly namespace: string;
  /** 'istio' when the workload accepts Istio mTLS. */
  readonly tlsMode: string | undefined;
  readonly health: EndpointHealth;
  readonly clusterId: string;
  readonly network: string | undefined;
}

export interface MeshService {
  readonly hostname: string;
  readonly namespace: string;
  /** Registry: the Service name; ServiceEntry: the host. */
  readonly name: string;
  readonly source: 'registry' | 'service-entry';
  readonly ports: readonly MeshPort[];
  readonly vips: readonly string[];
  /** Resolved exportTo (mesh default applied). */
  readonly exportTo: readonly string[];
  /** How the cluster finds endpoints: EDS (registry, STATIC, NONE) or DNS. */
  readonly resolution: 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN' | 'NONE';
  readonly location: 'MESH_INTERNAL' | 'MESH_EXTERNAL';
  readonly labels: Readonly<Record<string, string>>;
  /** Registry pod selector (undefined: selects nothing). */
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly endpoints: readonly MeshEndpoint[];
  /** spiffe:// SANs: endpoint service accounts plus ServiceEntry subjectAltNames, sorted. */
  readonly serviceAccounts: readonly string[];
  /** Stable position in the index (registry first, then ServiceEntries in istiod order). */
  readonly order: number;
}

export interface VirtualServiceEntry {
  readonly object: VirtualService;
  readonly namespace: string;
  readonly name: string;
  /** Hosts with short names resolved in the VirtualService namespace. */
  readonly hosts: readonly string[];
  /** `mesh` or `<ns>/<name>`. */
  readonly gateways: readonly string[];
  readonly exportTo: readonly string[];
  readonly order: number;
  /**
   * Converted from a Gateway API HTTPRoute (istiod's "gateway semantics"): it applies only to
   * clients in its own namespace or the service's, wins over other public routes in its namespace,
   * and translates prefixes, rewrites, redirects and missing backends the Gateway API way.
   */
  readonly gatewaySemantics: boolean;
}

/** DestinationRules of one namespace and host merged as istiod consolidates them. */
export interface DestinationRuleEntry {
  readonly namespace: string;
  readonly host: string;
  readonly spec: DestinationRuleSpec;
  readonly exportTo: readonly string[];
  readonly workloadSelector: Readonly<Record<string, string>> | undefined;
  readonly names: readonly string[];
  readonly order: number;
}

export interface MeshSettings {
  readonly domainSuffix: string;
  readonly trustDomain: string;
  readonly rootNamespace: string;
  readonly clusterId: string;
  readonly defaultHttpRetryPolicy: HTTPRetry | undefined;
  readonly localityLbSetting: LocalityLoadBalancerSetting | undefined;
  readonly enableAutoMtls: boolean;
}

const CANONICAL_NAME_LABELS = ['service.istio.io/canonical-name', 'app.kubernetes.io/name', 'app'];
const CANONICAL_REVISION_LABELS = ['service.istio.io/canonical-revision', 'app.kubernetes.io/version', 'version'];

/** kubelabels.CanonicalService: canonical name and revision of a workload. */
export function canonicalService(labels: Readonly<Record<string, string>>, workloadName: string): [string, string] {
  const name = CANONICAL_NAME_LABELS.map((l) => labels[l]).find((v) => v !== undefined && v !== '') ?? workloadName;
  const rev = CANONICAL_REVISION_LABELS.map((l) => labels[l]).find((v) => v !== undefined && v !== '') ?? 'latest';
  return [name, rev];
}

const APP_PROTOCOLS: Readonly<Record<string, Protocol>> = {
  http: 'HTTP',
  http2: 'HTTP2',
  https: 'HTTPS',
  grpc: 'GRPC',
  'grpc-web': 'GRPC-WEB',
  'http-proxy': 'HTTP_PROXY',
  tcp: 'TCP',
  tls: 'TLS',
  udp: 'UDP',
  mongo: 'MONGO',
  redis: 'REDIS',
  mysql: 'MYSQL',
  'kubernetes.io/h2c': 'HTTP2',
  'kubernetes.io/ws': 'HTTP',
  'kubernetes.io/wss': 'HTTPS',
};

/** protocol.Parse of a name or appProtocol. */
export function parseProtocol(s: string | undefined): Protocol {
  if (s === undefined || s === '') return 'UNSUPPORTED';
  return APP_PROTOCOLS[s.toLowerCase()] ?? 'UNSUPPORTED';
}

/** kube.ConvertProtocol: appProtocol, else the port name prefix (`http-web` → HTTP); UDP stays UDP. */
export function registryPortProtocol(p: RegistryServicePort): Protocol {
  if (p.protocol === 'UDP') return 'UDP';
  if (p.protocol === 'SCTP') return 'UNSUPPORTED';
  const fromApp = parseProtocol(p.appProtocol);
  if (fromApp !== 'UNSUPPORTED') return fromApp;
  const name = (p.name ?? '').toLowerCase();
  const dash = name.indexOf('-');
  // grpc-web is the one protocol with a dash in it
  if (name.startsWith('grpc-web')) return 'GRPC-WEB';
  return parseProtocol(dash < 0 ? name : name.slice(0, dash));
}

/** IsHTTPOrSniffed: the ports that get HTTP routes. */
export function isHttpOrSniffed(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-WEB' || p === 'HTTP_PROXY' || p === 'UNSUPPORTED';
}

interface Ordered {
  readonly metadata: { readonly name: string; readonly namespace: string; readonly creationTimestamp?: string };
}

/** istiod's sortConfigByCreationTime: creation time, then name, then namespace. */
export function byCreation(a: Ordered, b: Ordered): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) {
    const da = Date.parse(ta);
    const db = Date.parse(tb);
    if (!Number.isNaN(da) && !Number.isNaN(db) && da !== db) return da - db;
    if (ta === '' || tb === '') return ta === '' ? -1 : 1;
  }
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  if (a.metadata.namespace !== b.metadata.namespace) return a.metadata.namespace < b.metadata.namespace ? -1 : 1;
  return 0;
}

/** Kubernetes label selector semantics: every selector label present with the same value. */
export function labelsMatch(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined) return true;
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

function nonEmpty(s: Readonly<Record<string, string>> | undefined): s is Readonly<Record<string, string>> {
  return s !== undefined && Object.keys(s).length > 0;
}

export class MeshIndex {
  readonly config: MeshConfigSnapshot;
  readonly settings: MeshSettings;
  readonly services: readonly MeshService[];
  /** Roots carry their delegates' routes; the delegates themselves (no hosts) are not listed. */
  readonly virtualServices: readonly VirtualServiceEntry[];
  readonly destinationRules: readonly DestinationRuleEntry[];
  readonly gateways: readonly Gateway[];
  /** Gateways converted from Gateway API Gateways: they select nodes of their own namespace only. */
  readonly kubernetesGateways: ReadonlySet<Gateway>;
  readonly sidecars: readonly Sidecar[];
  readonly peerAuthentications: readonly PeerAuthentication[];
  readonly authorizationPolicies: readonly AuthorizationPolicy[];
  /** DestinationRules by exact host, and those with wildcard hosts. */
  readonly destinationRulesByHost: ReadonlyMap<string, readonly DestinationRuleEntry[]>;
  readonly wildcardDestinationRules: readonly DestinationRuleEntry[];
  /** Services by hostname (several when namespaces define the same host). */
  readonly servicesByHost: ReadonlyMap<string, readonly MeshService[]>;
  readonly #mesh: MeshConfig;

  constructor(config: MeshConfigSnapshot) {
    this.config = config;
    const mesh = config.meshConfig ?? {};
    this.#mesh = mesh;
    this.settings = {
      domainSuffix: mesh.domainSuffix ?? DEFAULT_DOMAIN_SUFFIX,
      trustDomain: mesh.trustDomain ?? DEFAULT_TRUST_DOMAIN,
      rootNamespace: mesh.rootNamespace ?? DEFAULT_ROOT_NAMESPACE,
      clusterId: mesh.clusterId ?? DEFAULT_CLUSTER_ID,
      defaultHttpRetryPolicy: mesh.defaultHttpRetryPolicy,
      localityLbSetting: mesh.localityLbSetting,
      enableAutoMtls: mesh.enableAutoMtls ?? true,
    };
    const byKind = <K extends IstioObject['kind']>(kind: K) =>
      config.istio.filter((o): o is Extract<IstioObject, { kind: K }> => o.kind === kind).sort(byCreation);

    const workloadEntries = byKind('WorkloadEntry');
    const bound = new Map<string, RegistryEndpoint[]>();
    for (const b of config.endpoints) {
      const key = `${b.namespace}/${b.service}`;
      const list = bound.get(key);
      if (list === undefined) bound.set(key, [...b.endpoints]);
      else list.push(...b.endpoints);
    }
    const services: MeshService[] = [];
    for (const s of config.services) {
      services.push(
        this.#registryService(s, bound.get(`${s.namespace}/${s.name}`) ?? [], workloadEntries, services.length),
      );
    }
    for (const se of byKind('ServiceEntry')) {
      for (const host of se.spec.hosts)
        services.push(this.#serviceEntryService(se, host, workloadEntries, services.length));
    }
    this.services = services;
    const byHost = new Map<string, MeshService[]>();
    for (const s of services) {
      const list = byHost.get(s.hostname);
      if (list === undefined) byHost.set(s.hostname, [s]);
      else list.push(s);
    }
    this.servicesByHost = byHost;

    const vsExport = meshDefaultExportTo(mesh.defaultVirtualServiceExportTo);
    // HTTPRoutes and GRPCRoutes become VirtualServices first, as istiod's Gateway API controller converts them
    const registry = new Set(config.services.map((s) => `${s.namespace}/${s.name}`));
    const serviceEntries = byKind('ServiceEntry');
    const kube = convertKubernetesGateways(byKind('KubernetesGateway'));
    const lookup = {
      listeners: (ns: string, name: string) =>
        kube.listeners.filter((l) => l.gateway.metadata.namespace === ns && l.gateway.metadata.name === name),
      domainSuffix: this.settings.domainSuffix,
      serviceExists: (ns: string, name: string) => registry.has(`${ns}/${name}`),
      serviceEntryHosts: (ns: string, name: string) =>
        serviceEntries.find((se) => se.metadata.namespace === ns && se.metadata.name === name)?.spec.hosts,
      hostExists: (h: string) => byHost.has(h),
    };
    const fromRoutes = [
      ...httpRouteVirtualServices(byKind('HTTPRoute'), lookup),
      ...grpcRouteVirtualServices(byKind('GRPCRoute'), lookup),
    ];
    const converted = new Set<VirtualService>(fromRoutes);
    // delegates are merged into their roots once per config version, as istiod does when it builds a
    // push context; what is left is translated like any other VirtualService, for sidecars and gateways
    const merged = mergeDelegateVirtualServices(byKind('VirtualService'), {
      defaultExportTo: vsExport,
      domainSuffix: this.settings.domainSuffix,
    }).virtualServices;
    this.virtualServices = [...merged, ...fromRoutes].sort(byCreation).map((vs, order) => {
      const ns = vs.metadata.namespace;
      const gateways = (
        vs.spec.gateways === undefined || vs.spec.gateways.length === 0 ? ['mesh'] : vs.spec.gateways
      ).map((g) => resolveGatewayName(g, ns));
      return {
        object: vs,
        namespace: ns,
        name: vs.metadata.name,
        hosts: (vs.spec.hosts ?? []).map((h) => resolveShortname(h.toLowerCase(), ns, this.settings.domainSuffix)),
        gateways,
        exportTo: vs.spec.exportTo !== undefined && vs.spec.exportTo.length > 0 ? vs.spec.exportTo : vsExport,
        order,
        gatewaySemantics: converted.has(vs),
      };
    });
    this.destinationRules = this.#consolidateDestinationRules(byKind('DestinationRule'));
    const drByHost = new Map<string, DestinationRuleEntry[]>();
    const drWildcards: DestinationRuleEntry[] = [];
    for (const dr of this.destinationRules) {
      if (dr.host.startsWith('*')) {
        drWildcards.push(dr);
        continue;
      }
      const list = drByHost.get(dr.host);
      if (list === undefined) drByHost.set(dr.host, [dr]);
      else list.push(dr);
    }
    this.destinationRulesByHost = drByHost;
    this.wildcardDestinationRules = drWildcards;
    // Gateway API Gateways serve as the Istio Gateways istiod converts them into
    this.gateways = [...byKind('Gateway'), ...kube.gateways].sort(byCreation);
    this.kubernetesGateways = new Set(kube.gateways);
    this.sidecars = byKind('Sidecar');
    this.peerAuthentications = byKind('PeerAuthentication');
    this.authorizationPolicies = byKind('AuthorizationPolicy');
  }

  spiffe(namespace: string, serviceAccount: string): string {
    return serviceAccount.startsWith('spiffe://')
      ? serviceAccount
      : `spiffe://${this.settings.trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
  }

  #serviceExportTo(exportTo: readonly string[] | undefined): readonly string[] {
    if (exportTo !== undefined && exportTo.length > 0) return exportTo;
    return meshDefaultExportTo(this.#mesh.defaultServiceExportTo);
  }

  #endpoint(
    address: string,
    ports: Readonly<Record<string, number>> | undefined,
    labels: Readonly<Record<string, string>>,
    namespace: string,
    e: Partial<RegistryEndpoint> & { serviceAccount?: string | undefined },
    defaultServiceAccount: string | undefined,
  ): MeshEndpoint {
    const sa = e.serviceAccount ?? defaultServiceAccount;
    return {
      address,
      ports: ports ?? {},
      labels,
      locality: e.locality ?? '',
      weight: e.weight !== undefined && e.weight > 0 ? e.weight : 1,
      serviceAccount: sa === undefined || sa === '' ? undefined : this.spiffe(namespace, sa),
      workloadName: e.workloadName ?? address,
      namespace,
      tlsMode: e.tlsMode ?? labels['security.istio.io/tlsMode'],
      health: e.health ?? 'HEALTHY',
      clusterId: e.clusterId ?? this.settings.clusterId,
      network: e.network,
    };
  }

  #workloadEntryEndpoint(we: WorkloadEntrySpec, namespace: string, workloadName: string): MeshEndpoint {
    return this.#endpoint(
      we.address ?? '',
      we.ports,
      we.labels ?? {},
      namespace,
      {
        locality: we.locality,
        weight: we.weight,
        serviceAccount: we.serviceAccount,
        network: we.network,
        workloadName,
      },
      undefined,
    );
  }

  #registryService(
    s: RegistryService,
    bound: readonly RegistryEndpoint[],
    workloadEntries: readonly Extract<IstioObject, { kind: 'WorkloadEntry' }>[],
    order: number,
  ): MeshService {
    const hostname = `${s.name}.${s.namespace}.svc.${this.settings.domainSuffix}`;
    const endpoints: MeshEndpoint[] = [];
    for (const e of bound)
      endpoints.push(this.#endpoint(e.address, e.ports, e.labels ?? {}, s.namespace, e, 'default'));
    // Kubernetes Services select WorkloadEntries of their namespace too (VM integration)
    if (nonEmpty(s.selector)) {
      for (const we of workloadEntries) {
        if (we.metadata.namespace !== s.namespace || !labelsMatch(s.selector, we.spec.labels ?? {})) continue;
        endpoints.push(this.#workloadEntryEndpoint(we.spec, s.namespace, we.metadata.name));
      }
    }
    const vips = s.clusterIP === undefined || s.clusterIP === '' || s.clusterIP === 'None' ? [] : [s.clusterIP];
    return {
      hostname,
      namespace: s.namespace,
      name: s.name,
      source: 'registry',
      ports: s.ports.map((p) => ({
        name: p.name ?? '',
        port: p.port,
        targetPort: p.targetPort,
        protocol: registryPortProtocol(p),
      })),
      vips,
      exportTo: this.#serviceExportTo(s.exportTo),
      resolution: 'STATIC',
      location: 'MESH_INTERNAL',
      labels: s.labels ?? {},
      selector: nonEmpty(s.selector) ? s.selector : undefined,
      endpoints,
      serviceAccounts: sortedUnique(endpoints.map((e) => e.serviceAccount)),
      order,
    };
  }

  #serviceEntryService(
    se: Extract<IstioObject, { kind: 'ServiceEntry' }>,
    host: string,
    workloadEntries: readonly Extract<IstioObject, { kind: 'WorkloadEntry' }>[],
    order: number,
  ): MeshService {
    const spec = se.spec;
    const ns = se.metadata.namespace;
    const endpoints: MeshEndpoint[] = [];
    const resolution = spec.resolution ?? 'NONE';
    for (const e of spec.endpoints ?? []) {
      endpoints.push(this.#workloadEntryEndpoint(e, ns, se.metadata.name));
    }
    const selector = spec.workloadSelector?.labels;
    if (spec.endpoints === undefined && nonEmpty(selector)) {
      for (const we of workloadEntries) {
        if (we.metadata.namespace !== ns || !labelsMatch(selector, we.spec.labels ?? {})) continue;
        endpoints.push(this.#workloadEntryEndpoint(we.spec, ns, we.metadata.name));
      }
    }
    const sans = [...endpoints.map((e) => e.serviceAccount), ...(spec.subjectAltNames ?? [])];
    return {
      hostname: host,
      namespace: ns,
      name: host,
      source: 'service-entry',
      ports: (spec.ports ?? []).map((p) => ({
        name: p.name ?? '',
        port: p.number,
        targetPort: p.targetPort,
        protocol: parseProtocol(p.protocol),
      })),
      vips: (spec.addresses ?? []).filter((a) => !a.includes('/')),
      exportTo: this.#serviceExportTo(spec.exportTo),
      resolution,
      location: spec.location ?? 'MESH_EXTERNAL',
      labels: se.metadata.labels ?? {},
      selector: undefined,
      endpoints,
      serviceAccounts: sortedUnique(sans),
      order,
    };
  }

  #consolidateDestinationRules(rules: readonly DestinationRule[]): DestinationRuleEntry[] {
    const drExport = meshDefaultExportTo(this.#mesh.defaultDestinationRuleExportTo);
    const out: DestinationRuleEntry[] = [];
    const byKey = new Map<string, number>();
    for (const dr of rules) {
      const ns = dr.metadata.namespace;
      const host = resolveShortname(dr.spec.host.toLowerCase(), ns, this.settings.domainSuffix);
      const selector = dr.spec.workloadSelector?.matchLabels;
      const exportTo = dr.spec.exportTo !== undefined && dr.spec.exportTo.length > 0 ? dr.spec.exportTo : drExport;
      // rules with a workload selector are never merged (istiod keeps them apart)
      const key = nonEmpty(selector) ? undefined : `${ns}\0${host}`;
      const at = key === undefined ? undefined : byKey.get(key);
      if (at === undefined) {
        if (key !== undefined) byKey.set(key, out.length);
        out.push({
          namespace: ns,
          host,
          spec: dr.spec,
          exportTo,
          workloadSelector: nonEmpty(selector) ? selector : undefined,
          names: [dr.metadata.name],
          order: out.length,
        });
        continue;
      }
      // mergeDestinationRule: the first traffic policy wins, subsets are appended unless the name exists
      const prev = out[at]!;
      const subsets: Subset[] = [...(prev.spec.subsets ?? [])];
      for (const s of dr.spec.subsets ?? []) if (!subsets.some((x) => x.name === s.name)) subsets.push(s);
      out[at] = {
        ...prev,
        spec: { ...prev.spec, trafficPolicy: prev.spec.trafficPolicy ?? dr.spec.trafficPolicy, subsets },
        exportTo: [...new Set([...prev.exportTo, ...exportTo])],
        names: [...prev.names, dr.metadata.name],
      };
    }
    return out;
  }
}

function sortedUnique(list: readonly (string | undefined)[]): string[] {
  return [...new Set(list.filter((s): s is string => s !== undefined && s !== ''))].sort();
}
