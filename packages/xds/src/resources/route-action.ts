// RouteAction: where a matched request goes (cluster, weighted clusters or a header-named
// cluster) and how (rewrites, timeouts, retries, hashing, mirroring).
import type {
  config_route_v3_RouteAction,
  config_route_v3_RouteAction_HashPolicy,
  config_route_v3_RouteAction_RequestMirrorPolicy,
  config_route_v3_WeightedCluster,
  type_matcher_v3_RegexMatchAndSubstitute,
} from '../gen/envoy.ts';
import { filterOverrides } from './filter-overrides.ts';
import { headerMutations } from './header-mutations.ts';
import { hasInvalidHeaderChars } from './header-names.ts';
import { regexText } from './matchers.ts';
import type {
  ClusterSpecifier,
  ClusterWeight,
  HashPolicy,
  MaxStreamDuration,
  RegexRewrite,
  RequestMirrorPolicy,
  RouteAction,
} from './model.ts';
import type { Problems } from './problems.ts';
import { durationMs, EMPTY, fractionalPercent } from './proto-values.ts';
import { retryPolicy } from './retry-policy.ts';

const UINT32_MAX = 0xffff_ffff;
const NOT_FOUND_CODES: readonly number[] = [503, 404, 500];
const PRIORITIES: readonly RouteAction['priority'][] = ['DEFAULT', 'HIGH'];

export function regexRewrite(r: type_matcher_v3_RegexMatchAndSubstitute, path: string, p: Problems): RegexRewrite {
  if (r.pattern === undefined) {
    p.add(`${path}.pattern`, 'must be set');
    return { regex: '', substitution: r.substitution };
  }
  return { regex: regexText(r.pattern, `${path}.pattern`, p), substitution: r.substitution };
}

function headerName(name: string, path: string, p: Problems): string {
  const lower = name.toLowerCase();
  if (lower === '') p.add(path, 'must not be empty');
  else if (hasInvalidHeaderChars(lower)) p.add(path, 'invalid header name');
  return lower;
}

function weightedClusters(w: config_route_v3_WeightedCluster, path: string, p: Problems): ClusterSpecifier {
  const list = w.clusters;
  if (list.length === 0) p.add(`${path}.clusters`, 'at least one cluster is required');
  const clusters = new Array<ClusterWeight>(list.length);
  let total = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const at = `${path}.clusters[${i}]`;
    if (c.cluster_header !== '') p.add(`${at}.cluster_header`, 'cluster_header in weighted clusters is not supported');
    else if (c.name === '') p.add(`${at}.name`, 'must not be empty');
    // Envoy reads an unset weight as 0; zero-weight entries stay but never receive traffic.
    const weight = c.weight?.value ?? 0;
    total += weight;
    clusters[i] = {
      name: c.name,
      weight,
      headerMutations: headerMutations(c, at, p),
      hostRewriteLiteral: c.host_rewrite_literal,
      filterOverrides: filterOverrides(c.typed_per_filter_config, at, p),
    };
  }
  if (list.length > 0 && total === 0) p.add(`${path}.clusters`, 'the sum of weights must be greater than 0');
  if (total > UINT32_MAX) p.add(`${path}.clusters`, `the sum of weights (${total}) must not exceed ${UINT32_MAX}`);
  // header_name: the request header whose integer value stands in for the random value
  const hn = w.header_name;
  const valueHeader = hn === undefined || hn === '' ? undefined : headerName(hn, `${path}.header_name`, p);
  return { kind: 'weighted_clusters', clusters, totalWeight: total, headerName: valueHeader };
}

function hashPolicy(h: config_route_v3_RouteAction_HashPolicy, path: string, p: Problems): HashPolicy | undefined {
  const terminal = h.terminal;
  if (h.header !== undefined) {
    return { terminal, kind: 'header', headerName: headerName(h.header.header_name, `${path}.header.header_name`, p) };
  }
  if (h.cookie !== undefined) {
    if (h.cookie.name === '') p.add(`${path}.cookie.name`, 'must not be empty');
    return {
      terminal,
      kind: 'cookie',
      name: h.cookie.name,
      ttl: durationMs(h.cookie.ttl, `${path}.cookie.ttl`, p),
      path: h.cookie.path,
      attributes: h.cookie.attributes.map((a, i) => {
        if (a.name === '') p.add(`${path}.cookie.attributes[${i}].name`, 'must not be empty');
        return { name: a.name, value: a.value };
      }),
    };
  }
  if (h.connection_properties !== undefined) {
    // source_ip: false hashes nothing; the entry would never produce a hash
    return h.connection_properties.source_ip ? { terminal, kind: 'source_ip' } : undefined;
  }
  if (h.query_parameter !== undefined) {
    if (h.query_parameter.name === '') p.add(`${path}.query_parameter.name`, 'must not be empty');
    return { terminal, kind: 'query_parameter', name: h.query_parameter.name };
  }
  if (h.filter_state !== undefined) {
    if (h.filter_state.key === '') p.add(`${path}.filter_state.key`, 'must not be empty');
    return { terminal, kind: 'filter_state', key: h.filter_state.key };
  }
  p.add(path, 'exactly one of header, cookie, connection_properties, query_parameter, filter_state must be set');
  return undefined;
}

function hashPolicies(
  list: readonly config_route_v3_RouteAction_HashPolicy[],
  path: string,
  p: Problems,
): readonly HashPolicy[] {
  if (list.length === 0) return EMPTY;
  const out: HashPolicy[] = [];
  for (let i = 0; i < list.length; i++) {
    const h = hashPolicy(list[i]!, `${path}[${i}]`, p);
    if (h !== undefined) out.push(h);
  }
  return out;
}

export function mirrorPolicies(
  list: readonly config_route_v3_RouteAction_RequestMirrorPolicy[],
  path: string,
  p: Problems,
): readonly RequestMirrorPolicy[] {
  if (list.length === 0) return EMPTY;
  const out = new Array<RequestMirrorPolicy>(list.length);
  for (let i = 0; i < list.length; i++) {
    const m = list[i]!;
    const at = `${path}[${i}]`;
    if (m.cluster_header !== '') p.add(`${at}.cluster_header`, 'mirroring to a header-named cluster is not supported');
    else if (m.cluster === '') p.add(`${at}.cluster`, 'must not be empty');
    const rf = m.runtime_fraction;
    if (rf !== undefined && rf.default_value === undefined)
      p.add(`${at}.runtime_fraction.default_value`, 'must be set');
    out[i] = {
      cluster: m.cluster,
      runtimeFraction:
        rf?.default_value === undefined
          ? undefined
          : fractionalPercent(rf.default_value, `${at}.runtime_fraction.default_value`, p),
      traceSampled: m.trace_sampled?.value,
      disableShadowHostSuffixAppend: m.disable_shadow_host_suffix_append,
    };
  }
  return out;
}

function maxStreamDuration(a: config_route_v3_RouteAction, path: string, p: Problems): MaxStreamDuration | undefined {
  const m = a.max_stream_duration;
  if (m === undefined) return undefined;
  const at = `${path}.max_stream_duration`;
  return {
    maxStreamDuration: durationMs(m.max_stream_duration, `${at}.max_stream_duration`, p),
    grpcTimeoutHeaderMax: durationMs(m.grpc_timeout_header_max, `${at}.grpc_timeout_header_max`, p),
    grpcTimeoutHeaderOffset: durationMs(m.grpc_timeout_header_offset, `${at}.grpc_timeout_header_offset`, p),
  };
}

export function routeAction(a: config_route_v3_RouteAction, path: string, p: Problems): RouteAction {
  let clusterSpecifier: ClusterSpecifier;
  const set =
    (a.cluster !== undefined ? 1 : 0) +
    (a.cluster_header !== undefined ? 1 : 0) +
    (a.weighted_clusters !== undefined ? 1 : 0) +
    (a.cluster_specifier_plugin !== undefined ? 1 : 0) +
    (a.inline_cluster_specifier_plugin !== undefined ? 1 : 0);
  if (a.cluster_specifier_plugin !== undefined || a.inline_cluster_specifier_plugin !== undefined) {
    p.add(path, 'cluster specifier plugins are not supported');
    clusterSpecifier = { kind: 'cluster', cluster: '' };
  } else if (set !== 1) {
    p.add(path, 'exactly one of cluster, cluster_header, weighted_clusters must be set');
    clusterSpecifier = { kind: 'cluster', cluster: '' };
  } else if (a.cluster !== undefined) {
    if (a.cluster === '') p.add(`${path}.cluster`, 'must not be empty');
    clusterSpecifier = { kind: 'cluster', cluster: a.cluster };
  } else if (a.cluster_header !== undefined) {
    clusterSpecifier = { kind: 'cluster_header', header: headerName(a.cluster_header, `${path}.cluster_header`, p) };
  } else {
    clusterSpecifier = weightedClusters(a.weighted_clusters!, `${path}.weighted_clusters`, p);
  }

  let notFound = NOT_FOUND_CODES[a.cluster_not_found_response_code];
  if (notFound === undefined) {
    p.add(`${path}.cluster_not_found_response_code`, `unknown code ${a.cluster_not_found_response_code}`);
    notFound = 503;
  }
  if (a.prefix_rewrite !== '' && a.regex_rewrite !== undefined) {
    p.add(path, 'at most one of prefix_rewrite, regex_rewrite may be set');
  }
  if (a.path_rewrite_policy !== undefined)
    p.add(`${path}.path_rewrite_policy`, 'path rewrite policies are not supported');
  const hostRewrites =
    (a.host_rewrite_literal !== undefined ? 1 : 0) +
    (a.host_rewrite_header !== undefined ? 1 : 0) +
    (a.auto_host_rewrite !== undefined ? 1 : 0) +
    (a.host_rewrite_path_regex !== undefined ? 1 : 0);
  if (hostRewrites > 1) {
    p.add(
      path,
      'at most one of host_rewrite_literal, auto_host_rewrite, host_rewrite_header, host_rewrite_path_regex may be set',
    );
  }
  if (a.host_rewrite_path_regex !== undefined) p.add(`${path}.host_rewrite_path_regex`, 'is not supported');
  let priority = PRIORITIES[a.priority];
  if (priority === undefined) {
    p.add(`${path}.priority`, `unknown routing priority ${a.priority}`);
    priority = 'DEFAULT';
  }
  return {
    kind: 'route',
    clusterSpecifier,
    clusterNotFoundResponseCode: notFound,
    prefixRewrite: a.prefix_rewrite === '' ? undefined : a.prefix_rewrite,
    regexRewrite: a.regex_rewrite === undefined ? undefined : regexRewrite(a.regex_rewrite, `${path}.regex_rewrite`, p),
    hostRewriteLiteral: a.host_rewrite_literal,
    hostRewriteHeader:
      a.host_rewrite_header === undefined
        ? undefined
        : headerName(a.host_rewrite_header, `${path}.host_rewrite_header`, p),
    autoHostRewrite: a.auto_host_rewrite?.value ?? false,
    appendXForwardedHost: a.append_x_forwarded_host,
    timeout: durationMs(a.timeout, `${path}.timeout`, p),
    idleTimeout: durationMs(a.idle_timeout, `${path}.idle_timeout`, p),
    maxStreamDuration: maxStreamDuration(a, path, p),
    // The deprecated pair is not an alias of max_stream_duration's grpc_timeout_header_*: Envoy's
    // router turns a gRPC request's grpc-timeout into the route timeout with it (istiod's default
    // routes send max_grpc_timeout: 0s), and ignores it when max_stream_duration is present.
    maxGrpcTimeout: durationMs(a.max_grpc_timeout, `${path}.max_grpc_timeout`, p),
    grpcTimeoutOffset: durationMs(a.grpc_timeout_offset, `${path}.grpc_timeout_offset`, p),
    retryPolicy: a.retry_policy === undefined ? undefined : retryPolicy(a.retry_policy, `${path}.retry_policy`, p),
    hashPolicy: hashPolicies(a.hash_policy, `${path}.hash_policy`, p),
    requestMirrorPolicies: mirrorPolicies(a.request_mirror_policies, `${path}.request_mirror_policies`, p),
    priority,
  };
}
