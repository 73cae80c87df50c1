// Gateway API HTTPRoutes for the mesh (GAMMA) → the RDS istiod sends a proxyless client. istiod
// converts each HTTPRoute into a VirtualService with "gateway semantics" (pilot/pkg/config/kube/
// gateway conversion.go + route_collections.go) and translates it with route.go; the expectations
// below follow that code: rule names `<ns>.<route>.<index>`, the Gateway API precedence sort,
// path-separated prefixes, cluster_not_found_response_code 500, direct 500 without backends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type GatewayGRPCRoute,
  type GatewayHTTPRoute,
  type HTTPRouteRule,
  type HTTPRouteSpec,
  type IstioObject,
  type MeshConfigSnapshot,
  type NodeInput,
  type ParentReference,
  translate,
} from '@inboard/control-plane';
import { TypeUrl } from '@inboard/xds/codec';
import { bookinfo, PRODUCTPAGE_NODE, service, vs } from './golden/bookinfo.ts';
import { at, type Json, resource } from './golden/golden.ts';

const REVIEWS_RDS = 'outbound|9080||reviews.default.svc.cluster.local';
const V1 = 'outbound|9080||reviews-v1.default.svc.cluster.local';
const V2 = 'outbound|9080||reviews-v2.default.svc.cluster.local';
const REVIEWS: ParentReference = { group: '', kind: 'Service', name: 'reviews' };
const CONSUMER_NODE: NodeInput = {
  id: 'sidecar~10.0.0.77~client-1.consumer~consumer.svc.cluster.local',
  metadata: { GENERATOR: 'grpc', NAMESPACE: 'consumer', LABELS: { app: 'client' } },
};

function httpRoute(name: string, spec: HTTPRouteSpec, namespace = 'default', created?: string): GatewayHTTPRoute {
  const metadata = created === undefined ? { name, namespace } : { name, namespace, creationTimestamp: created };
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata, spec };
}

function grpcRoute(name: string, spec: GatewayGRPCRoute['spec'], created?: string): GatewayGRPCRoute {
  const metadata = { name, namespace: 'default', ...(created === undefined ? {} : { creationTimestamp: created }) };
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GRPCRoute', metadata, spec };
}

function config(istio: readonly IstioObject[]): MeshConfigSnapshot {
  const base = bookinfo(istio);
  return {
    ...base,
    services: [
      ...base.services,
      service('reviews-v1'),
      service('reviews-v2'),
      service('multi', 9080, {
        ports: [
          { name: 'http', port: 9080 },
          { name: 'admin', port: 9090 },
        ],
      }),
    ],
  };
}

function rds(istio: readonly IstioObject[], node: NodeInput = PRODUCTPAGE_NODE, name = REVIEWS_RDS): Json {
  return resource(translate(config(istio), node), TypeUrl.RouteConfiguration, name);
}

/** The routes of the reviews virtual host for rules of one HTTPRoute on the reviews Service. */
function routes(rules: HTTPRouteRule[], extra: IstioObject[] = []): Json[] {
  return at(
    rds([httpRoute('reviews', { parentRefs: [REVIEWS], rules }), ...extra]),
    'virtual_hosts',
    0,
    'routes',
  ) as Json[];
}

// enum numbers as the golden JSON prints them
const OVERWRITE = 2; // HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
const FOUND = 1; // RedirectAction.FOUND (302)
const MILLION = 2; // FractionalPercent.MILLION
const names = (rs: Json[]) => rs.map((r) => at(r, 'name'));
const to = (name: string, port = 9080, weight?: number) => ({
  name,
  port,
  ...(weight === undefined ? {} : { weight }),
});

describe('HTTPRoute (mesh) → RDS', () => {
  test('a header match and a default rule; names, the Service host, 500 for a missing cluster', () => {
    const rs = routes([
      { matches: [{ headers: [{ name: 'end-user', value: 'jason' }] }], backendRefs: [to('reviews-v2')] },
      { backendRefs: [to('reviews-v1')] },
    ]);
    assert.deepEqual(names(rs), ['default.reviews.0', 'default.reviews.1']);
    assert.deepEqual(at(rs[0], 'match'), {
      prefix: '/',
      case_sensitive: { value: true },
      headers: [{ name: 'end-user', string_match: { exact: 'jason' } }],
    });
    assert.equal(at(rs[0], 'route', 'cluster'), V2);
    // istiod: action.ClusterNotFoundResponseCode = INTERNAL_SERVER_ERROR for gateway semantics
    assert.equal(at(rs[0], 'route', 'cluster_not_found_response_code'), 2);
    assert.deepEqual(at(rs[1], 'match'), { prefix: '/', case_sensitive: { value: true } });
    assert.equal(at(rs[1], 'route', 'cluster'), V1);
    assert.equal(
      at(rs[0], 'metadata', 'filter_metadata', 'istio', 'config'),
      '/apis/networking.istio.io/v1/namespaces/default/virtual-service/default~reviews.default.svc.cluster.local',
    );
  });

  test('PathPrefix matches whole segments (path_separated_prefix, trailing / ignored); Exact; regex; method; query', () => {
    const rs = routes([
      {
        matches: [
          { path: { type: 'PathPrefix', value: '/foo/' } },
          { path: { type: 'Exact', value: '/exact' } },
          { path: { type: 'RegularExpression', value: '/r/[0-9]+' } },
          { path: { value: '/m' }, method: 'POST' },
          {
            path: { value: '/q' },
            queryParams: [
              { name: 'debug', value: '1' },
              { type: 'RegularExpression', name: 'v', value: 'v[0-9]' },
            ],
          },
        ],
        backendRefs: [to('reviews-v1')],
      },
    ]);
    const byPath = Object.fromEntries(rs.map((r) => [JSON.stringify(at(r, 'match')), r]));
    assert.ok(byPath[JSON.stringify({ path_separated_prefix: '/foo', case_sensitive: { value: true } })]);
    assert.ok(byPath[JSON.stringify({ path: '/exact', case_sensitive: { value: true } })]);
    assert.ok(byPath[JSON.stringify({ safe_regex: { regex: '/r/[0-9]+' }, case_sensitive: { value: true } })]);
    assert.ok(
      byPath[
        JSON.stringify({
          path_separated_prefix: '/m',
          case_sensitive: { value: true },
          headers: [{ name: ':method', string_match: { exact: 'POST' } }],
        })
      ],
    );
    assert.ok(
      byPath[
        JSON.stringify({
          path_separated_prefix: '/q',
          case_sensitive: { value: true },
          query_parameters: [
            { name: 'debug', string_match: { exact: '1' } },
            { name: 'v', string_match: { safe_regex: { regex: 'v[0-9]' } } },
          ],
        })
      ],
    );
    // every match of the rule is its own route, all named after the rule
    assert.deepEqual(new Set(names(rs)), new Set(['default.reviews.0']));
    assert.equal(rs.length, 5);
  });

  test('precedence across rules and routes: exact, longest prefix, method, headers, query params, then oldest', () => {
    const older = httpRoute(
      'a-older',
      {
        parentRefs: [REVIEWS],
        rules: [
          { name: 'prefix-short', matches: [{ path: { value: '/api' } }], backendRefs: [to('reviews-v1')] },
          {
            name: 'regex',
            matches: [{ path: { type: 'RegularExpression', value: '/api/.*/long/regex' } }],
            backendRefs: [to('reviews-v1')],
          },
          {
            name: 'tie-older',
            matches: [{ path: { value: '/api/v1' }, headers: [{ name: 'x', value: '1' }] }],
            backendRefs: [to('reviews-v1')],
          },
        ],
      },
      'default',
      '2024-01-01T00:00:00Z',
    );
    const newer = httpRoute(
      'b-newer',
      {
        parentRefs: [REVIEWS],
        rules: [
          {
            name: 'query',
            matches: [{ path: { value: '/api/v1' }, queryParams: [{ name: 'q', value: '1' }] }],
            backendRefs: [to('reviews-v2')],
          },
          { name: 'method', matches: [{ path: { value: '/api/v1' }, method: 'GET' }], backendRefs: [to('reviews-v2')] },
          {
            name: 'tie-newer',
            matches: [{ path: { value: '/api/v1' }, headers: [{ name: 'y', value: '1' }] }],
            backendRefs: [to('reviews-v2')],
          },
          { name: 'exact', matches: [{ path: { type: 'Exact', value: '/a' } }], backendRefs: [to('reviews-v2')] },
          { name: 'long', matches: [{ path: { value: '/api/v1/items' } }], backendRefs: [to('reviews-v2')] },
        ],
      },
      'default',
      '2024-02-01T00:00:00Z',
    );
    // listed newest first: the order of the files does not matter, creation time does
    const rs = at(rds([newer, older]), 'virtual_hosts', 0, 'routes') as Json[];
    assert.deepEqual(names(rs), [
      'exact',
      'long',
      'method',
      'tie-older',
      'tie-newer',
      'query',
      'prefix-short',
      // istiod ranks RegularExpression below every prefix, whatever its length
      'regex',
    ]);
  });

  test('backendRefs: weights (0 dropped, one left → a plain cluster), none or all 0 → direct 500, missing Service → its cluster (500 at request time)', () => {
    const rs = routes([
      {
        matches: [{ path: { value: '/split' } }],
        backendRefs: [to('reviews-v1', 9080, 90), to('reviews-v2', 9080, 10), to('reviews', 9080, 0)],
      },
      { matches: [{ path: { value: '/one' } }], backendRefs: [to('reviews-v1', 9080, 5), to('reviews-v2', 9080, 0)] },
      { matches: [{ path: { value: '/zero' } }], backendRefs: [to('reviews-v1', 9080, 0)] },
      { matches: [{ path: { value: '/none' } }] },
      { matches: [{ path: { value: '/gone' } }], backendRefs: [to('gone')] },
      { matches: [{ path: { value: '/kind' } }], backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'b' }] },
    ]);
    const byName = (p: string) => rs.find((r) => at(r, 'match', 'path_separated_prefix') === p);
    assert.deepEqual(at(byName('/split'), 'route', 'weighted_clusters'), {
      clusters: [
        { name: V1, weight: { value: 90 } },
        { name: V2, weight: { value: 10 } },
      ],
    });
    assert.equal(at(byName('/one'), 'route', 'cluster'), V1);
    assert.deepEqual(at(byName('/zero'), 'direct_response'), { status: 500 });
    assert.deepEqual(at(byName('/none'), 'direct_response'), { status: 500 });
    assert.equal(at(byName('/gone'), 'route', 'cluster'), 'outbound|9080||gone.default.svc.cluster.local');
    assert.equal(at(byName('/gone'), 'route', 'cluster_not_found_response_code'), 2);
    // an unsupported backend kind goes to istiod's "UnknownService" (no such cluster: 500)
    assert.equal(at(byName('/kind'), 'route', 'cluster'), 'UnknownService');
  });

  test('filters: header modifiers, URLRewrite (prefix, prefix "/", full path, hostname), per-backend headers', () => {
    const rs = routes([
      {
        matches: [{ path: { value: '/h' } }],
        filters: [
          {
            type: 'RequestHeaderModifier',
            requestHeaderModifier: {
              set: [{ name: 'X-Set', value: 'a' }],
              add: [{ name: 'x-add', value: 'b' }],
              remove: ['x-gone'],
            },
          },
          { type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'x-resp', value: 'c' }] } },
        ],
        backendRefs: [
          {
            ...to('reviews-v1'),
            filters: [
              { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-backend', value: 'v1' }] } },
            ],
          },
        ],
      },
      {
        matches: [{ path: { value: '/strip' } }],
        filters: [
          { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } },
        ],
        backendRefs: [to('reviews-v1')],
      },
      {
        matches: [{ path: { value: '/old' } }],
        filters: [
          {
            type: 'URLRewrite',
            urlRewrite: {
              hostname: 'new.example.com',
              path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new/' },
            },
          },
        ],
        backendRefs: [to('reviews-v1')],
      },
      {
        matches: [{ path: { value: '/full' } }],
        filters: [
          { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/replaced' } } },
        ],
        backendRefs: [to('reviews-v1')],
      },
    ]);
    const r = (p: string) => rs.find((x) => at(x, 'match', 'path_separated_prefix') === p);
    assert.deepEqual(at(r('/h'), 'request_headers_to_add'), [
      { header: { key: 'x-set', value: 'a' }, append_action: OVERWRITE },
      // APPEND_IF_EXISTS_OR_ADD is the zero value
      { header: { key: 'x-add', value: 'b' } },
      { header: { key: 'x-backend', value: 'v1' }, append_action: OVERWRITE },
    ]);
    assert.deepEqual(at(r('/h'), 'request_headers_to_remove'), ['x-gone']);
    assert.deepEqual(at(r('/h'), 'response_headers_to_add'), [
      { header: { key: 'x-resp', value: 'c' }, append_action: OVERWRITE },
    ]);
    // istiod: ReplacePrefixMatch "/" is a regex rewrite that keeps one "/"
    assert.deepEqual(at(r('/strip'), 'route', 'regex_rewrite'), {
      pattern: { regex: '^/strip(/?)(.*)' },
      substitution: '/\\2',
    });
    assert.equal(at(r('/old'), 'route', 'prefix_rewrite'), '/new');
    assert.equal(at(r('/old'), 'route', 'host_rewrite_literal'), 'new.example.com');
    assert.deepEqual(at(r('/full'), 'route', 'regex_rewrite'), {
      pattern: { regex: '/.*' },
      substitution: '/replaced',
    });
  });

  test("RequestRedirect: 302 by default, ReplacePrefixMatch → prefix_rewrite (normalised as URLRewrite's), the request port unless the scheme changes", () => {
    const rs = routes([
      {
        matches: [{ path: { value: '/moved' } }],
        filters: [
          {
            type: 'RequestRedirect',
            requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/here' } },
          },
        ],
      },
      ...[
        ['/slash', '/'],
        ['/trailing', '/new/'],
        ['/empty', ''],
      ].map(([path, replacePrefixMatch]) => ({
        matches: [{ path: { value: path } }],
        filters: [
          {
            type: 'RequestRedirect' as const,
            requestRedirect: { path: { type: 'ReplacePrefixMatch' as const, replacePrefixMatch } },
          },
        ],
      })),
      {
        matches: [{ path: { value: '/secure' } }],
        filters: [
          {
            type: 'RequestRedirect',
            requestRedirect: {
              scheme: 'https',
              hostname: 'example.com',
              statusCode: 301,
              path: { type: 'ReplaceFullPath', replaceFullPath: '/x' },
            },
          },
        ],
      },
    ]);
    const r = (p: string) => rs.find((x) => at(x, 'match', 'path_separated_prefix') === p);
    assert.deepEqual(at(r('/moved'), 'redirect'), {
      port_redirect: 9080,
      prefix_rewrite: '/here',
      response_code: FOUND,
    });
    // the spec's ReplacePrefixMatch table holds for redirects as for rewrites (istiod passes the value
    // through: `/` would redirect /slash/a to //a, "" to itself): a trailing `/` is dropped and `/` or
    // nothing removes the prefix
    const strip = (p: string) => ({ pattern: { regex: `^${p}(/?)(.*)` }, substitution: '/\\2' });
    assert.deepEqual(at(r('/slash'), 'redirect'), {
      port_redirect: 9080,
      regex_rewrite: strip('/slash'),
      response_code: FOUND,
    });
    assert.deepEqual(at(r('/trailing'), 'redirect'), {
      port_redirect: 9080,
      prefix_rewrite: '/new',
      response_code: FOUND,
    });
    assert.deepEqual(at(r('/empty'), 'redirect'), {
      port_redirect: 9080,
      regex_rewrite: strip('/empty'),
      response_code: FOUND,
    });
    assert.deepEqual(at(r('/secure'), 'redirect'), {
      scheme_redirect: 'https',
      host_redirect: 'example.com',
      path_redirect: '/x',
      // MOVED_PERMANENTLY is the zero value
    });
  });

  test('RequestMirror (percent, fraction; a missing backend is dropped), timeouts and retry', () => {
    const rs = routes([
      {
        matches: [{ path: { value: '/m' } }],
        filters: [
          { type: 'RequestMirror', requestMirror: { backendRef: { name: 'reviews-v2', port: 9080 }, percent: 25 } },
          {
            type: 'RequestMirror',
            requestMirror: { backendRef: { name: 'reviews', port: 9080 }, fraction: { numerator: 1, denominator: 8 } },
          },
          { type: 'RequestMirror', requestMirror: { backendRef: { name: 'gone', port: 9080 } } },
        ],
        timeouts: { request: '10s' },
        backendRefs: [to('reviews-v1')],
      },
      {
        matches: [{ path: { value: '/r' } }],
        timeouts: { request: '10s', backendRequest: '2s' },
        retry: { attempts: 3, codes: [503], backoff: '100ms' },
        backendRefs: [to('reviews-v1')],
      },
      {
        matches: [{ path: { value: '/b' } }],
        timeouts: { request: '10s', backendRequest: '2s' },
        backendRefs: [to('reviews-v1')],
      },
    ]);
    const r = (p: string) => rs.find((x) => at(x, 'match', 'path_separated_prefix') === p);
    const mirrors = at(r('/m'), 'route', 'request_mirror_policies') as Json[];
    assert.deepEqual(
      mirrors.map((m) => [at(m, 'cluster'), at(m, 'runtime_fraction', 'default_value')]),
      [
        [V2, { numerator: 250000, denominator: MILLION }],
        [REVIEWS_RDS, { numerator: 125000, denominator: MILLION }],
      ],
    );
    assert.deepEqual(at(r('/m'), 'route', 'timeout'), { seconds: 10 });
    // retry: istiod's retry-on list plus the codes; backendRequest is the per-try timeout
    assert.deepEqual(at(r('/r'), 'route', 'timeout'), { seconds: 10 });
    assert.equal(
      at(r('/r'), 'route', 'retry_policy', 'retry_on'),
      'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
    );
    assert.deepEqual(at(r('/r'), 'route', 'retry_policy', 'retriable_status_codes'), [503]);
    assert.deepEqual(at(r('/r'), 'route', 'retry_policy', 'num_retries'), { value: 3 });
    assert.deepEqual(at(r('/r'), 'route', 'retry_policy', 'per_try_timeout'), { seconds: 2 });
    // without retry, backendRequest replaces the request timeout (conversion.go)
    assert.deepEqual(at(r('/b'), 'route', 'timeout'), { seconds: 2 });
  });

  test('a parentRef port: the routes apply on that port only; the other port keeps the default route', () => {
    const route = httpRoute('multi', {
      parentRefs: [{ group: '', kind: 'Service', name: 'multi', port: 9090 }],
      rules: [{ backendRefs: [to('reviews-v1')] }],
    });
    const on9090 = at(
      rds([route], PRODUCTPAGE_NODE, 'outbound|9090||multi.default.svc.cluster.local'),
      'virtual_hosts',
      0,
      'routes',
    ) as Json[];
    assert.deepEqual(names(on9090), ['default.multi.0']);
    assert.equal(at(on9090[0], 'route', 'cluster'), V1);
    const on9080 = at(
      rds([route], PRODUCTPAGE_NODE, 'outbound|9080||multi.default.svc.cluster.local'),
      'virtual_hosts',
      0,
      'routes',
    ) as Json[];
    assert.deepEqual(names(on9080), ['default']);
  });

  test('hostnames are ignored for Service parents; an unknown parent Service or a Gateway parent attaches nothing', () => {
    const rs = routes([{ backendRefs: [to('reviews-v1')] }]);
    const withHosts = at(
      rds([
        httpRoute('reviews', {
          parentRefs: [REVIEWS],
          hostnames: ['other.example.com'],
          rules: [{ backendRefs: [to('reviews-v1')] }],
        }),
      ]),
      'virtual_hosts',
      0,
      'routes',
    );
    assert.deepEqual(withHosts, rs);
    for (const parentRefs of [
      [{ group: '', kind: 'Service', name: 'nope' }],
      // kind Service without group "" is gateway.networking.k8s.io/Service: not a mesh parent
      [{ kind: 'Service', name: 'reviews' }],
      [{ name: 'some-gateway' }],
    ]) {
      const out = at(
        rds([httpRoute('reviews', { parentRefs, rules: [{ backendRefs: [to('reviews-v1')] }] })]),
        'virtual_hosts',
        0,
        'routes',
      );
      assert.deepEqual(names(out as Json[]), ['default'], JSON.stringify(parentRefs));
    }
  });

  test('a consumer route (another namespace) applies to its own namespace only; a producer route to everyone', () => {
    const consumer = httpRoute(
      'reviews-for-me',
      {
        parentRefs: [{ ...REVIEWS, namespace: 'default' }],
        rules: [{ backendRefs: [{ ...to('reviews-v2'), namespace: 'default' }] }],
      },
      'consumer',
    );
    assert.deepEqual(names(at(rds([consumer]), 'virtual_hosts', 0, 'routes') as Json[]), ['default']);
    const fromConsumer = at(rds([consumer], CONSUMER_NODE), 'virtual_hosts', 0, 'routes') as Json[];
    assert.deepEqual(names(fromConsumer), ['consumer.reviews-for-me.0']);
    assert.equal(at(fromConsumer[0], 'route', 'cluster'), V2);

    // the producer's route (the Service's namespace) applies everywhere, but the consumer's own wins for it
    const producer = httpRoute(
      'reviews',
      { parentRefs: [REVIEWS], rules: [{ backendRefs: [to('reviews-v1')] }] },
      'default',
      '2020-01-01T00:00:00Z',
    );
    assert.deepEqual(names(at(rds([consumer, producer]), 'virtual_hosts', 0, 'routes') as Json[]), [
      'default.reviews.0',
    ]);
    assert.deepEqual(names(at(rds([consumer, producer], CONSUMER_NODE), 'virtual_hosts', 0, 'routes') as Json[]), [
      'consumer.reviews-for-me.0',
    ]);
  });

  test('an HTTPRoute and a VirtualService for the same host: the older wins, except a route in the client namespace', () => {
    const virtualService = {
      ...vs('reviews', {
        hosts: ['reviews'],
        http: [{ name: 'from-vs', route: [{ destination: { host: 'reviews-v2' } }] }],
      }),
      metadata: { name: 'reviews', namespace: 'default', creationTimestamp: '2024-06-01T00:00:00Z' },
    };
    const olderRoute = httpRoute(
      'reviews',
      { parentRefs: [REVIEWS], rules: [{ backendRefs: [to('reviews-v1')] }] },
      'default',
      '2024-01-01T00:00:00Z',
    );
    const newerRoute = httpRoute(
      'reviews',
      { parentRefs: [REVIEWS], rules: [{ backendRefs: [to('reviews-v1')] }] },
      'default',
      '2025-01-01T00:00:00Z',
    );
    const first = (istio: IstioObject[], node: NodeInput = PRODUCTPAGE_NODE) =>
      names(at(rds(istio, node), 'virtual_hosts', 0, 'routes') as Json[]);
    // a client in another namespace: plain creation order between the two public VirtualServices
    assert.deepEqual(first([virtualService, olderRoute], CONSUMER_NODE), ['default.reviews.0']);
    assert.deepEqual(first([virtualService, newerRoute], CONSUMER_NODE), ['from-vs']);
    // a client in the route's namespace: its HTTPRoute goes first ("consumer override")
    assert.deepEqual(first([virtualService, newerRoute]), ['default.reviews.0']);
  });
});

describe('GRPCRoute (mesh) → RDS', () => {
  test('service / method matches become gRPC paths (createGRPCURIMatch); headers; the Gateway API sort', () => {
    const route = grpcRoute('reviews', {
      parentRefs: [REVIEWS],
      rules: [
        {
          matches: [
            { method: { service: 'bookinfo.Reviews', method: 'Get' } },
            { method: { service: 'bookinfo.Reviews' }, headers: [{ name: 'x-canary', value: 'yes' }] },
            { method: { method: 'List' } },
            { method: { type: 'RegularExpression', service: 'bookinfo\\..*' } },
          ],
          filters: [
            { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-grpc', value: '1' }] } },
          ],
          backendRefs: [to('reviews-v2')],
        },
        { backendRefs: [to('reviews-v1')] },
      ],
    });
    const rs = at(rds([route]), 'virtual_hosts', 0, 'routes') as Json[];
    assert.deepEqual(
      rs.map((r) => [at(r, 'name'), at(r, 'match')]),
      [
        ['default.reviews.0', { path: '/bookinfo.Reviews/Get', case_sensitive: { value: true } }],
        // a service prefix is a path-separated prefix, as for HTTPRoutes (gateway semantics)
        [
          'default.reviews.0',
          {
            path_separated_prefix: '/bookinfo.Reviews',
            case_sensitive: { value: true },
            headers: [{ name: 'x-canary', string_match: { exact: 'yes' } }],
          },
        ],
        ['default.reviews.0', { safe_regex: { regex: '/bookinfo\\..*/.+' }, case_sensitive: { value: true } }],
        ['default.reviews.0', { safe_regex: { regex: '/[^/]+/List' }, case_sensitive: { value: true } }],
        // no matches: every service and method, last (TranslateRouteMatch of no match: just `/`)
        ['default.reviews.1', { prefix: '/' }],
      ],
    );
    assert.equal(at(rs[0], 'route', 'cluster'), V2);
    assert.deepEqual(at(rs[0], 'request_headers_to_add'), [
      { header: { key: 'x-grpc', value: '1' }, append_action: OVERWRITE },
    ]);
    assert.equal(at(rs[4], 'route', 'cluster'), V1);
  });

  test('GRPCRoutes and HTTPRoutes are not merged: for one Service the older one applies', () => {
    const grpc = grpcRoute(
      'reviews-grpc',
      { parentRefs: [REVIEWS], rules: [{ backendRefs: [to('reviews-v2')] }] },
      '2024-01-01T00:00:00Z',
    );
    const http = httpRoute(
      'reviews-http',
      { parentRefs: [REVIEWS], rules: [{ backendRefs: [to('reviews-v1')] }] },
      'default',
      '2024-02-01T00:00:00Z',
    );
    assert.deepEqual(names(at(rds([http, grpc]), 'virtual_hosts', 0, 'routes') as Json[]), ['default.reviews-grpc.0']);
  });
});

describe('Gateway (gateway.networking.k8s.io) + HTTPRoute parentRefs to it → the ingress LDS / RDS', () => {
  const GW_NODE: NodeInput = {
    id: 'router~10.0.0.50~gw-istio-abc.default~default.svc.cluster.local',
    metadata: { GENERATOR: 'grpc', NAMESPACE: 'default', LABELS: { 'gateway.networking.k8s.io/gateway-name': 'gw' } },
  };
  const gateway: IstioObject = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'KubernetesGateway',
    metadata: { name: 'gw', namespace: 'default' },
    spec: {
      gatewayClassName: 'istio',
      listeners: [
        { name: 'http', port: 8080, protocol: 'HTTP', hostname: '*.example.com' },
        { name: 'api', port: 8080, protocol: 'HTTP', hostname: 'api.example.com' },
        { name: 'other-ns', port: 9090, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } },
        { name: 'https', port: 8443, protocol: 'HTTPS', tls: { mode: 'Terminate' } },
      ],
    },
  };
  const GW: ParentReference = { name: 'gw' };

  test('listeners become Istio Gateway servers on the node the gateway-name label picks; routes bind by listener and hostname', () => {
    const web = httpRoute('web', {
      parentRefs: [GW],
      hostnames: ['www.example.com', 'api.example.com'],
      rules: [{ matches: [{ path: { value: '/shop' } }], backendRefs: [to('reviews-v1')] }],
    });
    const api = httpRoute('api', {
      parentRefs: [{ ...GW, sectionName: 'api' }],
      hostnames: ['api.example.com'],
      rules: [{ backendRefs: [to('reviews-v2')] }],
    });
    const snapshot = translate(config([gateway, web, api]), GW_NODE);
    const rc = resource(snapshot, TypeUrl.RouteConfiguration, 'http.8080');
    const vhosts = at(rc, 'virtual_hosts') as Json[];
    const byName = Object.fromEntries(vhosts.map((v) => [at(v, 'name'), v]));
    // api.example.com belongs to the `api` listener only: the wildcard listener leaves it to it (isolation)
    assert.deepEqual(Object.keys(byName).sort(), ['api.example.com:8080', 'www.example.com:8080']);
    assert.deepEqual(names(at(byName['www.example.com:8080'], 'routes') as Json[]), ['default.web.0']);
    const www = (at(byName['www.example.com:8080'], 'routes') as Json[])[0];
    assert.deepEqual(at(www, 'match'), { path_separated_prefix: '/shop', case_sensitive: { value: true } });
    assert.equal(at(www, 'route', 'cluster'), V1);
    // web has no sectionName: it attaches to the `api` listener too, merged with api's route (longer prefix first)
    assert.deepEqual(names(at(byName['api.example.com:8080'], 'routes') as Json[]), ['default.web.0', 'default.api.0']);
    // the HTTPS listener is not served; the node of another gateway gets none of this
    assert.throws(() => resource(snapshot, TypeUrl.RouteConfiguration, 'http.8443'));
    const other = translate(config([gateway, web]), {
      ...GW_NODE,
      metadata: { ...GW_NODE.metadata, LABELS: { 'gateway.networking.k8s.io/gateway-name': 'other' } },
    });
    assert.throws(() => resource(other, TypeUrl.RouteConfiguration, 'http.8080'));
  });

  test('allowedRoutes: Same (default) admits routes of the Gateway namespace only; All admits any; cross-namespace backends need a ReferenceGrant', () => {
    const foreign = httpRoute(
      'foreign',
      {
        parentRefs: [{ ...GW, namespace: 'default' }],
        rules: [{ backendRefs: [{ ...to('reviews-v1'), namespace: 'default' }] }],
      },
      'team',
    );
    const rc8080 = at(
      resource(translate(config([gateway, foreign]), GW_NODE), TypeUrl.RouteConfiguration, 'http.8080'),
      'virtual_hosts',
    ) as Json[];
    assert.deepEqual(
      rc8080.map((v) => at(v, 'name')),
      ['blackhole:8080'],
    );
    const rc9090 = at(
      resource(translate(config([gateway, foreign]), GW_NODE), TypeUrl.RouteConfiguration, 'http.9090'),
      'virtual_hosts',
    ) as Json[];
    assert.deepEqual(names(at(rc9090[0], 'routes') as Json[]), ['team.foreign.0']);
    // no ReferenceGrant is read: the backend in another namespace is istiod's empty destination → 500
    assert.equal(at((at(rc9090[0], 'routes') as Json[])[0], 'route', 'cluster'), 'UnknownService');
  });

  test('allowedRoutes.kinds: empty is unspecified (HTTPRoutes and GRPCRoutes attach); a list narrows the kinds', () => {
    const withKinds = (kinds: { kind: string }[]): IstioObject => ({
      ...gateway,
      spec: {
        gatewayClassName: 'istio',
        listeners: [{ name: 'http', port: 8080, protocol: 'HTTP', allowedRoutes: { kinds } }],
      },
    });
    const web = httpRoute(
      'web',
      { parentRefs: [GW], rules: [{ matches: [{ path: { value: '/web' } }], backendRefs: [to('reviews-v1')] }] },
      'default',
      '2024-01-01T00:00:00Z',
    );
    const rpc = grpcRoute(
      'rpc',
      {
        parentRefs: [GW],
        rules: [{ matches: [{ method: { service: 'bookinfo.Reviews' } }], backendRefs: [to('reviews-v2')] }],
      },
      '2024-01-02T00:00:00Z',
    );
    const routeNames = (kinds: { kind: string }[]) =>
      (
        at(
          resource(translate(config([withKinds(kinds), web, rpc]), GW_NODE), TypeUrl.RouteConfiguration, 'http.8080'),
          'virtual_hosts',
        ) as Json[]
      ).flatMap((v) => names((at(v, 'routes') as Json[] | undefined) ?? []));
    // "When unspecified or empty, the kinds of Routes selected are determined using the Listener protocol"
    assert.deepEqual(routeNames([]), ['default.web.0', 'default.rpc.0']);
    assert.deepEqual(routeNames([{ kind: 'GRPCRoute' }]), ['default.rpc.0']);
  });
});

describe('which VirtualService serves a host (converted routes included)', () => {
  test('the first VirtualService with routes for the port serves it: one whose matches name another port is skipped', () => {
    const portOnly = {
      ...vs('reviews-9999', {
        hosts: ['reviews'],
        http: [{ name: 'only-9999', match: [{ port: 9999 }], route: [{ destination: { host: 'reviews-v2' } }] }],
      }),
      metadata: { name: 'reviews-9999', namespace: 'default', creationTimestamp: '2024-01-01T00:00:00Z' },
    };
    const all = {
      ...vs('reviews-all', {
        hosts: ['reviews'],
        http: [{ name: 'all', route: [{ destination: { host: 'reviews-v1' } }] }],
      }),
      metadata: { name: 'reviews-all', namespace: 'default', creationTimestamp: '2024-02-01T00:00:00Z' },
    };
    // istiod's BuildSidecarVirtualHostWrapper: a VirtualService without routes on the port adds no virtual host
    assert.deepEqual(names(at(rds([portOnly, all]), 'virtual_hosts', 0, 'routes') as Json[]), ['all']);
  });

  test('a parentRef to an Istio ServiceEntry routes its hosts', () => {
    const se: IstioObject = {
      kind: 'ServiceEntry',
      metadata: { name: 'ext', namespace: 'default' },
      spec: {
        hosts: ['api.external.example'],
        ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
        resolution: 'STATIC',
        endpoints: [{ address: '192.0.2.1' }],
      },
    };
    const route = httpRoute('ext', {
      parentRefs: [{ group: 'networking.istio.io', kind: 'ServiceEntry', name: 'ext' }],
      rules: [
        {
          matches: [{ path: { value: '/v1' } }],
          backendRefs: [{ group: 'networking.istio.io', kind: 'Hostname', name: 'api.external.example', port: 80 }],
        },
      ],
    });
    const rs = at(
      rds([se, route], PRODUCTPAGE_NODE, 'outbound|80||api.external.example'),
      'virtual_hosts',
      0,
      'routes',
    ) as Json[];
    assert.deepEqual(names(rs), ['default.ext.0']);
    assert.equal(at(rs[0], 'route', 'cluster'), 'outbound|80||api.external.example');
  });
});
