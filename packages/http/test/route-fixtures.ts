// Builders for the route model (packages/xds resources/model.ts) with Envoy's defaults, shared by
// the route tests and the http benchmark.
import type { HeaderMutations, PathMatch, RouteAction, RouteMatch } from '@inboard/xds';

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
    timeout: undefined,
    idleTimeout: undefined,
    maxStreamDuration: undefined,
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
