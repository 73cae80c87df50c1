// Public codec surface: the generated Envoy message codecs under friendly names, type URLs,
// Any packing and google.protobuf helpers. The control plane encodes with these; the client
// decodes with them. Nothing here parses .proto files: src/gen is generated at build time.
import * as gen from './gen/envoy.ts';
import type { JsonObject, JsonValue } from './proto/struct-json.ts';
import { decodeBytes, encodeToBytes } from './proto/wire.ts';

export * as envoy from './gen/envoy.ts';
export { ProtoDecodeError, Reader, Writer } from './proto/wire.ts';

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

export const TypeUrl = {
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  HttpConnectionManager:
    'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  Router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  HTTPFault: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  RBAC: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  RBACPerRoute: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute',
  Cors: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors',
  CorsPolicy: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
  UpstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  DownstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  AggregateClusterConfig: 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig',
  TypedStruct: 'type.googleapis.com/xds.type.v3.TypedStruct',
  UdpaTypedStruct: 'type.googleapis.com/udpa.type.v1.TypedStruct',
} as const;

export type Listener = gen.config_listener_v3_Listener;
export type ListenerIn = gen.config_listener_v3_Listener$In;
export type RouteConfiguration = gen.config_route_v3_RouteConfiguration;
export type RouteConfigurationIn = gen.config_route_v3_RouteConfiguration$In;
export type Cluster = gen.config_cluster_v3_Cluster;
export type ClusterIn = gen.config_cluster_v3_Cluster$In;
export type ClusterLoadAssignment = gen.config_endpoint_v3_ClusterLoadAssignment;
export type ClusterLoadAssignmentIn = gen.config_endpoint_v3_ClusterLoadAssignment$In;
export type HttpConnectionManager = gen.extensions_filters_network_http_connection_manager_v3_HttpConnectionManager;
export type HttpConnectionManagerIn =
  gen.extensions_filters_network_http_connection_manager_v3_HttpConnectionManager$In;
export type DiscoveryRequest = gen.service_discovery_v3_DiscoveryRequest;
export type DiscoveryRequestIn = gen.service_discovery_v3_DiscoveryRequest$In;
export type DiscoveryResponse = gen.service_discovery_v3_DiscoveryResponse;
export type DiscoveryResponseIn = gen.service_discovery_v3_DiscoveryResponse$In;
export type DeltaDiscoveryRequest = gen.service_discovery_v3_DeltaDiscoveryRequest;
export type DeltaDiscoveryRequestIn = gen.service_discovery_v3_DeltaDiscoveryRequest$In;
export type DeltaDiscoveryResponse = gen.service_discovery_v3_DeltaDiscoveryResponse;
export type DeltaDiscoveryResponseIn = gen.service_discovery_v3_DeltaDiscoveryResponse$In;
export type Node = gen.config_core_v3_Node;
export type NodeIn = gen.config_core_v3_Node$In;
export type Any = gen.google_protobuf_Any;
export type AnyIn = gen.google_protobuf_Any$In;
export type Struct = gen.google_protobuf_Struct;
export type StructIn = gen.google_protobuf_Struct$In;
export type Value = gen.google_protobuf_Value;
export type ValueIn = gen.google_protobuf_Value$In;
export type Duration = gen.google_protobuf_Duration;
export type DurationIn = gen.google_protobuf_Duration$In;
export type Status = gen.google_rpc_Status;

/** Every message with a codec, by full proto name. */
export type MessageName = keyof typeof gen.MESSAGES;
type CodecOf<N extends MessageName> = (typeof gen.MESSAGES)[N];
export type Decoded<N extends MessageName> = ReturnType<CodecOf<N>['decode']>;
export type EncodeInput<N extends MessageName> = Parameters<CodecOf<N>['encode']>[0];

export function encodeMessage<N extends MessageName>(name: N, message: EncodeInput<N>): Uint8Array {
  const codec = gen.MESSAGES[name] as unknown as gen.MessageCodec<unknown, EncodeInput<N>>;
  return encodeToBytes(codec.encode, message);
}

export function decodeMessage<N extends MessageName>(name: N, bytes: Uint8Array): Decoded<N> {
  const codec = gen.MESSAGES[name] as unknown as gen.MessageCodec<Decoded<N>, unknown>;
  return decodeBytes(codec.decode, bytes);
}

/** The full message name of a type URL (the part after the last '/'). */
export function messageNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

export function hasCodec(name: string): name is MessageName {
  return Object.hasOwn(gen.MESSAGES, name);
}

/** Packs a message into a google.protobuf.Any. */
export function packAny<N extends MessageName>(name: N, message: EncodeInput<N>): Any {
  return { type_url: TYPE_URL_PREFIX + name, value: encodeMessage(name, message) };
}

/** Unpacks an Any whose type has a codec; throws a descriptive Error otherwise. */
export function unpackAny(any: AnyIn): unknown {
  const url = any.type_url ?? '';
  const name = messageNameOf(url);
  if (!hasCodec(name)) throw new Error(`no codec for type URL ${JSON.stringify(url)}`);
  return decodeMessage(name, any.value ?? new Uint8Array(0));
}

// ---------------------------------------------------------------------------- google.protobuf helpers

/** Duration → milliseconds */
export function durationToMs(d: { seconds: number; nanos: number } | undefined): number | undefined {
  if (d === undefined) return undefined;
  return d.seconds * 1000 + d.nanos / 1e6;
}

export function msToDuration(ms: number): Duration {
  const seconds = Math.trunc(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return { seconds, nanos };
}

export type { JsonObject, JsonValue } from './proto/struct-json.ts';

/** google.protobuf.Value → JSON */
export function valueToJs(v: Value | undefined): JsonValue {
  if (v === undefined) return null;
  if (v.string_value !== undefined) return v.string_value;
  if (v.number_value !== undefined) return v.number_value;
  if (v.bool_value !== undefined) return v.bool_value;
  if (v.struct_value !== undefined) return v.struct_value;
  if (v.list_value !== undefined) return v.list_value.values.map(valueToJs);
  return null;
}

/**
 * google.protobuf.Struct is decoded to, and encoded from, the plain JSON object it stands for.
 * These two are kept so call sites read as conversions; they copy nothing.
 */
export function structToJs(s: Struct | undefined): JsonObject {
  return s ?? {};
}

export function jsToValue(v: unknown): ValueIn {
  if (v === null || v === undefined) return { null_value: 0 };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map(jsToValue) } };
  if (typeof v === 'object') return { struct_value: jsToStruct(v as Record<string, unknown>) };
  throw new TypeError(`cannot represent ${typeof v} in google.protobuf.Value`);
}

/** Checks that `o` is representable as a google.protobuf.Struct and returns it. */
export function jsToStruct(o: Record<string, unknown>): StructIn {
  for (const v of Object.values(o)) assertJson(v);
  return o as StructIn;
}

function assertJson(v: unknown): void {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return;
  if (Array.isArray(v)) {
    for (const x of v) assertJson(x);
    return;
  }
  if (typeof v === 'object') {
    for (const x of Object.values(v as object)) assertJson(x);
    return;
  }
  throw new TypeError(`cannot represent ${typeof v} in google.protobuf.Struct`);
}
