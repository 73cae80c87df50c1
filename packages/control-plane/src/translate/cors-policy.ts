// VirtualService `corsPolicy` → the per-route CorsPolicy of envoy.filters.http.cors (route.TranslateCORSPolicy).
import type { envoy } from '@inboard/xds/codec';
import type { CorsPolicy } from '../config/istio-types.ts';
import { durationSeconds } from './durations.ts';
import { Denominator } from './envoy-names.ts';
import { stringMatcher } from './string-match.ts';

export function translateCorsPolicy(c: CorsPolicy): envoy.extensions_filters_http_cors_v3_CorsPolicy$In {
  const out: envoy.extensions_filters_http_cors_v3_CorsPolicy$In = {
    // FORWARD (the default) keeps Envoy's pre-1.30 behaviour of forwarding unmatched preflights
    forward_not_matching_preflights: { value: c.unmatchedPreflights !== 'IGNORE' },
    filter_enabled: { default_value: { numerator: 100, denominator: Denominator.HUNDRED } },
    allow_headers: (c.allowHeaders ?? []).join(','),
    allow_methods: (c.allowMethods ?? []).join(','),
    expose_headers: (c.exposeHeaders ?? []).join(','),
  };
  if (c.allowOrigins !== undefined) {
    out.allow_origin_string_match = c.allowOrigins
      .map(stringMatcher)
      .filter((m): m is envoy.type_matcher_v3_StringMatcher$In => m !== undefined);
  } else if (c.allowOrigin !== undefined) {
    out.allow_origin_string_match = c.allowOrigin.map((o) => ({ exact: o }));
  }
  if (c.allowCredentials !== undefined) out.allow_credentials = { value: c.allowCredentials };
  const maxAge = durationSeconds(c.maxAge);
  if (maxAge !== undefined) out.max_age = String(maxAge);
  return out;
}
