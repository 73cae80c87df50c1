// VirtualService delegation (Istio's "VirtualService chaining"), resolved the way istiod resolves it
// when it builds a push context (mergeVirtualServicesIfNeeded): a VirtualService without hosts is a
// delegate; each HTTP route of a root that names one is replaced by the delegate's routes, their
// match conditions narrowed to the root's and the root's route fields filling what they leave unset.
// The mesh index merges once per config version; the load warnings name what the merge drops.
import type {
  Destination,
  HTTPMatchRequest,
  HTTPRoute,
  StringMatch,
  VirtualService,
  VirtualServiceSpec,
} from '../config/istio-types.ts';
import { resolveGatewayName, resolveShortname } from './hostnames.ts';

/** Something the merge dropped, at the object and field a user would fix (istiod logs it). */
export interface DelegationNote {
  readonly object: VirtualService;
  /** `['spec', 'http', 2, 'delegate']`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export interface DelegationOptions {
  /** meshConfig.defaultVirtualServiceExportTo (istiod: `*` when unset). */
  readonly defaultExportTo: readonly string[];
  readonly domainSuffix: string;
}

export interface DelegationResult {
  /** The VirtualServices with hosts, in input order, roots replaced by their merged copy; delegates left out. */
  readonly virtualServices: readonly VirtualService[];
  readonly notes: readonly DelegationNote[];
}

/** A root VirtualService: one of its HTTP routes names a delegate. */
export function isRootVirtualService(vs: VirtualService): boolean {
  return (vs.spec.hosts?.length ?? 0) > 0 && (vs.spec.http ?? []).some((h) => h.delegate !== undefined);
}

export function mergeDelegateVirtualServices(
  list: readonly VirtualService[],
  options: DelegationOptions,
): DelegationResult {
  const notes: DelegationNote[] = [];
  const delegates = new Map<string, VirtualService>();
  for (const vs of list) {
    // a name is unique per namespace; the first one wins as elsewhere in the store
    const key = `${vs.metadata.namespace}/${vs.metadata.name}`;
    if ((vs.spec.hosts?.length ?? 0) === 0 && !delegates.has(key)) delegates.set(key, vs);
  }
  const out: VirtualService[] = [];
  for (const vs of list) {
    if ((vs.spec.hosts?.length ?? 0) === 0) continue;
    if (!isRootVirtualService(vs)) {
      out.push(vs);
      continue;
    }
    const rootNs = vs.metadata.namespace;
    const http: HTTPRoute[] = [];
    (vs.spec.http ?? []).forEach((route, i) => {
      if (route.delegate === undefined) {
        http.push(route);
        return;
      }
      const ns = route.delegate.namespace || rootNs;
      const ref = `${ns}/${route.delegate.name}`;
      const delegate = delegates.get(ref);
      const at = ['spec', 'http', i, 'delegate'];
      // istiod leaves out the root route whose delegate it cannot use, and keeps the others
      if (delegate === undefined) {
        notes.push({ object: vs, path: at, message: `delegate VirtualService ${ref} not found: the route is dropped` });
        return;
      }
      if (!exportedTo(delegate, rootNs, options.defaultExportTo)) {
        notes.push({
          object: vs,
          path: at,
          message: `delegate VirtualService ${ref} is not exported to namespace ${rootNs}: the route is dropped`,
        });
        return;
      }
      (delegate.spec.http ?? []).forEach((sub, j) => {
        // one level only: istiod's validation refuses a delegate route naming a delegate
        if (sub.delegate !== undefined) {
          notes.push({
            object: delegate,
            path: ['spec', 'http', j, 'delegate'],
            message: 'a delegate VirtualService cannot delegate again: the route is dropped',
          });
          return;
        }
        const merged = mergeRoute(route, resolveDelegateRoute(sub, ns, options.domainSuffix), rootNs, ns);
        if (merged === undefined) {
          notes.push({
            object: delegate,
            path: ['spec', 'http', j, 'match'],
            message: `a match is not within the match of root VirtualService ${rootNs}/${vs.metadata.name} spec.http[${i}]: the route is dropped from it`,
          });
          return;
        }
        http.push(merged);
      });
    });
    const spec: VirtualServiceSpec = { ...vs.spec, http };
    out.push({ ...vs, spec });
  }
  return { virtualServices: out, notes };
}

/** The delegate's exportTo (`.` is its own namespace), else the mesh default, must include the root's namespace. */
function exportedTo(delegate: VirtualService, namespace: string, defaultExportTo: readonly string[]): boolean {
  const list = (delegate.spec.exportTo?.length ?? 0) > 0 ? delegate.spec.exportTo! : defaultExportTo;
  return list.some((e) => e === '*' || e === namespace || (e === '.' && delegate.metadata.namespace === namespace));
}

/**
 * istiod resolves short names in each VirtualService's own namespace before merging: a delegate's
 * `reviews` is the delegate namespace's service even once its routes belong to a root elsewhere.
 */
function resolveDelegateRoute(route: HTTPRoute, namespace: string, domainSuffix: string): HTTPRoute {
  const host = (d: Destination): Destination => ({ ...d, host: resolveShortname(d.host, namespace, domainSuffix) });
  const out: { -readonly [K in keyof HTTPRoute]: HTTPRoute[K] } = { ...route };
  if (route.route !== undefined) out.route = route.route.map((d) => ({ ...d, destination: host(d.destination) }));
  if (route.mirror !== undefined) out.mirror = host(route.mirror);
  if (route.mirrors !== undefined) out.mirrors = route.mirrors.map((m) => ({ ...m, destination: host(m.destination) }));
  return out;
}

function withGateways(m: HTTPMatchRequest, namespace: string): HTTPMatchRequest {
  if (m.gateways === undefined || m.gateways.length === 0) return m;
  return { ...m, gateways: m.gateways.map((g) => resolveGatewayName(g, namespace)) };
}

/**
 * mergeHTTPRoute: the delegate route's matches narrowed by the root's (undefined when none fits
 * inside one of them), its name prefixed with the root's, and the root's route fields where the
 * delegate route leaves them unset. Fields are taken whole, not merged: a delegate route's own
 * `headers` replace the root's.
 */
function mergeRoute(root: HTTPRoute, sub: HTTPRoute, rootNs: string, subNs: string): HTTPRoute | undefined {
  const match = mergeMatches(
    (root.match ?? []).map((m) => withGateways(m, rootNs)),
    (sub.match ?? []).map((m) => withGateways(m, subNs)),
  );
  if (match === undefined) return undefined;
  const out: { -readonly [K in keyof HTTPRoute]: HTTPRoute[K] } = { ...sub };
  if (match.length > 0) out.match = match;
  else delete out.match;
  const name = joinNames(root.name, sub.name);
  if (name !== undefined) out.name = name;
  out.rewrite ??= root.rewrite;
  out.directResponse ??= root.directResponse;
  out.timeout ??= root.timeout;
  out.retries ??= root.retries;
  out.fault ??= root.fault;
  out.mirror ??= root.mirror;
  out.mirrorPercent ??= root.mirrorPercent;
  out.mirrorPercentage ??= root.mirrorPercentage;
  out.corsPolicy ??= root.corsPolicy;
  out.mirrors ??= root.mirrors;
  out.headers ??= root.headers;
  for (const k of Object.keys(out) as (keyof HTTPRoute)[]) if (out[k] === undefined) delete out[k];
  return out;
}

function joinNames(root: string | undefined, sub: string | undefined): string | undefined {
  if (sub === undefined || sub === '') return root;
  return root === undefined || root === '' ? sub : `${root}-${sub}`;
}

/**
 * mergeHTTPMatchRequests: every delegate match must fit inside at least one root match; it is
 * merged with each root match it fits (an OR of narrowed conditions). Undefined on a conflict.
 */
function mergeMatches(
  root: readonly HTTPMatchRequest[],
  sub: readonly HTTPMatchRequest[],
): HTTPMatchRequest[] | undefined {
  if (root.length === 0) return [...sub];
  if (sub.length === 0) return [...root];
  const out: HTTPMatchRequest[] = [];
  for (const s of sub) {
    let found = false;
    for (const r of root) {
      if (conflicts(r, s)) continue;
      out.push(mergeMatch(r, s));
      found = true;
    }
    if (!found) return undefined;
  }
  return out;
}

function mergeMatch(root: HTTPMatchRequest, sub: HTTPMatchRequest): HTTPMatchRequest {
  const out: { -readonly [K in keyof HTTPMatchRequest]: HTTPMatchRequest[K] } = { ...sub };
  const name = joinNames(root.name, sub.name);
  if (name !== undefined) out.name = name;
  out.uri ??= root.uri;
  out.scheme ??= root.scheme;
  out.method ??= root.method;
  out.authority ??= root.authority;
  out.headers = mergeMaps(root.headers, sub.headers);
  out.withoutHeaders = mergeMaps(root.withoutHeaders, sub.withoutHeaders);
  out.queryParams = mergeMaps(root.queryParams, sub.queryParams);
  if (sub.port === undefined || sub.port === 0) out.port = root.port;
  out.sourceLabels = mergeMaps(root.sourceLabels, sub.sourceLabels);
  if (sub.sourceNamespace === undefined || sub.sourceNamespace === '') out.sourceNamespace = root.sourceNamespace;
  if (sub.gateways === undefined || sub.gateways.length === 0) out.gateways = root.gateways;
  if (sub.statPrefix === undefined || sub.statPrefix === '') out.statPrefix = root.statPrefix;
  for (const k of Object.keys(out) as (keyof HTTPMatchRequest)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/** The root's entries, then the delegate's (which win on the same key); undefined when both are empty. */
function mergeMaps<V>(
  root: Readonly<Record<string, V>> | undefined,
  sub: Readonly<Record<string, V>> | undefined,
): Readonly<Record<string, V>> | undefined {
  const out = { ...root, ...sub };
  return Object.keys(out).length > 0 ? out : undefined;
}

/** hasConflict: a delegate match that is not a narrowing of the root match. */
function conflicts(root: HTTPMatchRequest, leaf: HTTPMatchRequest): boolean {
  if (stringConflict(root.uri, leaf.uri)) return true;
  if (stringConflict(root.scheme, leaf.scheme)) return true;
  if (stringConflict(root.method, leaf.method)) return true;
  if (stringConflict(root.authority, leaf.authority)) return true;
  for (const [k, v] of Object.entries(leaf.headers ?? {})) if (stringConflict(root.headers?.[k], v)) return true;
  for (const [k, v] of Object.entries(leaf.withoutHeaders ?? {}))
    if (stringConflict(root.withoutHeaders?.[k], v)) return true;
  for (const [k, v] of Object.entries(leaf.queryParams ?? {}))
    if (stringConflict(root.queryParams?.[k], v)) return true;
  if ((root.ignoreUriCase ?? false) !== (leaf.ignoreUriCase ?? false)) return true;
  const rp = root.port ?? 0;
  const lp = leaf.port ?? 0;
  if (rp > 0 && lp > 0 && rp !== lp) return true;
  const rns = root.sourceNamespace ?? '';
  if (rns !== '' && (leaf.sourceNamespace ?? '') !== rns) return true;
  for (const [k, v] of Object.entries(leaf.sourceLabels ?? {})) {
    const r = root.sourceLabels?.[k];
    if (r !== undefined && r !== v) return true;
  }
  const rg = root.gateways ?? [];
  const lg = leaf.gateways ?? [];
  if (rg.length > 0 && lg.length > 0) {
    if (rg.length < lg.length) return true;
    if (lg.some((g) => !rg.includes(g))) return true;
  }
  return false;
}

/**
 * stringMatchConflict: either side unset is no conflict; a regex on either side conflicts with any
 * match on the other; an exact root takes only the same exact; a prefix root takes a prefix or an
 * exact that starts with it. A root match of none of these (`{}`) conflicts with any set leaf.
 */
function stringConflict(root: StringMatch | undefined, leaf: StringMatch | undefined): boolean {
  if (root === undefined || leaf === undefined) return false;
  const set = (s: string | undefined) => s !== undefined && s !== '';
  if (set(root.regex) && (set(leaf.regex) || set(leaf.prefix) || set(leaf.exact))) return true;
  if (set(leaf.regex) && (set(root.regex) || set(root.prefix) || set(root.exact))) return true;
  if (set(root.exact)) {
    if (set(leaf.prefix)) return true;
    return (leaf.exact ?? '') !== root.exact;
  }
  if (set(root.prefix)) {
    if (set(leaf.prefix)) return !leaf.prefix!.startsWith(root.prefix!);
    if (set(leaf.exact)) return !leaf.exact!.startsWith(root.prefix!);
  }
  return true;
}
