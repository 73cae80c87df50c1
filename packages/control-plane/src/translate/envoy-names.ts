// Names istiod writes into generated resources (filter names, transport socket, metadata keys)
// and the numeric values of the Envoy enums we set. The generated codecs carry enums as numbers.

export const FAULT_FILTER = 'envoy.filters.http.fault';
export const ROUTER_FILTER = 'envoy.filters.http.router';
export const CORS_FILTER = 'envoy.filters.http.cors';
export const RBAC_FILTER = 'envoy.filters.http.rbac';
export const RBAC_DENY_FILTER = 'envoy.filters.http.rbac.DENY';
export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const PREVIOUS_HOSTS_PREDICATE = 'envoy.retry_host_predicates.previous_hosts';
export const PREVIOUS_PRIORITIES = 'envoy.retry_priorities.previous_priorities';
export const TRANSPORT_SOCKET_MATCH_KEY = 'envoy.transport_socket_match';
export const INBOUND_LISTENER_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

export const PREVIOUS_HOSTS_TYPE = 'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';
export const PREVIOUS_PRIORITIES_TYPE =
  'envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig';

/** envoy.config.cluster.v3.Cluster.DiscoveryType */
export const DiscoveryType = { STATIC: 0, STRICT_DNS: 1, LOGICAL_DNS: 2, EDS: 3 } as const;
/** envoy.config.cluster.v3.Cluster.LbPolicy */
export const LbPolicy = { ROUND_ROBIN: 0, LEAST_REQUEST: 1, RING_HASH: 2, RANDOM: 3, MAGLEV: 5 } as const;
/** envoy.config.core.v3.HeaderValueOption.HeaderAppendAction */
export const AppendAction = { APPEND_IF_EXISTS_OR_ADD: 0, OVERWRITE_IF_EXISTS_OR_ADD: 2 } as const;
/** envoy.config.core.v3.HealthStatus */
export const HealthStatus = { UNKNOWN: 0, HEALTHY: 1, UNHEALTHY: 2, DRAINING: 3, TIMEOUT: 4, DEGRADED: 5 } as const;
/** envoy.config.rbac.v3.RBAC.Action */
export const RbacAction = { ALLOW: 0, DENY: 1 } as const;
/** envoy.config.route.v3.RedirectAction.RedirectResponseCode */
export const RedirectCode: Readonly<Record<number, number>> = { 301: 0, 302: 1, 303: 2, 307: 3, 308: 4 };
/** envoy.type.v3.FractionalPercent.DenominatorType */
export const Denominator = { HUNDRED: 0, TEN_THOUSAND: 1, MILLION: 2 } as const;
/** envoy.config.cluster.v3.Cluster.DnsLookupFamily */
export const DnsLookupFamily = { V4_ONLY: 1 } as const;
