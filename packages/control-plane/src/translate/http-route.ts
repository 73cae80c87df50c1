// VirtualService HTTP routes → Envoy routes, following istiod's route.TranslateRoute /
// BuildHTTPRoutesForVirtualService: matches, destinations (cluster or weighted clusters),
// redirects, direct responses, rewrites, timeouts, retries, mirrors, header mutations, hash
// policies, fault and CORS per-filter configs, route metadata and decorator. `sourceLabels`,
// `sourceNamespace`, `gateways` and `port` are decided here, against the node being served.
import { type envoy, jsToStruct } from '@inboard/xds/codec';
import type {
  ConsistentHashLB,
  Destination,
  HTTPMatchRequest,
  HTTPRetry,
  HTTPRoute,
  HTTPRouteDestination,
  Percent,
} from '../config/istio-types.ts';
import { translateCorsPolicy } from './cors-policy.ts';
import { parseDuration, ZERO_DURATION } from './durations.ts';
import { CORS_FILTER, FAULT_FILTER, RedirectCode } from './envoy-names.ts';
import { integerToFraction, percentToFraction, translateFault } from './fault.ts';
import { PREFIX_MARKER } from './gateway-api-routes.ts';
import { hashPolicy } from './hash-policy.ts';
import { translateHeaderOperations } from './header-operations.ts';
import { clusterName, parseClusterName, resolveGatewayName, resolveShortname } from './hostnames.ts';
import type { MeshService, VirtualServiceEntry } from './mesh-index.ts';
import type { ProxyNode } from './proxy-node.ts';
import { retryPolicy } from './retry-policy.ts';
import { headerMatcher, isPresentMatch, stringMatcher } from './string-match.ts';

type RouteIn = envoy.config_route_v3_Route$In;
type RouteMatchIn = envoy.config_route_v3_RouteMatch$In;
type RouteActionIn = envoy.config_route_v3_RouteAction$In;
type AnyIn = envoy.google_protobuf_Any$In;

const JWT_CLAIM_HEADER = '@request.auth.claims';
const UNKNOWN_SERVICE = 'UnknownService';
/** RouteAction.ClusterNotFoundResponseCode INTERNAL_SERVER_ERROR. */
const CLUSTER_NOT_FOUND_500 = 2;

/** RE2's QuoteMeta (Go regexp.QuoteMeta): a literal inside a pattern. */
function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

export interface RouteContext {
  readonly node: ProxyNode;
  /** The port the routes are built for (the service port, or the gateway server port). */
  readonly listenPort: number;
  /** `mesh` for sidecar routing; `<ns>/<name>` of the gateway for gateway routing. */
  readonly gatewayNames: ReadonlySet<string>;
  readonly domainSuffix: string;
  readonly lookupService: (host: string) => MeshService | undefined;
  /** The DestinationRule consistent hash of a destination (host already resolved). */
  readonly lookupHash: (destination: Destination) => ConsistentHashLB | undefined;
  readonly defaultRetryPolicy: HTTPRetry | undefined;
  /** Packs a message into an Any (the generator shares one packer). */
  readonly pack: (typeName: string, message: unknown) => AnyIn;
}

/** sourceMatchHTTP: gateways, sourceLabels and sourceNamespace of a match against this node. */
function sourceMatches(match: HTTPMatchRequest | undefined, ctx: RouteContext, namespace: string): boolean {
  if (match === undefined) return true;
  if (match.gateways !== undefined && match.gateways.length > 0) {
    // a short name is the VirtualService's namespace's Gateway, as for its top-level `gateways`
    return match.gateways.some((g) => ctx.gatewayNames.has(resolveGatewayName(g, namespace)));
  }
  const labels = ctx.node.labels;
  for (const [k, v] of Object.entries(match.sourceLabels ?? {})) if (labels[k] !== v) return false;
  return (
    match.sourceNamespace === undefined || match.sourceNamespace === '' || match.sourceNamespace === ctx.node.namespace
  );
}

function byName<T extends { name?: string | undefined }>(a: T, b: T): number {
  const x = a.name ?? '';
  const y = b.name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** route.TranslateRouteMatch; `gatewaySemantics` for routes converted from Gateway API HTTPRoutes. */
export function translateRouteMatch(m: HTTPMatchRequest | undefined, gatewaySemantics = false): RouteMatchIn {
  const out: RouteMatchIn = { prefix: '/' };
  if (m === undefined) return out;
  const headers: envoy.config_route_v3_HeaderMatcher$In[] = [];
  for (const [name, sm] of Object.entries(m.headers ?? {})) headers.push(headerMatcher(name, sm));
  for (const [name, sm] of Object.entries(m.withoutHeaders ?? {})) {
    const h = headerMatcher(name, sm);
    h.invert_match = true;
    // treat_missing_header_as_empty conflicts with present_match
    if (!isPresentMatch(sm)) h.treat_missing_header_as_empty = true;
    headers.push(h);
  }
  headers.sort(byName);
  if (m.uri !== undefined) {
    if (m.uri.exact !== undefined) {
      delete out.prefix;
      out.path = m.uri.exact;
    } else if (m.uri.prefix !== undefined) {
      if (gatewaySemantics && m.uri.prefix !== '/') {
        // Gateway API prefixes match whole path segments: `/foo` matches `/foo` and `/foo/bar`, not `/foobar`
        delete out.prefix;
        out.path_separated_prefix = m.uri.prefix.endsWith('/') ? m.uri.prefix.slice(0, -1) : m.uri.prefix;
      } else {
        out.prefix = m.uri.prefix;
      }
    } else if (m.uri.regex !== undefined) {
      delete out.prefix;
      out.safe_regex = { regex: m.uri.regex };
    }
  }
  out.case_sensitive = { value: !(m.ignoreUriCase ?? false) };
  if (m.method !== undefined) headers.push(headerMatcher(':method', m.method));
  if (m.authority !== undefined) headers.push(headerMatcher(':authority', m.authority));
  if (m.scheme !== undefined) headers.push(headerMatcher(':scheme', m.scheme));
  if (headers.length > 0) out.headers = headers;
  const query: envoy.config_route_v3_QueryParameterMatcher$In[] = [];
  for (const [name, sm] of Object.entries(m.queryParams ?? {})) {
    if (isPresentMatch(sm)) query.push({ name, present_match: true });
    else query.push({ name, string_match: stringMatcher(sm) });
  }
  if (query.length > 0) out.query_parameters = query.sort(byName);
  return out;
}

/** IsCatchAllRoute: path `/` (or regex `.*`) and nothing else to match on. */
export function isCatchAllRoute(r: RouteIn): boolean {
  const m = r.match;
  if (m === undefined) return false;
  const catchall = m.prefix === '/' || m.path_separated_prefix === '/' || m.safe_regex?.regex === '.*';
  return (
    catchall &&
    (m.headers?.length ?? 0) === 0 &&
    (m.query_parameters?.length ?? 0) === 0 &&
    (m.dynamic_metadata?.length ?? 0) === 0
  );
}

/** util.BuildConfigInfoMetadata */
export function configMetadata(namespace: string, name: string): envoy.config_core_v3_Metadata$In {
  return {
    filter_metadata: {
      istio: jsToStruct({ config: `/apis/networking.istio.io/v1/namespaces/${namespace}/virtual-service/${name}` }),
    },
  };
}

/** GetRouteOperation: `<host>:<port><path>` for one cluster, else `<vs name>:<port><path>`. */
function routeOperation(r: RouteIn, vsName: string, port: number): string {
  const m = r.match;
  let path = '/*';
  if (m?.prefix !== undefined) path = `${m.prefix}*`;
  else if (m?.path !== undefined) path = m.path;
  else if (m?.safe_regex !== undefined) path = m.safe_regex.regex ?? '';
  const cluster = parseClusterName(r.route?.cluster ?? '');
  if (cluster !== undefined) return `${cluster.host}:${cluster.port}${path}`;
  return `${vsName}:${port}${path}`;
}

/** GetDestinationCluster: the destination port, else the service's only port, else the listener port. */
export function destinationCluster(d: Destination, ctx: RouteContext): string {
  // only an HTTPRoute backendRef of a kind istiod does not know has no host: its cluster never exists
  if (d.host === '') return UNKNOWN_SERVICE;
  const svc = ctx.lookupService(d.host);
  let port = ctx.listenPort;
  if (d.port?.number !== undefined && d.port.number !== 0) port = d.port.number;
  else if (svc !== undefined && svc.ports.length === 1) port = svc.ports[0]!.port;
  return clusterName(port, d.subset ?? '', d.host);
}

function mirrorFraction(
  p: Percent | undefined,
  legacy: number | undefined,
): envoy.type_v3_FractionalPercent$In | undefined {
  if (p !== undefined) return p.value > 0 ? percentToFraction(p) : undefined;
  if (legacy !== undefined) return legacy > 0 ? integerToFraction(legacy) : undefined;
  return integerToFraction(100);
}

function mirrorPolicy(cluster: string, fraction: envoy.type_v3_FractionalPercent$In) {
  return {
    cluster,
    runtime_fraction: { default_value: fraction },
    trace_sampled: { value: false },
    disable_shadow_host_suffix_append: true,
  };
}

function resolveDestination(d: Destination, vsNamespace: string, ctx: RouteContext): Destination {
  return { ...d, host: resolveShortname(d.host, vsNamespace, ctx.domainSuffix) };
}

/** applyHTTPRouteDestination */
function routeAction(
  out: RouteIn,
  http: HTTPRoute,
  vs: VirtualServiceEntry,
  authorityFromHeaders: string,
  ctx: RouteContext,
): RouteActionIn | undefined {
  const destinations: HTTPRouteDestination[] = (http.route ?? []).map((d) => ({
    ...d,
    destination: resolveDestination(d.destination, vs.namespace, ctx),
  }));
  const timeout = parseDuration(http.timeout) ?? ZERO_DURATION;
  const action: RouteActionIn = {
    timeout,
    // proxyless only: gRPC reads max_stream_duration (gRFC A31), not the deprecated max_grpc_timeout
    max_stream_duration: { max_stream_duration: timeout },
  };
  // the Gateway API wants 500 for a backend that does not exist (route.go applyHTTPRouteDestination)
  if (vs.gatewaySemantics) action.cluster_not_found_response_code = CLUSTER_NOT_FOUND_500;
  let authority = authorityFromHeaders;
  if (http.rewrite !== undefined) {
    const rx = http.rewrite.uriRegexRewrite;
    if (rx !== undefined) action.regex_rewrite = { pattern: { regex: rx.match }, substitution: rx.rewrite };
    else if (vs.gatewaySemantics && http.rewrite.uri === '/') action.regex_rewrite = stripPrefix(out);
    else if (http.rewrite.uri !== undefined && http.rewrite.uri !== '') action.prefix_rewrite = http.rewrite.uri;
    if (http.rewrite.authority !== undefined && http.rewrite.authority !== '') authority = http.rewrite.authority;
  }
  if (authority !== '') action.host_rewrite_literal = authority;

  const mirrors: envoy.config_route_v3_RouteAction_RequestMirrorPolicy$In[] = [];
  if (http.mirror !== undefined) {
    const f = mirrorFraction(http.mirrorPercentage, http.mirrorPercent);
    if (f !== undefined)
      mirrors.push(mirrorPolicy(destinationCluster(resolveDestination(http.mirror, vs.namespace, ctx), ctx), f));
  }
  for (const m of http.mirrors ?? []) {
    const f = mirrorFraction(m.percentage, undefined);
    if (f !== undefined)
      mirrors.push(mirrorPolicy(destinationCluster(resolveDestination(m.destination, vs.namespace, ctx), ctx), f));
  }
  if (mirrors.length > 0) action.request_mirror_policies = mirrors;

  const hashes: envoy.config_route_v3_RouteAction_HashPolicy$In[] = [];
  let consistentHash = false;
  if (destinations.length === 1) {
    const dst = destinations[0]!;
    action.cluster = destinationCluster(dst.destination, ctx);
    if (dst.headers !== undefined) {
      const ops = translateHeaderOperations(dst.headers);
      out.request_headers_to_add = [...(out.request_headers_to_add ?? []), ...ops.requestHeadersToAdd];
      out.request_headers_to_remove = [...(out.request_headers_to_remove ?? []), ...ops.requestHeadersToRemove];
      out.response_headers_to_add = [...(out.response_headers_to_add ?? []), ...ops.responseHeadersToAdd];
      out.response_headers_to_remove = [...(out.response_headers_to_remove ?? []), ...ops.responseHeadersToRemove];
      if (ops.authority !== '' && action.host_rewrite_literal === undefined)
        action.host_rewrite_literal = ops.authority;
    }
    const hash = ctx.lookupHash(dst.destination);
    const hp = hashPolicy(hash);
    if (hp !== undefined) hashes.push(hp);
    consistentHash = hash !== undefined;
  } else {
    const weighted: envoy.config_route_v3_WeightedCluster_ClusterWeight$In[] = [];
    for (const dst of destinations) {
      // zero-weight destinations are dropped when there are others
      if ((dst.weight ?? 0) === 0) continue;
      const cw: envoy.config_route_v3_WeightedCluster_ClusterWeight$In = {
        name: destinationCluster(dst.destination, ctx),
        weight: { value: dst.weight ?? 0 },
      };
      if (dst.headers !== undefined) {
        const ops = translateHeaderOperations(dst.headers);
        if (ops.requestHeadersToAdd.length > 0) cw.request_headers_to_add = ops.requestHeadersToAdd;
        if (ops.requestHeadersToRemove.length > 0) cw.request_headers_to_remove = ops.requestHeadersToRemove;
        if (ops.responseHeadersToAdd.length > 0) cw.response_headers_to_add = ops.responseHeadersToAdd;
        if (ops.responseHeadersToRemove.length > 0) cw.response_headers_to_remove = ops.responseHeadersToRemove;
        if (ops.authority !== '') cw.host_rewrite_literal = ops.authority;
      }
      weighted.push(cw);
      const hp = hashPolicy(ctx.lookupHash(dst.destination));
      if (hp !== undefined) hashes.push(hp);
    }
    // a route with nowhere to go would be NACKed (istiod emits it anyway): leave it out
    if (weighted.length === 0) return undefined;
    action.weighted_clusters = { clusters: weighted };
  }
  if (hashes.length > 0) action.hash_policy = hashes;
  const retry = retryPolicy(http.retries ?? ctx.defaultRetryPolicy, consistentHash);
  if (retry !== undefined) action.retry_policy = retry;
  return action;
}

/** ReplacePrefixMatch `/`: remove the matched prefix, keeping a `/` when nothing is left. */
function stripPrefix(route: RouteIn): envoy.type_matcher_v3_RegexMatchAndSubstitute$In {
  const prefix = route.match?.path_separated_prefix ?? '';
  return { pattern: { regex: `^${quoteMeta(prefix)}(/?)(.*)` }, substitution: '/\\2' };
}

/** route.TranslateRoute for one (http, match) pair; undefined when it does not apply to this node. */
export function translateRoute(
  http: HTTPRoute,
  match: HTTPMatchRequest | undefined,
  vs: VirtualServiceEntry,
  ctx: RouteContext,
): RouteIn | undefined {
  if (match?.port !== undefined && match.port !== 0 && match.port !== ctx.listenPort) return undefined;
  if (!sourceMatches(match, ctx, vs.namespace)) return undefined;
  // JWT claim matches need Envoy dynamic metadata no Inboard client evaluates: leave the route out
  // rather than dropping the condition (which would widen the route)
  const claims = (h: Record<string, unknown> | undefined) =>
    Object.keys(h ?? {}).some((k) => k.startsWith(JWT_CLAIM_HEADER));
  if (claims(match?.headers) || claims(match?.withoutHeaders)) return undefined;

  let name = http.name ?? '';
  if (match?.name !== undefined && match.name !== '') name = `${name}.${match.name}`;
  const out: RouteIn = {
    name,
    match: translateRouteMatch(match, vs.gatewaySemantics),
    metadata: configMetadata(vs.namespace, vs.name),
  };
  if (match?.statPrefix !== undefined && match.statPrefix !== '') out.stat_prefix = match.statPrefix;

  let authority = '';
  if (http.headers !== undefined) {
    const ops = translateHeaderOperations(http.headers);
    if (ops.requestHeadersToAdd.length > 0) out.request_headers_to_add = ops.requestHeadersToAdd;
    if (ops.responseHeadersToAdd.length > 0) out.response_headers_to_add = ops.responseHeadersToAdd;
    if (ops.requestHeadersToRemove.length > 0) out.request_headers_to_remove = ops.requestHeadersToRemove;
    if (ops.responseHeadersToRemove.length > 0) out.response_headers_to_remove = ops.responseHeadersToRemove;
    authority = ops.authority;
  }

  if (http.redirect !== undefined) {
    const r = http.redirect;
    const code = RedirectCode[r.redirectCode ?? 301];
    // an unsupported code leaves the route without an action in istiod; without one it cannot be sent
    if (code === undefined) return undefined;
    const redirect: envoy.config_route_v3_RedirectAction$In = { response_code: code };
    if (r.authority !== undefined && r.authority !== '') redirect.host_redirect = r.authority;
    // an empty path_redirect means "keep the path" in Envoy; leave it unset rather than ''
    if (vs.gatewaySemantics && r.uri?.startsWith(PREFIX_MARKER) === true) {
      // ReplacePrefixMatch: replace the matched prefix, keep the rest of the path; `/` removes it the
      // way a URLRewrite does (a prefix_rewrite of `/` would leave `//rest`)
      const prefix = r.uri.slice(PREFIX_MARKER.length);
      if (prefix === '/') redirect.regex_rewrite = stripPrefix(out);
      else redirect.prefix_rewrite = prefix;
    } else if (r.uri !== undefined && r.uri !== '') redirect.path_redirect = r.uri;
    if (r.scheme !== undefined && r.scheme !== '') redirect.scheme_redirect = r.scheme;
    if (r.port !== undefined || r.derivePort !== undefined) {
      let port = r.port ?? 0;
      if (r.derivePort === 'FROM_REQUEST_PORT') port = ctx.listenPort;
      const scheme = r.scheme !== undefined && r.scheme !== '' ? r.scheme : 'http';
      if ((port === 80 && scheme === 'http') || (port === 443 && scheme === 'https')) port = 0;
      if (port !== 0) redirect.port_redirect = port;
    }
    out.redirect = redirect;
  } else if (http.directResponse !== undefined) {
    const d = http.directResponse;
    const direct: envoy.config_route_v3_DirectResponseAction$In = { status: d.status };
    if (d.body?.string !== undefined) direct.body = { inline_string: d.body.string };
    else if (d.body?.bytes !== undefined) direct.body = { inline_bytes: Buffer.from(d.body.bytes, 'base64') };
    out.direct_response = direct;
  } else {
    const action = routeAction(out, http, vs, authority, ctx);
    if (action === undefined) return undefined;
    out.route = action;
  }

  out.decorator = { operation: routeOperation(out, vs.name, ctx.listenPort) };
  const perFilter: Record<string, AnyIn> = {};
  if (http.fault !== undefined) {
    const fault = translateFault(http.fault);
    if (fault !== undefined)
      perFilter[FAULT_FILTER] = ctx.pack('envoy.extensions.filters.http.fault.v3.HTTPFault', fault);
  }
  if (http.corsPolicy !== undefined) {
    perFilter[CORS_FILTER] = ctx.pack(
      'envoy.extensions.filters.http.cors.v3.CorsPolicy',
      translateCorsPolicy(http.corsPolicy),
    );
  }
  if (Object.keys(perFilter).length > 0) out.typed_per_filter_config = perFilter;
  return out;
}

/** BuildHTTPRoutesForVirtualService: routes in order, stopping after a catch-all. */
export function virtualServiceRoutes(vs: VirtualServiceEntry, ctx: RouteContext): RouteIn[] {
  const out: RouteIn[] = [];
  for (const http of vs.object.spec.http ?? []) {
    let catchall = false;
    if (http.match === undefined || http.match.length === 0) {
      const r = translateRoute(http, undefined, vs, ctx);
      if (r !== undefined) out.push(r);
      catchall = true;
    } else {
      for (const m of http.match) {
        const r = translateRoute(http, m, vs, ctx);
        if (r === undefined) continue;
        out.push(r);
        if (isCatchAllRoute(r)) {
          catchall = true;
          break;
        }
      }
    }
    if (catchall) break;
  }
  return out;
}

/** BuildDefaultHTTPOutboundRoute: where a service without a VirtualService goes. */
export function defaultRoute(
  host: string,
  port: number,
  hash: ConsistentHashLB | undefined,
  defaultRetry: HTTPRetry | undefined,
): RouteIn {
  const action: RouteActionIn = {
    cluster: clusterName(port, '', host),
    timeout: ZERO_DURATION,
    // built with node=nil in istiod, so the Envoy-style deprecated field, not max_stream_duration
    max_grpc_timeout: ZERO_DURATION,
  };
  const retry = retryPolicy(defaultRetry, false);
  if (retry !== undefined) action.retry_policy = retry;
  const hp = hashPolicy(hash);
  if (hp !== undefined) action.hash_policy = [hp];
  return {
    name: 'default',
    match: { prefix: '/' },
    decorator: { operation: `${host}:${port}/*` },
    route: action,
  };
}
