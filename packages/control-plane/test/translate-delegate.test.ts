// Delegate VirtualServices merged into their roots as istiod merges them (mergeVirtualServicesIfNeeded):
// the routes a sidecar and an ingress gateway get in RDS.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type HTTPRoute,
  type IstioObject,
  type MeshConfigSnapshot,
  type NodeInput,
  translate,
  type VirtualService,
} from '@inboard/control-plane';
import { TypeUrl } from '@inboard/xds/codec';
import { bookinfo, GATEWAY_NODE, PRODUCTPAGE_NODE, service, vs } from './golden/bookinfo.ts';
import { at, type Json, resource } from './golden/golden.ts';

const REVIEWS_RDS = 'outbound|9080||reviews.default.svc.cluster.local';

function rds(istio: readonly IstioObject[], node: NodeInput = PRODUCTPAGE_NODE, name = REVIEWS_RDS): Json {
  const base = bookinfo(istio);
  // a second team's namespace, with a reviews service of its own
  const config: MeshConfigSnapshot = {
    ...base,
    services: [...base.services, service('reviews', 9080, { namespace: 'team' })],
  };
  return resource(translate(config, node), TypeUrl.RouteConfiguration, name);
}

/** A route's match without `case_sensitive` (set on every uri match). */
function match(r: Json): Json {
  const { case_sensitive: _, ...rest } = (at(r, 'match') ?? {}) as Record<string, Json>;
  return rest;
}

/** name, match, cluster of each route. */
function names(routes: Json[]): Json[] {
  return routes.map((r) => [at(r, 'name') ?? '', match(r), at(r, 'route', 'cluster') ?? '']);
}

/** name, match, cluster of each route of the reviews virtual host. */
function summary(istio: readonly IstioObject[]): Json[] {
  return names((at(rds(istio), 'virtual_hosts', 0, 'routes') ?? []) as Json[]);
}

const to = (subset: string, host = 'reviews') => [{ destination: { host, subset } }];
const cluster = (subset: string, host = 'reviews.default.svc.cluster.local') => `outbound|9080|${subset}|${host}`;

function root(http: HTTPRoute[], extra: Partial<VirtualService['spec']> = {}): VirtualService {
  return vs('reviews', { hosts: ['reviews'], http, ...extra });
}

function delegate(name: string, http: HTTPRoute[], namespace = 'default', exportTo?: string[]): VirtualService {
  return vs(name, exportTo === undefined ? { http } : { http, exportTo }, namespace);
}

const FALLBACK: HTTPRoute = { name: 'fallback', route: to('v3') };

describe('delegate VirtualServices: match conditions', () => {
  test('root prefix + delegate exact → the exact path; a delegate match outside the root prefix is dropped; no match → the root match', () => {
    const got = summary([
      root([
        { name: 'root', match: [{ uri: { prefix: '/reviews' } }], delegate: { name: 'reviews-delegate' } },
        FALLBACK,
      ]),
      delegate('reviews-delegate', [
        { name: 'one', match: [{ uri: { exact: '/reviews/1' } }], route: to('v2') },
        // not within /reviews: istiod drops the whole delegate route
        { name: 'ratings', match: [{ uri: { prefix: '/ratings' } }], route: to('v2') },
        { name: 'rest', route: to('v1') },
      ]),
    ]);
    assert.deepEqual(got, [
      ['root-one', { path: '/reviews/1' }, cluster('v2')],
      ['root-rest', { prefix: '/reviews' }, cluster('v1')],
      ['fallback', { prefix: '/' }, cluster('v3')],
    ]);
  });

  test('each delegate match is merged with every root match it fits in; headers and query params are combined', () => {
    const got = summary([
      root([
        {
          match: [
            { name: 'a', uri: { prefix: '/a' }, headers: { 'x-team': { exact: 'red' } } },
            { name: 'b', uri: { prefix: '/b' } },
          ],
          delegate: { name: 'd' },
        },
      ]),
      delegate('d', [
        {
          name: 'narrow',
          match: [{ name: 'get', method: { exact: 'GET' }, queryParams: { v: { exact: '2' } } }],
          route: to('v2'),
        },
        // a regex under a prefix root conflicts (istiod cannot tell whether it is a narrowing)
        { name: 'regex', match: [{ uri: { regex: '/a/[0-9]+' } }], route: to('v1') },
      ]),
    ]);
    assert.deepEqual(got, [
      [
        // the match names joined root-delegate, after the route name
        'narrow.a-get',
        {
          prefix: '/a',
          headers: [
            { name: 'x-team', string_match: { exact: 'red' } },
            { name: ':method', string_match: { exact: 'GET' } },
          ],
          query_parameters: [{ name: 'v', string_match: { exact: '2' } }],
        },
        cluster('v2'),
      ],
      [
        'narrow.b-get',
        {
          prefix: '/b',
          headers: [{ name: ':method', string_match: { exact: 'GET' } }],
          query_parameters: [{ name: 'v', string_match: { exact: '2' } }],
        },
        cluster('v2'),
      ],
    ]);
  });
});

describe('delegate VirtualServices: route fields', () => {
  test("a delegate route takes the root's timeout, headers, retries and rewrite when it sets none, and keeps its own otherwise", () => {
    const rc = rds([
      root([
        {
          name: 'root',
          match: [{ uri: { prefix: '/reviews' } }],
          timeout: '5s',
          retries: { attempts: 4, retryOn: '503' },
          rewrite: { uri: '/v1/reviews' },
          headers: { request: { set: { 'x-root': '1' } } },
          delegate: { name: 'd' },
        },
      ]),
      delegate('d', [
        { name: 'inherits', match: [{ uri: { prefix: '/reviews/a' } }], route: to('v2') },
        {
          name: 'overrides',
          match: [{ uri: { prefix: '/reviews/b' } }],
          timeout: '1s',
          // replaces the root's headers rather than adding to them (istiod takes the field whole)
          headers: { request: { set: { 'x-delegate': '1' } } },
          route: to('v1'),
        },
      ]),
    ]);
    const routes = at(rc, 'virtual_hosts', 0, 'routes') as Json[];
    const fields = (r: Json) => ({
      name: at(r, 'name'),
      timeout: at(r, 'route', 'timeout'),
      attempts: at(r, 'route', 'retry_policy', 'num_retries'),
      rewrite: at(r, 'route', 'prefix_rewrite'),
      headers: ((at(r, 'request_headers_to_add') ?? []) as Json[]).map((h) => at(h, 'header', 'key')),
    });
    assert.deepEqual(routes.map(fields), [
      {
        name: 'root-inherits',
        timeout: { seconds: 5 },
        attempts: { value: 4 },
        rewrite: '/v1/reviews',
        headers: ['x-root'],
      },
      {
        name: 'root-overrides',
        timeout: { seconds: 1 },
        attempts: { value: 4 },
        rewrite: '/v1/reviews',
        headers: ['x-delegate'],
      },
    ]);
  });

  test('several root routes may delegate to one VirtualService; each gets its own copy', () => {
    const got = summary([
      root([
        {
          name: 'jason',
          match: [{ headers: { 'end-user': { exact: 'jason' } } }],
          timeout: '2s',
          delegate: { name: 'd' },
        },
        { name: 'all', delegate: { name: 'd' } },
      ]),
      delegate('d', [{ name: 'r', route: to('v2') }]),
    ]);
    assert.deepEqual(got, [
      ['jason-r', { prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] }, cluster('v2')],
      ['all-r', { prefix: '/' }, cluster('v2')],
    ]);
  });
});

describe('delegate VirtualServices: lookup', () => {
  const crossNs = (exportTo?: string[]) => [
    root([
      { name: 'team', match: [{ uri: { prefix: '/team' } }], delegate: { name: 'reviews-team', namespace: 'team' } },
      FALLBACK,
    ]),
    // short hosts resolve in the delegate's namespace, as istiod resolves them before merging
    delegate('reviews-team', [{ name: 'r', route: to('v1') }], 'team', exportTo),
  ];

  test("a delegate in another namespace: exported to the root's namespace (or everywhere) it is merged; its short hosts are its own namespace's", () => {
    const merged = [
      ['team-r', { prefix: '/team' }, cluster('v1', 'reviews.team.svc.cluster.local')],
      ['fallback', { prefix: '/' }, cluster('v3')],
    ];
    assert.deepEqual(summary(crossNs()), merged);
    assert.deepEqual(summary(crossNs(['default'])), merged);
    assert.deepEqual(summary(crossNs(['*'])), merged);
  });

  test("a delegate not exported to the root's namespace is not used: the root route is dropped, the others stay", () => {
    const dropped = [['fallback', { prefix: '/' }, cluster('v3')]];
    assert.deepEqual(summary(crossNs(['.'])), dropped);
    assert.deepEqual(summary(crossNs(['other'])), dropped);
  });

  test("meshConfig.defaultVirtualServiceExportTo applies to a delegate without exportTo ('.' = its own namespace)", () => {
    const config: MeshConfigSnapshot = {
      ...bookinfo(crossNs()),
      meshConfig: { defaultVirtualServiceExportTo: ['.'] },
    };
    const routes = at(
      resource(translate(config, PRODUCTPAGE_NODE), TypeUrl.RouteConfiguration, REVIEWS_RDS),
      'virtual_hosts',
      0,
      'routes',
    ) as Json[];
    // the root itself is exported to its own namespace only, which is the client's
    assert.deepEqual(
      routes.map((r) => at(r, 'name')),
      ['fallback'],
    );
  });

  test('a delegate that does not exist drops only the root route naming it', () => {
    assert.deepEqual(
      summary([
        root([{ name: 'missing', match: [{ uri: { prefix: '/m' } }], delegate: { name: 'nowhere' } }, FALLBACK]),
      ]),
      [['fallback', { prefix: '/' }, cluster('v3')]],
    );
  });

  test("the delegate namespace defaults to the root's: a same-named delegate elsewhere is not used", () => {
    assert.deepEqual(
      summary([
        root([{ name: 'x', match: [{ uri: { prefix: '/x' } }], delegate: { name: 'd' } }, FALLBACK]),
        delegate('d', [{ name: 'r', route: to('v1') }], 'team'),
      ]),
      [['fallback', { prefix: '/' }, cluster('v3')]],
    );
  });

  test("one level only: a delegate's own delegate routes are dropped (istiod's validation refuses them)", () => {
    assert.deepEqual(
      summary([
        root([{ name: 'root', match: [{ uri: { prefix: '/reviews' } }], delegate: { name: 'd1' } }]),
        delegate('d1', [
          { name: 'deeper', match: [{ uri: { prefix: '/reviews/deep' } }], delegate: { name: 'd2' } },
          { name: 'own', route: to('v1') },
        ]),
        delegate('d2', [{ name: 'never', route: to('v2') }]),
      ]),
      [['root-own', { prefix: '/reviews' }, cluster('v1')]],
    );
  });

  test('a delegate alone makes no virtual host: it has no hosts', () => {
    const rc = rds([delegate('d', [{ route: to('v2') }])]);
    assert.equal(at(rc, 'virtual_hosts', 0, 'routes', 0, 'name'), 'default');
  });
});

describe('delegate VirtualServices: gateways', () => {
  test("a root bound to a gateway gets its delegates' routes on the gateway's RDS (and not on sidecars')", () => {
    const istio: IstioObject[] = [
      {
        kind: 'Gateway',
        metadata: { name: 'bookinfo-gateway', namespace: 'default' },
        spec: {
          selector: { istio: 'ingressgateway' },
          servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['bookinfo.example.com'] }],
        },
      },
      vs('bookinfo', {
        hosts: ['bookinfo.example.com'],
        gateways: ['bookinfo-gateway'],
        http: [
          { name: 'reviews', match: [{ uri: { prefix: '/reviews' } }], delegate: { name: 'reviews-routes' } },
          { name: 'productpage', route: [{ destination: { host: 'productpage' } }] },
        ],
      }),
      delegate('reviews-routes', [
        { name: 'v2', match: [{ uri: { prefix: '/reviews/v2' } }], route: to('v2') },
        { name: 'v1', route: to('v1') },
      ]),
    ];
    const rc = rds(istio, GATEWAY_NODE, 'http.8080');
    assert.deepEqual(at(rc, 'virtual_hosts', 0, 'domains'), ['bookinfo.example.com', 'bookinfo.example.com:8080']);
    const routes = at(rc, 'virtual_hosts', 0, 'routes') as Json[];
    assert.deepEqual(names(routes), [
      ['reviews-v2', { prefix: '/reviews/v2' }, cluster('v2')],
      ['reviews-v1', { prefix: '/reviews' }, cluster('v1')],
      ['productpage', { prefix: '/' }, 'outbound|9080||productpage.default.svc.cluster.local'],
    ]);
    // bound to the gateway only: the sidecar's reviews routes are the default one
    assert.deepEqual(
      (at(rds(istio), 'virtual_hosts', 0, 'routes') as Json[]).map((r) => at(r, 'name')),
      ['default'],
    );
  });
});
