// Where the label values come from: the bootstrap node (this workload, Istio's canonical-service
// defaulting), istiod's endpoint workload string and cluster names (the peer), and host names
// expanded to service FQDNs the way Kubernetes DNS does from the pod's namespace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BootstrapNode } from '@inboard/xds';
import { namespaceOfPrincipal } from '../src/inbound-labels.ts';
import {
  canonicalServiceOf,
  destinationService,
  expandServiceHost,
  localWorkload,
  parseClusterName,
  parseIstioWorkload,
} from '../src/index.ts';

function node(id: string, metadata: BootstrapNode['metadata']): BootstrapNode {
  return { id, cluster: '', metadata, userAgentName: 'test', userAgentVersion: '0', clientFeatures: [] };
}

test('the local workload from an istio-agent-shaped node', () => {
  const l = localWorkload(
    node('sidecar~10.0.0.1~ratings-v1-x.prod~prod.svc.cluster.local', {
      NAMESPACE: 'prod',
      WORKLOAD_NAME: 'ratings-v1',
      CLUSTER_ID: 'east',
      SERVICE_ACCOUNT: 'ratings',
      MESH_ID: 'mesh1',
      LABELS: { app: 'ratings', version: 'v1', 'service.istio.io/canonical-name': 'ratings-svc' },
    }),
    { trustDomain: 'example.org' },
  );
  assert.equal(l.workload, 'ratings-v1');
  assert.equal(l.namespace, 'prod');
  assert.equal(l.app, 'ratings');
  assert.equal(l.version, 'v1');
  assert.equal(l.canonicalService, 'ratings-svc');
  assert.equal(l.canonicalRevision, 'v1', 'no canonical-revision label: the version label');
  assert.equal(l.cluster, 'east');
  assert.equal(l.principal, 'spiffe://example.org/ns/prod/sa/ratings');
  assert.equal(l.dnsDomain, 'prod.svc.cluster.local');
  assert.equal(l.meshId, 'mesh1');
});

test('a bare node: namespace from the node id, everything else unknown', () => {
  const l = localWorkload(node('sidecar~10.0.0.1~pod-1.shop~shop.svc.cluster.local', {}));
  assert.equal(l.namespace, 'shop');
  assert.equal(l.workload, 'unknown');
  assert.equal(l.canonicalService, 'unknown');
  assert.equal(l.canonicalRevision, 'latest');
  assert.equal(l.principal, undefined);
});

test('canonical service and revision fall back as Istio’s labels package does', () => {
  assert.deepEqual(canonicalServiceOf({ 'app.kubernetes.io/name': 'a', app: 'b' }, 'w'), {
    service: 'a',
    revision: 'latest',
  });
  assert.deepEqual(canonicalServiceOf({ app: 'b', 'app.kubernetes.io/version': '2' }, 'w'), {
    service: 'b',
    revision: '2',
  });
  assert.deepEqual(canonicalServiceOf({}, 'w'), { service: 'w', revision: 'latest' });
});

test('istiod’s endpoint workload string', () => {
  assert.deepEqual(parseIstioWorkload('reviews-v2;default;reviews;v2;Kubernetes'), {
    workload: 'reviews-v2',
    namespace: 'default',
    canonicalService: 'reviews',
    canonicalRevision: 'v2',
    cluster: 'Kubernetes',
  });
  assert.equal(parseIstioWorkload('reviews-v2;default'), undefined);
  assert.equal(parseIstioWorkload(undefined), undefined);
});

test('Istio cluster names and the destination service', () => {
  assert.deepEqual(parseClusterName('outbound|9080|v1|reviews.default.svc.cluster.local'), {
    direction: 'outbound',
    port: 9080,
    subset: 'v1',
    host: 'reviews.default.svc.cluster.local',
  });
  assert.equal(parseClusterName('PassthroughCluster'), undefined);
  assert.deepEqual(
    destinationService('outbound|9080|v1|reviews.default.svc.cluster.local', undefined, 'reviews:9080'),
    {
      host: 'reviews.default.svc.cluster.local',
      name: 'reviews',
      namespace: 'default',
    },
  );
  // the cluster's istio metadata wins, as in istio_stats
  const cluster = {
    istioMetadata: { services: [{ host: 'r.example.com', name: 'r-svc', namespace: 'ext' }] },
  } as never;
  assert.deepEqual(destinationService('outbound|9080||x', cluster, 'reviews:9080'), {
    host: 'r.example.com',
    name: 'r-svc',
    namespace: 'ext',
  });
  // nothing but the Host header (no route matched): istio_stats keeps its port in the name too
  assert.deepEqual(destinationService(undefined, undefined, 'reviews:9080'), {
    host: 'reviews:9080',
    name: 'reviews:9080',
    namespace: undefined,
  });
});

test('host names expand to service FQDNs from the pod’s DNS domain', () => {
  const d = 'default.svc.cluster.local';
  assert.equal(expandServiceHost('reviews:9080', d), 'reviews.default.svc.cluster.local');
  assert.equal(expandServiceHost('reviews.prod', d), 'reviews.prod.svc.cluster.local');
  assert.equal(expandServiceHost('reviews.prod.svc:80', d), 'reviews.prod.svc.cluster.local');
  assert.equal(expandServiceHost('reviews.prod.svc.cluster.local', d), 'reviews.prod.svc.cluster.local');
  assert.equal(expandServiceHost('10.0.0.7:9080', d), '10.0.0.7');
  assert.equal(expandServiceHost('reviews', undefined), 'reviews');
});

test('the namespace inside a SPIFFE principal', () => {
  assert.equal(namespaceOfPrincipal('spiffe://cluster.local/ns/default/sa/productpage'), 'default');
  assert.equal(namespaceOfPrincipal('spiffe://td/ns/x'), 'x');
  assert.equal(namespaceOfPrincipal('spiffe://td/other'), undefined);
});
