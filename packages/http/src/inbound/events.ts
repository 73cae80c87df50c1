// What the inbound side publishes, once per request, when the response is complete or the client
// went away. Telemetry subscribes to the channel; @inboard/http never imports it.
//
//   import { subscribe } from 'node:diagnostics_channel';
//   subscribe(INBOUND_CHANNEL, (e) => record(e as InboundRequestEvent));
//
// An InboundStartEvent is what inbound scopes (inbound-scope.ts) receive as an admitted request
// reaches the application; the end event of that request references it as `start`.
import { channel } from 'node:diagnostics_channel';
import type { TraceContext } from './trace-context.ts';

export const INBOUND_CHANNEL = 'inboard:http:inbound';

/** A request as it was received and admitted: everything known before the application runs. */
export interface InboundStartEvent {
  /** wall clock at the first byte of the request, ms since the epoch */
  readonly startTime: number;
  readonly method: string;
  /** the normalised path, with the query */
  readonly path: string;
  /** `:authority` / Host as received */
  readonly authority: string;
  readonly scheme: 'http' | 'https';
  /** `HTTP/1.1`, `HTTP/2` */
  readonly protocol: string;
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly destinationIp: string;
  readonly destinationPort: number;
  /** the caller's W3C / B3 context and x-request-id */
  readonly trace: TraceContext;
  readonly userAgent: string | undefined;
  /**
   * Istio's HTTP metadata exchange from the caller: `x-envoy-peer-metadata` (base64 of a
   * google.protobuf.Struct of the caller's node metadata) and `x-envoy-peer-metadata-id`
   */
  readonly peerMetadata: string | undefined;
  readonly peerMetadataId: string | undefined;
}

export interface InboundRequestEvent extends InboundStartEvent {
  /** Istio's `reporter` label: the server side of the call */
  readonly reporter: 'destination';
  /** first request byte to last response byte (Envoy's %DURATION%), ms */
  readonly durationMs: number;
  /** the framework's route template (`http.route`) when an adapter knows it */
  readonly route: string | undefined;
  /** the status sent; 0 when the client went away before a response started */
  readonly status: number;
  /** Envoy's %RESPONSE_FLAGS%: `-` when none, e.g. `NR`, `DC` */
  readonly responseFlags: string;
  /** Envoy's %RESPONSE_CODE_DETAILS%, e.g. `via_upstream` (the application answered), `rbac_access_denied_matched_policy[none]` */
  readonly responseCodeDetails: string;
  /** request body bytes received (%BYTES_RECEIVED%) */
  readonly requestBytes: number;
  /** response body bytes sent (%BYTES_SENT%) */
  readonly responseBytes: number;
  /** the client's SPIFFE id (first URI SAN of its verified certificate) */
  readonly peerPrincipal: string | undefined;
  /** Istio's `connection_security_policy` label */
  readonly connectionSecurityPolicy: 'mutual_tls' | 'none';
  /** the RBAC policy that decided: the DENY policy that denied, or the ALLOW policy that allowed */
  readonly matchedPolicy: string | undefined;
  /** false when the inbound policy (RBAC, route, mTLS) answered instead of the application */
  readonly allowed: boolean;
  /** the filter chain of the inbound listener used; undefined without a mesh policy */
  readonly filterChain: string | undefined;
  /**
   * The start event the inbound scopes received, the same object; undefined when no scope ran
   * (none registered, or the policy answered before the application).
   */
  readonly start: InboundStartEvent | undefined;
  /** a gRPC request: content-type `application/grpc` or `application/grpc+…` (not gRPC-Web) */
  readonly grpc: boolean;
  /**
   * the `grpc-status` the application sent (gRPC requests only): from its trailers, else its
   * response headers (a trailers-only response); undefined when it sent none
   */
  readonly grpcStatus: string | undefined;
  /** the request's X-Forwarded-For */
  readonly xForwardedFor: string | undefined;
  /** the SNI the client asked for on a TLS connection (%REQUESTED_SERVER_NAME%) */
  readonly requestedServerName: string | undefined;
}

export const inboundChannel = channel(INBOUND_CHANNEL);
