// CORS policy: the typed per-filter config of envoy.filters.http.cors, or the deprecated
// route/virtual-host `cors` field (same shape).
import type { config_route_v3_CorsPolicy, extensions_filters_http_cors_v3_CorsPolicy } from '../gen/envoy.ts';
import { stringMatcher } from './matchers.ts';
import type { CorsPolicy, StringMatcher } from './model.ts';
import type { Problems } from './problems.ts';
import { fractionalPercent } from './proto-values.ts';

export function corsPolicy(
  c: extensions_filters_http_cors_v3_CorsPolicy | config_route_v3_CorsPolicy,
  path: string,
  p: Problems,
): CorsPolicy {
  const origins = new Array<StringMatcher>(c.allow_origin_string_match.length);
  for (let i = 0; i < origins.length; i++) {
    origins[i] = stringMatcher(c.allow_origin_string_match[i]!, `${path}.allow_origin_string_match[${i}]`, p);
  }
  const fe = c.filter_enabled?.default_value;
  return {
    allowOriginStringMatch: origins,
    allowMethods: c.allow_methods,
    allowHeaders: c.allow_headers,
    exposeHeaders: c.expose_headers,
    maxAge: c.max_age,
    allowCredentials: c.allow_credentials?.value,
    filterEnabled: fe === undefined ? undefined : fractionalPercent(fe, `${path}.filter_enabled.default_value`, p),
  };
}
