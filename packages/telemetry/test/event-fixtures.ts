// A finished outbound request as @inboard/http publishes it, for tests that feed telemetry
// directly: a plain 200 through reviews' v2 subset unless told otherwise.
import type { HttpRequestEvent } from '@inboard/http';

export function httpRequestEvent(over: Partial<HttpRequestEvent> = {}): HttpRequestEvent {
  return {
    start: undefined,
    peerMetadata: undefined,
    peerMetadataId: undefined,
    kind: 'request',
    target: 'reviews:9080',
    authority: 'reviews:9080',
    method: 'GET',
    path: '/',
    routeConfig: 'r',
    virtualHost: 'v',
    route: 'default',
    istioConfig: undefined,
    cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local',
    endpoint: undefined,
    attempts: 1,
    status: 200,
    flags: [],
    details: 'via_upstream',
    durations: { totalMs: 3.7, responseStartMs: 2 },
    bytes: { sent: 0, received: 120 },
    error: undefined,
    grpcStatus: undefined,
    transportFailureReason: undefined,
    ...over,
  };
}
