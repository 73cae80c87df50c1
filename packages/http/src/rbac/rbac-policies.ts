// One RBAC config (envoy.config.rbac.v3.RBAC) compiled once: policies in name order (Envoy keeps
// them in an ordered map, so the reported policy is the first matching name), each a single
// predicate. Evaluation only reads.
//   ALLOW: allowed iff some policy matches (no policies: nothing is allowed);
//   DENY:  allowed iff no policy matches;
//   LOG:   always allowed; the matched policy is reported for access logs.
import type { RbacPolicies } from '@inboard/xds';
import { InboardError } from '@inboard/xds';
import { compilePolicyMatch, type RbacPredicate } from './rbac-matcher.ts';
import type { RbacRequest } from './rbac-request.ts';

export interface RbacResult {
  readonly allowed: boolean;
  /** the first matching policy by name; undefined when none matched */
  readonly matchedPolicy: string | undefined;
}

interface CompiledPolicy {
  readonly name: string;
  readonly matches: RbacPredicate;
}

/** A policy that cannot be compiled (a regex RE2 rejects). The previous config stays in force. */
export class RbacCompileError extends InboardError {
  readonly policy: string;
  constructor(policy: string, message: string, options?: { cause?: unknown }) {
    super('INBOARD_RBAC_COMPILE', `RBAC policy ${JSON.stringify(policy)}: ${message}`, options);
    this.policy = policy;
  }
}

const ALLOWED_NO_MATCH: RbacResult = Object.freeze({ allowed: true, matchedPolicy: undefined });
const DENIED_NO_MATCH: RbacResult = Object.freeze({ allowed: false, matchedPolicy: undefined });

export class CompiledRbac {
  readonly action: RbacPolicies['action'];
  readonly policyNames: readonly string[];
  readonly #policies: readonly CompiledPolicy[];
  // one frozen result per policy, so evaluation allocates nothing
  readonly #onMatch: readonly RbacResult[];

  /** @internal use compileRbac */
  constructor(action: RbacPolicies['action'], policies: readonly CompiledPolicy[]) {
    this.action = action;
    this.#policies = policies;
    this.policyNames = policies.map((p) => p.name);
    this.#onMatch = policies.map((p) => Object.freeze({ allowed: action !== 'DENY', matchedPolicy: p.name }));
  }

  /** The first policy (by name) that matches, or -1. */
  firstMatch(req: RbacRequest): number {
    const list = this.#policies;
    for (let i = 0; i < list.length; i++) if (list[i]!.matches(req)) return i;
    return -1;
  }

  evaluate(req: RbacRequest): RbacResult {
    const i = this.firstMatch(req);
    if (i >= 0) return this.#onMatch[i]!;
    return this.action === 'ALLOW' ? DENIED_NO_MATCH : ALLOWED_NO_MATCH;
  }
}

/** Throws RbacCompileError naming the policy whose regex RE2 rejects. */
export function compileRbac(rules: RbacPolicies): CompiledRbac {
  const policies = rules.policies.map((p) => {
    try {
      return { name: p.name, matches: compilePolicyMatch(p.permissions, p.principals) };
    } catch (err) {
      throw new RbacCompileError(p.name, err instanceof Error ? err.message : String(err), { cause: err });
    }
  });
  return new CompiledRbac(rules.action, policies);
}
