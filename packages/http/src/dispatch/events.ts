// Telemetry hooks: typed events on node:diagnostics_channel. The data plane never imports a
// telemetry library; @inboard/telemetry (or anyone) subscribes to these channels by name. Events
// are only built when a channel has subscribers.
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ResponseFlag } from '../retry/response-flags.ts';

/** One finished outbound request through the mesh (or a request mirror). */
export const REQUEST_CHANNEL = 'inboard:http:request';
/** Outlier detection ejected or returned a host. */
export const OUTLIER_CHANNEL = 'inboard:http:outlier';
/**
 * A request entered the mesh (before routing). Subscribers may add request headers and keep
 * their own state in `context`; the same object comes back on the attempt events and as
 * HttpRequestEvent.start. Published synchronously in the caller's async context.
 */
export const REQUEST_START_CHANNEL = 'inboard:http:request:start';
/** An upstream attempt of a request that had a start event is about to be sent (headers may be added). */
export const ATTEMPT_START_CHANNEL = 'inboard:http:attempt:start';
/** That attempt ended: retried, committed and fully received, or failed (the start event's object). */
export const ATTEMPT_END_CHANNEL = 'inboard:http:attempt:end';

export interface RequestStartEvent {
  /** the mesh target, `host:port` */
  readonly target: string;
  readonly authority: string;
  readonly method: string;
  readonly path: string;
  readonly scheme: string;
  /** the request headers (lower-case names) that go upstream: subscribers may add to them */
  readonly headers: Record<string, string | string[]>;
  /**
   * performance.now() at dispatch, the origin of the end event's durations (so a span can start
   * and end exactly where the metrics do); -1 when nobody listens for the end event
   */
  readonly startedAt: number;
  /** free for subscribers (e.g. a span); returned with the attempt and end events */
  context: unknown;
}

export interface AttemptEvent {
  readonly request: RequestStartEvent;
  /** 1 for the first attempt */
  readonly attempt: number;
  /**
   * This attempt's request headers: subscribers may add to them. A retry's headers start as a
   * copy of the request's, so they include what was added for the first attempt.
   */
  readonly headers: Record<string, string | string[]>;
  /** free for subscribers */
  context: unknown;
  // set when the attempt ends
  /** `address:port` the attempt went to (undefined when no endpoint was picked) */
  endpoint: string | undefined;
  /** response status, 0 when none arrived */
  status: number;
  error: Error | undefined;
  /** performance.now() as the attempt ended (-1 until then) */
  endedAt: number;
}

export interface HttpRequestEvent {
  /** 'request' for the caller's request, 'mirror' for a shadow copy */
  readonly kind: 'request' | 'mirror';
  /** the mesh target, `host:port` */
  readonly target: string;
  /** the :authority routed on (before any rewrite) */
  readonly authority: string;
  readonly method: string;
  /** the path as the caller sent it */
  readonly path: string;
  /** the route configuration, virtual host and route (names), when a route matched */
  readonly routeConfig: string | undefined;
  readonly virtualHost: string | undefined;
  readonly route: string | undefined;
  /** filter_metadata.istio.config of the route (the VirtualService) */
  readonly istioConfig: string | undefined;
  /** the cluster chosen by the route (a weighted cluster's name) */
  readonly cluster: string | undefined;
  /** `address:port` of the last endpoint tried */
  readonly endpoint: string | undefined;
  /** number of upstream attempts (0: answered locally) */
  readonly attempts: number;
  /** status sent to the caller; 0 when none was */
  readonly status: number;
  readonly flags: readonly ResponseFlag[];
  /** %RESPONSE_CODE_DETAILS% */
  readonly details: string;
  readonly durations: {
    /** dispatch → end of response (or failure), ms */
    readonly totalMs: number;
    /** dispatch → response headers to the caller, ms; undefined when none were sent */
    readonly responseStartMs: number | undefined;
  };
  readonly bytes: {
    /** request body bytes of one attempt (known when the body was buffered, else undefined) */
    readonly sent: number | undefined;
    /** response body bytes delivered to the caller */
    readonly received: number;
  };
  /** the error the caller's handler received, if the request failed after headers or locally */
  readonly error: Error | undefined;
  /** the request's start event, when someone listened on REQUEST_START_CHANNEL */
  readonly start: RequestStartEvent | undefined;
  /**
   * Istio's metadata exchange from the upstream: its `x-envoy-peer-metadata` /
   * `x-envoy-peer-metadata-id` response headers (removed from the response the caller sees)
   */
  readonly peerMetadata: string | undefined;
  readonly peerMetadataId: string | undefined;
  /**
   * The `grpc-status` the caller received, as sent: from the response trailers, else the response
   * headers (a trailers-only response, a local reply to a gRPC caller); undefined when neither had one
   */
  readonly grpcStatus: string | undefined;
  /**
   * Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON% of the last attempt, e.g. `delayed connect error: Connection refused`
   * (a refused connection) or `TLS error: ...`; undefined when the connection was not the failure
   */
  readonly transportFailureReason: string | undefined;
}

/**
 * The cluster Envoy's istio_stats names for a request no mesh route handled: `PassthroughCluster`
 * (outboundTrafficPolicy ALLOW_ANY, route `allow_any`) or `BlackHoleCluster` (REGISTRY_ONLY,
 * route `block_all`).
 */
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';

export type OutlierChannelEvent =
  | {
      readonly type: 'eject';
      readonly cluster: string;
      readonly endpoint: string;
      readonly reason: string;
      readonly enforced: boolean;
      readonly numEjections: number;
    }
  | { readonly type: 'eject_overflow'; readonly cluster: string; readonly endpoint: string; readonly reason: string }
  | { readonly type: 'uneject'; readonly cluster: string; readonly endpoint: string; readonly numEjections: number };

/** Istio's HTTP metadata exchange headers (istio/proxy's metadata_exchange filter) */
export const PEER_METADATA_HEADER = 'x-envoy-peer-metadata';
export const PEER_METADATA_ID_HEADER = 'x-envoy-peer-metadata-id';

export const requestChannel = diagnosticsChannel.channel(REQUEST_CHANNEL);
export const outlierChannel = diagnosticsChannel.channel(OUTLIER_CHANNEL);
export const requestStartChannel = diagnosticsChannel.channel(REQUEST_START_CHANNEL);
export const attemptStartChannel = diagnosticsChannel.channel(ATTEMPT_START_CHANNEL);
export const attemptEndChannel = diagnosticsChannel.channel(ATTEMPT_END_CHANNEL);
