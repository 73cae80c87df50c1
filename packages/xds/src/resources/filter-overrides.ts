// typed_per_filter_config: per-route / per-virtual-host / per-weighted-cluster overrides of HTTP
// filters, keyed by filter name. The Any's type decides what it configures, as in Envoy.
import type { config_route_v3_CorsPolicy, google_protobuf_Any } from '../gen/envoy.ts';
import { corsPolicy } from './cors-policy.ts';
import * as T from './filter-types.ts';
import { httpFault } from './http-fault.ts';
import type { FilterOverride, FilterOverrides } from './model.ts';
import type { Problems } from './problems.ts';
import { anyMessageName, unpack } from './proto-values.ts';
import { rbacFilterRules } from './rbac.ts';

export const NO_FILTER_OVERRIDES: FilterOverrides = Object.freeze({});
const DISABLED: FilterOverride = Object.freeze({ kind: 'disabled' });
const ENABLED: FilterOverride = Object.freeze({ kind: 'enabled' });
const CORS_FILTER_NAME = 'envoy.filters.http.cors';

/** undefined: an optional config Inboard does not understand, or a reported error. */
function override(
  any: google_protobuf_Any,
  optional: boolean,
  wrapped: boolean,
  path: string,
  p: Problems,
): FilterOverride | undefined {
  const type = anyMessageName(any);
  switch (type) {
    case T.HTTP_FAULT: {
      const f = unpack(any, T.HTTP_FAULT, path, p);
      return f === undefined ? undefined : { kind: 'fault', fault: httpFault(f, path, p) };
    }
    case T.RBAC_PER_ROUTE: {
      const r = unpack(any, T.RBAC_PER_ROUTE, path, p);
      if (r === undefined) return undefined;
      return { kind: 'rbac', rules: r.rbac === undefined ? undefined : rbacFilterRules(r.rbac, `${path}.rbac`, p) };
    }
    case T.CORS_POLICY: {
      const c = unpack(any, T.CORS_POLICY, path, p);
      return c === undefined ? undefined : { kind: 'cors', cors: corsPolicy(c, path, p) };
    }
    case T.FILTER_CONFIG: {
      if (wrapped) {
        p.add(path, 'FilterConfig cannot wrap another FilterConfig');
        return undefined;
      }
      const fc = unpack(any, T.FILTER_CONFIG, path, p);
      if (fc === undefined) return undefined;
      if (fc.disabled) return DISABLED;
      if (fc.config === undefined || fc.config.type_url === '') return ENABLED;
      return override(fc.config, fc.is_optional, true, `${path}.config`, p);
    }
    default:
      if (!optional) p.add(path, `unsupported filter config type ${JSON.stringify(any.type_url)}`);
      return undefined;
  }
}

/** `parent` is the path of the message holding typed_per_filter_config (and maybe `cors`). */
export function filterOverrides(
  configs: Record<string, google_protobuf_Any>,
  parent: string,
  p: Problems,
  deprecatedCors?: config_route_v3_CorsPolicy,
): FilterOverrides {
  let out: Record<string, FilterOverride> | undefined;
  for (const name in configs) {
    const any = configs[name];
    const at = `${parent}.typed_per_filter_config["${name}"]`;
    if (name === '') p.add(at, 'filter name must not be empty');
    if (any === undefined) continue;
    const o = override(any, false, false, at, p);
    if (o === undefined) continue;
    out ??= {};
    out[name] = o;
  }
  if (deprecatedCors !== undefined && out?.[CORS_FILTER_NAME] === undefined) {
    out ??= {};
    out[CORS_FILTER_NAME] = { kind: 'cors', cors: corsPolicy(deprecatedCors, `${parent}.cors`, p) };
  }
  return out ?? NO_FILTER_OVERRIDES;
}
