// Where the peer's namespace comes from, as istio_stats takes it: the namespace of the peer's
// certificate SAN first, what the metadata exchange (or the EDS endpoint) says only without one;
// and the same namespace names the destination service of an outbound request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InboundRequestEvent } from '@inboard/http';
import { InboundLabeler } from '../src/inbound-labels.ts';
import { localWorkload } from '../src/local-workload.ts';
import { OutboundLabeler } from '../src/outbound-labels.ts';
import { peerMetadataHeaders } from '../src/peer-metadata.ts';
import { httpRequestEvent } from './event-fixtures.ts';

const local = localWorkload({
  id: 'sidecar~10.0.0.1~reviews-v1-abc.default~default.svc.cluster.local',
  metadata: {
    NAMESPACE: 'default',
    WORKLOAD_NAME: 'reviews-v1',
    CLUSTER_ID: 'Kubernetes',
    SERVICE_ACCOUNT: 'reviews',
    LABELS: { app: 'reviews', version: 'v1' },
  } as never,
});

function mxOf(namespace: string, workload: string) {
  return peerMetadataHeaders({
    id: `sidecar~10.0.0.2~${workload}-x.${namespace}~${namespace}.svc.cluster.local`,
    metadata: { NAMESPACE: namespace, WORKLOAD_NAME: workload, CLUSTER_ID: 'Kubernetes', LABELS: { app: workload } },
  } as never)!;
}

function inboundEvent(over: Partial<InboundRequestEvent>): InboundRequestEvent {
  return {
    reporter: 'destination',
    startTime: 0,
    durationMs: 3,
    method: 'GET',
    path: '/',
    authority: 'reviews:9080',
    scheme: 'https',
    protocol: 'HTTP/1.1',
    route: undefined,
    status: 200,
    responseFlags: '-',
    responseCodeDetails: 'via_upstream',
    requestBytes: 0,
    responseBytes: 0,
    peerPrincipal: undefined,
    sourceIp: '10.0.0.2',
    sourcePort: 1234,
    destinationIp: '10.0.0.1',
    destinationPort: 9080,
    connectionSecurityPolicy: 'mutual_tls',
    matchedPolicy: undefined,
    allowed: true,
    filterChain: undefined,
    trace: { w3c: undefined, b3: undefined, requestId: undefined },
    userAgent: undefined,
    peerMetadata: undefined,
    peerMetadataId: undefined,
    start: undefined,
    grpc: false,
    grpcStatus: undefined,
    xForwardedFor: undefined,
    requestedServerName: undefined,
    ...over,
  };
}

test('inbound: the namespace of the caller’s certificate wins over the one it claims in x-envoy-peer-metadata', () => {
  // the caller says "default", its mTLS certificate says "prod"
  const mx = mxOf('default', 'productpage-v1');
  const labels = new InboundLabeler(local).labelSet(
    inboundEvent({
      peerMetadata: mx.metadata,
      peerMetadataId: mx.id,
      peerPrincipal: 'spiffe://cluster.local/ns/prod/sa/productpage',
    }),
  ).labels;
  assert.equal(labels.source_workload_namespace, 'prod');
  assert.equal(labels.source_principal, 'spiffe://cluster.local/ns/prod/sa/productpage');
  // what only the metadata tells is still taken from it
  assert.equal(labels.source_workload, 'productpage-v1');
});

test('inbound: without a certificate, the exchanged metadata names the namespace', () => {
  const mx = mxOf('staging', 'productpage-v1');
  const labels = new InboundLabeler(local).labelSet(
    inboundEvent({ peerMetadata: mx.metadata, peerMetadataId: mx.id, connectionSecurityPolicy: 'none' }),
  ).labels;
  assert.equal(labels.source_workload_namespace, 'staging');
});

test('outbound: destination_service_namespace is the peer’s namespace, as destination_workload_namespace', () => {
  // the upstream answered the metadata exchange; the EDS endpoint carried no workload metadata
  const mx = mxOf('prod', 'reviews-v1');
  const labels = new OutboundLabeler(local, undefined).labelSet(
    httpRequestEvent({ peerMetadata: mx.metadata, peerMetadataId: mx.id }),
    false,
  ).labels;
  assert.equal(labels.destination_workload_namespace, 'prod');
  assert.equal(labels.destination_service_namespace, 'prod');
});

test('outbound: a request no route matched names its service by the Host header, port and all', () => {
  const labels = new OutboundLabeler(local, undefined).labelSet(
    httpRequestEvent({ cluster: undefined, route: undefined, status: 404, flags: ['NR'], authority: 'reviews:9080' }),
    false,
  ).labels;
  assert.equal(labels.destination_service, 'reviews:9080');
  assert.equal(labels.destination_service_name, 'reviews:9080');
});
