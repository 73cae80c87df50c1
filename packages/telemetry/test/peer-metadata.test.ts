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

test('x-envoy-peer-metadata is base64 of a google.protobuf.Struct of the node metadata Envoy exchanges', () => {
  const h = peerMetadataHeaders(node)!;
  assert.equal(h.id, node.id);
  const struct = decodeMessage('google.protobuf.Struct', Buffer.from(h.metadata, 'base64'));
  assert.deepEqual(struct, {
    NAMESPACE: 'default',
    WORKLOAD_NAME: 'productpage-v1',
    CLUSTER_ID: 'Kubernetes',
    LABELS: { app: 'productpage', version: 'v1', 'service.istio.io/canonical-name': 'productpage' },
  });
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
