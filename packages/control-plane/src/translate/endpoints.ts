// EDS: ClusterLoadAssignments as istiod's EndpointBuilder builds them: endpoints of the service
// port (subset labels applied), grouped by locality with summed weights, health status, the
// metadata istiod adds (auto-mTLS tlsMode and the istio.workload telemetry tuple), and locality
// priorities / weights from the DestinationRule or mesh localityLbSetting.
import { isIP } from 'node:net';
import { type envoy, jsToStruct } from '@inboard/xds/codec';
import type { LocalityLoadBalancerSetting, TrafficPolicy } from '../config/istio-types.ts';
import { HealthStatus, TRANSPORT_SOCKET_MATCH_KEY } from './envoy-names.ts';
import { applyLocalityLoadBalancer } from './locality-lb.ts';
import {
  canonicalService,
  labelsMatch,
  type MeshEndpoint,
  type MeshIndex,
  type MeshPort,
  type MeshService,
} from './mesh-index.ts';
import { peerAuthenticationMode } from './peer-authentication.ts';
import type { ProxyNode } from './proxy-node.ts';

type ClaIn = envoy.config_endpoint_v3_ClusterLoadAssignment$In;
type LbEndpointIn = envoy.config_endpoint_v3_LbEndpoint$In;
type LocalityLbEndpointsIn = envoy.config_endpoint_v3_LocalityLbEndpoints$In;

/** Services with this label keep unhealthy and draining endpoints (istio's persistent sessions). */
export const PERSISTENT_SESSION_LABEL = 'istio.io/persistent-session';

const HEALTH: Readonly<Record<string, number>> = {
  HEALTHY: HealthStatus.HEALTHY,
  UNHEALTHY: HealthStatus.UNHEALTHY,
  DRAINING: HealthStatus.DRAINING,
  TIMEOUT: HealthStatus.TIMEOUT,
  DEGRADED: HealthStatus.DEGRADED,
  UNKNOWN: HealthStatus.UNKNOWN,
};

/** The endpoint's port for a service port: by port name, by port number, numeric targetPort, port. */
export function endpointPort(ep: MeshEndpoint, port: MeshPort): number {
  const byName = port.name === '' ? undefined : ep.ports[port.name];
  return byName ?? ep.ports[String(port.port)] ?? (typeof port.targetPort === 'number' ? port.targetPort : port.port);
}

export function supportsUnhealthyEndpoints(svc: MeshService): boolean {
  return (svc.labels[PERSISTENT_SESSION_LABEL] ?? '') !== '';
}

export interface EndpointOptions {
  readonly index: MeshIndex;
  readonly node: ProxyNode;
  /** The merged traffic policy of the cluster (outlier detection enables failover). */
  readonly policy: TrafficPolicy | undefined;
  /** Subset labels; undefined for the default cluster. */
  readonly subsetLabels: Readonly<Record<string, string>> | undefined;
}

/** Endpoints of a service port that a cluster serves (subset, health and address filters applied). */
export function clusterEndpoints(
  svc: MeshService,
  subsetLabels: Readonly<Record<string, string>> | undefined,
): MeshEndpoint[] {
  const keepUnhealthy = supportsUnhealthyEndpoints(svc);
  return svc.endpoints.filter((ep) => {
    if (subsetLabels !== undefined && !labelsMatch(subsetLabels, ep.labels)) return false;
    if (!keepUnhealthy && (ep.health === 'UNHEALTHY' || ep.health === 'DRAINING' || ep.health === 'TIMEOUT'))
      return false;
    return true;
  });
}

function workloadMetadata(ep: MeshEndpoint): string {
  const [name, revision] = canonicalService(ep.labels, ep.workloadName);
  // istiod does not send the default revision
  return [ep.workloadName, ep.namespace, name, revision === 'latest' ? '' : revision, ep.clusterId].join(';');
}

function lbEndpoint(
  index: MeshIndex,
  svc: MeshService,
  port: MeshPort,
  ep: MeshEndpoint,
  address: string,
): LbEndpointIn {
  const portValue = endpointPort(ep, port);
  const filterMetadata: Record<string, envoy.google_protobuf_Struct$In> = {};
  // auto-mTLS signal: the workload has a proxy (or Inboard) and its PeerAuthentication allows mTLS
  if (
    ep.tlsMode === 'istio' &&
    svc.location === 'MESH_INTERNAL' &&
    peerAuthenticationMode(index, ep.namespace, ep.labels, portValue) !== 'DISABLE'
  ) {
    filterMetadata[TRANSPORT_SOCKET_MATCH_KEY] = jsToStruct({ tlsMode: 'istio' });
  }
  // telemetry metadata names a workload; a bare DNS name has none
  if (ep.workloadName !== '') filterMetadata['istio'] = jsToStruct({ workload: workloadMetadata(ep) });
  return {
    endpoint: { address: { socket_address: { address, port_value: portValue } } },
    health_status: HEALTH[ep.health] ?? HealthStatus.HEALTHY,
    load_balancing_weight: { value: ep.weight },
    metadata: { filter_metadata: filterMetadata },
  };
}

function localityOf(s: string): envoy.config_core_v3_Locality$In {
  const [region = '', zone = '', subZone = ''] = s.split('/');
  return { region, zone, sub_zone: subZone };
}

/** Locality groups of endpoints, sorted by locality for stable output. */
export function localityGroups(
  index: MeshIndex,
  svc: MeshService,
  port: MeshPort,
  endpoints: readonly MeshEndpoint[],
  addressOf: (ep: MeshEndpoint) => string | undefined,
  labelsOut?: Map<LbEndpointIn, Readonly<Record<string, string>>>,
): LocalityLbEndpointsIn[] {
  const byLocality = new Map<string, LbEndpointIn[]>();
  for (const ep of endpoints) {
    const address = addressOf(ep);
    if (address === undefined) continue;
    let list = byLocality.get(ep.locality);
    if (list === undefined) byLocality.set(ep.locality, (list = []));
    const lb = lbEndpoint(index, svc, port, ep, address);
    labelsOut?.set(lb, ep.labels);
    list.push(lb);
  }
  return [...byLocality.keys()].sort().map((loc) => {
    const eps = byLocality.get(loc)!;
    return {
      locality: localityOf(loc),
      lb_endpoints: eps,
      load_balancing_weight: { value: eps.reduce((s, e) => s + (e.load_balancing_weight?.value ?? 1), 0) },
    };
  });
}

/** GetLocalityLbSetting: the DestinationRule's setting, else the mesh one (enabled by default). */
export function localityLbSetting(index: MeshIndex, policy: TrafficPolicy | undefined): LocalityLoadBalancerSetting {
  return policy?.loadBalancer?.localityLbSetting ?? index.settings.localityLbSetting ?? { enabled: true };
}

/** The EDS resource of one cluster. */
export function clusterLoadAssignment(name: string, svc: MeshService, port: MeshPort, o: EndpointOptions): ClaIn {
  const endpoints = clusterEndpoints(svc, o.subsetLabels);
  const labelsByEndpoint = new Map<LbEndpointIn, Readonly<Record<string, string>>>();
  // EDS carries IP endpoints only (hostnames of DNS ServiceEntries are dropped, as istiod does)
  let groups = localityGroups(
    o.index,
    svc,
    port,
    endpoints,
    (ep) => (isIP(ep.address) === 0 ? undefined : ep.address),
    labelsByEndpoint,
  );
  groups = applyLocalityLoadBalancer(
    groups,
    o.node.locality,
    o.node.labels,
    localityLbSetting(o.index, o.policy),
    o.policy?.outlierDetection !== undefined,
    (lb) => labelsByEndpoint.get(lb) ?? {},
  );
  return { cluster_name: name, endpoints: groups };
}
