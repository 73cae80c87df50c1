// Node parsing as istiod does it, the INVALID_ARGUMENT a malformed node gets from the ADS server,
// and per-node views: nodes that differ in labels or namespace see different config.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  AdsServer,
  createIstioSnapshotGenerator,
  InvalidNodeError,
  type MeshConfigSnapshot,
  parseProxyNode,
  translateMessages,
} from '@inboard/control-plane';
import { decodeMessage, jsToStruct, TypeUrl } from '@inboard/xds/codec';
import { bookinfo, PRODUCTPAGE_NODE, vs } from './golden/bookinfo.ts';
import { TestAdsClient } from './helpers/ads-client.ts';

test('parseProxyNode reads id parts and typed metadata like istiod', () => {
  const n = parseProxyNode({
    id: 'sidecar~10.0.0.1~productpage-v1-abc.default~default.svc.cluster.local',
    metadata: jsToStruct({
      GENERATOR: 'grpc',
      NAMESPACE: 'default',
      INSTANCE_IPS: '10.0.0.1,fd00::1',
      LABELS: { app: 'productpage', version: 'v1' },
      CLUSTER_ID: 'east',
      SERVICE_ACCOUNT: 'bookinfo-productpage',
      POD_PORTS: '[{"name":"http","containerPort":9080,"protocol":"TCP"}]',
      DNS_CAPTURE: 'true',
    }),
    locality: { region: 'us-east1', zone: 'us-east1-b', sub_zone: '' },
  });
  assert.equal(n.type, 'sidecar');
  assert.deepEqual(n.ipAddresses, ['10.0.0.1', 'fd00::1']);
  assert.equal(n.id, 'productpage-v1-abc.default');
  assert.equal(n.podName, 'productpage-v1-abc');
  assert.equal(n.namespace, 'default');
  assert.equal(n.dnsDomain, 'default.svc.cluster.local');
  assert.equal(n.clusterId, 'east');
  assert.equal(n.serviceAccount, 'bookinfo-productpage');
  assert.equal(n.generator, 'grpc');
  assert.deepEqual(n.locality, { region: 'us-east1', zone: 'us-east1-b', subZone: '' });
  assert.deepEqual(n.podPorts, [{ name: 'http', containerPort: 9080, protocol: 'TCP' }]);
  // istiod adds topology labels for selectors
  assert.deepEqual(n.labels, {
    app: 'productpage',
    version: 'v1',
    'topology.istio.io/cluster': 'east',
    'topology.kubernetes.io/region': 'us-east1',
    'topology.kubernetes.io/zone': 'us-east1-b',
  });
});

test('without NAMESPACE the namespace comes from the DNS domain; without INSTANCE_IPS the IP from the id', () => {
  const n = parseProxyNode({ id: 'sidecar~10.0.0.7~ratings-1.shop~shop.svc.cluster.local' });
  assert.equal(n.namespace, 'shop');
  assert.deepEqual(n.ipAddresses, ['10.0.0.7']);
  assert.deepEqual(n.labels, {});
});

test('a malformed id or wrongly typed metadata is an InvalidNodeError naming the field', () => {
  const bad = (node: Parameters<typeof parseProxyNode>[0]) => {
    try {
      parseProxyNode(node);
    } catch (err) {
      assert.ok(err instanceof InvalidNodeError);
      assert.equal(err.code, 'INBOARD_CP_INVALID_NODE');
      return err;
    }
    assert.fail('expected an InvalidNodeError');
  };
  assert.match(bad({ id: 'sidecar~10.0.0.1~pod.default' }).message, /^node\.id: expected 4 "~"-separated parts/);
  assert.match(
    bad({ id: 'gateway~10.0.0.1~p.ns~ns.svc.cluster.local' }).message,
    /node\.id: unknown node type "gateway"/,
  );
  assert.match(bad({ id: 'sidecar~not-an-ip~p.ns~ns.svc.cluster.local' }).message, /node\.id: no valid IP address/);
  const labels = bad({
    id: 'sidecar~10.0.0.1~p.ns~ns.svc.cluster.local',
    metadata: { LABELS: { app: 3 }, DNS_CAPTURE: true },
  });
  assert.deepEqual(
    labels.problems.map((p) => p.field),
    ['node.metadata.LABELS', 'node.metadata.DNS_CAPTURE'],
  );
});

test('the ADS server ends a stream whose node istiod would reject with INVALID_ARGUMENT', async (t) => {
  const config = bookinfo();
  const gen = createIstioSnapshotGenerator(() => config);
  const server = new AdsServer({ cache: gen.createCache(), authenticate: gen.authenticate() });
  await server.start();
  const client = new TestAdsClient(server.address);
  t.after(async () => {
    client.close();
    await server.stop({ graceMs: 100 });
  });

  const s = client.sotw();
  s.send({
    node: { id: 'sidecar~10.0.0.1~p.default~default.svc.cluster.local', metadata: jsToStruct({ LABELS: ['app'] }) },
    type_url: TypeUrl.Listener,
  });
  const end = await s.ended;
  assert.equal(end.code, grpc.status.INVALID_ARGUMENT);
  assert.match(end.details, /node\.metadata\.LABELS: expected an object of strings/);

  const d = client.delta();
  d.send({ node: { id: 'sidecar~10.0.0.1~p.default' }, type_url: TypeUrl.Listener });
  assert.equal((await d.ended).code, grpc.status.INVALID_ARGUMENT);

  // a valid node is served
  const ok = client.sotw();
  ok.send({
    node: { id: PRODUCTPAGE_NODE.id, metadata: jsToStruct(PRODUCTPAGE_NODE.metadata) },
    type_url: TypeUrl.Listener,
  });
  const res = await ok.next();
  const names = res.resources.map((r) => decodeMessage('envoy.config.listener.v3.Listener', r.value).name);
  assert.ok(names.includes('reviews:9080'));
  ok.cancel();
});

test('the inner auth hook still runs after node validation', async () => {
  const gen = createIstioSnapshotGenerator(() => bookinfo());
  const seen: string[] = [];
  const hook = gen.authenticate((_md, node) => {
    seen.push(node.id);
    return false;
  });
  const ctx = { kind: 'sotw' as const, peer: 'test' };
  const md = new grpc.Metadata();
  assert.equal(hook(md, { id: PRODUCTPAGE_NODE.id } as never, ctx), false);
  assert.deepEqual(hook(md, { id: 'x' } as never, ctx), {
    code: grpc.status.INVALID_ARGUMENT,
    message:
      'invalid node: node.id: expected 4 "~"-separated parts <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local, got 1 in "x"',
  });
  assert.deepEqual(seen, [PRODUCTPAGE_NODE.id]);
});

test('node keys: pods of one workload share a view; other labels or namespaces get their own', () => {
  const gen = createIstioSnapshotGenerator(() => bookinfo());
  const node = (id: string, labels: Record<string, string>, ns = 'default') =>
    ({ id, metadata: jsToStruct({ NAMESPACE: ns, LABELS: labels }) }) as never;
  const a1 = gen.nodeKey(node('sidecar~10.0.0.1~a-1.default~default.svc.cluster.local', { app: 'a' }));
  const a1again = gen.nodeKey(node('sidecar~10.0.0.1~a-1.default~default.svc.cluster.local', { app: 'a' }));
  const a2 = gen.nodeKey(node('sidecar~10.0.0.2~a-2.default~default.svc.cluster.local', { app: 'a' }));
  const b = gen.nodeKey(node('sidecar~10.0.0.1~b-1.default~default.svc.cluster.local', { app: 'b' }));
  const other = gen.nodeKey(node('sidecar~10.0.0.1~a-1.shop~shop.svc.cluster.local', { app: 'a' }, 'shop'));
  assert.equal(a1, a1again);
  // IPs name the inbound listeners, so pods keep their own key (their outbound view is shared)
  assert.notEqual(a1, a2);
  assert.notEqual(a1, b);
  assert.notEqual(a1, other);
});

test('sourceLabels and sourceNamespace are decided per node', () => {
  const config: MeshConfigSnapshot = bookinfo([
    vs('reviews', {
      hosts: ['reviews'],
      http: [
        {
          name: 'from-productpage',
          match: [{ sourceLabels: { app: 'productpage' } }],
          route: [{ destination: { host: 'reviews', subset: 'v2' } }],
        },
        {
          name: 'from-shop',
          match: [{ sourceNamespace: 'shop' }],
          route: [{ destination: { host: 'reviews', subset: 'v3' } }],
        },
        { name: 'rest', route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
      ],
    }),
  ]);
  const routesFor = (id: string, labels: Record<string, string>, ns: string) => {
    const m = translateMessages(config, { id, metadata: { NAMESPACE: ns, LABELS: labels } });
    const rc = m.routes.find((r) => r.name === 'outbound|9080||reviews.default.svc.cluster.local');
    return rc?.virtual_hosts?.[0]?.routes?.map((r) => r.name);
  };
  // a selected route without other conditions is a catch-all: istiod stops there
  assert.deepEqual(routesFor(PRODUCTPAGE_NODE.id, { app: 'productpage' }, 'default'), ['from-productpage']);
  assert.deepEqual(routesFor('sidecar~10.1.0.1~web-1.shop~shop.svc.cluster.local', { app: 'web' }, 'shop'), [
    'from-shop',
  ]);
  assert.deepEqual(routesFor('sidecar~10.0.0.5~x-1.default~default.svc.cluster.local', { app: 'x' }, 'default'), [
    'rest',
  ]);
});

test('a node none of whose VirtualService routes apply gets the default route', () => {
  const config = bookinfo([
    vs('reviews', {
      hosts: ['reviews'],
      http: [
        {
          match: [{ sourceLabels: { app: 'productpage' } }],
          route: [{ destination: { host: 'reviews', subset: 'v2' } }],
        },
      ],
    }),
  ]);
  const m = translateMessages(config, {
    id: 'sidecar~10.0.0.5~x-1.default~default.svc.cluster.local',
    metadata: { NAMESPACE: 'default', LABELS: { app: 'x' } },
  });
  const rc = m.routes.find((r) => r.name === 'outbound|9080||reviews.default.svc.cluster.local');
  assert.deepEqual(
    rc?.virtual_hosts?.[0]?.routes?.map((r) => [r.name, r.route?.cluster]),
    [['default', 'outbound|9080||reviews.default.svc.cluster.local']],
  );
});
