// Istio's metadata exchange headers: what this workload sends, and what a caller's header tells.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage } from '@inboard/xds/codec';
import { peerFromMetadata, peerMetadataHeaders } from '../src/peer-metadata.ts';

const node = {
  id: 'sidecar~10.0.0.7~productpage-v1-7d4f8.default~default.svc.cluster.local',
  metadata: {
    NAMESPACE: 'default',
    WORKLOAD_NAME: 'productpage-v1',
    CLUSTER_ID: 'Kubernetes',
    LABELS: { app: 'productpage', version: 'v1', 'service.istio.io/canonical-name': 'productpage' },
    GENERATOR: 'grpc',
  },
  cluster: '',
  userAgentName: 'test',
  userAgentVersion: '0',
  clientFeatures: [],
};

test('x-envoy-peer-metadata is base64 of the google.protobuf.Struct Istio’s peer_metadata filter sends', () => {
  const h = peerMetadataHeaders(node)!;
  assert.equal(h.id, node.id);
  const struct = decodeMessage('google.protobuf.Struct', Buffer.from(h.metadata, 'base64'));
  assert.deepEqual(struct, {
    CLUSTER_ID: 'Kubernetes',
    // the canonical revision Istio's injector would have labelled the pod with (from `version`)
    LABELS: {
      app: 'productpage',
      'service.istio.io/canonical-name': 'productpage',
      'service.istio.io/canonical-revision': 'v1',
      version: 'v1',
    },
    NAMESPACE: 'default',
    WORKLOAD_NAME: 'productpage-v1',
  });
});

test('only the workload’s identity is exchanged, keys sorted, OWNER rebuilt from the workload kind', () => {
  const sidecar = {
    ...node,
    metadata: {
      NAME: 'productpage-v1-7d4f8',
      NAMESPACE: 'default',
      WORKLOAD_NAME: 'productpage-v1',
      OWNER: 'kubernetes://apis/apps/v1/namespaces/default/deployments/productpage-v1',
      CLUSTER_ID: 'Kubernetes',
      MESH_ID: 'cluster.local',
      SERVICE_ACCOUNT: 'bookinfo-productpage',
      INSTANCE_IPS: '10.0.0.7',
      ISTIO_VERSION: '1.27.0',
      APP_CONTAINERS: 'productpage',
      PLATFORM_METADATA: { gcp_project: 'p' },
      LABELS: {
        app: 'productpage',
        version: 'v1',
        'pod-template-hash': '7d4f8',
        'security.istio.io/tlsMode': 'istio',
        'service.istio.io/canonical-name': 'bookinfo-productpage',
        'service.istio.io/canonical-revision': 'v1.2',
      },
    },
  };
  const struct = decodeMessage(
    'google.protobuf.Struct',
    Buffer.from(peerMetadataHeaders(sidecar)!.metadata, 'base64'),
  ) as Record<string, unknown>;
  assert.deepEqual(struct, {
    CLUSTER_ID: 'Kubernetes',
    LABELS: {
      app: 'productpage',
      'service.istio.io/canonical-name': 'bookinfo-productpage',
      'service.istio.io/canonical-revision': 'v1.2',
      version: 'v1',
    },
    NAME: 'productpage-v1-7d4f8',
    NAMESPACE: 'default',
    OWNER: 'kubernetes://apis/apps/v1/namespaces/default/deployments/productpage-v1',
    WORKLOAD_NAME: 'productpage-v1',
  });
  // the wire order is the deterministic (sorted) one
  assert.deepEqual(Object.keys(struct), ['CLUSTER_ID', 'LABELS', 'NAME', 'NAMESPACE', 'OWNER', 'WORKLOAD_NAME']);
  // an owner that is not a workload kind istio/proxy knows is left out, as it leaves it out
  const other = {
    ...sidecar,
    metadata: {
      ...sidecar.metadata,
      OWNER: 'kubernetes://apis/apps/v1/namespaces/default/statefulsets/productpage-v1',
    },
  };
  const s2 = decodeMessage('google.protobuf.Struct', Buffer.from(peerMetadataHeaders(other)!.metadata, 'base64'));
  assert.equal((s2 as Record<string, unknown>).OWNER, undefined);
});

test('a caller’s header names its workload, app, version, canonical service and cluster', () => {
  const h = peerMetadataHeaders(node)!;
  const peer = peerFromMetadata(h.metadata, h.id)!;
  assert.equal(peer.workload, 'productpage-v1');
  assert.equal(peer.namespace, 'default');
  assert.equal(peer.app, 'productpage');
  assert.equal(peer.version, 'v1');
  assert.equal(peer.canonicalService, 'productpage');
  assert.equal(peer.canonicalRevision, 'v1');
  assert.equal(peer.cluster, 'Kubernetes');
  // decoded once: the same object for the same header
  assert.equal(peerFromMetadata(h.metadata, h.id), peer);
});

test('a header that is not a Struct tells nothing', () => {
  assert.equal(peerFromMetadata('not base64 of anything!', undefined), undefined);
  assert.equal(peerFromMetadata(Buffer.from([0xff, 0xff, 0xff]).toString('base64'), undefined), undefined);
  assert.equal(peerFromMetadata(undefined, undefined), undefined);
  assert.equal(peerMetadataHeaders({ ...node, metadata: {} }), undefined);
});
