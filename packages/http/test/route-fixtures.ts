// Builders for the route model (packages/xds resources/model.ts) with Envoy's defaults, shared by
// the route tests and the http benchmark.
import type {
  HeaderMutations,
  PathMatch,
  Route,
  RouteAction,
  RouteConfiguration,
  RouteMatch,
  VirtualHost,
} from '@inboard/xds';

export function mutations(over: Partial<HeaderMutations> = {}): HeaderMutations {
  return {
    requestHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToAdd: [],
    responseHeadersToRemove: [],
    ...over,
  };
}

export const NO_MUTATIONS: HeaderMutations = mutations();

/** A route action to one cluster, every other field at its default. */
export function forward(cluster: string, over: Partial<RouteAction> = {}): RouteAction {
  return {
    kind: 'route',
    clusterSpecifier: { kind: 'cluster', cluster },
    clusterNotFoundResponseCode: 503,
    prefixRewrite: undefined,
    regexRewrite: undefined,
    hostRewriteLiteral: undefined,
    hostRewriteHeader: undefined,
    autoHostRewrite: false,
    appendXForwardedHost: false,
    timeout: undefined,
    idleTimeout: undefined,
    maxStreamDuration: undefined,
    maxGrpcTimeout: undefined,
    grpcTimeoutOffset: undefined,
    retryPolicy: undefined,
    hashPolicy: [],
    requestMirrorPolicies: [],
    priority: 'DEFAULT',
    ...over,
  };
}

export function match(path: PathMatch, over: Partial<RouteMatch> = {}): RouteMatch {
  return {
    path,
    caseSensitive: true,
    headers: [],
    queryParameters: [],
    runtimeFraction: undefined,
    grpc: false,
    ...over,
  };
}

export function route(name: string, m: RouteMatch, action: Route['action'], over: Partial<Route> = {}): Route {
  return {
    name,
    match: m,
    action,
    headerMutations: NO_MUTATIONS,
    filterOverrides: {},
    istioConfig: undefined,
    decoratorOperation: undefined,
    ...over,
  };
}

export function virtualHost(
  name: string,
  domains: readonly string[],
  routes: readonly Route[],
  over: Partial<VirtualHost> = {},
): VirtualHost {
  return {
    name,
    domains,
    routes,
    headerMutations: NO_MUTATIONS,
    retryPolicy: undefined,
    requestMirrorPolicies: [],
    filterOverrides: {},
    includeRequestAttemptCount: false,
    includeAttemptCountInResponse: false,
    ...over,
  };
}

export function routeConfiguration(
  virtualHosts: readonly VirtualHost[],
  over: Partial<RouteConfiguration> = {},
): RouteConfiguration {
  return {
    name: 'rc',
    virtualHosts,
    headerMutations: NO_MUTATIONS,
    ignorePortInHostMatching: false,
    mostSpecificHeaderMutationsWins: false,
    maxDirectResponseBodySizeBytes: 4096,
    requestMirrorPolicies: [],
    ignorePathParametersInPathMatching: false,
    filterOverrides: {},
    ...over,
  };
}
