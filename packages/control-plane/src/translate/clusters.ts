// CDS: `outbound|port|subset|host` clusters for a service (the default one and one per
// DestinationRule subset), with the merged traffic policy applied: load balancer, consistent hash,
// locality weighting, connection pool limits, outlier detection, ISTIO_MUTUAL TLS and TLS
// origination (SIMPLE / MUTUAL).
import type { envoy } from '@inboard/xds/codec';
import type {
  ClientTLSSettings,
  ConnectionPoolSettings,
  LoadBalancerSettings,
  OutlierDetection,
  TrafficPolicy,
} from '../config/istio-types.ts';
import { parseDuration } from './durations.ts';
import { clusterEndpoints, localityGroups, supportsUnhealthyEndpoints } from './endpoints.ts';
import { DiscoveryType, DnsLookupFamily, HealthStatus, LbPolicy } from './envoy-names.ts';
import type { MeshIndex, MeshPort, MeshService } from './mesh-index.ts';
import { originationProtocolOptions, originationTlsSocket, upstreamTlsSocket } from './tls-context.ts';

type ClusterIn = envoy.config_cluster_v3_Cluster$In;
type Pack = (typeName: string, message: unknown) => envoy.google_protobuf_Any$In;

const MAX_UINT32 = 0xffff_ffff;
const DEFAULT_RING_SIZE = 1024;

/**
 * istiod's setWarmup / setSlowStartConfig (Envoy sidecar form; its proxyless generator sends no
 * slow start): `warmup` wins over the deprecated `warmupDurationSecs`, and fills in aggression 1.0
 * (with the runtime key `(`, so no runtime value overrides it) and min weight 10 %.
 */
function slowStartConfig(
  lb: LoadBalancerSettings | undefined,
): envoy.config_cluster_v3_Cluster_SlowStartConfig$In | undefined {
  const warmup = lb?.warmup;
  if (warmup !== undefined) {
    return {
      slow_start_window: parseDuration(warmup.duration),
      aggression: { default_value: warmup.aggression ?? 1, runtime_key: '(' },
      min_weight_percent: { value: warmup.minimumPercent ?? 10 },
    };
  }
  if (lb?.warmupDurationSecs !== undefined) return { slow_start_window: parseDuration(lb.warmupDurationSecs) };
  return undefined;
}

/** Load balancer settings: simple policy, then consistent hash (ApplyRingHashLoadBalancer) on top. */
function applyLoadBalancer(c: ClusterIn, lb: LoadBalancerSettings | undefined): void {
  // Slow start goes with the two policies Envoy implements it for: LEAST_REQUEST, and ROUND_ROBIN
  // (also the default here, as istiod applies it to its default policy); not RANDOM or PASSTHROUGH.
  const slowStart = slowStartConfig(lb);
  switch (lb?.simple) {
    case 'LEAST_REQUEST':
    case 'LEAST_CONN':
      c.lb_policy = LbPolicy.LEAST_REQUEST;
      if (slowStart !== undefined) c.least_request_lb_config = { slow_start_config: slowStart };
      break;
    case 'RANDOM':
      // istiod's proxyless generator drops RANDOM; Inboard sends it (a documented deviation)
      c.lb_policy = LbPolicy.RANDOM;
      break;
    case 'PASSTHROUGH':
      // round robin, the unset default; istiod (ORIGINAL_DST) applies no warmup here
      break;
    default:
      // ROUND_ROBIN, UNSPECIFIED: round robin, the unset default
      if (slowStart !== undefined) c.round_robin_lb_config = { slow_start_config: slowStart };
      break;
  }
  const hash = lb?.consistentHash;
  if (hash !== undefined) {
    // a consistent hash replaces the policy, and its lb config (a oneof in Envoy's Cluster) the
    // round robin one; istiod leaves that in place when it sets none of its own, and Envoy
    // ignores it then, so it is simply not sent
    delete c.round_robin_lb_config;
    delete c.least_request_lb_config;
    if (hash.maglev !== undefined) {
      c.lb_policy = LbPolicy.MAGLEV;
      if ((hash.maglev.tableSize ?? 0) !== 0) c.maglev_lb_config = { table_size: { value: hash.maglev.tableSize! } };
    } else if (hash.ringHash !== undefined) {
      c.lb_policy = LbPolicy.RING_HASH;
      const size = hash.ringHash.minimumRingSize ?? 0;
      if (size !== 0) c.ring_hash_lb_config = { minimum_ring_size: { value: size } };
    } else {
      c.lb_policy = LbPolicy.RING_HASH;
      c.ring_hash_lb_config = { minimum_ring_size: { value: hash.minimumRingSize || DEFAULT_RING_SIZE } };
    }
  }
  if ((lb?.localityLbSetting?.distribute?.length ?? 0) > 0) {
    c.common_lb_config = { ...c.common_lb_config, locality_weighted_lb_config: {} };
  }
}

/** applyConnectionPool (Envoy sidecar form): unset limits are MaxUint32, as Istio sets them. */
function applyConnectionPool(c: ClusterIn, pool: ConnectionPoolSettings | undefined): void {
  if (pool === undefined) return;
  const t = {
    max_connections: { value: MAX_UINT32 },
    max_pending_requests: { value: MAX_UINT32 },
    max_requests: { value: MAX_UINT32 },
    max_retries: { value: MAX_UINT32 },
  };
  const h = pool.http;
  if (h !== undefined) {
    if ((h.http2MaxRequests ?? 0) > 0) t.max_requests = { value: h.http2MaxRequests! };
    if ((h.http1MaxPendingRequests ?? 0) > 0) t.max_pending_requests = { value: h.http1MaxPendingRequests! };
    if ((h.maxRetries ?? 0) > 0) t.max_retries = { value: h.maxRetries! };
    if ((h.maxRequestsPerConnection ?? 0) > 0) c.max_requests_per_connection = { value: h.maxRequestsPerConnection! };
  }
  const tcp = pool.tcp;
  if (tcp !== undefined) {
    const ct = parseDuration(tcp.connectTimeout);
    if (ct !== undefined) c.connect_timeout = ct;
    if ((tcp.maxConnections ?? 0) > 0) t.max_connections = { value: tcp.maxConnections! };
  }
  c.circuit_breakers = { thresholds: [t] };
}

/** applyOutlierDetection (Envoy sidecar form); istiod's proxyless generator sends none. */
function applyOutlierDetection(c: ClusterIn, o: OutlierDetection | undefined, svc: MeshService): void {
  if (o === undefined) return;
  const out: envoy.config_cluster_v3_OutlierDetection$In = {
    // success-rate ejection stays off in Istio
    enforcing_success_rate: { value: 0 },
  };
  if (o.consecutiveErrors !== undefined && o.consecutiveErrors > 0) {
    // the deprecated field only counts gateway errors (istio/api#617)
    out.consecutive_gateway_failure = { value: o.consecutiveErrors };
    out.enforcing_consecutive_gateway_failure = { value: 100 };
    out.enforcing_consecutive_5xx = { value: 0 };
  }
  if (o.consecutive5xxErrors !== undefined) {
    out.consecutive_5xx = { value: o.consecutive5xxErrors };
    out.enforcing_consecutive_5xx = { value: o.consecutive5xxErrors > 0 ? 100 : 0 };
  }
  if (o.consecutiveGatewayErrors !== undefined) {
    out.consecutive_gateway_failure = { value: o.consecutiveGatewayErrors };
    out.enforcing_consecutive_gateway_failure = { value: o.consecutiveGatewayErrors > 0 ? 100 : 0 };
  }
  const interval = parseDuration(o.interval);
  if (interval !== undefined) out.interval = interval;
  const base = parseDuration(o.baseEjectionTime);
  if (base !== undefined) out.base_ejection_time = base;
  if ((o.maxEjectionPercent ?? 0) > 0) out.max_ejection_percent = { value: o.maxEjectionPercent! };
  if (o.splitExternalLocalOriginErrors === true) {
    out.split_external_local_origin_errors = true;
    if ((o.consecutiveLocalOriginFailures ?? 0) > 0) {
      out.consecutive_local_origin_failure = { value: o.consecutiveLocalOriginFailures! };
      out.enforcing_consecutive_local_origin_failure = { value: 100 };
    }
    out.enforcing_local_origin_success_rate = { value: 0 };
  }
  c.outlier_detection = out;
  // the panic threshold is disabled unless minHealthPercent says otherwise (and always when
  // unhealthy endpoints are sent)
  const min = supportsUnhealthyEndpoints(svc) ? 0 : (o.minHealthPercent ?? 0);
  c.common_lb_config = { ...c.common_lb_config, healthy_panic_threshold: { value: min } };
}

function credentialName(tls: ClientTLSSettings): boolean {
  return (tls.credentialName ?? '') !== '';
}

/** Stands for a DNS ServiceEntry's own host when it lists no endpoints. */
const DNS_HOST_ENDPOINT = {
  ports: {},
  labels: {},
  locality: '',
  weight: 1,
  serviceAccount: undefined,
  workloadName: '',
  tlsMode: undefined,
  health: 'HEALTHY' as const,
  clusterId: '',
  network: undefined,
};

export interface ClusterOptions {
  readonly index: MeshIndex;
  readonly pack: Pack;
}

/** One cluster of a service port with its effective (merged) traffic policy. */
export function buildCluster(
  name: string,
  svc: MeshService,
  port: MeshPort,
  subsetLabels: Readonly<Record<string, string>> | undefined,
  policy: TrafficPolicy | undefined,
  o: ClusterOptions,
): ClusterIn {
  const c: ClusterIn = { name, alt_stat_name: `${name};` };
  if (svc.resolution === 'DNS' || svc.resolution === 'DNS_ROUND_ROBIN') {
    // DNS ServiceEntries: the client resolves the names itself (istiod's proxyless generator only does EDS)
    c.type = svc.resolution === 'DNS' ? DiscoveryType.STRICT_DNS : DiscoveryType.LOGICAL_DNS;
    c.dns_lookup_family = DnsLookupFamily.V4_ONLY;
    const eps = clusterEndpoints(svc, subsetLabels);
    const dnsEndpoints =
      eps.length > 0 ? eps : [{ ...DNS_HOST_ENDPOINT, address: svc.hostname, namespace: svc.namespace }];
    let groups = localityGroups(o.index, svc, port, dnsEndpoints, (ep) => ep.address);
    if (c.type === DiscoveryType.LOGICAL_DNS) {
      // LOGICAL_DNS takes exactly one endpoint
      groups = groups.slice(0, 1).map((g) => ({ ...g, lb_endpoints: (g.lb_endpoints ?? []).slice(0, 1) }));
    }
    c.load_assignment = { cluster_name: name, endpoints: groups };
  } else {
    c.type = DiscoveryType.EDS;
    c.eds_cluster_config = { service_name: name, eds_config: { ads: {} } };
  }
  if (supportsUnhealthyEndpoints(svc)) {
    c.common_lb_config = {
      override_host_status: {
        statuses: [HealthStatus.HEALTHY, HealthStatus.DRAINING, HealthStatus.UNKNOWN, HealthStatus.DEGRADED],
      },
    };
  }
  applyLoadBalancer(c, policy?.loadBalancer);
  applyConnectionPool(c, policy?.connectionPool);
  applyOutlierDetection(c, policy?.outlierDetection, svc);
  if (policy?.tls?.mode === 'ISTIO_MUTUAL') {
    const sans =
      policy.tls.subjectAltNames !== undefined && policy.tls.subjectAltNames.length > 0
        ? policy.tls.subjectAltNames
        : svc.serviceAccounts;
    c.transport_socket = upstreamTlsSocket(sans, o.pack);
  } else if ((policy?.tls?.mode === 'SIMPLE' || policy?.tls?.mode === 'MUTUAL') && !credentialName(policy.tls)) {
    // TLS origination, in the form istiod builds for Envoy sidecars: istiod's proxyless generator
    // sends none, so with a real istiod a proxyless client originates no TLS here. A ServiceEntry's
    // own subjectAltNames are the default SANs (istiod: the External registry's service accounts).
    const tls = policy.tls;
    const sans = svc.source === 'service-entry' ? svc.serviceAccounts : [];
    c.transport_socket = originationTlsSocket(tls, sans, o.pack);
    // (auto SAN validation follows the DestinationRule's own subjectAltNames, as istiod decides it)
    const options = originationProtocolOptions(tls, o.pack);
    if (options !== undefined) c.typed_extension_protocol_options = options;
  }
  // DISABLE: plaintext. credentialName (a Kubernetes Secret, served over SDS) is not read by this
  // control plane: the cluster gets no TLS context, as istiod gives a sidecar's DestinationRule
  // without workloadSelector (config-lint warns).
  return c;
}
