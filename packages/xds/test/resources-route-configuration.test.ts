import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packAny, type RouteConfigurationIn } from '@inboard/xds/codec';
import { type DecodeContext, type Route, type RouteAction, routeConfigurationType } from '../src/resources/index.ts';

const ctx: DecodeContext = { certificateProviders: undefined };

function decode(rc: RouteConfigurationIn) {
  return routeConfigurationType.decode(packAny('envoy.config.route.v3.RouteConfiguration', rc), ctx);
}

function decodeOk(rc: RouteConfigurationIn) {
  const r = decode(rc);
  if (!r.ok) assert.fail(`expected a valid resource, got:\n${r.errors.join('\n')}`);
  return r.value;
}

function errorsOf(rc: RouteConfigurationIn): readonly string[] {
  const r = decode(rc);
  if (r.ok) assert.fail('expected validation errors');
  return r.errors;
}

function routeAction(route: Route): RouteAction {
  assert.equal(route.action.kind, 'route');
  return route.action as RouteAction;
}

const fault = packAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {
  delay: { fixed_delay: { seconds: 2 }, percentage: { numerator: 50, denominator: 1 } },
  abort: { http_status: 503 },
});

/** What istiod sends for a VirtualService with a match, weighted split, retries, timeout and a fault. */
const reviews: RouteConfigurationIn = {
  name: 'outbound|9080||reviews.default.svc.cluster.local',
  virtual_hosts: [
    {
      name: 'reviews.default.svc.cluster.local:9080',
      domains: ['reviews.default.svc.cluster.local', 'Reviews:9080', '10.96.0.12'],
      routes: [
        {
          name: 'jason',
          match: {
            prefix: '/',
            case_sensitive: { value: false },
            headers: [
              { name: 'End-User', string_match: { exact: 'jason' } },
              { name: 'x-legacy', exact_match: 'yes' },
              { name: 'x-re', safe_regex_match: { regex: '^v[0-9]+$' } },
              { name: 'x-prefix', prefix_match: 'abc' },
              { name: 'x-suffix', suffix_match: 'xyz', invert_match: true },
              { name: 'x-contains', contains_match: 'mid', treat_missing_header_as_empty: true },
              { name: 'x-range', range_match: { start: 10, end: 20 } },
              { name: 'x-absent', present_match: false },
              { name: 'x-any' },
              { name: 'x-ci', string_match: { prefix: 'Bear', ignore_case: true } },
            ],
            query_parameters: [
              { name: 'debug', present_match: true },
              { name: 'v', string_match: { safe_regex: { regex: '[0-9]+' } } },
            ],
            runtime_fraction: { default_value: { numerator: 25, denominator: 1 }, runtime_key: 'k' },
            grpc: {},
          },
          route: {
            weighted_clusters: {
              clusters: [
                { name: 'outbound|9080|v2|reviews.default.svc.cluster.local', weight: { value: 90 } },
                {
                  name: 'outbound|9080|v3|reviews.default.svc.cluster.local',
                  weight: { value: 10 },
                  request_headers_to_add: [{ header: { key: 'X-Canary', value: 'true' }, append: { value: false } }],
                },
                { name: 'outbound|9080|v4|reviews.default.svc.cluster.local', weight: { value: 0 } },
              ],
            },
            timeout: { seconds: 3, nanos: 500_000_000 },
            retry_policy: {
              retry_on: 'connect-failure, refused-stream ,unavailable,,5xx',
              num_retries: { value: 2 },
              per_try_timeout: { nanos: 250_000_000 },
              retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
              host_selection_retry_max_attempts: 5,
              retriable_status_codes: [503],
              retry_back_off: { base_interval: { nanos: 50_000_000 } },
            },
            max_stream_duration: {
              max_stream_duration: { seconds: 3, nanos: 500_000_000 },
              grpc_timeout_header_max: {},
            },
            hash_policy: [
              { header: { header_name: 'X-User' } },
              { cookie: { name: 'session', ttl: { seconds: 60 }, path: '/' }, terminal: true },
              { connection_properties: { source_ip: true } },
              { query_parameter: { name: 'u' } },
              { filter_state: { key: 'io.istio.peer' } },
            ],
            request_mirror_policies: [
              {
                cluster: 'outbound|9080||mirror.default.svc.cluster.local',
                runtime_fraction: { default_value: { numerator: 10 } },
              },
            ],
            prefix_rewrite: '/v2/',
            host_rewrite_literal: 'reviews.internal',
          },
          metadata: {
            filter_metadata: {
              istio: { config: '/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews' },
            },
          },
          decorator: { operation: 'reviews.default.svc.cluster.local:9080/*' },
          typed_per_filter_config: { 'envoy.filters.http.fault': fault },
          response_headers_to_remove: ['X-Internal'],
        },
        {
          name: 'default',
          match: { prefix: '/' },
          route: { cluster: 'outbound|9080||reviews.default.svc.cluster.local', timeout: {}, max_grpc_timeout: {} },
        },
      ],
      retry_policy: { retry_on: '5xx' },
    },
    {
      name: 'allow_any',
      domains: ['*'],
      routes: [
        {
          match: { path: '/redirect' },
          redirect: { https_redirect: true, host_redirect: 'example.com', response_code: 3 },
        },
        {
          match: { path_separated_prefix: '/api/dev' },
          direct_response: { status: 418, body: { inline_string: 'teapot' } },
        },
        { match: { safe_regex: { regex: '/items/[0-9]+' } }, route: { cluster_header: 'X-Cluster' } },
      ],
    },
  ],
  request_headers_to_add: [
    { header: { key: 'x-a', value: '1' } },
    { header: { key: 'x-b', value: '2' }, append: { value: true } },
    { header: { key: 'x-c', value: '3' }, append_action: 1 },
  ],
};

test('an istiod-style route configuration decodes into the model', () => {
  const rc = decodeOk(reviews);
  assert.equal(rc.name, 'outbound|9080||reviews.default.svc.cluster.local');
  assert.equal(rc.maxDirectResponseBodySizeBytes, 4096);
  assert.deepEqual(
    rc.headerMutations.requestHeadersToAdd.map((h) => [h.name, h.action]),
    [
      ['x-a', 'APPEND_IF_EXISTS_OR_ADD'],
      ['x-b', 'APPEND_IF_EXISTS_OR_ADD'],
      ['x-c', 'ADD_IF_ABSENT'],
    ],
  );
  const [vh, any] = rc.virtualHosts;
  assert.ok(vh && any);
  assert.deepEqual(vh.domains, ['reviews.default.svc.cluster.local', 'reviews:9080', '10.96.0.12']);
  assert.deepEqual(vh.retryPolicy?.retryOn, ['5xx']);
  assert.equal(vh.retryPolicy?.numRetries, 1, 'num_retries defaults to 1 when a policy is present');

  const jason = vh.routes[0]!;
  assert.equal(jason.name, 'jason');
  assert.equal(jason.istioConfig, '/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews');
  assert.equal(jason.decoratorOperation, 'reviews.default.svc.cluster.local:9080/*');
  assert.deepEqual(jason.match.path, { kind: 'prefix', value: '/' });
  assert.equal(jason.match.caseSensitive, false);
  assert.equal(jason.match.grpc, true);
  assert.deepEqual(jason.match.runtimeFraction, { numerator: 25, denominator: 10_000 });
  assert.deepEqual(
    jason.match.headers.map((h) => [h.name, h.match, h.invert, h.treatMissingHeaderAsEmpty]),
    [
      ['end-user', { kind: 'string', matcher: { kind: 'exact', value: 'jason', ignoreCase: false } }, false, false],
      ['x-legacy', { kind: 'string', matcher: { kind: 'exact', value: 'yes', ignoreCase: false } }, false, false],
      ['x-re', { kind: 'string', matcher: { kind: 'regex', regex: '^v[0-9]+$' } }, false, false],
      ['x-prefix', { kind: 'string', matcher: { kind: 'prefix', value: 'abc', ignoreCase: false } }, false, false],
      ['x-suffix', { kind: 'string', matcher: { kind: 'suffix', value: 'xyz', ignoreCase: false } }, true, false],
      ['x-contains', { kind: 'string', matcher: { kind: 'contains', value: 'mid', ignoreCase: false } }, false, true],
      ['x-range', { kind: 'range', start: 10, end: 20 }, false, false],
      ['x-absent', { kind: 'present', present: false }, false, false],
      ['x-any', { kind: 'present', present: true }, false, false],
      ['x-ci', { kind: 'string', matcher: { kind: 'prefix', value: 'Bear', ignoreCase: true } }, false, false],
    ],
  );
  assert.deepEqual(jason.match.queryParameters, [
    { name: 'debug', matcher: undefined, presentMatch: true },
    { name: 'v', matcher: { kind: 'regex', regex: '[0-9]+' }, presentMatch: true },
  ]);

  const a = routeAction(jason);
  assert.equal(a.clusterSpecifier.kind, 'weighted_clusters');
  if (a.clusterSpecifier.kind === 'weighted_clusters') {
    assert.equal(a.clusterSpecifier.totalWeight, 100);
    assert.deepEqual(
      a.clusterSpecifier.clusters.map((c) => [c.name.split('|')[2], c.weight]),
      [
        ['v2', 90],
        ['v3', 10],
        ['v4', 0],
      ],
    );
    assert.deepEqual(a.clusterSpecifier.clusters[1]!.headerMutations.requestHeadersToAdd, [
      { name: 'x-canary', value: 'true', action: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false },
    ]);
  }
  assert.equal(a.timeout, 3500);
  assert.equal(a.prefixRewrite, '/v2/');
  assert.equal(a.hostRewriteLiteral, 'reviews.internal');
  assert.equal(a.clusterNotFoundResponseCode, 503);
  assert.deepEqual(a.maxStreamDuration, {
    maxStreamDuration: 3500,
    grpcTimeoutHeaderMax: 0,
    grpcTimeoutHeaderOffset: undefined,
  });
  assert.deepEqual(a.retryPolicy, {
    retryOn: ['connect-failure', 'refused-stream', 'unavailable', '5xx'],
    numRetries: 2,
    perTryTimeout: 250,
    perTryIdleTimeout: undefined,
    retriableStatusCodes: [503],
    retriableHeaders: [],
    retriableRequestHeaders: [],
    backOff: { baseInterval: 50, maxInterval: 500 },
    hostPredicates: ['envoy.retry_host_predicates.previous_hosts'],
    hostSelectionRetryMaxAttempts: 5,
    retryPriority: undefined,
  });
  assert.deepEqual(a.hashPolicy, [
    { terminal: false, kind: 'header', headerName: 'x-user' },
    { terminal: true, kind: 'cookie', name: 'session', ttl: 60_000, path: '/', attributes: [] },
    { terminal: false, kind: 'source_ip' },
    { terminal: false, kind: 'query_parameter', name: 'u' },
    { terminal: false, kind: 'filter_state', key: 'io.istio.peer' },
  ]);
  assert.deepEqual(a.requestMirrorPolicies, [
    {
      cluster: 'outbound|9080||mirror.default.svc.cluster.local',
      runtimeFraction: { numerator: 10, denominator: 100 },
      traceSampled: undefined,
      disableShadowHostSuffixAppend: false,
    },
  ]);
  assert.deepEqual(jason.headerMutations.responseHeadersToRemove, ['x-internal']);
  const expectedFault = {
    delay: { fixedDelay: 2000, headerDelay: false, percentage: { numerator: 50, denominator: 10_000 } },
    // percentage unset: Envoy reads a default FractionalPercent, i.e. 0 %
    abort: {
      httpStatus: 503,
      grpcStatus: undefined,
      headerAbort: false,
      percentage: { numerator: 0, denominator: 100 },
    },
    upstreamCluster: '',
    headers: [],
    downstreamNodes: [],
    maxActiveFaults: undefined,
  };
  assert.deepEqual(jason.filterOverrides, { 'envoy.filters.http.fault': { kind: 'fault', fault: expectedFault } });

  const def = routeAction(vh.routes[1]!);
  assert.deepEqual(def.clusterSpecifier, {
    kind: 'cluster',
    cluster: 'outbound|9080||reviews.default.svc.cluster.local',
  });
  assert.equal(def.timeout, 0, 'timeout: 0s disables the timeout and is kept distinct from unset');
  assert.equal(def.retryPolicy, undefined);
  // max_grpc_timeout is the router's own field, not an alias of max_stream_duration's
  // grpc_timeout_header_max: Envoy's router reads it only while the route has no max_stream_duration
  assert.equal(def.maxStreamDuration, undefined);
  assert.equal(def.maxGrpcTimeout, 0);
  assert.equal(def.grpcTimeoutOffset, undefined);

  assert.deepEqual(any.routes[0]!.action, {
    kind: 'redirect',
    schemeRedirect: 'https',
    hostRedirect: 'example.com',
    portRedirect: undefined,
    pathRedirect: undefined,
    prefixRewrite: undefined,
    regexRewrite: undefined,
    responseCode: 307,
    stripQuery: false,
  });
  assert.deepEqual(any.routes[1]!.match.path, { kind: 'path_separated_prefix', value: '/api/dev' });
  assert.deepEqual(any.routes[1]!.action, { kind: 'direct_response', status: 418, body: 'teapot' });
  assert.deepEqual(any.routes[2]!.match.path, { kind: 'regex', regex: '/items/[0-9]+' });
  assert.deepEqual(routeAction(any.routes[2]!).clusterSpecifier, { kind: 'cluster_header', header: 'x-cluster' });
  assert.equal(
    routeAction(any.routes[2]!).timeout,
    undefined,
    'an unset timeout stays undefined (Envoy default applies)',
  );
});

test('decoding twice gives structurally equal models; a change is not equal', () => {
  const a = decodeOk(reviews);
  const b = decodeOk(reviews);
  assert.notEqual(a, b);
  assert.ok(routeConfigurationType.equals(a, b));
  const c = decodeOk({ ...reviews, ignore_port_in_host_matching: true });
  assert.ok(!routeConfigurationType.equals(a, c));
});

test('per-filter configs: FilterConfig wrapper, RBACPerRoute, CORS, disabled, optional unknown', () => {
  const rc = decodeOk({
    name: 'r',
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['a'],
        routes: [
          {
            match: { prefix: '/' },
            route: { cluster: 'c' },
            typed_per_filter_config: {
              'envoy.filters.http.fault': packAny('envoy.config.route.v3.FilterConfig', {
                config: packAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {
                  abort: { grpc_status: 14, percentage: { numerator: 100 } },
                }),
              }),
              'envoy.filters.http.rbac': packAny('envoy.extensions.filters.http.rbac.v3.RBACPerRoute', {}),
              'envoy.filters.http.cors': packAny('envoy.extensions.filters.http.cors.v3.CorsPolicy', {
                allow_origin_string_match: [{ exact: 'https://example.com' }],
                allow_methods: 'GET,POST',
                allow_credentials: { value: true },
              }),
              'istio.stats': packAny('envoy.config.route.v3.FilterConfig', { disabled: true }),
              'my.filter': packAny('envoy.config.route.v3.FilterConfig', {
                is_optional: true,
                config: { type_url: 'type.googleapis.com/my.Unknown', value: new Uint8Array(0) },
              }),
              'my.enabled': packAny('envoy.config.route.v3.FilterConfig', {}),
            },
          },
        ],
      },
    ],
  });
  const o = rc.virtualHosts[0]!.routes[0]!.filterOverrides;
  assert.deepEqual(Object.keys(o).sort(), [
    'envoy.filters.http.cors',
    'envoy.filters.http.fault',
    'envoy.filters.http.rbac',
    'istio.stats',
    'my.enabled',
  ]);
  const f = o['envoy.filters.http.fault'];
  assert.equal(f?.kind === 'fault' && f.fault.abort?.grpcStatus, 14);
  assert.deepEqual(
    o['envoy.filters.http.rbac'],
    { kind: 'rbac', rules: undefined },
    'RBACPerRoute without rbac: nothing enforced',
  );
  const cors = {
    allowOriginStringMatch: [{ kind: 'exact', value: 'https://example.com', ignoreCase: false }],
    allowMethods: 'GET,POST',
    allowHeaders: '',
    exposeHeaders: '',
    maxAge: '',
    allowCredentials: true,
    filterEnabled: undefined,
  };
  assert.deepEqual(o['envoy.filters.http.cors'], { kind: 'cors', cors });
  assert.deepEqual(o['istio.stats'], { kind: 'disabled' });
  assert.deepEqual(o['my.enabled'], { kind: 'enabled' });
});

test('the deprecated virtual host cors field becomes the CORS override', () => {
  const rc = decodeOk({
    name: 'r',
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['a'],
        cors: {
          allow_origin_string_match: [{ prefix: 'https://' }],
          filter_enabled: { default_value: { numerator: 50 } },
        },
        routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }],
      },
    ],
  });
  const vh = rc.virtualHosts[0]!;
  const cors = vh.filterOverrides['envoy.filters.http.cors'];
  assert.ok(cors?.kind === 'cors');
  assert.deepEqual(cors.cors.allowOriginStringMatch, [{ kind: 'prefix', value: 'https://', ignoreCase: false }]);
  assert.deepEqual(cors.cors.filterEnabled, { numerator: 50, denominator: 100 });
  assert.deepEqual(vh.routes[0]!.filterOverrides, {});
});

test('route-level limits: direct response body size uses max_direct_response_body_size_bytes', () => {
  const big = 'x'.repeat(5000);
  const ok = decodeOk({
    name: 'r',
    max_direct_response_body_size_bytes: { value: 1 << 20 },
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['*'],
        routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: big } } }],
      },
    ],
  });
  assert.equal(ok.maxDirectResponseBodySizeBytes, 1 << 20);
  assert.deepEqual(
    errorsOf({
      name: 'r',
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [
            { match: { prefix: '/' }, direct_response: { status: 200, body: { inline_bytes: new Uint8Array(4097) } } },
          ],
        },
      ],
    }),
    [
      'route_config.virtual_hosts[0].routes[0].direct_response.body: body size 4097 exceeds max_direct_response_body_size_bytes (4096)',
    ],
  );
});

test('every problem of an invalid route configuration is reported with its field path', () => {
  const errors = errorsOf({
    name: 'broken',
    virtual_hosts: [
      { name: 'a', domains: ['Foo.com', '*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] },
      { name: 'b', domains: ['foo.com', '*', 'foo.*.com'], routes: [] },
      {
        name: 'c',
        domains: ['c'],
        routes: [
          { match: {}, route: { cluster: 'c' } },
          { match: { prefix: '/', path: '/x' }, route: { cluster: 'c' } },
          { match: { safe_regex: { regex: '(a)\\1' } }, route: { cluster: 'c' } },
          { match: { safe_regex: { regex: 'foo(?=bar)' } }, route: { cluster: 'c' } },
          { match: { headers: [{ name: 'x', string_match: { prefix: '' } }], prefix: '/' }, route: { cluster: 'c' } },
          { match: { prefix: '/' } },
          { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 0 } }] } } },
          {
            match: { prefix: '/' },
            route: {
              weighted_clusters: {
                clusters: [
                  { name: 'a', weight: { value: 0xffff_ffff } },
                  { name: 'b', weight: { value: 1 } },
                ],
              },
            },
          },
          {
            match: { prefix: '/' },
            route: { cluster: 'c', prefix_rewrite: '/x', regex_rewrite: { pattern: { regex: 'a' } } },
          },
          {
            match: { prefix: '/' },
            route: {
              cluster: 'c',
              retry_policy: { retry_back_off: { base_interval: { seconds: 1 }, max_interval: { nanos: 1 } } },
            },
          },
          { match: { prefix: '/' }, route: { cluster: 'c', retry_policy: { retry_back_off: {} } } },
          { match: { prefix: '/' }, direct_response: { status: 600 } },
          {
            match: { prefix: '/' },
            route: { cluster: 'c' },
            request_headers_to_add: [
              { header: { key: ':authority', value: 'x' } },
              { header: { key: 'Host', value: 'x' } },
            ],
            request_headers_to_remove: [':path'],
            response_headers_to_add: [{ header: { key: 'x', value: 'y' }, append: { value: true }, append_action: 2 }],
          },
          {
            match: { prefix: '/' },
            route: { cluster: 'c' },
            typed_per_filter_config: {
              'envoy.filters.http.fault': packAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {
                abort: { http_status: 100 },
              }),
              'x.unknown': { type_url: 'type.googleapis.com/x.Unknown', value: new Uint8Array(0) },
              'x.nested': packAny('envoy.config.route.v3.FilterConfig', {
                config: packAny('envoy.config.route.v3.FilterConfig', { disabled: true }),
              }),
            },
          },
          {
            match: {
              prefix: '/',
              headers: [{ name: 'x', string_match: { safe_regex: { regex: 'a+' }, ignore_case: true } }],
            },
            route: { cluster: 'c' },
          },
        ],
      },
    ],
  });
  assert.deepEqual(errors, [
    'route_config.virtual_hosts[1].domains[0]: duplicate domain "foo.com"',
    'route_config.virtual_hosts[1].domains[1]: only one virtual host may contain the wildcard domain "*"',
    'route_config.virtual_hosts[2].routes[0].match: exactly one of prefix, path, safe_regex, path_separated_prefix must be set',
    'route_config.virtual_hosts[2].routes[1].match: exactly one of prefix, path, safe_regex, path_separated_prefix must be set',
    'route_config.virtual_hosts[2].routes[2].match.safe_regex.regex: backreference \\1 at offset 3 is not supported by RE2',
    'route_config.virtual_hosts[2].routes[3].match.safe_regex.regex: lookahead (?= at offset 3 is not supported by RE2',
    'route_config.virtual_hosts[2].routes[4].match.headers[0].string_match.prefix: must not be empty',
    'route_config.virtual_hosts[2].routes[5]: exactly one of route, redirect, direct_response, non_forwarding_action must be set',
    'route_config.virtual_hosts[2].routes[6].route.weighted_clusters.clusters: the sum of weights must be greater than 0',
    'route_config.virtual_hosts[2].routes[7].route.weighted_clusters.clusters: the sum of weights (4294967296) must not exceed 4294967295',
    'route_config.virtual_hosts[2].routes[8].route: at most one of prefix_rewrite, regex_rewrite may be set',
    'route_config.virtual_hosts[2].routes[9].route.retry_policy.retry_back_off.max_interval: must be greater than or equal to base_interval',
    'route_config.virtual_hosts[2].routes[10].route.retry_policy.retry_back_off.base_interval: must be set',
    'route_config.virtual_hosts[2].routes[11].direct_response.status: 600 is not in [200, 600)',
    'route_config.virtual_hosts[2].routes[12].request_headers_to_add[0].header.key: ":authority" may not be added or modified (pseudo-headers and host are not modifiable)',
    'route_config.virtual_hosts[2].routes[12].request_headers_to_add[1].header.key: "host" may not be added or modified (pseudo-headers and host are not modifiable)',
    'route_config.virtual_hosts[2].routes[12].request_headers_to_remove[0]: ":path" may not be removed (pseudo-headers and host are not modifiable)',
    'route_config.virtual_hosts[2].routes[12].response_headers_to_add[0]: append and append_action cannot both be set',
    'route_config.virtual_hosts[2].routes[13].typed_per_filter_config["envoy.filters.http.fault"].abort.http_status: 100 is not in [200, 600)',
    'route_config.virtual_hosts[2].routes[13].typed_per_filter_config["x.unknown"]: unsupported filter config type "type.googleapis.com/x.Unknown"',
    'route_config.virtual_hosts[2].routes[13].typed_per_filter_config["x.nested"].config: FilterConfig cannot wrap another FilterConfig',
    'route_config.virtual_hosts[2].routes[14].match.headers[0].string_match.ignore_case: ignore_case has no effect for safe_regex',
  ]);
});

test('RE2 screening: octal escapes, escaped backslashes and character classes are fine', () => {
  const rc = decodeOk({
    name: 'r',
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['*'],
        routes: [
          { match: { safe_regex: { regex: '\\\\1' } }, route: { cluster: 'c' } },
          { match: { safe_regex: { regex: '\\101' } }, route: { cluster: 'c' } },
          { match: { safe_regex: { regex: '[(?=]x' } }, route: { cluster: 'c' } },
          { match: { safe_regex: { regex: '(?P<id>[0-9]+)(?i:abc)' } }, route: { cluster: 'c' } },
        ],
      },
    ],
  });
  assert.equal(rc.virtualHosts[0]!.routes.length, 4);
  assert.deepEqual(
    errorsOf({
      name: 'r',
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [
            { match: { safe_regex: { regex: '' } }, route: { cluster: 'c' } },
            { match: { safe_regex: { regex: '(?<!a)b' } }, route: { cluster: 'c' } },
            { match: { safe_regex: { regex: 'a\\8' } }, route: { cluster: 'c' } },
          ],
        },
      ],
    }),
    [
      'route_config.virtual_hosts[0].routes[0].match.safe_regex.regex: regex must not be empty',
      'route_config.virtual_hosts[0].routes[1].match.safe_regex.regex: lookbehind (?<! at offset 0 is not supported by RE2',
      'route_config.virtual_hosts[0].routes[2].match.safe_regex.regex: backreference \\8 at offset 1 is not supported by RE2',
    ],
  );
});

test('resources of another type or with a malformed payload are rejected clearly', () => {
  const wrong = routeConfigurationType.decode(packAny('envoy.config.cluster.v3.Cluster', { name: 'c' }), ctx);
  assert.deepEqual(wrong, {
    ok: false,
    name: undefined,
    errors: [
      'unexpected type URL "type.googleapis.com/envoy.config.cluster.v3.Cluster" (expected "type.googleapis.com/envoy.config.route.v3.RouteConfiguration")',
    ],
  });
  const truncated = routeConfigurationType.decode(
    {
      type_url: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
      value: new Uint8Array([0x0a, 0x05, 0x61]),
    },
    ctx,
  );
  assert.equal(truncated.ok, false);
  assert.match(
    (truncated as { errors: readonly string[] }).errors[0]!,
    /^malformed envoy\.config\.route\.v3\.RouteConfiguration: length-delimited field runs past the end/,
  );
});

test("a '*' inside a domain is accepted as Envoy reads it (only the first and last character count)", () => {
  const rc = decodeOk({
    name: 'r',
    virtual_hosts: [{ name: 'vh', domains: ['foo.*.com', '*.foo.*', 'a*b*'], routes: [] }],
  });
  assert.deepEqual(rc.virtualHosts[0]!.domains, ['foo.*.com', '*.foo.*', 'a*b*']);
});

test('the deprecated exact_match "" matches any value of a present header', () => {
  const rc = decodeOk({
    name: 'r',
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['*'],
        routes: [{ match: { prefix: '/', headers: [{ name: 'x', exact_match: '' }] }, route: { cluster: 'c' } }],
      },
    ],
  });
  assert.deepEqual(rc.virtualHosts[0]!.routes[0]!.match.headers[0]!.match, {
    kind: 'string',
    matcher: { kind: 'prefix', value: '', ignoreCase: false },
  });
});

test('header values are Envoy format strings: commands parsed, a stray % or an unknown command NACKs', () => {
  const withHeaders = (values: string[]): RouteConfigurationIn => ({
    name: 'r',
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['*'],
        routes: [
          {
            match: { prefix: '/' },
            route: { cluster: 'c' },
            request_headers_to_add: values.map((value, i) => ({ header: { key: `x-h${i}`, value } })),
          },
        ],
      },
    ],
  });
  const adds = decodeOk(
    withHeaders(['plain', '100%% sure', 'u=%REQ(X-User?x-alt):4%!', '%START_TIME(%Y-%m-%dT%H:%M:%E3S)%']),
  ).virtualHosts[0]!.routes[0]!.headerMutations.requestHeadersToAdd;
  assert.deepEqual(
    adds.map((a) => a.format),
    [
      undefined,
      undefined,
      ['u=', { command: 'REQ', subcommand: 'X-User?x-alt', maxLength: 4 }, '!'],
      [{ command: 'START_TIME', subcommand: '%Y-%m-%dT%H:%M:%E3S', maxLength: undefined }],
    ],
  );
  const at = (i: number) => `route_config.virtual_hosts[0].routes[0].request_headers_to_add[${i}].header.value`;
  assert.deepEqual(
    errorsOf(
      withHeaders([
        'up 50%',
        '%REQUEST_ID%',
        '%UPSTREAM_METADATA(["istio","canonical_service"])%',
        '%REQ%',
        '%HOSTNAME(x)%',
        '%PROTOCOL:3%',
        '%REQ(a?b?c)%',
        '%req(x)%',
      ]),
    ),
    [
      `${at(0)}: header "x-h0": no valid %COMMAND% at position 5 (a literal '%' is written '%%'; Envoy rejects this value)`,
      `${at(1)}: header "x-h1": %REQUEST_ID% is not a known command (Envoy: not supported field in StreamInfo)`,
      `${at(2)}: header "x-h2": %UPSTREAM_METADATA% is not supported by Inboard`,
      `${at(3)}: header "x-h3": %REQ% requires parameters`,
      `${at(4)}: header "x-h4": %HOSTNAME% does not take any parameters or length`,
      `${at(5)}: header "x-h5": %PROTOCOL% does not take any parameters or length`,
      `${at(6)}: header "x-h6": more than 1 alternative header specified in token: a?b?c`,
      `${at(7)}: header "x-h7": no valid %COMMAND% at position 0 (a literal '%' is written '%%'; Envoy rejects this value)`,
    ],
  );
});
