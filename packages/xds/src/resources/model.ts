// The validated, immutable model of the xDS resources Inboard consumes. Raw protobuf messages
// never leave src/resources: everything downstream sees these types, named in Envoy's vocabulary.
// Durations are milliseconds (number, may be fractional); `undefined` means "not set" wherever
// Envoy distinguishes unset from zero.

export type Millis = number;

// ---------------------------------------------------------------------------- matchers

export type StringMatcher =
  | { readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains'; readonly value: string; readonly ignoreCase: boolean }
  /** RE2 syntax, full-string match. `regex` is the pattern text; compiling is the data plane's job. */
  | { readonly kind: 'regex'; readonly regex: string };

export type HeaderMatch =
  | { readonly kind: 'string'; readonly matcher: StringMatcher }
  /** half-open [start, end) on the header parsed as a base-10 integer */
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  /** true: header must be present; false: header must be absent */
  | { readonly kind: 'present'; readonly present: boolean };

export interface HeaderMatcher {
  /** lower-case header name; pseudo headers (`:authority`, `:method`, `:path`, `:scheme`) included */
  readonly name: string;
  readonly match: HeaderMatch;
  readonly invert: boolean;
  readonly treatMissingHeaderAsEmpty: boolean;
}

export interface QueryParameterMatcher {
  readonly name: string;
  /** string_match; undefined: a presence check, see presentMatch */
  readonly matcher: StringMatcher | undefined;
  /**
   * Without a matcher: true (present_match: true, or nothing set) — the parameter must be present;
   * false (present_match: false) — Envoy never matches (an absent parameter fails too).
   */
  readonly presentMatch: boolean;
}

export interface FractionalPercent {
  readonly numerator: number;
  /** 100, 10_000 or 1_000_000 */
  readonly denominator: number;
}

export type PathMatch =
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'path'; readonly value: string }
  | { readonly kind: 'regex'; readonly regex: string }
  | { readonly kind: 'path_separated_prefix'; readonly value: string };

export interface RouteMatch {
  readonly path: PathMatch;
  readonly caseSensitive: boolean;
  readonly headers: readonly HeaderMatcher[];
  readonly queryParameters: readonly QueryParameterMatcher[];
  readonly runtimeFraction: FractionalPercent | undefined;
  /** match only gRPC requests (content-type application/grpc*) */
  readonly grpc: boolean;
}

// ---------------------------------------------------------------------------- header mutation

export type HeaderAppendAction =
  | 'APPEND_IF_EXISTS_OR_ADD'
  | 'ADD_IF_ABSENT'
  | 'OVERWRITE_IF_EXISTS_OR_ADD'
  | 'OVERWRITE_IF_EXISTS';

/** A piece of a header value: literal text, or a `%COMMAND(SUBCOMMAND):LENGTH%` to substitute. */
export type HeaderFormatPart =
  | string
  | {
      readonly command: string;
      /** '' when absent */
      readonly subcommand: string;
      readonly maxLength: number | undefined;
    };

export interface HeaderValueOption {
  readonly name: string;
  /** as configured (`%%` not yet unescaped) */
  readonly value: string;
  /** the value's literal text and commands, in order; undefined when it has no command */
  readonly format?: readonly HeaderFormatPart[] | undefined;
  readonly action: HeaderAppendAction;
  readonly keepEmptyValue: boolean;
}

export interface HeaderMutations {
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToRemove: readonly string[];
}

// ---------------------------------------------------------------------------- route actions

export interface RetryBackOff {
  readonly baseInterval: Millis;
  readonly maxInterval: Millis;
}

export interface RetryPolicy {
  /** the retry_on conditions, split and trimmed (e.g. ["5xx", "connect-failure"]) */
  readonly retryOn: readonly string[];
  readonly numRetries: number;
  readonly perTryTimeout: Millis | undefined;
  readonly perTryIdleTimeout: Millis | undefined;
  readonly retriableStatusCodes: readonly number[];
  readonly retriableHeaders: readonly HeaderMatcher[];
  readonly retriableRequestHeaders: readonly HeaderMatcher[];
  /** undefined: Envoy's default (25 ms base, 10 × base cap) */
  readonly backOff: RetryBackOff | undefined;
  /** names of retry_host_predicate extensions, e.g. envoy.retry_host_predicates.previous_hosts */
  readonly hostPredicates: readonly string[];
  readonly hostSelectionRetryMaxAttempts: number;
  /** retry_priority extension name, if any */
  readonly retryPriority: string | undefined;
}

/** A Set-Cookie attribute: `name=value`, or just `name` when the value is empty. */
export interface CookieAttribute {
  readonly name: string;
  readonly value: string;
}

export type HashPolicy = { readonly terminal: boolean } & (
  | { readonly kind: 'header'; readonly headerName: string }
  | {
      readonly kind: 'cookie';
      readonly name: string;
      readonly ttl: Millis | undefined;
      readonly path: string;
      /** extra attributes of a generated cookie's Set-Cookie (`SameSite=Lax`, `Secure`) */
      readonly attributes: readonly CookieAttribute[];
    }
  | { readonly kind: 'source_ip' }
  | { readonly kind: 'query_parameter'; readonly name: string }
  | { readonly kind: 'filter_state'; readonly key: string }
);

export interface RequestMirrorPolicy {
  readonly cluster: string;
  readonly runtimeFraction: FractionalPercent | undefined;
  readonly traceSampled: boolean | undefined;
  readonly disableShadowHostSuffixAppend: boolean;
}

export interface FaultDelay {
  readonly fixedDelay: Millis | undefined;
  /** delay taken from the x-envoy-fault-delay-request header */
  readonly headerDelay: boolean;
  readonly percentage: FractionalPercent;
}

export interface FaultAbort {
  readonly httpStatus: number | undefined;
  readonly grpcStatus: number | undefined;
  /** abort taken from the x-envoy-fault-abort-request headers */
  readonly headerAbort: boolean;
  readonly percentage: FractionalPercent;
}

/** envoy.extensions.filters.http.fault.v3.HTTPFault */
export interface HttpFault {
  readonly delay: FaultDelay | undefined;
  readonly abort: FaultAbort | undefined;
  readonly upstreamCluster: string;
  readonly headers: readonly HeaderMatcher[];
  readonly downstreamNodes: readonly string[];
  readonly maxActiveFaults: number | undefined;
}

export interface CorsPolicy {
  readonly allowOriginStringMatch: readonly StringMatcher[];
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly maxAge: string;
  readonly allowCredentials: boolean | undefined;
  readonly filterEnabled: FractionalPercent | undefined;
}

/** One typed_per_filter_config entry, decoded. */
export type FilterOverride =
  | { readonly kind: 'fault'; readonly fault: HttpFault }
  | { readonly kind: 'cors'; readonly cors: CorsPolicy }
  /** RBACPerRoute. rules undefined: RBAC enforces nothing here (RBACPerRoute without rbac, or rbac without rules) */
  | { readonly kind: 'rbac'; readonly rules: RbacPolicies | undefined }
  /** FilterConfig{disabled: true}: the named filter is off here */
  | { readonly kind: 'disabled' }
  /** FilterConfig{disabled: false} without a config: turns on a filter that is disabled by default */
  | { readonly kind: 'enabled' };

/**
 * typed_per_filter_config, keyed by the HTTP filter name it overrides (http_filters[].name), as
 * Envoy keys it. Any entry other than `disabled` also enables a filter that is disabled by default.
 * Unknown optional filter configs are dropped; unknown required ones are a validation error.
 * The deprecated route/virtual host `cors` field appears under `envoy.filters.http.cors` unless
 * that key is already taken.
 */
export type FilterOverrides = Readonly<Record<string, FilterOverride>>;

export interface ClusterWeight {
  readonly name: string;
  readonly weight: number;
  readonly headerMutations: HeaderMutations;
  readonly hostRewriteLiteral: string | undefined;
  readonly filterOverrides: FilterOverrides;
}

export interface RegexRewrite {
  readonly regex: string;
  readonly substitution: string;
}

export interface MaxStreamDuration {
  readonly maxStreamDuration: Millis | undefined;
  readonly grpcTimeoutHeaderMax: Millis | undefined;
  readonly grpcTimeoutHeaderOffset: Millis | undefined;
}

export type ClusterSpecifier =
  | { readonly kind: 'cluster'; readonly cluster: string }
  | {
      readonly kind: 'weighted_clusters';
      readonly clusters: readonly ClusterWeight[];
      readonly totalWeight: number;
      /** header_name (lower-cased): a header whose integer value replaces the random value */
      readonly headerName: string | undefined;
    }
  | { readonly kind: 'cluster_header'; readonly header: string };

export interface RouteAction {
  readonly kind: 'route';
  readonly clusterSpecifier: ClusterSpecifier;
  /** 503 (default), 404 or 500 */
  readonly clusterNotFoundResponseCode: number;
  readonly prefixRewrite: string | undefined;
  readonly regexRewrite: RegexRewrite | undefined;
  readonly hostRewriteLiteral: string | undefined;
  readonly hostRewriteHeader: string | undefined;
  readonly autoHostRewrite: boolean;
  /** append_x_forwarded_host: a host rewrite appends the previous Host to x-forwarded-host */
  readonly appendXForwardedHost: boolean;
  /**
   * undefined: Envoy's default of 15 s applies; 0 disables. Ignored (like max_grpc_timeout) when
   * maxStreamDuration is set: Envoy's "new timeouts" then bound the stream instead.
   */
  readonly timeout: Millis | undefined;
  readonly idleTimeout: Millis | undefined;
  /** the route's max_stream_duration message, when present */
  readonly maxStreamDuration: MaxStreamDuration | undefined;
  /** the deprecated max_grpc_timeout: a gRPC request's grpc-timeout becomes the route timeout (0: uncapped) */
  readonly maxGrpcTimeout: Millis | undefined;
  /** the deprecated grpc_timeout_offset, taken off the grpc-timeout when smaller */
  readonly grpcTimeoutOffset: Millis | undefined;
  readonly retryPolicy: RetryPolicy | undefined;
  readonly hashPolicy: readonly HashPolicy[];
  readonly requestMirrorPolicies: readonly RequestMirrorPolicy[];
  readonly priority: 'DEFAULT' | 'HIGH';
}

export interface RedirectAction {
  readonly kind: 'redirect';
  readonly schemeRedirect: string | undefined;
  readonly hostRedirect: string | undefined;
  readonly portRedirect: number | undefined;
  readonly pathRedirect: string | undefined;
  readonly prefixRewrite: string | undefined;
  readonly regexRewrite: RegexRewrite | undefined;
  /** 301 (default), 302, 303, 307, 308 */
  readonly responseCode: number;
  readonly stripQuery: boolean;
}

export interface DirectResponseAction {
  readonly kind: 'direct_response';
  readonly status: number;
  /** inline_string, or inline_bytes as they are (sent byte for byte: they may not be text) */
  readonly body: string | Uint8Array | undefined;
}

/** Server-side routes (inbound listeners): let the application handle the request. */
export interface NonForwardingAction {
  readonly kind: 'non_forwarding';
}

export type Action = RouteAction | RedirectAction | DirectResponseAction | NonForwardingAction;

export interface Route {
  readonly name: string;
  readonly match: RouteMatch;
  readonly action: Action;
  readonly headerMutations: HeaderMutations;
  readonly filterOverrides: FilterOverrides;
  /** filter_metadata.istio.config when present (the VirtualService a route came from) */
  readonly istioConfig: string | undefined;
  readonly decoratorOperation: string | undefined;
}

export interface VirtualHost {
  readonly name: string;
  /** lower-cased */
  readonly domains: readonly string[];
  readonly routes: readonly Route[];
  readonly headerMutations: HeaderMutations;
  readonly retryPolicy: RetryPolicy | undefined;
  readonly requestMirrorPolicies: readonly RequestMirrorPolicy[];
  readonly filterOverrides: FilterOverrides;
  /** send `x-envoy-attempt-count` upstream (istiod sets it on every sidecar virtual host) */
  readonly includeRequestAttemptCount: boolean;
  /** add `x-envoy-attempt-count` to the response sent to the caller */
  readonly includeAttemptCountInResponse: boolean;
}

export interface RouteConfiguration {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHost[];
  readonly headerMutations: HeaderMutations;
  readonly ignorePortInHostMatching: boolean;
  readonly mostSpecificHeaderMutationsWins: boolean;
  readonly maxDirectResponseBodySizeBytes: number;
  readonly requestMirrorPolicies: readonly RequestMirrorPolicy[];
  /** strip `;params` from path segments before path matching */
  readonly ignorePathParametersInPathMatching: boolean;
  /** route-configuration-level typed_per_filter_config (least specific) */
  readonly filterOverrides: FilterOverrides;
}

// ---------------------------------------------------------------------------- RBAC

export type RbacPermission =
  | { readonly kind: 'any' }
  | { readonly kind: 'and' | 'or'; readonly rules: readonly RbacPermission[] }
  | { readonly kind: 'not'; readonly rule: RbacPermission }
  | { readonly kind: 'header'; readonly matcher: HeaderMatcher }
  | { readonly kind: 'url_path'; readonly matcher: StringMatcher }
  | { readonly kind: 'destination_ip'; readonly cidr: CidrRange }
  | { readonly kind: 'destination_port'; readonly port: number }
  | { readonly kind: 'destination_port_range'; readonly start: number; readonly end: number }
  | { readonly kind: 'requested_server_name'; readonly matcher: StringMatcher }
  /**
   * uri_template (UriTemplateMatchConfig): the path template, and the regular expression Envoy
   * builds from it, matched against the whole path without query and fragment
   */
  | { readonly kind: 'uri_template'; readonly pathTemplate: string; readonly regex: string }
  /** metadata and other permissions Inboard cannot evaluate: never match (as gRPC does) */
  | { readonly kind: 'unsupported'; readonly what: string };

export type RbacPrincipal =
  | { readonly kind: 'any' }
  | { readonly kind: 'and' | 'or'; readonly ids: readonly RbacPrincipal[] }
  | { readonly kind: 'not'; readonly id: RbacPrincipal }
  /** authenticated.principal_name: the peer's SPIFFE URI SAN (or subject) */
  | { readonly kind: 'authenticated'; readonly matcher: StringMatcher | undefined }
  | { readonly kind: 'source_ip' | 'direct_remote_ip' | 'remote_ip'; readonly cidr: CidrRange }
  | { readonly kind: 'header'; readonly matcher: HeaderMatcher }
  | { readonly kind: 'url_path'; readonly matcher: StringMatcher }
  | { readonly kind: 'unsupported'; readonly what: string };

export interface CidrRange {
  readonly addressPrefix: string;
  readonly prefixLen: number;
}

export interface RbacPolicy {
  readonly name: string;
  readonly permissions: readonly RbacPermission[];
  readonly principals: readonly RbacPrincipal[];
}

export interface RbacPolicies {
  readonly action: 'ALLOW' | 'DENY' | 'LOG';
  readonly policies: readonly RbacPolicy[];
}

// ---------------------------------------------------------------------------- listeners

export type HttpFilterConfig =
  | { readonly kind: 'router' }
  | { readonly kind: 'fault'; readonly fault: HttpFault }
  /** rules undefined: the filter is present but enforces nothing (RBAC with no rules) */
  | { readonly kind: 'rbac'; readonly rules: RbacPolicies | undefined }
  | { readonly kind: 'cors' }
  /** an optional filter Inboard does not implement: skipped */
  | { readonly kind: 'unsupported'; readonly typeUrl: string };

export interface HttpFilter {
  readonly name: string;
  readonly config: HttpFilterConfig;
  /** disabled by default: only active where a route's filterOverrides enables it */
  readonly disabled: boolean;
}

export interface HttpConnectionManager {
  /** set when routes come from RDS */
  readonly routeConfigName: string | undefined;
  /** set when the route configuration is inline */
  readonly routeConfig: RouteConfiguration | undefined;
  readonly httpFilters: readonly HttpFilter[];
  /** common_http_protocol_options.max_stream_duration (gRFC A31 default timeout) */
  readonly maxStreamDuration: Millis | undefined;
  /** stream_idle_timeout (undefined: Envoy's 5 min default; 0 disables) */
  readonly streamIdleTimeout: Millis | undefined;
  /** generate_request_id (default true): an x-request-id for requests that come without one */
  readonly generateRequestId: boolean;
}

export interface SocketAddress {
  readonly address: string;
  readonly port: number;
}

/** Identity and trust from a certificate provider instance (the bootstrap's certificate_providers). */
export interface CertificateProviderInstance {
  readonly instanceName: string;
  readonly certificateName: string;
}

/**
 * The PEM text of an Envoy DataSource, read when the resource was decoded (a `filename` is read
 * then, as Envoy reads it when it builds the cluster; inline bytes and strings are taken as they are).
 */
export interface PemSource {
  /** the file name, `inline` or `env:NAME`: for messages */
  readonly source: string;
  readonly pem: string;
}

/** tls_certificates[0]: a client (or server) certificate chain and its private key. */
export interface TlsCertificatePair {
  readonly certificateChain: PemSource;
  readonly privateKey: PemSource;
}

export interface TlsContext {
  readonly identityCertificate: CertificateProviderInstance | undefined;
  readonly rootCertificate: CertificateProviderInstance | undefined;
  /** UpstreamTlsContext only: common_tls_context.tls_certificates (the DestinationRule MUTUAL form) */
  readonly tlsCertificate: TlsCertificatePair | undefined;
  /** UpstreamTlsContext only: validation_context.trusted_ca (the DestinationRule caCertificates form) */
  readonly trustedCa: PemSource | undefined;
  /** UpstreamTlsContext only: validation_context.system_root_certs (the platform's trust store) */
  readonly systemRootCerts: boolean;
  /** UpstreamTlsContext only: validation_context.crl */
  readonly crl: PemSource | undefined;
  /**
   * UpstreamTlsContext only: false when the validation context names no trust at all (istiod's
   * insecureSkipVerify form): Envoy then accepts any server certificate.
   */
  readonly verifyPeer: boolean;
  /** SANs the peer must present (exact/prefix/... on URI/DNS SANs); empty = any */
  readonly matchSubjectAltNames: readonly StringMatcher[];
  readonly sni: string | undefined;
  /**
   * The cluster's upstream_http_protocol_options.auto_sni: the SNI is the request's host (without
   * port) when `sni` is not set. Always false on listeners.
   */
  readonly autoSni: boolean;
  /** upstream_http_protocol_options.auto_san_validation: the server certificate must match that host */
  readonly autoSanValidation: boolean;
  readonly alpnProtocols: readonly string[];
  /** DownstreamTlsContext only */
  readonly requireClientCertificate: boolean;
}

export interface FilterChain {
  readonly name: string;
  readonly hcm: HttpConnectionManager;
  /** undefined: plaintext */
  readonly tls: TlsContext | undefined;
  /** filter_chain_match.destination_port / prefix_ranges / source ... kept opaque for now */
  readonly match: FilterChainMatch | undefined;
}

export interface FilterChainMatch {
  readonly destinationPort: number | undefined;
  readonly prefixRanges: readonly CidrRange[];
  readonly transportProtocol: string;
  readonly applicationProtocols: readonly string[];
  readonly sourcePrefixRanges: readonly CidrRange[];
}

export interface Listener {
  readonly name: string;
  readonly address: SocketAddress | undefined;
  /** client side: api_listener holding an HttpConnectionManager */
  readonly apiListener: HttpConnectionManager | undefined;
  /** server side (inbound): filter chains, each with an HttpConnectionManager */
  readonly filterChains: readonly FilterChain[];
  readonly defaultFilterChain: FilterChain | undefined;
}

// ---------------------------------------------------------------------------- clusters

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';

export interface CircuitBreakerThresholds {
  readonly priority: 'DEFAULT' | 'HIGH';
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** set when the thresholds carry a retry_budget: it replaces maxRetries */
  readonly retryBudget?: CircuitBreakerRetryBudget;
}

/** Thresholds.RetryBudget: retries may be this share of the requests active and pending, never fewer than the floor. */
export interface CircuitBreakerRetryBudget {
  /** percent, default 20 */
  readonly budgetPercent: number;
  /** default 3 */
  readonly minRetryConcurrency: number;
}

/** SlowStartConfig with Envoy's defaults filled in. */
export interface SlowStartConfig {
  /** slow_start_window in whole milliseconds (Envoy truncates to ms), > 0 */
  readonly windowMs: Millis;
  /** aggression's default_value, 1.0 when unset or not > 0 (Envoy falls back to 1.0 there); the runtime key is not read */
  readonly aggression: number;
  /** min_weight_percent / 100, default 0.1 */
  readonly minWeightFraction: number;
}

export interface OutlierDetection {
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly consecutiveLocalOriginFailure: number;
  readonly enforcingConsecutiveLocalOriginFailure: number;
  readonly enforcingLocalOriginSuccessRate: number;
  readonly enforcingFailurePercentageLocalOrigin: number;
  readonly interval: Millis;
  readonly baseEjectionTime: Millis;
  /** max_ejection_time, default 300 s, raised to base_ejection_time when that is larger */
  readonly maxEjectionTime: Millis;
  readonly maxEjectionTimeJitter: Millis;
  readonly maxEjectionPercent: number;
  /** eject at least one host even when max_ejection_percent would forbid it */
  readonly alwaysEjectOneHost: boolean;
  readonly enforcingConsecutive5xx: number;
  readonly enforcingConsecutiveGatewayFailure: number;
  readonly enforcingSuccessRate: number;
  readonly successRateMinimumHosts: number;
  readonly successRateRequestVolume: number;
  readonly successRateStdevFactor: number;
  readonly failurePercentageThreshold: number;
  readonly enforcingFailurePercentage: number;
  readonly failurePercentageMinimumHosts: number;
  readonly failurePercentageRequestVolume: number;
  readonly splitExternalLocalOriginErrors: boolean;
}

export interface Cluster {
  readonly name: string;
  readonly type: 'EDS' | 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'AGGREGATE';
  /** EDS: the ClusterLoadAssignment name to watch (eds_cluster_config.service_name or the cluster name) */
  readonly edsServiceName: string | undefined;
  /** STATIC / DNS clusters: the inline load assignment */
  readonly loadAssignment: ClusterLoadAssignment | undefined;
  /** AGGREGATE: the prioritized child cluster names */
  readonly aggregateClusters: readonly string[];
  readonly lbPolicy: LbPolicy;
  /** RING_HASH only (defaults 1024 / 8M) */
  readonly ringHash: { readonly minimumRingSize: number; readonly maximumRingSize: number } | undefined;
  /** default 2 */
  readonly leastRequestChoiceCount: number;
  /** LEAST_REQUEST's active_request_bias (weighted hosts): default 1.0 */
  readonly leastRequestActiveRequestBias: number;
  /** MAGLEV only (default 65537) */
  readonly maglevTableSize: number | undefined;
  /**
   * ROUND_ROBIN / LEAST_REQUEST slow start (Istio `warmupDurationSecs` / `warmup`); undefined when
   * not configured or its window is 0 (Envoy's "slow start disabled")
   */
  readonly slowStart: SlowStartConfig | undefined;
  readonly connectTimeout: Millis;
  /** always [DEFAULT, HIGH], Envoy's defaults (1024/1024/1024/3) filled in where unset */
  readonly circuitBreakers: readonly CircuitBreakerThresholds[];
  readonly outlierDetection: OutlierDetection | undefined;
  /** percent, default 50; 0 disables panic mode */
  readonly healthyPanicThreshold: number;
  readonly localityWeightedLb: boolean;
  readonly tls: TlsContext | undefined;
  /** true when the cluster speaks HTTP/2 to its endpoints (http2_protocol_options / explicit h2) */
  readonly http2: boolean;
  readonly maxRequestsPerConnection: number | undefined;
  readonly altStatName: string;
  /** filter_metadata.istio fields when present (services, subset, config) */
  readonly istioMetadata: Readonly<Record<string, unknown>> | undefined;
}

// ---------------------------------------------------------------------------- endpoints

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export interface LbEndpoint {
  readonly address: SocketAddress;
  readonly additionalAddresses: readonly SocketAddress[];
  readonly hostname: string;
  readonly healthStatus: HealthStatus;
  /** default 1 */
  readonly loadBalancingWeight: number;
  /** filter_metadata["envoy.transport_socket_match"].tlsMode, e.g. "istio" */
  readonly tlsMode: string | undefined;
  /** filter_metadata.istio.workload: "<workload>;<namespace>;<canonical service>;<revision>;<cluster>" */
  readonly istioWorkload: string | undefined;
}

export interface LocalityLbEndpoints {
  readonly locality: Locality;
  readonly lbEndpoints: readonly LbEndpoint[];
  /** undefined when the control plane set none */
  readonly loadBalancingWeight: number | undefined;
  readonly priority: number;
}

export interface DropOverload {
  readonly category: string;
  readonly dropPercentage: FractionalPercent;
}

export interface ClusterLoadAssignment {
  readonly clusterName: string;
  readonly endpoints: readonly LocalityLbEndpoints[];
  /** default 140 (Envoy's 1.4 factor) */
  readonly overprovisioningFactor: number;
  readonly dropOverloads: readonly DropOverload[];
}
