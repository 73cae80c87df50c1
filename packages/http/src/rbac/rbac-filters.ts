// The RBAC HTTP filters of one HttpConnectionManager, evaluated in filter order as Envoy runs
// them. istiod puts `envoy.filters.http.rbac.DENY` before `envoy.filters.http.rbac` (ALLOW), which
// gives AuthorizationPolicy's order: any matching DENY policy denies; then, if an ALLOW filter is
// present, only a matching ALLOW policy lets the request through. A filter without rules (or
// disabled for the route) enforces nothing; no filter at all allows everything.
import type { CompiledRbac } from './rbac-policies.ts';
import type { RbacRequest } from './rbac-request.ts';

export interface RbacFilter {
  /** the HTTP filter name, e.g. `envoy.filters.http.rbac.DENY` */
  readonly name: string;
  /** undefined: the filter enforces nothing */
  readonly rules: CompiledRbac | undefined;
}

export interface RbacDecision {
  readonly allowed: boolean;
  /** the filter that denied, or the last filter whose policy allowed */
  readonly filter: string | undefined;
  /**
   * Denied: the DENY policy that matched, or undefined when an ALLOW filter matched nothing.
   * Allowed: the ALLOW policy that matched, if any.
   */
  readonly matchedPolicy: string | undefined;
}

export const RBAC_ALLOW_ALL: RbacDecision = Object.freeze({
  allowed: true,
  filter: undefined,
  matchedPolicy: undefined,
});

export function evaluateRbacFilters(filters: readonly RbacFilter[], req: RbacRequest): RbacDecision {
  let decision = RBAC_ALLOW_ALL;
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i]!;
    const rules = f.rules;
    if (rules === undefined) continue;
    const r = rules.evaluate(req);
    if (!r.allowed) return { allowed: false, filter: f.name, matchedPolicy: r.matchedPolicy };
    if (r.matchedPolicy !== undefined && rules.action === 'ALLOW') {
      decision = { allowed: true, filter: f.name, matchedPolicy: r.matchedPolicy };
    }
  }
  return decision;
}

/**
 * Envoy's %RESPONSE_CODE_DETAILS% for a request the RBAC filter denied:
 * `rbac_access_denied_matched_policy[<policy>]`, `[none]` when no policy matched.
 */
export function rbacDeniedDetails(d: RbacDecision): string {
  return `rbac_access_denied_matched_policy[${d.matchedPolicy ?? 'none'}]`;
}
