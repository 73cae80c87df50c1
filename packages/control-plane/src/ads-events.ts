// What the ADS server reports: every stream, request, response, ACK and NACK is an event, so
// tests (and later a debug endpoint) can observe the protocol without reaching into streams.
import type { Node } from '@inboard/xds/codec';

export type AdsStreamKind = 'sotw' | 'delta';

/** How a request was classified by the protocol rules. */
export type RequestDisposition =
  /** First request for the type on this stream, or an empty response_nonce: always answered. */
  | 'initial'
  /** Nonce matches the last response and the subscription is unchanged: nothing is sent. */
  | 'ack'
  /** error_detail set: recorded, nothing is sent. */
  | 'nack'
  /** response_nonce is not the last one sent for the type: ignored. */
  | 'stale'
  /** The subscription changed (answered when the rules say so). */
  | 'change'
  /** SotW: empty resource_names for a non-wildcard type; the watch is dropped. */
  | 'unsubscribe'
  /** Delta: a spontaneous request that changes nothing. */
  | 'noop';

export interface StreamOpenEvent {
  readonly streamId: number;
  readonly kind: AdsStreamKind;
  readonly peer: string;
}

export interface StreamCloseEvent {
  readonly streamId: number;
  readonly kind: AdsStreamKind;
  /** Undefined when the stream ended before a valid first request. */
  readonly nodeId: string | undefined;
  /** The gRPC status the stream ended with (CANCELLED when the client went away). */
  readonly code: number;
  readonly details: string;
}

/** What every per-stream, per-type event names: the stream, its kind, the node and the type. */
export interface StreamTypeEvent {
  readonly streamId: number;
  readonly kind: AdsStreamKind;
  readonly nodeId: string;
  readonly typeUrl: string;
}

export interface RequestEvent extends StreamTypeEvent {
  /** response_nonce of the request. */
  readonly nonce: string;
  /** SotW version_info of the request ('' for Delta). */
  readonly version: string;
  /** SotW resource_names, Delta resource_names_subscribe. */
  readonly resourceNames: readonly string[];
  /** Delta resource_names_unsubscribe ([] for SotW). */
  readonly unsubscribe: readonly string[];
  readonly disposition: RequestDisposition;
}

export interface AckEvent extends StreamTypeEvent {
  readonly nonce: string;
  /** SotW: the version_info the client sent. Delta: the system_version_info of the acknowledged response. */
  readonly version: string;
}

export interface NackRecord {
  readonly nonce: string;
  /** SotW: the version_info the client sent (its last good version). Delta: the rejected response's version. */
  readonly version: string;
  readonly errorCode: number;
  readonly errorMessage: string;
  /** `clock.now()` of the server when the NACK arrived. */
  readonly time: number;
}

export interface NackEvent extends NackRecord, StreamTypeEvent {}

export interface ResponseEvent extends StreamTypeEvent {
  readonly nonce: string;
  /** SotW version_info, Delta system_version_info. */
  readonly version: string;
  /** Names of the resources in the response. */
  readonly resourceNames: readonly string[];
  /** Delta removed_resources ([] for SotW). */
  readonly removedResources: readonly string[];
  /** Whether a request or a snapshot change caused it. */
  readonly cause: 'request' | 'push';
}

/** Event name → listener arguments, for `AdsServer.on(...)`. */
export interface AdsServerEventMap {
  'stream-open': [StreamOpenEvent];
  'stream-close': [StreamCloseEvent];
  request: [RequestEvent];
  response: [ResponseEvent];
  ack: [AckEvent];
  nack: [NackEvent];
}

/** Per stream and type: what was sent, acknowledged and rejected. */
export interface TypeStatus {
  readonly typeUrl: string;
  readonly wildcard: boolean;
  readonly resourceNames: readonly string[];
  readonly lastNonceSent: string | undefined;
  readonly lastVersionSent: string | undefined;
  readonly ackedNonce: string | undefined;
  readonly ackedVersion: string | undefined;
  /** The most recent NACK (kept after a later ACK, for inspection). */
  readonly lastNack: NackRecord | undefined;
  /** The message of the last NACK, cleared by the next ACK (like istiod's LastError). */
  readonly lastError: string | undefined;
  readonly nackCount: number;
}

export interface AdsStreamInfo {
  readonly streamId: number;
  readonly kind: AdsStreamKind;
  readonly peer: string;
  /** Undefined until the first valid request. */
  readonly node: Node | undefined;
  readonly nodeId: string | undefined;
  readonly nodeKey: string | undefined;
  readonly types: readonly TypeStatus[];
}

export interface AdsCounters {
  readonly streamsOpened: number;
  readonly streamsActive: number;
  readonly requests: number;
  readonly responses: number;
  readonly acks: number;
  readonly nacks: number;
}
