// xDS resources shaped the way istiod's proxyless generator shapes them (names, domains, filters),
// for tests that need a control plane before the Istio translator exists.
import type { SnapshotMessages } from '@inboard/control-plane';
import type {
  AnyIn,
  ClusterIn,
  ClusterLoadAssignmentIn,
  envoy,
  HttpConnectionManagerIn,
  ListenerIn,
  RouteConfigurationIn,
} from '@inboard/xds/codec';
import { packAny } from '@inboard/xds/codec';

export type RetryPolicyIn = envoy.config_route_v3_RetryPolicy$In;

const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';
const PREVIOUS_HOSTS_TYPE = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';

/** Istio's default retry policy (retry.go), optionally with more retry_on conditions. */
export function istioRetry(
  extraRetryOn: readonly string[] = [],
  overrides: Partial<RetryPolicyIn> = {},
): RetryPolicyIn {
  return {
    num_retries: { value: 2 },
    retry_on: [
      'connect-failure',
      'refused-stream',
      'unavailable',
      'cancelled',
      'retriable-status-codes',
      ...extraRetryOn,
    ].join(','),
    host_selection_retry_max_attempts: 5,
    retry_host_predicate: [
      { name: PREVIOUS_HOSTS, typed_config: { type_url: PREVIOUS_HOSTS_TYPE, value: new Uint8Array(0) } },
    ],
    ...overrides,
  };
}

export interface EndpointSpec {
  readonly address: string;
  readonly port: number;
}

export interface ServiceSpec {
  readonly name: string;
  readonly namespace?: string;
  readonly port: number;
  /** subset name → endpoints */
  readonly subsets: Readonly<Record<string, readonly EndpointSpec[]>>;
  /** subset name → weight; omitted = one route to the default (all endpoints) cluster */
  readonly split?: Readonly<Record<string, number>>;
}

export function fqdnOf(s: ServiceSpec): string {
  return `${s.name}.${s.namespace ?? 'default'}.svc.cluster.local`;
}

export function clusterName(s: ServiceSpec, subset = ''): string {
  return `outbound|${s.port}|${subset}|${fqdnOf(s)}`;
}

/** The router filter, last in every HTTP filter chain. */
export const ROUTER_FILTER: NonNullable<HttpConnectionManagerIn['http_filters']>[number] = {
  name: 'envoy.filters.http.router',
  typed_config: packAny('envoy.extensions.filters.http.router.v3.Router', {}),
};

/** istiod's outbound HTTP connection manager: RDS over ADS, the fault filter, then the router. */
export function outboundHcm(routeName: string, extra: Partial<HttpConnectionManagerIn> = {}): AnyIn {
  return packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
    ...extra,
    rds: { route_config_name: routeName, config_source: { ads: {} } },
    http_filters: [
      {
        name: 'envoy.filters.http.fault',
        typed_config: packAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {}),
      },
      ROUTER_FILTER,
    ],
  });
}

function endpointsOf(eps: readonly EndpointSpec[], name: string): ClusterLoadAssignmentIn {
  return {
    cluster_name: name,
    endpoints: [
      {
        locality: { region: 'local', zone: 'a', sub_zone: '' },
        load_balancing_weight: { value: Math.max(1, eps.length) },
        lb_endpoints: eps.map((e) => ({
          endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
          health_status: 1, // HEALTHY
          load_balancing_weight: { value: 1 },
        })),
      },
    ],
  };
}

export function istioShapedMessages(services: readonly ServiceSpec[], version = '1'): SnapshotMessages {
  const listeners: ListenerIn[] = [];
  const routes: RouteConfigurationIn[] = [];
  const clusters: ClusterIn[] = [];
  const endpoints: ClusterLoadAssignmentIn[] = [];
  for (const s of services) {
    const fqdn = fqdnOf(s);
    const ns = s.namespace ?? 'default';
    const routeName = `outbound|${s.port}||${fqdn}`;
    for (const host of [s.name, `${s.name}.${ns}`, fqdn]) {
      listeners.push({ name: `${host}:${s.port}`, api_listener: { api_listener: outboundHcm(routeName) } });
    }
    const domains: string[] = [];
    for (const d of [fqdn, `${s.name}.${ns}.svc`, `${s.name}.${ns}`, s.name]) domains.push(d, `${d}:${s.port}`);
    const route =
      s.split === undefined
        ? { cluster: clusterName(s) }
        : {
            weighted_clusters: {
              clusters: Object.entries(s.split).map(([subset, weight]) => ({
                name: clusterName(s, subset),
                weight: { value: weight },
              })),
            },
          };
    routes.push({
      name: routeName,
      virtual_hosts: [
        { name: `${fqdn}:${s.port}`, domains, routes: [{ name: 'default', match: { prefix: '/' }, route }] },
      ],
    });
    const all = Object.values(s.subsets).flat();
    const subsetNames = ['', ...Object.keys(s.subsets)];
    for (const subset of subsetNames) {
      const name = clusterName(s, subset);
      clusters.push({
        name,
        type: 3, // EDS
        eds_cluster_config: { service_name: name, eds_config: { ads: {} } },
        connect_timeout: { seconds: 10, nanos: 0 },
      });
      endpoints.push(endpointsOf(subset === '' ? all : (s.subsets[subset] ?? []), name));
    }
  }
  return { version, listeners, routes, clusters, endpoints };
}
