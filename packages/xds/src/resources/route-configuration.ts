// RouteConfiguration → VirtualHost → Route (match + action), as RDS or inline in an
// HttpConnectionManager sends it.
import { TypeUrl } from '../codec.ts';
import type {
  config_route_v3_DirectResponseAction,
  config_route_v3_QueryParameterMatcher,
  config_route_v3_RedirectAction,
  config_route_v3_Route,
  config_route_v3_RouteConfiguration,
  config_route_v3_RouteMatch,
  config_route_v3_VirtualHost,
} from '../gen/envoy.ts';
import { decodeResource } from './decode-resource.ts';
import { deepEqual } from './deep-equal.ts';
import { filterOverrides } from './filter-overrides.ts';
import { headerMutations } from './header-mutations.ts';
import { headerMatchers, regexText, stringMatcher } from './matchers.ts';
import type {
  Action,
  DirectResponseAction,
  PathMatch,
  QueryParameterMatcher,
  RedirectAction,
  Route,
  RouteConfiguration,
  RouteMatch,
  VirtualHost,
} from './model.ts';
import type { Problems } from './problems.ts';
import { EMPTY, fractionalPercent, metadataString } from './proto-values.ts';
import type { ResourceType } from './resource-type.ts';
import { retryPolicy } from './retry-policy.ts';
import { mirrorPolicies, regexRewrite, routeAction } from './route-action.ts';

const DEFAULT_MAX_DIRECT_RESPONSE_BODY = 4096;
const REDIRECT_CODES: readonly number[] = [301, 302, 303, 307, 308];
const NON_FORWARDING: Action = Object.freeze({ kind: 'non_forwarding' });
const NO_MATCH: RouteMatch = Object.freeze({
  path: { kind: 'prefix' as const, value: '' },
  caseSensitive: true,
  headers: EMPTY,
  queryParameters: EMPTY,
  runtimeFraction: undefined,
  grpc: false,
});

function queryParameters(
  list: readonly config_route_v3_QueryParameterMatcher[],
  path: string,
  p: Problems,
): readonly QueryParameterMatcher[] {
  if (list.length === 0) return EMPTY;
  const out = new Array<QueryParameterMatcher>(list.length);
  for (let i = 0; i < list.length; i++) {
    const q = list[i]!;
    const at = `${path}[${i}]`;
    if (q.name === '') p.add(`${at}.name`, 'must not be empty');
    if (q.string_match !== undefined && q.present_match !== undefined) {
      p.add(at, 'at most one of string_match, present_match may be set');
    }
    out[i] = {
      name: q.name,
      matcher: q.string_match === undefined ? undefined : stringMatcher(q.string_match, `${at}.string_match`, p),
      presentMatch: q.present_match ?? true,
    };
  }
  return out;
}

function routeMatch(m: config_route_v3_RouteMatch, path: string, p: Problems): RouteMatch {
  let set = 0;
  let pm: PathMatch | undefined;
  if (m.prefix !== undefined) {
    set++;
    pm = { kind: 'prefix', value: m.prefix };
  }
  if (m.path !== undefined) {
    set++;
    pm = { kind: 'path', value: m.path };
  }
  if (m.safe_regex !== undefined) {
    set++;
    pm = { kind: 'regex', regex: regexText(m.safe_regex, `${path}.safe_regex`, p) };
  }
  if (m.path_separated_prefix !== undefined) {
    set++;
    const v = m.path_separated_prefix;
    if (v.length < 2 || v.includes('?') || v.includes('#') || v.endsWith('/')) {
      p.add(
        `${path}.path_separated_prefix`,
        `${JSON.stringify(v)} must not contain '?' or '#' and must not end in '/'`,
      );
    }
    pm = { kind: 'path_separated_prefix', value: v };
  }
  if (m.connect_matcher !== undefined) p.add(`${path}.connect_matcher`, 'CONNECT matching is not supported');
  else if (m.path_match_policy !== undefined)
    p.add(`${path}.path_match_policy`, 'path match policies are not supported');
  else if (set !== 1) p.add(path, 'exactly one of prefix, path, safe_regex, path_separated_prefix must be set');
  if (m.tls_context !== undefined) p.add(`${path}.tls_context`, 'TLS context matching is not supported');
  if (m.dynamic_metadata.length > 0) p.add(`${path}.dynamic_metadata`, 'dynamic metadata matching is not supported');
  const rf = m.runtime_fraction;
  if (rf !== undefined && rf.default_value === undefined)
    p.add(`${path}.runtime_fraction.default_value`, 'must be set');
  return {
    path: pm ?? { kind: 'prefix', value: '' },
    caseSensitive: m.case_sensitive?.value ?? true,
    headers: m.headers.length === 0 ? EMPTY : headerMatchers(m.headers, `${path}.headers`, p),
    queryParameters: queryParameters(m.query_parameters, `${path}.query_parameters`, p),
    runtimeFraction:
      rf?.default_value === undefined
        ? undefined
        : fractionalPercent(rf.default_value, `${path}.runtime_fraction.default_value`, p),
    grpc: m.grpc !== undefined,
  };
}

function redirectAction(r: config_route_v3_RedirectAction, path: string, p: Problems): RedirectAction {
  if (r.https_redirect !== undefined && r.scheme_redirect !== undefined) {
    p.add(path, 'at most one of https_redirect, scheme_redirect may be set');
  }
  const pathRewrites =
    (r.path_redirect !== undefined ? 1 : 0) +
    (r.prefix_rewrite !== undefined ? 1 : 0) +
    (r.regex_rewrite !== undefined ? 1 : 0);
  if (pathRewrites > 1) p.add(path, 'at most one of path_redirect, prefix_rewrite, regex_rewrite may be set');
  if (r.port_redirect > 65535) p.add(`${path}.port_redirect`, `${r.port_redirect} is not a port`);
  let responseCode = REDIRECT_CODES[r.response_code];
  if (responseCode === undefined) {
    p.add(`${path}.response_code`, `unknown redirect response code ${r.response_code}`);
    responseCode = 301;
  }
  return {
    kind: 'redirect',
    schemeRedirect: r.https_redirect === true ? 'https' : r.scheme_redirect,
    hostRedirect: r.host_redirect === '' ? undefined : r.host_redirect,
    portRedirect: r.port_redirect === 0 ? undefined : r.port_redirect,
    pathRedirect: r.path_redirect,
    prefixRewrite: r.prefix_rewrite,
    regexRewrite: r.regex_rewrite === undefined ? undefined : regexRewrite(r.regex_rewrite, `${path}.regex_rewrite`, p),
    responseCode,
    stripQuery: r.strip_query,
  };
}

function directResponse(
  d: config_route_v3_DirectResponseAction,
  maxBody: number,
  path: string,
  p: Problems,
): DirectResponseAction {
  if (d.status < 200 || d.status >= 600) p.add(`${path}.status`, `${d.status} is not in [200, 600)`);
  let body: string | Uint8Array | undefined;
  const b = d.body;
  if (b !== undefined) {
    let size = 0;
    if (b.inline_string !== undefined) {
      body = b.inline_string;
      size = Buffer.byteLength(body);
    } else if (b.inline_bytes !== undefined) {
      body = b.inline_bytes;
      size = b.inline_bytes.length;
    } else {
      p.add(`${path}.body`, 'only inline_string and inline_bytes bodies are supported');
    }
    if (size > maxBody) {
      p.add(`${path}.body`, `body size ${size} exceeds max_direct_response_body_size_bytes (${maxBody})`);
    }
  }
  return { kind: 'direct_response', status: d.status, body };
}

function route(r: config_route_v3_Route, maxBody: number, path: string, p: Problems): Route {
  let match: RouteMatch;
  if (r.match === undefined) {
    p.add(`${path}.match`, 'must be set');
    match = NO_MATCH;
  } else {
    match = routeMatch(r.match, `${path}.match`, p);
  }
  let action: Action = NON_FORWARDING;
  const actions =
    (r.route !== undefined ? 1 : 0) +
    (r.redirect !== undefined ? 1 : 0) +
    (r.direct_response !== undefined ? 1 : 0) +
    (r.non_forwarding_action !== undefined ? 1 : 0);
  if (r.filter_action !== undefined) p.add(`${path}.filter_action`, 'filter actions are not supported');
  else if (actions !== 1)
    p.add(path, 'exactly one of route, redirect, direct_response, non_forwarding_action must be set');
  else if (r.route !== undefined) action = routeAction(r.route, `${path}.route`, p);
  else if (r.redirect !== undefined) action = redirectAction(r.redirect, `${path}.redirect`, p);
  else if (r.direct_response !== undefined)
    action = directResponse(r.direct_response, maxBody, `${path}.direct_response`, p);
  let decoratorOperation: string | undefined;
  if (r.decorator !== undefined) {
    decoratorOperation = r.decorator.operation;
    if (decoratorOperation === '') p.add(`${path}.decorator.operation`, 'must not be empty');
  }
  return {
    name: r.name,
    match,
    action,
    headerMutations: headerMutations(r, path, p),
    filterOverrides: filterOverrides(r.typed_per_filter_config, path, p, r.route?.cors),
    istioConfig: metadataString(r.metadata?.filter_metadata, 'istio', 'config'),
    decoratorOperation,
  };
}

function virtualHost(
  v: config_route_v3_VirtualHost,
  maxBody: number,
  seenDomains: Set<string>,
  state: { wildcardSeen: boolean },
  path: string,
  p: Problems,
): VirtualHost {
  if (v.name === '') p.add(`${path}.name`, 'must not be empty');
  if (v.domains.length === 0) p.add(`${path}.domains`, 'at least one domain is required');
  const domains = new Array<string>(v.domains.length);
  for (let i = 0; i < domains.length; i++) {
    const d = v.domains[i]!.toLowerCase();
    domains[i] = d;
    if (d === '*') {
      if (state.wildcardSeen)
        p.add(`${path}.domains[${i}]`, 'only one virtual host may contain the wildcard domain "*"');
      state.wildcardSeen = true;
    }
    // Any other '*' is accepted as Envoy's RouteMatcher reads it: a leading one makes a suffix
    // wildcard (`*.foo.*` matches hosts ending in the literal `.foo.*`), else a trailing one a
    // prefix wildcard, else the domain is exact (`foo.*.com` only matches itself).
    if (d !== '*') {
      if (seenDomains.has(d)) p.add(`${path}.domains[${i}]`, `duplicate domain ${JSON.stringify(d)}`);
      else seenDomains.add(d);
    }
  }
  if (v.matcher !== undefined) p.add(`${path}.matcher`, 'matcher trees are not supported');
  if (v.require_tls !== 0) p.add(`${path}.require_tls`, 'require_tls is not supported');
  const routes = new Array<Route>(v.routes.length);
  for (let i = 0; i < routes.length; i++) routes[i] = route(v.routes[i]!, maxBody, `${path}.routes[${i}]`, p);
  return {
    name: v.name,
    domains,
    routes,
    headerMutations: headerMutations(v, path, p),
    retryPolicy: v.retry_policy === undefined ? undefined : retryPolicy(v.retry_policy, `${path}.retry_policy`, p),
    requestMirrorPolicies: mirrorPolicies(v.request_mirror_policies, `${path}.request_mirror_policies`, p),
    filterOverrides: filterOverrides(v.typed_per_filter_config, path, p, v.cors),
    includeRequestAttemptCount: v.include_request_attempt_count,
    includeAttemptCountInResponse: v.include_attempt_count_in_response,
  };
}

export function routeConfiguration(
  rc: config_route_v3_RouteConfiguration,
  path: string,
  p: Problems,
): RouteConfiguration {
  const maxBody = rc.max_direct_response_body_size_bytes?.value ?? DEFAULT_MAX_DIRECT_RESPONSE_BODY;
  if (rc.vhds !== undefined) p.add(`${path}.vhds`, 'VHDS is not supported');
  const seen = new Set<string>();
  const state = { wildcardSeen: false };
  const vhosts = new Array<VirtualHost>(rc.virtual_hosts.length);
  for (let i = 0; i < vhosts.length; i++) {
    vhosts[i] = virtualHost(rc.virtual_hosts[i]!, maxBody, seen, state, `${path}.virtual_hosts[${i}]`, p);
  }
  return {
    name: rc.name,
    virtualHosts: vhosts,
    headerMutations: headerMutations(rc, path, p),
    ignorePortInHostMatching: rc.ignore_port_in_host_matching,
    mostSpecificHeaderMutationsWins: rc.most_specific_header_mutations_wins,
    maxDirectResponseBodySizeBytes: maxBody,
    requestMirrorPolicies: mirrorPolicies(rc.request_mirror_policies, `${path}.request_mirror_policies`, p),
    ignorePathParametersInPathMatching: rc.ignore_path_parameters_in_path_matching,
    filterOverrides: filterOverrides(rc.typed_per_filter_config, path, p),
  };
}

function nameOf(rc: config_route_v3_RouteConfiguration): string {
  return rc.name;
}

function validate(rc: config_route_v3_RouteConfiguration, p: Problems): RouteConfiguration {
  return routeConfiguration(rc, 'route_config', p);
}

export const routeConfigurationType: ResourceType<RouteConfiguration> = {
  typeUrl: TypeUrl.RouteConfiguration,
  shortName: 'RDS',
  allResourcesRequiredInSotW: false,
  decode: (resource, context) =>
    decodeResource(
      resource,
      TypeUrl.RouteConfiguration,
      'envoy.config.route.v3.RouteConfiguration',
      nameOf,
      validate,
      context,
    ),
  equals: deepEqual,
};
