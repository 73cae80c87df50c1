// An inbound Listener compiled once into what requests need: per filter chain, the mTLS mode, the
// route table of its HttpConnectionManager and, for every route, the RBAC filters in force there
// (per-route RBACPerRoute overrides and disabled filters resolved now, not per request).
// NO_MESH_POLICY stands for "istiod sent no listener": the pod is not selected by a Service on
// this port, so nothing is enforced and the server stays plaintext.
import type {
  FilterChain,
  FilterChainMatch,
  HttpConnectionManager,
  Listener,
  RbacPolicies,
  RouteConfiguration,
  TlsContext,
} from '@inboard/xds';
import type { RbacFilter } from '../rbac/rbac-filters.ts';
import { type CompiledRbac, compileRbac } from '../rbac/rbac-policies.ts';
import type { FilterConfigChain } from '../route/effective-policy.ts';
import { compileRouteTable, type RouteEntry, type RouteTable } from '../route/route-table.ts';

/**
 * STRICT: TLS with a verified client certificate required (Istio STRICT);
 * SIMPLE: TLS without client certificates (istiod never sends it);
 * DISABLE: plaintext.
 */
export type MtlsMode = 'STRICT' | 'SIMPLE' | 'DISABLE';

export interface CompiledFilterChain {
  readonly name: string;
  readonly match: FilterChainMatch | undefined;
  readonly tls: TlsContext | undefined;
  readonly mtls: MtlsMode;
  /** undefined: the chain's RDS route configuration has not arrived (requests get NR) */
  readonly routes: RouteTable | undefined;
  /** the RBAC filters in force for each route of `routes` */
  readonly rbacByRoute: ReadonlyMap<RouteEntry, readonly RbacFilter[]>;
  /** the RBAC filters in force when no route matched */
  readonly rbac: readonly RbacFilter[];
}

export interface InboundPolicy {
  /** undefined: no mesh policy */
  readonly listener: Listener | undefined;
  readonly chains: readonly CompiledFilterChain[];
  readonly defaultChain: CompiledFilterChain | undefined;
  /** the mode a server should be created with: the first chain's (a single chain with istiod) */
  readonly mtls: MtlsMode;
  /** the TLS context of that chain, for the server's certificates */
  readonly tls: TlsContext | undefined;
}

export const NO_MESH_POLICY: InboundPolicy = Object.freeze({
  listener: undefined,
  chains: Object.freeze([]) as readonly CompiledFilterChain[],
  defaultChain: undefined,
  mtls: 'DISABLE' as const,
  tls: undefined,
});

export function mtlsModeOf(tls: TlsContext | undefined): MtlsMode {
  if (tls === undefined) return 'DISABLE';
  return tls.requireClientCertificate ? 'STRICT' : 'SIMPLE';
}

/** The RDS names the listener's chains need (an inline route_config needs none). */
export function routeConfigNamesOf(listener: Listener): string[] {
  const names = new Set<string>();
  for (const c of allChains(listener)) {
    const n = c.hcm.routeConfigName;
    if (n !== undefined && c.hcm.routeConfig === undefined) names.add(n);
  }
  return [...names];
}

function allChains(listener: Listener): FilterChain[] {
  return listener.defaultFilterChain === undefined
    ? [...listener.filterChains]
    : [...listener.filterChains, listener.defaultFilterChain];
}

class RbacCache {
  readonly #compiled = new Map<RbacPolicies, CompiledRbac>();
  get(rules: RbacPolicies): CompiledRbac {
    let c = this.#compiled.get(rules);
    if (c === undefined) {
      c = compileRbac(rules);
      this.#compiled.set(rules, c);
    }
    return c;
  }
}

/** The RBAC filters of `hcm` in force for a route (`filters`), or for no route (undefined). */
function rbacFiltersFor(
  hcm: HttpConnectionManager,
  filters: FilterConfigChain | undefined,
  cache: RbacCache,
): RbacFilter[] {
  const out: RbacFilter[] = [];
  for (const f of hcm.httpFilters) {
    if (f.config.kind !== 'rbac') continue;
    const disabled = filters?.disabled(f.name) ?? f.disabled;
    if (disabled) continue;
    let rules = f.config.rules;
    const override = filters?.get(f.name);
    if (override?.kind === 'rbac') rules = override.rules;
    out.push({ name: f.name, rules: rules === undefined ? undefined : cache.get(rules) });
  }
  return out;
}

function compileChain(
  c: FilterChain,
  routeConfigs: ReadonlyMap<string, RouteConfiguration>,
  cache: RbacCache,
): CompiledFilterChain {
  const hcm = c.hcm;
  const rc = hcm.routeConfig ?? (hcm.routeConfigName === undefined ? undefined : routeConfigs.get(hcm.routeConfigName));
  const routes = rc === undefined ? undefined : compileRouteTable(rc);
  const rbacByRoute = new Map<RouteEntry, readonly RbacFilter[]>();
  if (routes !== undefined) {
    for (const vh of routes.virtualHosts) {
      for (const entry of vh.routes) rbacByRoute.set(entry, rbacFiltersFor(hcm, entry.filters, cache));
    }
  }
  return {
    name: c.name,
    match: c.match,
    tls: c.tls,
    mtls: mtlsModeOf(c.tls),
    routes,
    rbacByRoute,
    rbac: rbacFiltersFor(hcm, undefined, cache),
  };
}

/**
 * Throws RouteCompileError or RbacCompileError when a part cannot be compiled; the caller keeps
 * the previous policy, as Envoy keeps its last good listener.
 */
export function compileInboundPolicy(
  listener: Listener,
  routeConfigs: ReadonlyMap<string, RouteConfiguration> = new Map(),
): InboundPolicy {
  const cache = new RbacCache();
  const chains = listener.filterChains.map((c) => compileChain(c, routeConfigs, cache));
  const defaultChain =
    listener.defaultFilterChain === undefined
      ? undefined
      : compileChain(listener.defaultFilterChain, routeConfigs, cache);
  const first = chains[0] ?? defaultChain;
  return { listener, chains, defaultChain, mtls: first?.mtls ?? 'DISABLE', tls: first?.tls };
}
