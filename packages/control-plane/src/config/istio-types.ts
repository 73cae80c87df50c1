/**
 * The Istio API subset Inboard's embedded istiod understands, plus the service registry it
 * reads services and endpoints from. This file is the contract between config loading
 * (YAML + zod, `src/config/`) and translation (`src/translate/`): field names are exactly
 * the Istio CRD field names (camelCase, as they appear in YAML). Types only, no runtime code.
 *
 * Conventions:
 * - Durations are Istio/protobuf JSON duration strings ("1s", "0.5s", "100ms", "1m", "1h").
 * - Protobuf wrapper fields (BoolValue, UInt32Value, ...) appear as their plain value, as in YAML.
 * - Everything is readonly: config objects are immutable once validated.
 */

/** A string → string map (labels, annotations, header maps). */
export type StringMap = Readonly<Record<string, string>>;

/** A protobuf JSON duration: "10s", "0.5s", "100ms", "1m", "2h". */
export type DurationString = string;

export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: StringMap;
  readonly annotations?: StringMap;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly creationTimestamp?: string;
}

// ---------------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------------

/** istio.networking.v1.StringMatch: exactly one of exact / prefix / regex (RE2). */
export interface StringMatch {
  readonly exact?: string;
  readonly prefix?: string;
  readonly regex?: string;
}

/** istio.networking.v1.Percent: 0.0 – 100.0. */
export interface Percent {
  readonly value: number;
}

export interface PortSelector {
  readonly number?: number;
}

/** networking WorkloadSelector (Sidecar, DestinationRule): `labels`. */
export interface NetworkingWorkloadSelector {
  readonly labels?: StringMap;
}

/** istio.type.v1beta1.WorkloadSelector (security APIs): `matchLabels`. */
export interface WorkloadSelector {
  readonly matchLabels?: StringMap;
}

export interface PolicyTargetReference {
  readonly group?: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

// ---------------------------------------------------------------------------------------------
// networking.istio.io — VirtualService
// ---------------------------------------------------------------------------------------------

export interface Destination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: PortSelector;
}

export interface HeaderOperations {
  readonly set?: StringMap;
  readonly add?: StringMap;
  readonly remove?: readonly string[];
}

export interface Headers {
  readonly request?: HeaderOperations;
  readonly response?: HeaderOperations;
}

export interface HTTPMatchRequest {
  readonly name?: string;
  readonly uri?: StringMatch;
  readonly scheme?: StringMatch;
  readonly method?: StringMatch;
  readonly authority?: StringMatch;
  /** Header name (lowercase) → match. A regex of "*" or an empty match means "present". */
  readonly headers?: Readonly<Record<string, StringMatch>>;
  readonly port?: number;
  readonly sourceLabels?: StringMap;
  readonly gateways?: readonly string[];
  readonly queryParams?: Readonly<Record<string, StringMatch>>;
  readonly ignoreUriCase?: boolean;
  readonly withoutHeaders?: Readonly<Record<string, StringMatch>>;
  readonly sourceNamespace?: string;
  readonly statPrefix?: string;
}

export interface HTTPRouteDestination {
  readonly destination: Destination;
  readonly weight?: number;
  readonly headers?: Headers;
}

export interface RouteDestination {
  readonly destination: Destination;
  readonly weight?: number;
}

export interface HTTPRedirect {
  readonly uri?: string;
  readonly authority?: string;
  readonly port?: number;
  readonly derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  readonly scheme?: string;
  /** Default 301. */
  readonly redirectCode?: number;
}

export interface HTTPBody {
  readonly string?: string;
  /** Base64, as in protobuf JSON. */
  readonly bytes?: string;
}

export interface HTTPDirectResponse {
  readonly status: number;
  readonly body?: HTTPBody;
}

export interface Delegate {
  readonly name: string;
  readonly namespace?: string;
}

export interface RegexRewrite {
  readonly match: string;
  readonly rewrite: string;
}

export interface HTTPRewrite {
  readonly uri?: string;
  readonly authority?: string;
  readonly uriRegexRewrite?: RegexRewrite;
}

export interface HTTPRetry {
  readonly attempts?: number;
  readonly perTryTimeout?: DurationString;
  /** Comma separated Envoy retry_on policies and/or HTTP status codes ("5xx,503,gateway-error"). */
  readonly retryOn?: string;
  readonly retryRemoteLocalities?: boolean;
  readonly retryIgnorePreviousHosts?: boolean;
  readonly backoff?: DurationString;
}

export interface HTTPFaultInjectionDelay {
  readonly fixedDelay?: DurationString;
  readonly exponentialDelay?: DurationString;
  readonly percentage?: Percent;
  /** Deprecated integer percentage (0–100). */
  readonly percent?: number;
}

export interface HTTPFaultInjectionAbort {
  readonly httpStatus?: number;
  readonly grpcStatus?: string;
  readonly http2Error?: string;
  readonly percentage?: Percent;
}

export interface HTTPFaultInjection {
  readonly delay?: HTTPFaultInjectionDelay;
  readonly abort?: HTTPFaultInjectionAbort;
}

export interface HTTPMirrorPolicy {
  readonly destination: Destination;
  readonly percentage?: Percent;
}

export interface CorsPolicy {
  readonly allowOrigins?: readonly StringMatch[];
  /** Deprecated exact origins. */
  readonly allowOrigin?: readonly string[];
  readonly allowMethods?: readonly string[];
  readonly allowHeaders?: readonly string[];
  readonly exposeHeaders?: readonly string[];
  readonly maxAge?: DurationString;
  readonly allowCredentials?: boolean;
  readonly unmatchedPreflights?: 'UNSPECIFIED' | 'FORWARD' | 'IGNORE';
}

export interface HTTPRoute {
  readonly name?: string;
  readonly match?: readonly HTTPMatchRequest[];
  readonly route?: readonly HTTPRouteDestination[];
  readonly redirect?: HTTPRedirect;
  readonly directResponse?: HTTPDirectResponse;
  readonly delegate?: Delegate;
  readonly rewrite?: HTTPRewrite;
  readonly timeout?: DurationString;
  readonly retries?: HTTPRetry;
  readonly fault?: HTTPFaultInjection;
  readonly mirror?: Destination;
  readonly mirrors?: readonly HTTPMirrorPolicy[];
  /** Deprecated integer mirror percentage. */
  readonly mirrorPercent?: number;
  readonly mirrorPercentage?: Percent;
  readonly corsPolicy?: CorsPolicy;
  readonly headers?: Headers;
}

export interface L4MatchAttributes {
  readonly destinationSubnets?: readonly string[];
  readonly port?: number;
  readonly sourceSubnet?: string;
  readonly sourceLabels?: StringMap;
  readonly gateways?: readonly string[];
  readonly sourceNamespace?: string;
}

export interface TLSMatchAttributes extends L4MatchAttributes {
  readonly sniHosts: readonly string[];
}

/** Accepted and validated but not translated: proxyless clients only speak HTTP routes. */
export interface TCPRoute {
  readonly match?: readonly L4MatchAttributes[];
  readonly route?: readonly RouteDestination[];
}

/** Accepted and validated but not translated: proxyless clients only speak HTTP routes. */
export interface TLSRoute {
  readonly match: readonly TLSMatchAttributes[];
  readonly route?: readonly RouteDestination[];
}

export interface VirtualServiceSpec {
  readonly hosts?: readonly string[];
  readonly gateways?: readonly string[];
  readonly http?: readonly HTTPRoute[];
  readonly tls?: readonly TLSRoute[];
  readonly tcp?: readonly TCPRoute[];
  readonly exportTo?: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// networking.istio.io — DestinationRule
// ---------------------------------------------------------------------------------------------

export type SimpleLB = 'UNSPECIFIED' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST';

export interface HTTPCookie {
  readonly name: string;
  readonly path?: string;
  readonly ttl?: DurationString;
}

export interface RingHash {
  readonly minimumRingSize?: number;
}

export interface MagLev {
  readonly tableSize?: number;
}

export interface ConsistentHashLB {
  readonly httpHeaderName?: string;
  readonly httpCookie?: HTTPCookie;
  readonly useSourceIp?: boolean;
  readonly httpQueryParameterName?: string;
  readonly ringHash?: RingHash;
  readonly maglev?: MagLev;
  /** Deprecated: use ringHash.minimumRingSize. */
  readonly minimumRingSize?: number;
}

export interface LocalityDistribute {
  readonly from?: string;
  /** Locality ("region/zone/subzone", wildcards allowed) → weight percent. */
  readonly to?: Readonly<Record<string, number>>;
}

export interface LocalityFailover {
  readonly from?: string;
  readonly to?: string;
}

export interface LocalityLoadBalancerSetting {
  readonly distribute?: readonly LocalityDistribute[];
  readonly failover?: readonly LocalityFailover[];
  readonly failoverPriority?: readonly string[];
  readonly enabled?: boolean;
}

export interface WarmupConfiguration {
  readonly duration: DurationString;
  readonly minimumPercent?: number;
  readonly aggression?: number;
}

export interface LoadBalancerSettings {
  readonly simple?: SimpleLB;
  readonly consistentHash?: ConsistentHashLB;
  readonly localityLbSetting?: LocalityLoadBalancerSetting;
  readonly warmupDurationSecs?: DurationString;
  readonly warmup?: WarmupConfiguration;
}

export interface TcpKeepalive {
  readonly probes?: number;
  readonly time?: DurationString;
  readonly interval?: DurationString;
}

export interface TCPSettings {
  readonly maxConnections?: number;
  readonly connectTimeout?: DurationString;
  readonly tcpKeepalive?: TcpKeepalive;
  readonly maxConnectionDuration?: DurationString;
  readonly idleTimeout?: DurationString;
}

export interface HTTPSettings {
  readonly http1MaxPendingRequests?: number;
  readonly http2MaxRequests?: number;
  readonly maxRequestsPerConnection?: number;
  readonly maxRetries?: number;
  readonly idleTimeout?: DurationString;
  readonly h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
  readonly useClientProtocol?: boolean;
  readonly maxConcurrentStreams?: number;
}

export interface ConnectionPoolSettings {
  readonly tcp?: TCPSettings;
  readonly http?: HTTPSettings;
}

export interface OutlierDetection {
  readonly splitExternalLocalOriginErrors?: boolean;
  readonly consecutiveLocalOriginFailures?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly consecutive5xxErrors?: number;
  /** Deprecated: use consecutive5xxErrors / consecutiveGatewayErrors. */
  readonly consecutiveErrors?: number;
  readonly interval?: DurationString;
  readonly baseEjectionTime?: DurationString;
  readonly maxEjectionPercent?: number;
  readonly minHealthPercent?: number;
}

export interface ClientTLSSettings {
  readonly mode?: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  readonly clientCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  readonly credentialName?: string;
  readonly subjectAltNames?: readonly string[];
  readonly sni?: string;
  readonly insecureSkipVerify?: boolean;
  readonly caCrl?: string;
}

export interface PortTrafficPolicy {
  readonly port?: PortSelector;
  readonly loadBalancer?: LoadBalancerSettings;
  readonly connectionPool?: ConnectionPoolSettings;
  readonly outlierDetection?: OutlierDetection;
  readonly tls?: ClientTLSSettings;
}

export interface TrafficPolicy {
  readonly loadBalancer?: LoadBalancerSettings;
  readonly connectionPool?: ConnectionPoolSettings;
  readonly outlierDetection?: OutlierDetection;
  readonly tls?: ClientTLSSettings;
  readonly portLevelSettings?: readonly PortTrafficPolicy[];
}

export interface Subset {
  readonly name: string;
  readonly labels?: StringMap;
  readonly trafficPolicy?: TrafficPolicy;
}

export interface DestinationRuleSpec {
  readonly host: string;
  readonly trafficPolicy?: TrafficPolicy;
  readonly subsets?: readonly Subset[];
  readonly exportTo?: readonly string[];
  readonly workloadSelector?: WorkloadSelector;
}

// ---------------------------------------------------------------------------------------------
// networking.istio.io — Gateway, ServiceEntry, WorkloadEntry, Sidecar
// ---------------------------------------------------------------------------------------------

export interface ServerPort {
  readonly number: number;
  readonly protocol?: string;
  readonly name?: string;
  readonly targetPort?: number;
}

export interface ServerTLSSettings {
  readonly httpsRedirect?: boolean;
  readonly mode?: 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL' | 'OPTIONAL_MUTUAL';
  readonly serverCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  readonly credentialName?: string;
  readonly subjectAltNames?: readonly string[];
  readonly minProtocolVersion?: string;
  readonly maxProtocolVersion?: string;
  readonly cipherSuites?: readonly string[];
}

export interface Server {
  readonly port: ServerPort;
  readonly bind?: string;
  /** `[namespace/]host`, host may be "*" or start with "*.". */
  readonly hosts: readonly string[];
  readonly tls?: ServerTLSSettings;
  readonly defaultEndpoint?: string;
  readonly name?: string;
}

export interface GatewaySpec {
  readonly servers?: readonly Server[];
  readonly selector?: StringMap;
}

export interface ServicePort {
  readonly number: number;
  readonly protocol?: string;
  readonly name?: string;
  readonly targetPort?: number;
}

/** istio.networking.v1.WorkloadEntry spec (also the inline `endpoints` of a ServiceEntry). */
export interface WorkloadEntrySpec {
  readonly address?: string;
  /** Service port name → workload port. */
  readonly ports?: Readonly<Record<string, number>>;
  readonly labels?: StringMap;
  readonly network?: string;
  readonly locality?: string;
  readonly weight?: number;
  readonly serviceAccount?: string;
}

export interface ServiceEntrySpec {
  readonly hosts: readonly string[];
  readonly addresses?: readonly string[];
  readonly ports?: readonly ServicePort[];
  readonly location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  readonly resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  readonly endpoints?: readonly WorkloadEntrySpec[];
  readonly workloadSelector?: NetworkingWorkloadSelector;
  readonly exportTo?: readonly string[];
  readonly subjectAltNames?: readonly string[];
}

export interface IstioEgressListener {
  readonly port?: ServicePort;
  readonly bind?: string;
  readonly captureMode?: 'DEFAULT' | 'IPTABLES' | 'NONE';
  /** `namespace/dnsName`: "./*", "ns/*", "*\/host", "~/*". */
  readonly hosts: readonly string[];
}

export interface IstioIngressListener {
  readonly port: ServicePort;
  readonly bind?: string;
  readonly captureMode?: 'DEFAULT' | 'IPTABLES' | 'NONE';
  readonly defaultEndpoint?: string;
}

export interface OutboundTrafficPolicy {
  readonly mode?: 'REGISTRY_ONLY' | 'ALLOW_ANY';
}

export interface SidecarSpec {
  readonly workloadSelector?: NetworkingWorkloadSelector;
  readonly ingress?: readonly IstioIngressListener[];
  readonly egress?: readonly IstioEgressListener[];
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
}

// ---------------------------------------------------------------------------------------------
// security.istio.io
// ---------------------------------------------------------------------------------------------

export type MutualTLSMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationMutualTLS {
  readonly mode?: MutualTLSMode;
}

export interface PeerAuthenticationSpec {
  readonly selector?: WorkloadSelector;
  readonly mtls?: PeerAuthenticationMutualTLS;
  /** Port number (as a map key) → mode. Only valid together with a selector. */
  readonly portLevelMtls?: Readonly<Record<string, PeerAuthenticationMutualTLS>>;
}

export interface Source {
  readonly principals?: readonly string[];
  readonly notPrincipals?: readonly string[];
  readonly requestPrincipals?: readonly string[];
  readonly notRequestPrincipals?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly notNamespaces?: readonly string[];
  readonly ipBlocks?: readonly string[];
  readonly notIpBlocks?: readonly string[];
  readonly remoteIpBlocks?: readonly string[];
  readonly notRemoteIpBlocks?: readonly string[];
  readonly serviceAccounts?: readonly string[];
  readonly notServiceAccounts?: readonly string[];
}

export interface Operation {
  readonly hosts?: readonly string[];
  readonly notHosts?: readonly string[];
  readonly ports?: readonly string[];
  readonly notPorts?: readonly string[];
  readonly methods?: readonly string[];
  readonly notMethods?: readonly string[];
  readonly paths?: readonly string[];
  readonly notPaths?: readonly string[];
}

export interface RuleFrom {
  readonly source?: Source;
}

export interface RuleTo {
  readonly operation?: Operation;
}

export interface Condition {
  readonly key: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
}

export interface Rule {
  readonly from?: readonly RuleFrom[];
  readonly to?: readonly RuleTo[];
  readonly when?: readonly Condition[];
}

export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface AuthorizationPolicySpec {
  readonly selector?: WorkloadSelector;
  readonly targetRef?: PolicyTargetReference;
  readonly targetRefs?: readonly PolicyTargetReference[];
  readonly rules?: readonly Rule[];
  /** Default ALLOW. */
  readonly action?: AuthorizationAction;
  readonly provider?: { readonly name: string };
}

export interface JWTHeader {
  readonly name: string;
  readonly prefix?: string;
}

export interface ClaimToHeader {
  readonly header: string;
  readonly claim: string;
}

export interface JWTRule {
  readonly issuer: string;
  readonly audiences?: readonly string[];
  readonly jwksUri?: string;
  readonly jwks?: string;
  readonly fromHeaders?: readonly JWTHeader[];
  readonly fromParams?: readonly string[];
  readonly fromCookies?: readonly string[];
  readonly outputPayloadToHeader?: string;
  readonly forwardOriginalToken?: boolean;
  readonly outputClaimToHeaders?: readonly ClaimToHeader[];
  readonly timeout?: DurationString;
}

export interface RequestAuthenticationSpec {
  readonly selector?: WorkloadSelector;
  readonly targetRef?: PolicyTargetReference;
  readonly targetRefs?: readonly PolicyTargetReference[];
  readonly jwtRules?: readonly JWTRule[];
}

// ---------------------------------------------------------------------------------------------
// gateway.networking.k8s.io — HTTPRoute (v1, v1beta1) and GRPCRoute (v1). Field names are the Gateway API's. Inboard
// reads the mesh (GAMMA) form: parentRefs naming a Service (group "") or an Istio ServiceEntry.
// Defaults the API server would fill in (match path `PathPrefix /`, header / query `Exact`,
// backend `Service` with weight 1, redirect 302) are applied by the translator.
// ---------------------------------------------------------------------------------------------

export interface ParentReference {
  /** Default "gateway.networking.k8s.io" (a Gateway); "" with kind Service for mesh routes. */
  readonly group?: string;
  /** Default "Gateway". */
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

export type HTTPPathMatchType = 'Exact' | 'PathPrefix' | 'RegularExpression';

export interface HTTPPathMatch {
  readonly type?: HTTPPathMatchType;
  readonly value?: string;
}

export interface HTTPHeaderMatch {
  readonly type?: 'Exact' | 'RegularExpression';
  readonly name: string;
  readonly value: string;
}

export type HTTPQueryParamMatch = HTTPHeaderMatch;

export interface HTTPRouteMatch {
  readonly path?: HTTPPathMatch;
  readonly headers?: readonly HTTPHeaderMatch[];
  readonly queryParams?: readonly HTTPQueryParamMatch[];
  readonly method?: string;
}

export interface HTTPHeader {
  readonly name: string;
  readonly value: string;
}

export interface HTTPHeaderFilter {
  readonly set?: readonly HTTPHeader[];
  readonly add?: readonly HTTPHeader[];
  readonly remove?: readonly string[];
}

export interface HTTPPathModifier {
  readonly type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  readonly replaceFullPath?: string;
  readonly replacePrefixMatch?: string;
}

export interface HTTPRequestRedirectFilter {
  readonly scheme?: 'http' | 'https';
  readonly hostname?: string;
  readonly path?: HTTPPathModifier;
  readonly port?: number;
  /** Default 302. */
  readonly statusCode?: number;
}

export interface HTTPURLRewriteFilter {
  readonly hostname?: string;
  readonly path?: HTTPPathModifier;
}

export interface BackendObjectReference {
  /** Default "" (core). */
  readonly group?: string;
  /** Default "Service"; `Hostname` (group networking.istio.io) names a ServiceEntry host. */
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port?: number;
}

export interface GatewayFraction {
  readonly numerator: number;
  /** Default 100. */
  readonly denominator?: number;
}

export interface HTTPRequestMirrorFilter {
  readonly backendRef: BackendObjectReference;
  readonly percent?: number;
  readonly fraction?: GatewayFraction;
}

export interface HTTPCORSFilter {
  readonly allowOrigins?: readonly string[];
  readonly allowCredentials?: boolean;
  readonly allowMethods?: readonly string[];
  readonly allowHeaders?: readonly string[];
  readonly exposeHeaders?: readonly string[];
  /** Seconds. */
  readonly maxAge?: number;
}

export type HTTPRouteFilterType =
  | 'RequestHeaderModifier'
  | 'ResponseHeaderModifier'
  | 'RequestRedirect'
  | 'URLRewrite'
  | 'RequestMirror'
  | 'CORS'
  | 'ExtensionRef';

export interface HTTPRouteFilter {
  readonly type: HTTPRouteFilterType;
  readonly requestHeaderModifier?: HTTPHeaderFilter;
  readonly responseHeaderModifier?: HTTPHeaderFilter;
  readonly requestRedirect?: HTTPRequestRedirectFilter;
  readonly urlRewrite?: HTTPURLRewriteFilter;
  readonly requestMirror?: HTTPRequestMirrorFilter;
  readonly cors?: HTTPCORSFilter;
  readonly extensionRef?: { readonly group: string; readonly kind: string; readonly name: string };
}

export interface HTTPBackendRef extends BackendObjectReference {
  /** 0 – 1,000,000; default 1. */
  readonly weight?: number;
  readonly filters?: readonly HTTPRouteFilter[];
}

export interface HTTPRouteTimeouts {
  /** Gateway API duration ("10s", "1h2m", "500ms"); "0s" disables. */
  readonly request?: DurationString;
  readonly backendRequest?: DurationString;
}

/** Experimental channel. */
export interface HTTPRouteRetry {
  readonly codes?: readonly number[];
  readonly attempts?: number;
  readonly backoff?: DurationString;
}

export interface HTTPRouteRule {
  readonly name?: string;
  readonly matches?: readonly HTTPRouteMatch[];
  readonly filters?: readonly HTTPRouteFilter[];
  readonly backendRefs?: readonly HTTPBackendRef[];
  readonly timeouts?: HTTPRouteTimeouts;
  readonly retry?: HTTPRouteRetry;
}

export interface HTTPRouteSpec {
  readonly parentRefs?: readonly ParentReference[];
  readonly hostnames?: readonly string[];
  readonly rules?: readonly HTTPRouteRule[];
}

/** gateway.networking.k8s.io GRPCRoute (v1): matches on the gRPC service and method. */
export interface GRPCMethodMatch {
  /** Default "Exact". */
  readonly type?: 'Exact' | 'RegularExpression';
  readonly service?: string;
  readonly method?: string;
}

export interface GRPCRouteMatch {
  /** Absent: every service and method. */
  readonly method?: GRPCMethodMatch;
  readonly headers?: readonly HTTPHeaderMatch[];
}

export interface GRPCRouteFilter {
  readonly type: 'RequestHeaderModifier' | 'ResponseHeaderModifier' | 'RequestMirror' | 'ExtensionRef';
  readonly requestHeaderModifier?: HTTPHeaderFilter;
  readonly responseHeaderModifier?: HTTPHeaderFilter;
  readonly requestMirror?: HTTPRequestMirrorFilter;
  readonly extensionRef?: { readonly group: string; readonly kind: string; readonly name: string };
}

export interface GRPCBackendRef extends BackendObjectReference {
  readonly weight?: number;
  readonly filters?: readonly GRPCRouteFilter[];
}

export interface GRPCRouteRule {
  readonly name?: string;
  readonly matches?: readonly GRPCRouteMatch[];
  readonly filters?: readonly GRPCRouteFilter[];
  readonly backendRefs?: readonly GRPCBackendRef[];
}

export interface GRPCRouteSpec {
  readonly parentRefs?: readonly ParentReference[];
  readonly hostnames?: readonly string[];
  readonly rules?: readonly GRPCRouteRule[];
}

/** gateway.networking.k8s.io Gateway (v1, v1beta1): an ingress whose HTTP listeners HTTPRoutes attach to. */
export interface GatewayListener {
  readonly name: string;
  readonly hostname?: string;
  readonly port: number;
  /** HTTP, HTTPS, TLS, TCP, UDP (or a domain-prefixed custom protocol). */
  readonly protocol: string;
  readonly tls?: Readonly<Record<string, unknown>>;
  readonly allowedRoutes?: {
    readonly namespaces?: {
      /** Default "Same". */
      readonly from?: 'All' | 'Same' | 'Selector';
      readonly selector?: Readonly<Record<string, unknown>>;
    };
    readonly kinds?: readonly { readonly group?: string; readonly kind: string }[];
  };
}

export interface KubernetesGatewaySpec {
  readonly gatewayClassName: string;
  readonly listeners: readonly GatewayListener[];
  readonly addresses?: readonly { readonly type?: string; readonly value: string }[];
}

// ---------------------------------------------------------------------------------------------
// The discriminated union
// ---------------------------------------------------------------------------------------------

interface IstioObjectBase<K extends string, S> {
  /** e.g. "networking.istio.io/v1" (v1alpha3, v1beta1, v1 all accepted). */
  readonly apiVersion?: string;
  readonly kind: K;
  readonly metadata: ObjectMeta;
  readonly spec: S;
}

export type Gateway = IstioObjectBase<'Gateway', GatewaySpec>;
export type VirtualService = IstioObjectBase<'VirtualService', VirtualServiceSpec>;
export type DestinationRule = IstioObjectBase<'DestinationRule', DestinationRuleSpec>;
export type ServiceEntry = IstioObjectBase<'ServiceEntry', ServiceEntrySpec>;
export type WorkloadEntry = IstioObjectBase<'WorkloadEntry', WorkloadEntrySpec>;
export type Sidecar = IstioObjectBase<'Sidecar', SidecarSpec>;
export type PeerAuthentication = IstioObjectBase<'PeerAuthentication', PeerAuthenticationSpec>;
export type AuthorizationPolicy = IstioObjectBase<'AuthorizationPolicy', AuthorizationPolicySpec>;
export type RequestAuthentication = IstioObjectBase<'RequestAuthentication', RequestAuthenticationSpec>;
/** gateway.networking.k8s.io HTTPRoute (named apart from the VirtualService `HTTPRoute` rule). */
export type GatewayHTTPRoute = IstioObjectBase<'HTTPRoute', HTTPRouteSpec>;
export type GatewayGRPCRoute = IstioObjectBase<'GRPCRoute', GRPCRouteSpec>;
/**
 * gateway.networking.k8s.io Gateway. Its YAML `kind` is `Gateway`; it is held as `KubernetesGateway`
 * (istiod's name for it) so it cannot be mistaken for an Istio Gateway.
 */
export type KubernetesGateway = IstioObjectBase<'KubernetesGateway', KubernetesGatewaySpec>;

export type IstioObject =
  | Gateway
  | VirtualService
  | DestinationRule
  | ServiceEntry
  | WorkloadEntry
  | Sidecar
  | PeerAuthentication
  | AuthorizationPolicy
  | RequestAuthentication
  | GatewayHTTPRoute
  | GatewayGRPCRoute
  | KubernetesGateway;

export type IstioKind = IstioObject['kind'];

// ---------------------------------------------------------------------------------------------
// The service registry (what Kubernetes Services / EndpointSlices would provide)
// ---------------------------------------------------------------------------------------------

export interface RegistryServicePort {
  readonly name?: string;
  readonly port: number;
  /** Container port number or named port; defaults to `port`. */
  readonly targetPort?: number | string;
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
  /** e.g. "http", "http2", "grpc", "kubernetes.io/h2c". */
  readonly appProtocol?: string;
}

export interface RegistryService {
  readonly name: string;
  readonly namespace: string;
  readonly ports: readonly RegistryServicePort[];
  readonly labels?: StringMap;
  /** Pod selector: decides which workloads (nodes) serve this service (inbound listeners). */
  readonly selector?: StringMap;
  /** A VIP; omit or "None" for headless. */
  readonly clusterIP?: string;
  /** networking.istio.io/exportTo: ".", "*", or namespaces. */
  readonly exportTo?: readonly string[];
}

export type EndpointHealth = 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED' | 'UNKNOWN';

export interface RegistryEndpoint {
  readonly address: string;
  /**
   * Endpoint port per service port, keyed by the service port's name or its number (as a string).
   * Omitted ports use the service port's numeric targetPort, else the service port.
   */
  readonly ports?: Readonly<Record<string, number>>;
  readonly labels?: StringMap;
  /** "region/zone/subzone". */
  readonly locality?: string;
  readonly weight?: number;
  /** Short service account name (in the endpoint's namespace) or a full spiffe:// identity. */
  readonly serviceAccount?: string;
  /** Owning workload name (Deployment); defaults to the address. */
  readonly workloadName?: string;
  /** "istio" when the workload has a sidecar/Inboard and accepts mTLS; "disabled" otherwise. */
  readonly tlsMode?: 'istio' | 'disabled';
  /** Default HEALTHY. */
  readonly health?: EndpointHealth;
  readonly network?: string;
  /** Kubernetes cluster id; defaults to meshConfig.clusterId. */
  readonly clusterId?: string;
}

/** Binds a list of endpoints to the registry service `namespace/service`. */
export interface RegistryServiceEndpoints {
  readonly service: string;
  readonly namespace: string;
  readonly endpoints: readonly RegistryEndpoint[];
}

export interface MeshConfig {
  /** Default "cluster.local". */
  readonly trustDomain?: string;
  readonly trustDomainAliases?: readonly string[];
  /** Default "istio-system". */
  readonly rootNamespace?: string;
  /** DNS domain suffix of services (istiod's --domain). Default "cluster.local". */
  readonly domainSuffix?: string;
  /** Cluster id stamped on endpoints (istio.workload metadata). Default "Kubernetes". */
  readonly clusterId?: string;
  /** Replaces Istio's default retry policy for routes whose VirtualService has no `retries`. */
  readonly defaultHttpRetryPolicy?: HTTPRetry;
  /** Default true. */
  readonly enableAutoMtls?: boolean;
  /** Default "10s". */
  readonly connectTimeout?: DurationString;
  readonly localityLbSetting?: LocalityLoadBalancerSetting;
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
  /** Defaults for objects without exportTo. Each defaults to ["*"]. */
  readonly defaultServiceExportTo?: readonly string[];
  readonly defaultVirtualServiceExportTo?: readonly string[];
  readonly defaultDestinationRuleExportTo?: readonly string[];
}

/** Everything the translator reads: one consistent version of mesh config and registry. */
export interface MeshConfigSnapshot {
  /** Opaque version label of this input (bumped by the loader on change). */
  readonly version?: string;
  readonly istio: readonly IstioObject[];
  readonly services: readonly RegistryService[];
  readonly endpoints: readonly RegistryServiceEndpoints[];
  readonly meshConfig?: MeshConfig;
}
