// Which level's policy applies to a matched route. Envoy never merges these:
// - retry_policy: the route's replaces the vhost's entirely;
// - request_mirror_policies: the most specific non-empty list (route, vhost, route config);
// - typed_per_filter_config: for each filter name, the most specific level that has an entry
//   (weighted cluster, route, vhost, route config) supplies the filter's config; whether the
//   filter is disabled is decided by the most specific of route, vhost, route config. The CORS
//   filter alone takes each setting from the most specific policy that sets it, so all() keeps
//   every level for it.
import type {
  FilterOverride,
  FilterOverrides,
  RequestMirrorPolicy,
  RetryPolicy,
  Route,
  RouteConfiguration,
  VirtualHost,
} from '@inboard/xds';
import { type CompiledFault, compileFault } from '../fault/compiled-fault.ts';

export function effectiveRetryPolicy(vhost: VirtualHost, route: Route): RetryPolicy | undefined {
  if (route.action.kind !== 'route') return undefined;
  return route.action.retryPolicy ?? vhost.retryPolicy;
}

export function effectiveMirrorPolicies(
  rc: RouteConfiguration,
  vhost: VirtualHost,
  route: Route,
): readonly RequestMirrorPolicy[] {
  if (route.action.kind !== 'route') return [];
  if (route.action.requestMirrorPolicies.length > 0) return route.action.requestMirrorPolicies;
  if (vhost.requestMirrorPolicies.length > 0) return vhost.requestMirrorPolicies;
  return rc.requestMirrorPolicies;
}

/** typed_per_filter_config of every level that applies to a route (or one of its weighted clusters). */
export class FilterConfigChain {
  // most specific first
  readonly #levels: readonly FilterOverrides[];
  // The router asks about the same filter (the listener's fault filter) on every request: the
  // answers for the last name asked are kept (levels never change after compilation).
  #memoName: string | undefined;
  #memoDisabled: boolean | undefined;
  #memoFault: CompiledFault | undefined;

  /** `levels` most specific first (a weighted cluster's, when there is one, then route, vhost, route config). */
  constructor(levels: readonly FilterOverrides[]) {
    this.#levels = levels;
  }

  /** The most specific override of filter `name` (Envoy's mostSpecificPerFilterConfig). */
  get(name: string): FilterOverride | undefined {
    for (const level of this.#levels) {
      const o = level[name];
      if (o !== undefined) return o;
    }
    return undefined;
  }

  /** Every level's override of filter `name`, most specific first. */
  all(name: string): FilterOverride[] {
    const out: FilterOverride[] = [];
    for (const level of this.#levels) {
      const o = level[name];
      if (o !== undefined) out.push(o);
    }
    return out;
  }

  /**
   * Envoy's filterDisabled: true or false from the most specific entry for `name` (a weighted
   * cluster's first, as WeightedClusterEntry::filterDisabled asks it before the route's; any
   * entry other than `disabled` enables the filter); undefined when none has one, and the
   * filter's own `disabled` flag applies.
   */
  disabled(name: string): boolean | undefined {
    if (name !== this.#memoName) this.#memo(name);
    return this.#memoDisabled;
  }

  /** The compiled fault of filter `name`'s most specific override, if that override is a fault. */
  fault(name: string): CompiledFault | undefined {
    if (name !== this.#memoName) this.#memo(name);
    return this.#memoFault;
  }

  #memo(name: string): void {
    const o = this.get(name);
    this.#memoDisabled = o === undefined ? undefined : o.kind === 'disabled';
    this.#memoFault = o?.kind === 'fault' ? compileFault(o.fault) : undefined;
    this.#memoName = name;
  }
}
