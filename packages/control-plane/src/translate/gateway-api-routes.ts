// Kubernetes Gateway API HTTPRoutes and GRPCRoutes → VirtualServices, the way istiod converts them
// (pilot/pkg/config/kube/gateway: conversion.go convertHTTPRoute / convertGRPCRoute,
// route_collections.go HTTPRouteCollection and mergeHTTPRoutes). The result is an ordinary
// VirtualService with "gateway semantics" that the VirtualService → RDS code translates, with the few
// differences istiod's route.go makes for such routes (path-separated prefixes, 500 for a missing
// backend...).
//
// - A parentRef to a Service (group "", kind Service) or an Istio ServiceEntry that exists binds the
//   route to the mesh for that service's host(s); `hostnames` play no part. A parentRef `port` adds a
//   port match to every rule. A parentRef to a Gateway binds it to the listeners that admit it
//   (gateway-api-gateways.ts), for the route's hostnames.
// - Each rule becomes one Istio HTTP route per match, named `rule.name` or `<ns>.<route>.<index>`.
// - Mesh routes of one namespace for one host (and parent port), or gateway routes of one listener
//   for one host, are merged into one VirtualService named after that key (`<ns>[~port]~<host>`),
//   oldest route first, then sorted by the Gateway API's precedence: exact path, then prefix, then
//   regex; longer paths; a method; more headers; more query parameters.
import type {
  BackendObjectReference,
  Destination,
  GatewayGRPCRoute,
  GatewayHTTPRoute,
  GRPCRouteMatch,
  GRPCRouteRule,
  HeaderOperations,
  HTTPHeaderFilter,
  HTTPMatchRequest,
  HTTPMirrorPolicy,
  HTTPRoute,
  HTTPRouteDestination,
  HTTPRouteMatch,
  HTTPRouteRule,
  StringMatch,
  VirtualService,
} from '../config/istio-types.ts';
import { allowedNamespaces, type ListenerParent } from './gateway-api-gateways.ts';
import { hostSubsetOf, hostsOverlap, isWildcard } from './hostnames.ts';

export interface GatewayRouteLookup {
  readonly domainSuffix: string;
  /** Does the Kubernetes Service `namespace/name` exist? */
  readonly serviceExists: (namespace: string, name: string) => boolean;
  /** The hosts of the ServiceEntry `namespace/name`, or undefined when there is none. */
  readonly serviceEntryHosts: (namespace: string, name: string) => readonly string[] | undefined;
  /** Is there a service with this hostname (a ServiceEntry host)? */
  readonly hostExists: (host: string) => boolean;
  /** The served listeners of the Gateway API Gateway `namespace/name` (none when it is unknown or not ours). */
  readonly listeners: (namespace: string, name: string) => readonly ListenerParent[];
}

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const ISTIO_GROUP = 'networking.istio.io';

/** Where a route attaches: the mesh (hosts of a Service, a parent port) or a Gateway listener. */
interface RouteParent {
  /** `mesh` or the Istio Gateway name `ns/name` the VirtualService binds to. */
  readonly gateway: string;
  readonly mesh: boolean;
  readonly hosts: readonly string[];
  readonly port: number | undefined;
}

/** toInternalParentReference + referenceAllowed (the Gateway API default group/kind is a Gateway). */
function routeParents(route: GatewayHTTPRoute | GatewayGRPCRoute, lookup: GatewayRouteLookup): RouteParent[] {
  const out: RouteParent[] = [];
  const ns = route.metadata.namespace;
  for (const ref of route.spec.parentRefs ?? []) {
    const group = ref.group ?? GATEWAY_GROUP;
    const kind = ref.kind ?? 'Gateway';
    const refNs = ref.namespace ?? ns;
    if (group === '' && kind === 'Service') {
      // a parent Service that does not exist leaves the route unattached (status NotAccepted)
      if (!lookup.serviceExists(refNs, ref.name)) continue;
      out.push({
        gateway: 'mesh',
        mesh: true,
        hosts: [`${ref.name}.${refNs}.svc.${lookup.domainSuffix}`],
        port: ref.port,
      });
    } else if (group === ISTIO_GROUP && kind === 'ServiceEntry') {
      const hosts = lookup.serviceEntryHosts(refNs, ref.name);
      if (hosts !== undefined) out.push({ gateway: 'mesh', mesh: true, hosts, port: ref.port });
    } else if (group === GATEWAY_GROUP && kind === 'Gateway') {
      const all = lookup.listeners(refNs, ref.name);
      for (const l of all) {
        if (ref.sectionName !== undefined && ref.sectionName !== l.listener.name) continue;
        if (ref.port !== undefined && ref.port !== l.listener.port) continue;
        const hosts = listenerHosts(route, l, all);
        if (hosts.length > 0) out.push({ gateway: l.internalName, mesh: false, hosts, port: undefined });
      }
    }
  }
  return out;
}

/**
 * referenceAllowed for a listener (its namespaces and kinds admit the route, one route hostname
 * matches the listener's), then hostnameAllowedByIsolation: a host a more specific listener on the
 * same port serves is left to it. The route's hostnames (or `*`) are the VirtualService hosts.
 */
function listenerHosts(
  route: GatewayHTTPRoute | GatewayGRPCRoute,
  parent: ListenerParent,
  siblings: readonly ListenerParent[],
): string[] {
  const l = parent.listener;
  const allowed = allowedNamespaces(parent.gateway, l);
  if (allowed === undefined || (allowed !== '*' && allowed !== route.metadata.namespace)) return [];
  // "When unspecified or empty, the kinds of Routes selected are determined using the Listener
  // protocol" (istiod narrows the supported kinds only for a non-empty list)
  const listed = l.allowedRoutes?.kinds ?? [];
  const kinds = listed.length > 0 ? listed : [{ kind: 'HTTPRoute' }, { kind: 'GRPCRoute' }];
  if (!kinds.some((k) => k.kind === route.kind && (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP)) return [];
  const hosts = route.spec.hostnames !== undefined && route.spec.hostnames.length > 0 ? route.spec.hostnames : ['*'];
  const ours = l.hostname ?? '';
  if (ours !== '' && !hosts.some((h) => hostsOverlap(ours, h))) return [];
  return hosts.filter((h) => {
    if (ours !== '' && !isWildcard(ours)) return true;
    if (ours !== '' && !hostsOverlap(h, ours)) return false;
    for (const other of siblings) {
      const theirs = other.listener.hostname ?? '';
      if (other === parent || other.listener.port !== l.port || theirs === ours) continue;
      if (ours.length > theirs.length) continue;
      if (theirs !== '' && hostSubsetOf(h, theirs)) return false;
    }
    return true;
  });
}

function stringMatch(type: string | undefined, value: string): StringMatch {
  return type === 'RegularExpression' ? { regex: value } : { exact: value };
}

/** createURIMatch / createHeadersMatch / createQueryParamsMatch / createMethodMatch, with the CRD's defaults. */
function matchRequest(m: HTTPRouteMatch): HTTPMatchRequest {
  const type = m.path?.type ?? 'PathPrefix';
  let value = m.path?.value ?? '/';
  let uri: StringMatch;
  if (type === 'Exact') uri = { exact: value };
  else if (type === 'RegularExpression') uri = { regex: value };
  else {
    // "When specified, a trailing `/` is ignored."
    if (value !== '/' && value.endsWith('/')) value = value.slice(0, -1);
    uri = { prefix: value };
  }
  const out: { -readonly [K in keyof HTTPMatchRequest]: HTTPMatchRequest[K] } = { uri };
  if ((m.headers?.length ?? 0) > 0)
    out.headers = Object.fromEntries(m.headers!.map((h) => [h.name, stringMatch(h.type, h.value)]));
  if ((m.queryParams?.length ?? 0) > 0)
    out.queryParams = Object.fromEntries(m.queryParams!.map((q) => [q.name, stringMatch(q.type, q.value)]));
  if (m.method !== undefined) out.method = { exact: m.method };
  return out;
}

/** headerListToMap: lower-cased names, the first of equal names wins. */
function headerMap(list: readonly { name: string; value: string }[] | undefined): Record<string, string> | undefined {
  if (list === undefined || list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const h of list) {
    const k = h.name.toLowerCase();
    if (!(k in out)) out[k] = h.value;
  }
  return out;
}

function headerOperations(f: HTTPHeaderFilter): HeaderOperations {
  const out: { set?: Record<string, string>; add?: Record<string, string>; remove?: readonly string[] } = {};
  const set = headerMap(f.set);
  const add = headerMap(f.add);
  if (set !== undefined) out.set = set;
  if (add !== undefined) out.add = add;
  if (f.remove !== undefined && f.remove.length > 0) out.remove = f.remove;
  return out;
}

/** buildDestination: a Service (`name.ns.svc.<suffix>`), a ServiceEntry `Hostname`, or nothing (→ 500). */
function destination(
  ref: BackendObjectReference,
  routeNs: string,
  lookup: GatewayRouteLookup,
  mesh: boolean,
): { destination: Destination; found: boolean } {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  // a Gateway route reaches another namespace only through a ReferenceGrant, which Inboard does not
  // read: such a backend is not permitted (istiod: an empty destination, answered with 500)
  if (!mesh && ref.namespace !== undefined && ref.namespace !== routeNs)
    return { destination: { host: '' }, found: false };
  const port = ref.port === undefined ? {} : { port: { number: ref.port } };
  if (group === '' && kind === 'Service') {
    const ns = ref.namespace ?? routeNs;
    const host = `${ref.name}.${ns}.svc.${lookup.domainSuffix}`;
    return { destination: { host, ...port }, found: lookup.serviceExists(ns, ref.name) };
  }
  if (group === ISTIO_GROUP && kind === 'Hostname') {
    return { destination: { host: ref.name, ...port }, found: lookup.hostExists(ref.name) };
  }
  // an unsupported kind: istiod routes to its "UnknownService" cluster, which answers 500
  return { destination: { host: '' }, found: false };
}

const MUTABLE = <T>(v: T): { -readonly [K in keyof T]: T[K] } => v as { -readonly [K in keyof T]: T[K] };

/** convertHTTPRoute, one match at most; `mesh` routes need no ReferenceGrant for other namespaces. */
function convertRule(
  rule: HTTPRouteRule,
  match: HTTPRouteMatch | undefined,
  route: GatewayHTTPRoute | GatewayGRPCRoute,
  index: number,
  lookup: GatewayRouteLookup,
  mesh: boolean,
): HTTPRoute {
  const ns = route.metadata.namespace;
  const out = MUTABLE<HTTPRoute>({ name: rule.name ?? `${ns}.${route.metadata.name}.${index}` });
  if (match !== undefined) out.match = [matchRequest(match)];
  const mirrors: HTTPMirrorPolicy[] = [];
  for (const f of rule.filters ?? []) {
    switch (f.type) {
      case 'RequestHeaderModifier':
        out.headers = { ...out.headers, request: headerOperations(f.requestHeaderModifier ?? {}) };
        break;
      case 'ResponseHeaderModifier':
        out.headers = { ...out.headers, response: headerOperations(f.responseHeaderModifier ?? {}) };
        break;
      case 'RequestRedirect': {
        const r = f.requestRedirect ?? {};
        const redirect = MUTABLE<NonNullable<HTTPRoute['redirect']>>({ redirectCode: r.statusCode ?? 302 });
        if (r.hostname !== undefined) redirect.authority = r.hostname;
        if (r.scheme !== undefined) redirect.scheme = r.scheme;
        // "When empty, port (if specified) of the request is used", unless the scheme changes
        if (r.port !== undefined) redirect.port = r.port;
        else redirect.derivePort = r.scheme !== undefined ? 'FROM_PROTOCOL_DEFAULT' : 'FROM_REQUEST_PORT';
        if (r.path?.type === 'ReplaceFullPath') redirect.uri = r.path.replaceFullPath ?? '';
        else if (r.path?.type === 'ReplacePrefixMatch')
          // the spec's ReplacePrefixMatch table covers "a rewrite or redirect": normalised as URLRewrite's
          // below (istiod passes the value through raw, so `/` gives `//rest` and "" a redirect loop)
          redirect.uri = `${PREFIX_MARKER}${replacePrefix(r.path.replacePrefixMatch)}`;
        out.redirect = redirect;
        break;
      }
      case 'URLRewrite': {
        const w = f.urlRewrite ?? {};
        const rewrite = MUTABLE<NonNullable<HTTPRoute['rewrite']>>({});
        if (w.path?.type === 'ReplacePrefixMatch') {
          rewrite.uri = replacePrefix(w.path.replacePrefixMatch);
        } else if (w.path?.type === 'ReplaceFullPath') {
          rewrite.uriRegexRewrite = { match: '/.*', rewrite: w.path.replaceFullPath ?? '' };
        }
        if (w.hostname !== undefined) rewrite.authority = w.hostname;
        if (rewrite.uri !== undefined || rewrite.uriRegexRewrite !== undefined || rewrite.authority !== undefined)
          out.rewrite = rewrite;
        break;
      }
      case 'RequestMirror': {
        const m = f.requestMirror;
        if (m === undefined) break;
        const d = destination(m.backendRef, ns, lookup, mesh);
        // a mirror to a backend that does not exist is dropped (the route reports it)
        if (!d.found) break;
        let percentage: { value: number } | undefined;
        if (m.fraction !== undefined)
          percentage = { value: (100 * m.fraction.numerator) / (m.fraction.denominator ?? 100) };
        else if (m.percent !== undefined) percentage = { value: m.percent };
        mirrors.push(
          percentage === undefined ? { destination: d.destination } : { destination: d.destination, percentage },
        );
        break;
      }
      case 'CORS': {
        const c = f.cors ?? {};
        const cors = MUTABLE<NonNullable<HTTPRoute['corsPolicy']>>({});
        if (c.allowOrigins !== undefined)
          cors.allowOrigins = c.allowOrigins.filter((o) => o !== '').map((o) => ({ exact: o }));
        if (c.allowCredentials === true) cors.allowCredentials = true;
        if (c.allowMethods !== undefined) cors.allowMethods = c.allowMethods;
        if (c.allowHeaders !== undefined) cors.allowHeaders = c.allowHeaders;
        if (c.exposeHeaders !== undefined) cors.exposeHeaders = c.exposeHeaders;
        // the CRD defaults maxAge to 5 seconds
        cors.maxAge = `${c.maxAge ?? 5}s`;
        out.corsPolicy = cors;
        break;
      }
      case 'ExtensionRef':
        // rejected by validation (istiod: "unsupported filter type")
        break;
    }
  }
  if (mirrors.length > 0) out.mirrors = mirrors;

  if (rule.retry !== undefined) {
    // "Implementations SHOULD retry on connection errors ... if a retry stanza is configured"
    const attempts = rule.retry.attempts ?? 2;
    const retryOn = [
      'connect-failure',
      'refused-stream',
      'unavailable',
      'cancelled',
      ...(rule.retry.codes ?? []).map(String),
    ];
    out.retries = {
      attempts,
      retryOn: attempts === 0 ? '' : retryOn.join(','),
      ...(rule.retry.backoff === undefined ? {} : { backoff: rule.retry.backoff }),
    };
  }
  const request = nonZero(rule.timeouts?.request);
  const backendRequest = nonZero(rule.timeouts?.backendRequest);
  if (request !== undefined) out.timeout = request;
  if (backendRequest !== undefined) {
    // backendRequest bounds each attempt when retries are set, else the whole request
    if (out.retries !== undefined) out.retries = { ...out.retries, perTryTimeout: backendRequest };
    else out.timeout = backendRequest;
  }

  const backends = rule.backendRefs ?? [];
  const weightSum = backends.reduce((n, b) => n + (b.weight ?? 1), 0);
  if (weightSum === 0 && out.redirect === undefined) {
    // "the spec requires us to return 500 when there are no >0 weight backends"
    out.directResponse = { status: 500 };
  } else if (out.redirect === undefined) {
    const kept = backends.filter((b) => (b.weight ?? 1) !== 0);
    const destinations: HTTPRouteDestination[] = kept.map((b) => {
      const d = MUTABLE<HTTPRouteDestination>({
        destination: destination(b, ns, lookup, mesh).destination,
        // one destination carries weight 0 (a plain cluster route)
        weight: kept.length === 1 ? 0 : (b.weight ?? 1),
      });
      for (const f of b.filters ?? []) {
        if (f.type === 'RequestHeaderModifier')
          d.headers = { ...d.headers, request: headerOperations(f.requestHeaderModifier ?? {}) };
        else if (f.type === 'ResponseHeaderModifier')
          d.headers = { ...d.headers, response: headerOperations(f.responseHeaderModifier ?? {}) };
      }
      return d;
    });
    out.route = destinations;
  }
  return out;
}

function nonZero(d: string | undefined): string | undefined {
  return d === undefined || /^(0+(h|m|s|ms))+$/.test(d) ? undefined : d;
}

/**
 * A ReplacePrefixMatch value as the prefix that replaces the matched one: a trailing `/` is dropped
 * (`/xyz/` and `/xyz` both turn `/foo/bar` into `/xyz/bar`), and `/` or nothing means "remove the
 * prefix", which http-route.ts turns into a regex rewrite that keeps one `/`.
 */
function replacePrefix(value: string | undefined): string {
  const uri = (value ?? '').replace(/\/$/, '');
  return uri === '' ? '/' : uri;
}

/** The marker istiod puts in a redirect `uri` for ReplacePrefixMatch; route.go turns it into a prefix rewrite. */
export const PREFIX_MARKER = '%PREFIX()%';

/** The Istio HTTP routes of one HTTPRoute for the mesh: one per (rule, match); no matches → the CRD default. */
function meshRoutes(route: GatewayHTTPRoute, lookup: GatewayRouteLookup, mesh: boolean): HTTPRoute[] {
  const out: HTTPRoute[] = [];
  // absent `rules` are defaulted by the API server to one rule matching everything (with no backend: 500)
  const rules: readonly HTTPRouteRule[] = route.spec.rules ?? [{}];
  rules.forEach((rule, i) => {
    // an absent `matches` is defaulted by the API server to one `PathPrefix /` match
    const matches: (HTTPRouteMatch | undefined)[] =
      rule.matches === undefined ? [{ path: { type: 'PathPrefix', value: '/' } }] : [...rule.matches];
    if (matches.length === 0) matches.push(undefined);
    for (const m of matches) out.push(convertRule(rule, m, route, i, lookup, mesh));
  });
  return out;
}

/** augmentPortMatch: a parent port becomes a port match on every route. */
function withPort(routes: readonly HTTPRoute[], port: number): HTTPRoute[] {
  return routes.map((r) => ({
    ...r,
    match: r.match === undefined || r.match.length === 0 ? [{ port }] : r.match.map((m) => ({ ...m, port })),
  }));
}

function uriRank(m: HTTPMatchRequest): number {
  if (m.uri === undefined) return -1;
  if (m.uri.exact !== undefined) return 3;
  if (m.uri.prefix !== undefined) return 2;
  if (m.uri.regex !== undefined) return 1;
  return -1;
}

function uriLength(m: HTTPMatchRequest): number {
  return (m.uri?.exact ?? m.uri?.prefix ?? m.uri?.regex ?? '').length;
}

/** sortHTTPRoutes' "less": the Gateway API's precedence between two routes. */
function before(a: HTTPRoute, b: HTTPRoute): boolean {
  const m1 = a.match?.[0];
  const m2 = b.match?.[0];
  if (m1 === undefined) return false;
  if (m2 === undefined) return true;
  const r1 = uriRank(m1);
  const r2 = uriRank(m2);
  if (r1 !== r2) return r1 > r2;
  const l1 = uriLength(m1);
  const l2 = uriLength(m2);
  if (l1 !== l2) return l1 > l2;
  if ((m1.method === undefined) !== (m2.method === undefined)) return m1.method !== undefined;
  const h1 = Object.keys(m1.headers ?? {}).length;
  const h2 = Object.keys(m2.headers ?? {}).length;
  if (h1 !== h2) return h1 > h2;
  return Object.keys(m1.queryParams ?? {}).length > Object.keys(m2.queryParams ?? {}).length;
}

/** sort.SliceStable(routes, less): Array.prototype.sort is stable. */
export function sortGatewayRoutes(routes: HTTPRoute[]): HTTPRoute[] {
  return routes.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
}

/** sortRoutesByCreationTime: creation time, then namespace, then name. */
function byRouteCreation(a: GatewayHTTPRoute | GatewayGRPCRoute, b: GatewayHTTPRoute | GatewayGRPCRoute): number {
  const ta = Date.parse(a.metadata.creationTimestamp ?? '');
  const tb = Date.parse(b.metadata.creationTimestamp ?? '');
  const na = Number.isNaN(ta) ? Number.NEGATIVE_INFINITY : ta;
  const nb = Number.isNaN(tb) ? Number.NEGATIVE_INFINITY : tb;
  if (na !== nb) return na < nb ? -1 : 1;
  if (a.metadata.namespace !== b.metadata.namespace) return a.metadata.namespace < b.metadata.namespace ? -1 : 1;
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  return 0;
}

/** HTTPRouteCollection / GRPCRouteCollection + mergeHTTPRoutes for mesh parents: the VirtualServices istiod builds. */
function meshVirtualServices<R extends GatewayHTTPRoute | GatewayGRPCRoute>(
  routes: readonly R[],
  lookup: GatewayRouteLookup,
  convert: (route: R, mesh: boolean) => HTTPRoute[],
): VirtualService[] {
  const merged = new Map<string, { namespace: string; host: string; gateway: string; first: R; http: HTTPRoute[] }>();
  for (const route of [...routes].sort(byRouteCreation)) {
    const parents = routeParents(route, lookup);
    if (parents.length === 0) continue;
    // mesh and gateway routes differ only in which backends they may reach
    const converted = new Map<boolean, HTTPRoute[]>();
    const ns = route.metadata.namespace;
    for (const parent of parents) {
      let base = converted.get(parent.mesh);
      if (base === undefined) converted.set(parent.mesh, (base = convert(route, parent.mesh)));
      if (base.length === 0) continue;
      const http = parent.port === undefined ? base : withPort(base, parent.port);
      // mesh: one VirtualService per namespace (and parent port) and host; gateway: per listener and host
      const prefix = parent.mesh ? `${ns}${parent.port === undefined ? '' : `/${parent.port}`}` : parent.gateway;
      for (const host of parent.hosts) {
        const key = `${prefix}/${host}`;
        const entry = merged.get(key);
        if (entry === undefined)
          merged.set(key, { namespace: ns, host, gateway: parent.gateway, first: route, http: [...http] });
        else entry.http.push(...http);
      }
    }
  }
  const out: VirtualService[] = [];
  for (const [key, { namespace, host, gateway, first, http }] of merged) {
    const meta = first.metadata.creationTimestamp;
    out.push({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: {
        name: key.replaceAll('/', '~'),
        namespace,
        ...(meta === undefined ? {} : { creationTimestamp: meta }),
      },
      spec: { hosts: [host], gateways: [gateway], http: sortGatewayRoutes(http) },
    });
  }
  return out;
}

export function httpRouteVirtualServices(
  routes: readonly GatewayHTTPRoute[],
  lookup: GatewayRouteLookup,
): VirtualService[] {
  return meshVirtualServices(routes, lookup, (r, mesh) => meshRoutes(r, lookup, mesh));
}

/**
 * GRPCRoutes are merged apart from HTTPRoutes ("Merging MUST not be done between GRPCRoutes and
 * HTTPRoutes"), into VirtualServices of their own (istiod's GRPCRouteCollection).
 */
export function grpcRouteVirtualServices(
  routes: readonly GatewayGRPCRoute[],
  lookup: GatewayRouteLookup,
): VirtualService[] {
  return meshVirtualServices(routes, lookup, (r, mesh) => grpcMeshRoutes(r, lookup, mesh));
}

/** createGRPCURIMatch: gRPC's `/<service>/<method>` path as an exact, prefix or regex match. */
function grpcUriMatch(m: GRPCRouteMatch['method']): StringMatch | undefined {
  if (m === undefined) return undefined;
  const service = m.service === '' ? undefined : m.service;
  const method = m.method === '' ? undefined : m.method;
  if ((m.type ?? 'Exact') === 'Exact') {
    if (method === undefined) return { prefix: `/${service}/` };
    if (service === undefined) return { regex: `/[^/]+/${method}` };
    return { exact: `/${service}/${method}` };
  }
  if (method === undefined) return { regex: `/${service}/.+` };
  if (service === undefined) return { regex: `/[^/]+/${method}` };
  return { regex: `/${service}/${method}` };
}

/** convertGRPCRoute: matches on service / method and headers; header modifiers and mirrors; backends as HTTP. */
function convertGrpcRule(
  rule: GRPCRouteRule,
  match: GRPCRouteMatch | undefined,
  route: GatewayGRPCRoute,
  index: number,
  lookup: GatewayRouteLookup,
  mesh: boolean,
): HTTPRoute {
  // the filters and backends GRPCRoute shares with HTTPRoute convert the same way
  const shared = convertRule(
    {
      ...(rule.name === undefined ? {} : { name: rule.name }),
      filters: (rule.filters ?? []).filter((f) => f.type !== 'ExtensionRef'),
      ...(rule.backendRefs === undefined ? {} : { backendRefs: rule.backendRefs }),
    },
    undefined,
    route,
    index,
    lookup,
    mesh,
  );
  if (match === undefined) return shared;
  const m = MUTABLE<HTTPMatchRequest>({});
  const uri = grpcUriMatch(match.method);
  if (uri !== undefined) m.uri = uri;
  if ((match.headers?.length ?? 0) > 0)
    m.headers = Object.fromEntries(match.headers!.map((h) => [h.name, stringMatch(h.type, h.value)]));
  return { ...shared, match: [m] };
}

function grpcMeshRoutes(route: GatewayGRPCRoute, lookup: GatewayRouteLookup, mesh: boolean): HTTPRoute[] {
  const out: HTTPRoute[] = [];
  (route.spec.rules ?? []).forEach((rule, i) => {
    // no matches: every service and method
    const matches: (GRPCRouteMatch | undefined)[] = [...(rule.matches ?? [])];
    if (matches.length === 0) matches.push(undefined);
    for (const m of matches) out.push(convertGrpcRule(rule, m, route, i, lookup, mesh));
  });
  return out;
}
