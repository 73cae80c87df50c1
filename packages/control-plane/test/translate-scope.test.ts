// What a node sees: Sidecar egress hosts, exportTo on services, ServiceEntries, VirtualServices and
// DestinationRules, DestinationRule lookup order, ServiceEntries / WorkloadEntries as services.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type IstioObject, type MeshConfigSnapshot, translate } from '@inboard/control-plane';
import { TypeUrl } from '@inboard/xds/codec';
import { bookinfo, NS, PRODUCTPAGE_NODE, SERVICES, service } from './golden/bookinfo.ts';
import { at, resource } from './golden/golden.ts';

const SHOP_NODE = {
  id: 'sidecar~10.1.0.1~web-1.shop~shop.svc.cluster.local',
  metadata: { NAMESPACE: 'shop', LABELS: { app: 'web' } },
};

function clusterHosts(config: MeshConfigSnapshot, node: { id: string; metadata: object } = PRODUCTPAGE_NODE): string[] {
  const names = [
    ...translate(config, node as never)
      .resources(TypeUrl.Cluster)
      .keys(),
  ];
  return [...new Set(names.map((n) => n.split('|')[3]!))];
}

const sidecar = (namespace: string, spec: object, name = 'default'): IstioObject =>
  ({ kind: 'Sidecar', metadata: { name, namespace }, spec }) as IstioObject;

describe('visibility', () => {
  const config: MeshConfigSnapshot = {
    ...bookinfo(),
    services: [
      ...SERVICES,
      service('web', 8080, { namespace: 'shop' }),
      service('secret', 8080, { namespace: 'shop', exportTo: ['.'] }),
    ],
  };

  test('without a Sidecar a node sees every service exported to its namespace', () => {
    assert.deepEqual(clusterHosts(config).sort(), [
      'details.default.svc.cluster.local',
      'productpage.default.svc.cluster.local',
      'ratings.default.svc.cluster.local',
      'reviews.default.svc.cluster.local',
      'web.shop.svc.cluster.local',
    ]);
    assert.ok(clusterHosts(config, SHOP_NODE).includes('secret.shop.svc.cluster.local'));
  });

  test('Sidecar egress ./* limits a node to its own namespace; ns/* and */host add more', () => {
    const own = { ...config, istio: [...config.istio, sidecar(NS, { egress: [{ hosts: ['./*'] }] })] };
    assert.deepEqual(clusterHosts(own).sort(), [
      'details.default.svc.cluster.local',
      'productpage.default.svc.cluster.local',
      'ratings.default.svc.cluster.local',
      'reviews.default.svc.cluster.local',
    ]);
    const picked = {
      ...config,
      istio: [...config.istio, sidecar(NS, { egress: [{ hosts: ['shop/*', '*/reviews.default.svc.cluster.local'] }] })],
    };
    assert.deepEqual(clusterHosts(picked).sort(), ['reviews.default.svc.cluster.local', 'web.shop.svc.cluster.local']);
    // listeners follow the same scope
    const listeners = [...translate(picked, PRODUCTPAGE_NODE).resources(TypeUrl.Listener).keys()];
    assert.ok(!listeners.includes('ratings:9080'));
    assert.ok(listeners.includes('reviews:9080'));
  });

  test('services a selected VirtualService routes or mirrors to join the scope, as istiod infers them (if exported here)', () => {
    const routing: IstioObject = {
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: NS },
      spec: {
        hosts: ['reviews'],
        http: [
          {
            route: [{ destination: { host: 'web.shop.svc.cluster.local' } }],
            mirror: { host: 'secret.shop.svc.cluster.local' },
          },
        ],
      },
    } as IstioObject;
    const scoped = { ...config, istio: [...config.istio, sidecar(NS, { egress: [{ hosts: ['./*'] }] }), routing] };
    const hosts = clusterHosts(scoped);
    assert.ok(hosts.includes('web.shop.svc.cluster.local'), 'the route destination outside the egress hosts');
    assert.ok(!hosts.includes('secret.shop.svc.cluster.local'), 'not exported to this namespace: still out');
  });

  test('a workload-selected Sidecar wins over the namespace default; the root namespace Sidecar is the mesh default', () => {
    const istio = [
      ...config.istio,
      sidecar('istio-system', { egress: [{ hosts: ['./*'] }] }, 'mesh-default'),
      sidecar(
        NS,
        {
          workloadSelector: { labels: { app: 'productpage' } },
          egress: [{ hosts: ['*/ratings.default.svc.cluster.local'] }],
        },
        'pp',
      ),
    ];
    assert.deepEqual(clusterHosts({ ...config, istio }), ['ratings.default.svc.cluster.local']);
    // the shop node falls back to the root namespace Sidecar, whose "./" means the workload's own namespace
    assert.deepEqual(clusterHosts({ ...config, istio }, SHOP_NODE), [
      'web.shop.svc.cluster.local',
      'secret.shop.svc.cluster.local',
    ]);
  });

  test('a DestinationRule exported only to its own namespace is not used by other namespaces', () => {
    const dr: IstioObject = {
      kind: 'DestinationRule',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { host: 'web', exportTo: ['.'], subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
    };
    const c = { ...config, istio: [...config.istio, dr] };
    const subsetCluster = 'outbound|8080|v1|web.shop.svc.cluster.local';
    assert.equal(translate(c, PRODUCTPAGE_NODE).resource(TypeUrl.Cluster, subsetCluster), undefined);
    assert.notEqual(translate(c, SHOP_NODE as never).resource(TypeUrl.Cluster, subsetCluster), undefined);
  });

  test("the node's own namespace DestinationRule wins over the service namespace's", () => {
    const mine: IstioObject = {
      kind: 'DestinationRule',
      metadata: { name: 'web-client-side', namespace: NS },
      spec: { host: 'web.shop.svc.cluster.local', trafficPolicy: { loadBalancer: { simple: 'LEAST_REQUEST' } } },
    };
    const theirs: IstioObject = {
      kind: 'DestinationRule',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { host: 'web', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
    };
    const c = { ...config, istio: [...config.istio, theirs, mine] };
    const lb = (node: { id: string; metadata: object }) =>
      at(
        resource(translate(c, node as never), TypeUrl.Cluster, 'outbound|8080||web.shop.svc.cluster.local'),
        'lb_policy',
      );
    assert.equal(lb(PRODUCTPAGE_NODE), 1, 'LEAST_REQUEST from default/web-client-side');
    assert.equal(lb(SHOP_NODE), 3, 'RANDOM from shop/web');
  });
});

describe('ServiceEntry and WorkloadEntry', () => {
  const istio: IstioObject[] = [
    {
      kind: 'ServiceEntry',
      metadata: { name: 'external', namespace: NS },
      spec: {
        hosts: ['api.example.com'],
        addresses: ['240.0.0.1'],
        ports: [
          { number: 443, name: 'tls', protocol: 'TLS' },
          { number: 80, name: 'http', protocol: 'HTTP' },
        ],
        resolution: 'DNS',
        location: 'MESH_EXTERNAL',
      },
    },
    {
      kind: 'ServiceEntry',
      metadata: { name: 'private', namespace: 'shop' },
      spec: {
        hosts: ['private.internal'],
        ports: [{ number: 80, name: 'http' }],
        resolution: 'STATIC',
        exportTo: ['.'],
        endpoints: [{ address: '10.5.0.1' }],
      },
    },
    {
      kind: 'WorkloadEntry',
      metadata: { name: 'vm-reviews', namespace: NS },
      spec: { address: '10.8.0.1', labels: { app: 'reviews', version: 'v9' } },
    },
  ];

  test('ServiceEntry hosts become services with listeners per port (FQDN only), exportTo honoured', () => {
    const snap = translate(bookinfo(istio), PRODUCTPAGE_NODE);
    const names = [...snap.resources(TypeUrl.Listener).keys()].filter(
      (n) => n.includes('example') || n.includes('internal'),
    );
    assert.deepEqual(names, ['api.example.com:443', 'api.example.com:80']);
    assert.equal(
      at(resource(snap, TypeUrl.Listener, 'api.example.com:80'), 'address', 'socket_address', 'address'),
      '240.0.0.1',
    );
    // the TLS port gets no HTTP virtual host
    assert.deepEqual(resource(snap, TypeUrl.RouteConfiguration, 'outbound|443||api.example.com'), {
      name: 'outbound|443||api.example.com',
    });
    assert.ok(clusterHosts(bookinfo(istio), SHOP_NODE).includes('private.internal'));
    assert.ok(!clusterHosts(bookinfo(istio)).includes('private.internal'));
  });

  test('a Kubernetes service selects WorkloadEntries of its namespace as endpoints', () => {
    const cla = resource(
      translate(bookinfo(istio), PRODUCTPAGE_NODE),
      TypeUrl.ClusterLoadAssignment,
      'outbound|9080||reviews.default.svc.cluster.local',
    );
    const addrs = (at(cla, 'endpoints') as unknown[]).flatMap((g) =>
      (at(g as never, 'lb_endpoints') as unknown[]).map((e) =>
        at(e as never, 'endpoint', 'address', 'socket_address', 'address'),
      ),
    );
    assert.deepEqual(addrs.sort(), ['10.0.0.21', '10.0.0.22', '10.0.0.23', '10.8.0.1']);
  });
});
