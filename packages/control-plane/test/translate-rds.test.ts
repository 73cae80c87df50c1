// Golden tests: every VirtualService HTTPRoute field → its RDS fragment (test/golden/rds.json),
// plus virtual host names and domains, and the default route when no VirtualService applies.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type DestinationRule,
  type HTTPRoute,
  type IstioObject,
  type MeshConfig,
  type MeshConfigSnapshot,
  type NodeInput,
  translate,
} from '@inboard/control-plane';
import { TypeUrl } from '@inboard/xds/codec';
import { bookinfo, GATEWAY_NODE, PRODUCTPAGE_NODE, SERVICES, service, vs } from './golden/bookinfo.ts';
import { at, expectGolden, type Json, resource } from './golden/golden.ts';

const REVIEWS_RDS = 'outbound|9080||reviews.default.svc.cluster.local';

function routeConfig(
  istio: readonly IstioObject[],
  name = REVIEWS_RDS,
  node: NodeInput = PRODUCTPAGE_NODE,
  mesh?: MeshConfig,
): Json {
  const config: MeshConfigSnapshot = { ...bookinfo(istio), meshConfig: mesh };
  return resource(translate(config, node), TypeUrl.RouteConfiguration, name);
}

/** The routes a single-http-route VirtualService on reviews produces. */
function routes(http: HTTPRoute | HTTPRoute[], extra: IstioObject[] = []): Json | undefined {
  const rc = routeConfig([vs('reviews', { hosts: ['reviews'], http: Array.isArray(http) ? http : [http] }), ...extra]);
  return at(rc, 'virtual_hosts', 0, 'routes');
}

const toV1 = [{ destination: { host: 'reviews', subset: 'v1' } }];

describe('RDS: matches', () => {
  test('uri exact / prefix / regex, ignoreUriCase, route name', () => {
    expectGolden(
      'rds.json',
      'match.uri',
      routes({
        name: 'r',
        match: [
          { name: 'exact', uri: { exact: '/a' } },
          { name: 'prefix', uri: { prefix: '/b' }, ignoreUriCase: true },
          { name: 'regex', uri: { regex: '/c/[0-9]+' } },
        ],
        route: toV1,
      }),
    );
  });

  test('headers: exact, prefix, regex, regex "*" and {} mean present; sorted by name', () => {
    expectGolden(
      'rds.json',
      'match.headers',
      at(
        routes({
          match: [
            {
              headers: {
                'x-e': { exact: 'jason' },
                'x-p': { prefix: 'ja' },
                'x-r': { regex: 'j.*n' },
                'x-star': { regex: '*' },
                'x-any': {},
              },
            },
          ],
          route: toV1,
        }),
        0,
        'match',
      ),
    );
  });

  test('withoutHeaders invert, with treat_missing_header_as_empty unless a presence match', () => {
    expectGolden(
      'rds.json',
      'match.withoutHeaders',
      at(routes({ match: [{ withoutHeaders: { 'x-a': { exact: 'v' }, 'x-b': {} } }], route: toV1 }), 0, 'match'),
    );
  });

  test('queryParams, method, authority, scheme', () => {
    expectGolden(
      'rds.json',
      'match.query-method-authority-scheme',
      at(
        routes({
          match: [
            {
              queryParams: { debug: { exact: '1' }, flag: { regex: '*' } },
              method: { exact: 'GET' },
              authority: { prefix: 'reviews' },
              scheme: { exact: 'https' },
            },
          ],
          route: toV1,
        }),
        0,
        'match',
      ),
    );
  });

  test('port: a match for another port is left out', () => {
    const r = routes({
      match: [
        { name: 'other', port: 8080 },
        { name: 'this', port: 9080, uri: { prefix: '/x' } },
      ],
      route: toV1,
    }) as Json[];
    assert.deepEqual(
      r.map((x) => at(x, 'name')),
      ['.this'],
      'the 8080 match is dropped (and unmatched requests get no route: no default route is added)',
    );
  });

  test('a catch-all match ends the route list; later http routes are not emitted', () => {
    const r = routes([
      { name: 'all', route: toV1 },
      { name: 'never', route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
    ]) as Json[];
    assert.deepEqual(
      r.map((x) => at(x, 'name')),
      ['all'],
    );
  });

  test('gateways on a match: only "mesh" applies to a sidecar', () => {
    const r = routes([
      { name: 'gw', match: [{ gateways: ['bookinfo-gateway'], uri: { prefix: '/gw' } }], route: toV1 },
      { name: 'mesh', match: [{ gateways: ['mesh'], uri: { prefix: '/mesh' } }], route: toV1 },
    ]) as Json[];
    assert.deepEqual(
      r.map((x) => at(x, 'name')),
      ['mesh'],
    );
  });

  test("gateways on a match name the VirtualService's namespace's Gateway by its short name, as its top-level gateways do", () => {
    const gateway: IstioObject = {
      kind: 'Gateway',
      metadata: { name: 'bookinfo-gateway', namespace: 'default' },
      spec: {
        selector: { istio: 'ingressgateway' },
        servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }],
      },
    };
    const service = vs('reviews', {
      hosts: ['reviews'],
      gateways: ['bookinfo-gateway', 'mesh'],
      http: [
        { name: 'short', match: [{ gateways: ['bookinfo-gateway'], uri: { prefix: '/short' } }], route: toV1 },
        { name: 'qualified', match: [{ gateways: ['default/bookinfo-gateway'], uri: { prefix: '/ns' } }], route: toV1 },
        { name: 'other', match: [{ gateways: ['other/bookinfo-gateway'], uri: { prefix: '/other' } }], route: toV1 },
        // the legacy spelling name.namespace[.svc.cluster.local]: the namespace is the label after the name
        {
          name: 'legacy',
          match: [{ gateways: ['bookinfo-gateway.default.svc.cluster.local'], uri: { prefix: '/legacy' } }],
          route: toV1,
        },
        { name: 'mesh', match: [{ gateways: ['mesh'], uri: { prefix: '/mesh' } }], route: toV1 },
      ],
    });
    const rc = routeConfig([gateway, service], 'http.8080', GATEWAY_NODE);
    assert.deepEqual(
      (at(rc, 'virtual_hosts', 0, 'routes') as Json[]).map((x) => at(x, 'name')),
      ['short', 'qualified', 'legacy'],
    );
  });

  test('an empty meshConfig.defaultVirtualServiceExportTo is public, as an unset one', () => {
    const rc = routeConfig(
      [vs('reviews', { hosts: ['reviews'], http: [{ name: 'r', route: toV1 }] })],
      REVIEWS_RDS,
      PRODUCTPAGE_NODE,
      {
        defaultVirtualServiceExportTo: [],
      },
    );
    assert.equal(at(rc, 'virtual_hosts', 0, 'routes', 0, 'name'), 'r');
  });
});

describe('RDS: actions', () => {
  test('one destination → cluster; the only service port is used when none is given', () => {
    expectGolden('rds.json', 'route.single', at(routes({ route: toV1 }), 0));
  });

  test('several destinations → weighted clusters; zero weights dropped; explicit destination port', () => {
    expectGolden(
      'rds.json',
      'route.weighted',
      at(
        routes({
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 70 },
            { destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } }, weight: 30 },
            { destination: { host: 'reviews', subset: 'v3' }, weight: 0 },
          ],
        }),
        0,
        'route',
        'weighted_clusters',
      ),
    );
  });

  test('a destination in another namespace (FQDN) and short names resolved in the VirtualService namespace', () => {
    const config: MeshConfigSnapshot = {
      ...bookinfo(),
      services: [...SERVICES, service('reviews', 9080, { namespace: 'shop' })],
    };
    const snapshot = translate(
      {
        ...config,
        istio: [
          ...config.istio,
          vs('reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }, 'shop'),
        ],
      },
      PRODUCTPAGE_NODE,
    );
    const shopRoutes = at(
      resource(snapshot, TypeUrl.RouteConfiguration, 'outbound|9080||reviews.shop.svc.cluster.local'),
      'virtual_hosts',
      0,
      'routes',
      0,
      'route',
      'cluster',
    );
    assert.equal(shopRoutes, 'outbound|9080||reviews.shop.svc.cluster.local');
    // the VirtualService in `shop` does not touch default/reviews
    const def = at(
      resource(snapshot, TypeUrl.RouteConfiguration, REVIEWS_RDS),
      'virtual_hosts',
      0,
      'routes',
      0,
      'name',
    );
    assert.equal(def, 'default');
  });

  test('redirect with authority, uri, scheme, port and code', () => {
    expectGolden(
      'rds.json',
      'redirect',
      at(
        routes({
          redirect: { uri: '/new', authority: 'new.example.com', scheme: 'https', port: 8443, redirectCode: 302 },
        }),
        0,
      ),
    );
  });

  test('redirect: default code 301, derivePort FROM_REQUEST_PORT, port 443 with https dropped', () => {
    const r = routes([
      { match: [{ uri: { prefix: '/a' } }], redirect: { derivePort: 'FROM_REQUEST_PORT' } },
      { match: [{ uri: { prefix: '/b' } }], redirect: { scheme: 'https', port: 443 } },
    ]);
    expectGolden('rds.json', 'redirect.ports', [at(r, 0, 'redirect') ?? null, at(r, 1, 'redirect') ?? null]);
  });

  test('directResponse with a string body and with bytes', () => {
    const r = routes([
      { match: [{ uri: { prefix: '/s' } }], directResponse: { status: 503, body: { string: 'unavailable' } } },
      { match: [{ uri: { prefix: '/b' } }], directResponse: { status: 200, body: { bytes: 'aGVsbG8=' } } },
    ]);
    expectGolden('rds.json', 'directResponse', [at(r, 0) ?? null, at(r, 1, 'direct_response') ?? null]);
  });

  test('rewrite uri → prefix_rewrite, authority → host_rewrite_literal; uriRegexRewrite → regex_rewrite', () => {
    const r = routes([
      { match: [{ uri: { prefix: '/v1' } }], rewrite: { uri: '/v2', authority: 'reviews.internal' }, route: toV1 },
      {
        match: [{ uri: { prefix: '/x' } }],
        rewrite: { uriRegexRewrite: { match: '^/x/(.*)', rewrite: '/\\1' } },
        route: toV1,
      },
    ]);
    expectGolden('rds.json', 'rewrite', [at(r, 0, 'route') ?? null, at(r, 1, 'route', 'regex_rewrite') ?? null]);
  });

  test('timeout → timeout and max_stream_duration', () => {
    expectGolden('rds.json', 'timeout', at(routes({ timeout: '1.5s', route: toV1 }), 0, 'route'));
  });
});

describe('RDS: retries', () => {
  test('unset → Istio default policy (previous_hosts predicate)', () => {
    expectGolden('rds.json', 'retries.default', at(routes({ route: toV1 }), 0, 'route', 'retry_policy'));
  });

  test('attempts 0 → no retry policy at all', () => {
    assert.equal(at(routes({ retries: { attempts: 0 }, route: toV1 }), 0, 'route', 'retry_policy'), undefined);
  });

  test('attempts, retryOn with status codes, perTryTimeout, retryRemoteLocalities, backoff', () => {
    expectGolden(
      'rds.json',
      'retries.full',
      at(
        routes({
          retries: {
            attempts: 3,
            retryOn: 'gateway-error,connect-failure,503,504',
            perTryTimeout: '2s',
            retryRemoteLocalities: true,
            backoff: '100ms',
          },
          route: toV1,
        }),
        0,
        'route',
        'retry_policy',
      ),
    );
  });

  test('retryIgnorePreviousHosts: false drops the host predicate; codes only get retriable-status-codes', () => {
    expectGolden(
      'rds.json',
      'retries.codes-only',
      at(
        routes({ retries: { attempts: 2, retryOn: '503', retryIgnorePreviousHosts: false }, route: toV1 }),
        0,
        'route',
        'retry_policy',
      ),
    );
  });

  test('consistent hashing: no previous_hosts predicate', () => {
    const dr: DestinationRule = {
      kind: 'DestinationRule',
      metadata: { name: 'reviews-hash', namespace: 'default' },
      spec: { host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'x-user' } } } },
    };
    const config = bookinfo([
      vs('reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }),
    ]);
    // this DR replaces bookinfo's reviews DR (same namespace and host: merged, first traffic policy wins)
    const istio = [dr, ...config.istio];
    const rc = resource(translate({ ...config, istio }, PRODUCTPAGE_NODE), TypeUrl.RouteConfiguration, REVIEWS_RDS);
    expectGolden('rds.json', 'retries.consistent-hash', at(rc, 'virtual_hosts', 0, 'routes', 0, 'route'));
  });

  test('meshConfig.defaultHttpRetryPolicy replaces the default', () => {
    const rc = routeConfig([], REVIEWS_RDS, PRODUCTPAGE_NODE, {
      defaultHttpRetryPolicy: { attempts: 5, retryOn: '5xx' },
    });
    expectGolden('rds.json', 'retries.mesh-default', at(rc, 'virtual_hosts', 0, 'routes', 0, 'route', 'retry_policy'));
  });
});

describe('RDS: per-filter configs, mirrors, headers', () => {
  test('fault: delay with percentage, delay with legacy percent, abort without percentage, gRPC abort', () => {
    const r = routes([
      {
        match: [{ uri: { prefix: '/a' } }],
        fault: { delay: { fixedDelay: '5s', percentage: { value: 12.5 } } },
        route: toV1,
      },
      { match: [{ uri: { prefix: '/b' } }], fault: { delay: { fixedDelay: '100ms', percent: 30 } }, route: toV1 },
      { match: [{ uri: { prefix: '/c' } }], fault: { abort: { httpStatus: 503 } }, route: toV1 },
      {
        match: [{ uri: { prefix: '/d' } }],
        fault: { abort: { grpcStatus: 'UNAVAILABLE', percentage: { value: 0.1 } } },
        route: toV1,
      },
    ]) as Json[];
    expectGolden(
      'rds.json',
      'fault',
      r.slice(0, 4).map((x) => at(x, 'typed_per_filter_config') ?? null),
    );
  });

  test('mirror (default 100%), mirrorPercentage, mirrors[] with percentage; 0% mirrors nothing', () => {
    const r = routes([
      { match: [{ uri: { prefix: '/a' } }], mirror: { host: 'reviews', subset: 'v3' }, route: toV1 },
      { match: [{ uri: { prefix: '/b' } }], mirror: { host: 'ratings' }, mirrorPercentage: { value: 25 }, route: toV1 },
      {
        match: [{ uri: { prefix: '/c' } }],
        mirrors: [
          { destination: { host: 'reviews', subset: 'v2' }, percentage: { value: 5 } },
          { destination: { host: 'details' } },
        ],
        route: toV1,
      },
      { match: [{ uri: { prefix: '/d' } }], mirror: { host: 'ratings' }, mirrorPercentage: { value: 0 }, route: toV1 },
    ]) as Json[];
    expectGolden(
      'rds.json',
      'mirrors',
      r.slice(0, 4).map((x) => at(x, 'route', 'request_mirror_policies') ?? null),
    );
  });

  test('headers: request/response set (overwrite), add (append), remove; :authority set → host_rewrite_literal', () => {
    const r = routes({
      headers: {
        request: {
          set: { 'x-b': '1', 'x-a': '2', ':authority': 'reviews.internal' },
          add: { 'x-c': '3' },
          remove: ['x-d', 'host'],
        },
        response: { set: { 'x-e': '4' }, add: { 'x-f': '5' }, remove: ['x-g'] },
      },
      route: toV1,
    });
    expectGolden('rds.json', 'headers', at(r, 0));
  });

  test('per-destination headers: on the route for one destination, on the cluster weight for several', () => {
    const r = routes([
      {
        match: [{ uri: { prefix: '/one' } }],
        route: [
          { destination: { host: 'reviews', subset: 'v1' }, headers: { request: { set: { 'x-v': '1', host: 'h1' } } } },
        ],
      },
      {
        match: [{ uri: { prefix: '/two' } }],
        route: [
          {
            destination: { host: 'reviews', subset: 'v1' },
            weight: 50,
            headers: { response: { add: { 'x-v': '1' } } },
          },
          {
            destination: { host: 'reviews', subset: 'v2' },
            weight: 50,
            headers: { request: { set: { ':authority': 'v2' } } },
          },
        ],
      },
    ]);
    expectGolden('rds.json', 'headers.per-destination', [
      at(r, 0) ?? null,
      at(r, 1, 'route', 'weighted_clusters') ?? null,
    ]);
  });

  test('corsPolicy → typed_per_filter_config envoy.filters.http.cors', () => {
    const r = routes({
      corsPolicy: {
        allowOrigins: [{ exact: 'https://a.example.com' }, { regex: 'https://.*\\.example\\.org' }],
        allowMethods: ['GET', 'POST'],
        allowHeaders: ['x-a', 'x-b'],
        exposeHeaders: ['x-c'],
        maxAge: '24h',
        allowCredentials: true,
      },
      route: toV1,
    });
    expectGolden('rds.json', 'cors', at(r, 0, 'typed_per_filter_config'));
  });
});

describe('RDS: virtual hosts and the default route', () => {
  test('vhost name and domains seen from the same namespace (short name, name.ns, name.ns.svc, absolute FQDN, VIP)', () => {
    const rc = routeConfig([]);
    expectGolden('rds.json', 'vhost.same-namespace', {
      name: at(rc, 'virtual_hosts', 0, 'name') ?? null,
      domains: at(rc, 'virtual_hosts', 0, 'domains') ?? null,
    });
  });

  test('domains seen from another namespace: no bare short name', () => {
    const node = {
      id: 'sidecar~10.1.0.1~web-1.shop~shop.svc.cluster.local',
      metadata: { NAMESPACE: 'shop', LABELS: { app: 'web' } },
    };
    expectGolden(
      'rds.json',
      'vhost.other-namespace',
      at(routeConfig([], REVIEWS_RDS, node), 'virtual_hosts', 0, 'domains'),
    );
  });

  test('no VirtualService: route "default" to the default cluster, timeout 0, default retries', () => {
    expectGolden('rds.json', 'default-route', at(routeConfig([]), 'virtual_hosts', 0, 'routes'));
  });

  test('default route hash policy from the DestinationRule: header, cookie, source IP, query parameter', () => {
    const hashes = [
      { httpHeaderName: 'x-user' },
      { httpCookie: { name: 'session', path: '/', ttl: '60s' } },
      { useSourceIp: true },
      { httpQueryParameterName: 'user' },
    ];
    const out = hashes.map((consistentHash) => {
      const dr: DestinationRule = {
        kind: 'DestinationRule',
        metadata: { name: 'a-reviews', namespace: 'default' },
        spec: { host: 'reviews.default.svc.cluster.local', trafficPolicy: { loadBalancer: { consistentHash } } },
      };
      return at(routeConfig([dr]), 'virtual_hosts', 0, 'routes', 0, 'route', 'hash_policy') ?? null;
    });
    expectGolden('rds.json', 'default-route.hash-policy', out);
  });

  test('a VirtualService with a wildcard host applies to the services it matches', () => {
    const rc = routeConfig([
      vs('all-local', {
        hosts: ['*.default.svc.cluster.local'],
        http: [{ name: 'wild', route: [{ destination: { host: 'ratings' } }] }],
      }),
    ]);
    assert.equal(at(rc, 'virtual_hosts', 0, 'routes', 0, 'name'), 'wild');
    assert.equal(
      at(rc, 'virtual_hosts', 0, 'routes', 0, 'route', 'cluster'),
      'outbound|9080||ratings.default.svc.cluster.local',
    );
  });

  test('a VirtualService exported only to its own namespace does not apply elsewhere', () => {
    const hidden = vs(
      'reviews',
      { hosts: ['reviews.default.svc.cluster.local'], exportTo: ['.'], http: [{ name: 'x', route: toV1 }] },
      'other',
    );
    assert.equal(at(routeConfig([hidden]), 'virtual_hosts', 0, 'routes', 0, 'name'), 'default');
  });

  test('several VirtualServices for a host: private to the node namespace first, then the oldest', () => {
    const older = vs(
      'b-public',
      { hosts: ['reviews.default.svc.cluster.local'], http: [{ name: 'older', route: toV1 }] },
      'other',
    );
    const newer = vs('a-public', { hosts: ['reviews'], http: [{ name: 'newer', route: toV1 }] });
    const stamped = (v: typeof older, t: string) => ({ ...v, metadata: { ...v.metadata, creationTimestamp: t } });
    const o = stamped(older, '2024-01-01T00:00:00Z');
    const n = stamped(newer, '2025-01-01T00:00:00Z');
    assert.equal(at(routeConfig([n, o]), 'virtual_hosts', 0, 'routes', 0, 'name'), 'older');
    const priv = stamped(
      vs('c-private', { hosts: ['reviews'], exportTo: ['.'], http: [{ name: 'private', route: toV1 }] }),
      '2026-01-01T00:00:00Z',
    );
    assert.equal(at(routeConfig([n, o, priv]), 'virtual_hosts', 0, 'routes', 0, 'name'), 'private');
  });

  test('a VirtualService bound only to a gateway does not apply to sidecars', () => {
    const gwOnly = vs('reviews', {
      hosts: ['reviews'],
      gateways: ['bookinfo-gateway'],
      http: [{ name: 'x', route: toV1 }],
    });
    assert.equal(at(routeConfig([gwOnly]), 'virtual_hosts', 0, 'routes', 0, 'name'), 'default');
  });

  test('a TCP port gets a route configuration without virtual hosts', () => {
    const config: MeshConfigSnapshot = {
      ...bookinfo(),
      services: [...SERVICES, service('mongo', 27017, { ports: [{ name: 'tcp-mongo', port: 27017 }] })],
    };
    const rc = resource(
      translate(config, PRODUCTPAGE_NODE),
      TypeUrl.RouteConfiguration,
      'outbound|27017||mongo.default.svc.cluster.local',
    );
    assert.deepEqual(rc, { name: 'outbound|27017||mongo.default.svc.cluster.local' });
  });
});
