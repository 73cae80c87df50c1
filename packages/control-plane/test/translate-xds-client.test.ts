// The translator behind a real AdsServer, read by Inboard's own xDS client over loopback gRPC:
// bookinfo's traffic-management tasks hold at the xDS level, a config change reaches connected
// clients through refresh(), and a gateway workload gets the Gateway-bound routes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AdsServer, createIstioSnapshotGenerator, type MeshConfigSnapshot } from '@inboard/control-plane';
import { parseBootstrap, type RouteConfiguration, type TargetSnapshot, Xds } from '@inboard/xds';
import { snapshotWhere } from '../../../test/support/snapshots.ts';
import {
  bookinfo,
  bookinfoGateway,
  GATEWAY_NODE,
  PRODUCTPAGE_NODE,
  ratingsAbort,
  ratingsDelay,
  reviews5050,
  reviews8020,
  reviewsJasonV2,
} from './golden/bookinfo.ts';

const REVIEWS = 'reviews.default.svc.cluster.local';
const RATINGS = 'ratings.default.svc.cluster.local';
const cluster = (subset: string, host = REVIEWS) => `outbound|9080|${subset}|${host}`;

function xdsFor(port: number, node: { id: string; metadata: Record<string, unknown> }): Xds {
  const bootstrap = parseBootstrap(
    {
      xds_servers: [
        { server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
      ],
      node,
    },
    'test',
  );
  return new Xds({ bootstrap, backoff: { initialMs: 20, maxMs: 100 } });
}

function onlyVhost(rc: RouteConfiguration) {
  assert.equal(rc.virtualHosts.length, 1);
  return rc.virtualHosts[0]!;
}

function weights(s: TargetSnapshot): Record<string, number> | string {
  const action = onlyVhost(s.routeConfig).routes[0]?.action;
  if (action?.kind !== 'route') return 'not a route action';
  const spec = action.clusterSpecifier;
  if (spec.kind === 'cluster') return spec.cluster;
  if (spec.kind !== 'weighted_clusters') return spec.kind;
  return Object.fromEntries(spec.clusters.map((c) => [c.name, c.weight]));
}

describe('translator → AdsServer → Inboard xDS client (bookinfo)', () => {
  let config: MeshConfigSnapshot = bookinfo([reviewsJasonV2, ...bookinfoGateway]);
  const gen = createIstioSnapshotGenerator(() => config);
  const server = new AdsServer({ cache: gen.createCache(), authenticate: gen.authenticate() });
  const nacks: string[] = [];
  let client: Xds;
  let gateway: Xds;

  /** Switches the mesh config the way the config watcher does: new object, then refresh(). */
  function apply(next: MeshConfigSnapshot): void {
    config = next;
    gen.refresh();
  }

  before(async () => {
    const port = await server.start();
    server.on('nack', (e) => nacks.push(`${e.typeUrl}: ${e.errorMessage}`));
    client = xdsFor(port, PRODUCTPAGE_NODE);
    gateway = xdsFor(port, GATEWAY_NODE);
  });

  after(async () => {
    client?.close();
    gateway?.close();
    await server.stop({ graceMs: 100 });
  });

  test('reviews:9080 resolves; end-user: jason goes to reviews v2 first, everyone else to v1', async () => {
    const snap = await client.resolve('reviews:9080').ready();
    assert.equal(snap.listener.name, 'reviews:9080');
    assert.equal(snap.routeConfig.name, `outbound|9080||${REVIEWS}`);
    const vhost = onlyVhost(snap.routeConfig);
    assert.ok(vhost.domains.includes('reviews:9080'));
    const [jason, rest] = vhost.routes;
    assert.deepEqual(
      jason?.match.headers.map((h) => [h.name, h.match]),
      [['end-user', { kind: 'string', matcher: { kind: 'exact', value: 'jason', ignoreCase: false } }]],
    );
    assert.deepEqual(jason?.action.kind === 'route' && jason.action.clusterSpecifier, {
      kind: 'cluster',
      cluster: cluster('v2'),
    });
    assert.deepEqual(rest?.action.kind === 'route' && rest.action.clusterSpecifier, {
      kind: 'cluster',
      cluster: cluster('v1'),
    });
    // both clusters arrived through CDS with their endpoints through EDS
    const v2 = snap.clusters.get(cluster('v2'));
    assert.equal(v2?.status, 'ok');
    const eps = v2?.status === 'ok' ? v2.endpoints?.endpoints.flatMap((l) => l.lbEndpoints.map((e) => e.address)) : [];
    assert.deepEqual(eps, [{ address: '10.0.0.22', port: 9080 }]);
    assert.deepEqual(nacks, []);
  });

  test('50/50 between v1 and v3 reaches the client as weighted clusters', async () => {
    apply(bookinfo([reviews5050, ...bookinfoGateway]));
    const snap = await snapshotWhere(client.resolve('reviews:9080'), (s) => typeof weights(s) === 'object');
    assert.deepEqual(weights(snap), { [cluster('v1')]: 50, [cluster('v3')]: 50 });
    assert.deepEqual([...snap.clusters.keys()].sort(), [cluster('v1'), cluster('v3')]);
  });

  test('80/20 between v1 and v2', async () => {
    apply(bookinfo([reviews8020, ...bookinfoGateway]));
    const snap = await snapshotWhere(client.resolve('reviews:9080'), (s) => {
      const w = weights(s);
      return typeof w === 'object' && w[cluster('v2')] !== undefined;
    });
    assert.deepEqual(weights(snap), { [cluster('v1')]: 80, [cluster('v2')]: 20 });
  });

  test('ratings: a 7 s delay for jason, then a 500 abort for jason', async () => {
    apply(bookinfo([reviews8020, ratingsDelay, ...bookinfoGateway]));
    const delayed = await snapshotWhere(
      client.resolve('ratings:9080'),
      (s) => onlyVhost(s.routeConfig).routes.length === 2,
    );
    const [jason, rest] = onlyVhost(delayed.routeConfig).routes;
    const fault = jason?.filterOverrides['envoy.filters.http.fault'];
    assert.equal(fault?.kind, 'fault');
    assert.deepEqual(fault?.kind === 'fault' && fault.fault.delay, {
      fixedDelay: 7000,
      headerDelay: false,
      percentage: { numerator: 1_000_000, denominator: 1_000_000 },
    });
    assert.equal(fault?.kind === 'fault' && fault.fault.abort, undefined);
    assert.deepEqual(rest?.filterOverrides, {});
    assert.deepEqual(jason?.action.kind === 'route' && jason.action.clusterSpecifier, {
      kind: 'cluster',
      cluster: cluster('v1', RATINGS),
    });

    apply(bookinfo([reviews8020, ratingsAbort, ...bookinfoGateway]));
    const aborted = await snapshotWhere(client.resolve('ratings:9080'), (s) => {
      const f = onlyVhost(s.routeConfig).routes[0]?.filterOverrides['envoy.filters.http.fault'];
      return f?.kind === 'fault' && f.fault.abort !== undefined;
    });
    const f = onlyVhost(aborted.routeConfig).routes[0]?.filterOverrides['envoy.filters.http.fault'];
    assert.deepEqual(f?.kind === 'fault' && f.fault.abort, {
      httpStatus: 500,
      grpcStatus: undefined,
      headerAbort: false,
      percentage: { numerator: 1_000_000, denominator: 1_000_000 },
    });
    assert.equal(f?.kind === 'fault' && f.fault.delay, undefined);
    assert.deepEqual(nacks, []);
  });

  test('the ingress gateway routes /productpage through the Gateway-bound VirtualService', async () => {
    const snap = await gateway.resolve('0.0.0.0_8080').ready();
    assert.equal(snap.routeConfig.name, 'http.8080');
    const vhost = onlyVhost(snap.routeConfig);
    assert.deepEqual(vhost.domains, ['*']);
    const productpage = vhost.routes.find((r) => r.match.path.kind === 'path' && r.match.path.value === '/productpage');
    assert.ok(productpage, 'a route for /productpage');
    assert.deepEqual(productpage.action.kind === 'route' && productpage.action.clusterSpecifier, {
      kind: 'cluster',
      cluster: 'outbound|9080||productpage.default.svc.cluster.local',
    });
    assert.deepEqual(
      vhost.routes.map((r) => r.match.path),
      [
        { kind: 'path', value: '/productpage' },
        { kind: 'prefix', value: '/static' },
        { kind: 'path', value: '/login' },
        { kind: 'path', value: '/logout' },
        { kind: 'prefix', value: '/api/v1/products' },
      ],
    );
    assert.equal(snap.clusters.get('outbound|9080||productpage.default.svc.cluster.local')?.status, 'ok');
    // the gateway is not in the default namespace: short names do not resolve for it
    await assert.rejects(gateway.resolve('reviews:9080').ready());
    assert.deepEqual(nacks, []);
  });

  test('a sidecar does not get the gateway-bound routes: productpage keeps its default route', async () => {
    const snap = await client.resolve('productpage:9080').ready();
    const routes = onlyVhost(snap.routeConfig).routes;
    assert.deepEqual(
      routes.map((r) => r.name),
      ['default'],
    );
  });
});
