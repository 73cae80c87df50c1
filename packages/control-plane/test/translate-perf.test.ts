// A large mesh: 1,000 services, each with a VirtualService and a DestinationRule with two subsets,
// translate to every resource a node needs, and more pods of the same workload reuse the encoded
// view instead of translating again. How long it takes is measured by bench/control-plane.bench.ts,
// not here: benchmarks are not timed tests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createIstioSnapshotGenerator,
  type IstioObject,
  type MeshConfigSnapshot,
  type RegistryService,
  type RegistryServiceEndpoints,
} from '@inboard/control-plane';
import { jsToStruct, type Node, TypeUrl } from '@inboard/xds/codec';

const N = 1000;

function bigMesh(): MeshConfigSnapshot {
  const services: RegistryService[] = [];
  const endpoints: RegistryServiceEndpoints[] = [];
  const istio: IstioObject[] = [];
  for (let i = 0; i < N; i++) {
    const name = `svc-${i}`;
    const ip = (a: number) => `10.${a}.${i >> 8}.${i & 255}`;
    services.push({
      name,
      namespace: 'default',
      ports: [{ name: 'http', port: 8080 }],
      selector: { app: name },
      clusterIP: ip(1),
    });
    endpoints.push({
      service: name,
      namespace: 'default',
      endpoints: [
        { address: ip(2), labels: { app: name, version: 'v1' } },
        { address: ip(3), labels: { app: name, version: 'v2' } },
      ],
    });
    istio.push({
      kind: 'VirtualService',
      metadata: { name, namespace: 'default' },
      spec: {
        hosts: [name],
        http: [
          {
            match: [{ headers: { 'end-user': { exact: 'jason' } } }],
            route: [{ destination: { host: name, subset: 'v2' } }],
          },
          {
            route: [
              { destination: { host: name, subset: 'v1' }, weight: 80 },
              { destination: { host: name, subset: 'v2' }, weight: 20 },
            ],
          },
        ],
      },
    });
    istio.push({
      kind: 'DestinationRule',
      metadata: { name, namespace: 'default' },
      spec: {
        host: name,
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      },
    });
  }
  return { istio, services, endpoints };
}

function node(ip: string, pod: string, app = 'client'): Node {
  return {
    id: `sidecar~${ip}~${pod}.default~default.svc.cluster.local`,
    metadata: jsToStruct({ GENERATOR: 'grpc', NAMESPACE: 'default', LABELS: { app } }),
  } as Node;
}

test('1,000 services with VirtualServices and 2-subset DestinationRules translate to every resource, also after refresh()', () => {
  const config = bigMesh();
  const gen = createIstioSnapshotGenerator(() => config);
  for (let run = 0; run < 2; run++) {
    gen.refresh();
    const snap = gen.generate(node('10.9.0.1', 'client-1'), 'k');
    assert.equal(snap?.resources(TypeUrl.Listener).size, 4 * N);
    assert.equal(snap?.resources(TypeUrl.RouteConfiguration).size, N);
    assert.equal(snap?.resources(TypeUrl.Cluster).size, 3 * N);
    assert.equal(snap?.resources(TypeUrl.ClusterLoadAssignment).size, 3 * N);
  }
});

test('a second pod of the same workload shares the encoded view', () => {
  let config = bigMesh();
  const gen = createIstioSnapshotGenerator(() => config);
  const a = gen.generate(node('10.9.0.1', 'client-1'), 'a')!;
  const b = gen.generate(node('10.9.0.2', 'client-2'), 'b')!;
  const name = 'outbound|8080|v1|svc-7.default.svc.cluster.local';
  assert.equal(a.resource(TypeUrl.Cluster, name)?.resource, b.resource(TypeUrl.Cluster, name)?.resource);
  // after a config change the view is rebuilt: the edited route changes, the rest keeps its versions
  config = bigMesh();
  const vs = config.istio.find((o) => o.kind === 'VirtualService' && o.metadata.name === 'svc-7')!;
  const http = (vs.spec as { http: { route: { weight?: number }[] }[] }).http;
  http[1]!.route[0]!.weight = 50;
  http[1]!.route[1]!.weight = 50;
  gen.refresh();
  const c = gen.generate(node('10.9.0.1', 'client-1'), 'a')!;
  const routeOf = (s: typeof a, svc: string) =>
    s.resource(TypeUrl.RouteConfiguration, `outbound|8080||${svc}.default.svc.cluster.local`)!;
  assert.notEqual(routeOf(c, 'svc-7').version, routeOf(a, 'svc-7').version);
  assert.equal(routeOf(c, 'svc-8').version, routeOf(a, 'svc-8').version);
  assert.notEqual(c.version(TypeUrl.RouteConfiguration), a.version(TypeUrl.RouteConfiguration));
  assert.equal(c.resource(TypeUrl.Cluster, name)?.version, a.resource(TypeUrl.Cluster, name)?.version);
  assert.equal(c.version(TypeUrl.Cluster), a.version(TypeUrl.Cluster));
  // and a view built from scratch has the same versions
  const fresh = createIstioSnapshotGenerator(() => config).generate(node('10.9.0.1', 'client-1'), 'a')!;
  for (const t of [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment])
    assert.equal(c.version(t), fresh.version(t));
});

test('pods that serve a port get their own inbound listeners on top of the shared view', () => {
  const config = bigMesh();
  const gen = createIstioSnapshotGenerator(() => config);
  const a = gen.generate(node('10.9.0.1', 'svc-7-a', 'svc-7'), 'a')!;
  const b = gen.generate(node('10.9.0.2', 'svc-7-b', 'svc-7'), 'b')!;
  const inbound = (s: typeof a) => [...s.resources(TypeUrl.Listener).keys()].filter((n) => n.includes('/inbound/'));
  assert.ok(inbound(a).includes('xds.istio.io/grpc/lds/inbound/10.9.0.1:8080'));
  assert.ok(inbound(b).includes('xds.istio.io/grpc/lds/inbound/10.9.0.2:8080'));
  assert.ok(!inbound(a).includes('xds.istio.io/grpc/lds/inbound/10.9.0.2:8080'));
  assert.equal(a.resources(TypeUrl.Listener).size, 4 * N + inbound(a).length);
  assert.notEqual(a.version(TypeUrl.Listener), b.version(TypeUrl.Listener));
  // everything else is the workload's view, shared
  const name = 'outbound|8080|v2|svc-3.default.svc.cluster.local';
  assert.equal(a.resource(TypeUrl.Cluster, name)?.resource, b.resource(TypeUrl.Cluster, name)?.resource);
  assert.equal(a.version(TypeUrl.Cluster), b.version(TypeUrl.Cluster));
});
