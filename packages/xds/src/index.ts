// @inboard/xds: the xDS client of Inboard.
export * from './errors.ts';
export * from './logger.ts';
export * from './clock.ts';
export type * from './resources/model.ts';
export type { DecodeContext, DecodeResult, ResourceType } from './resources/resource-type.ts';
export { ExponentialBackoff, type BackoffOptions } from './client/backoff.ts';
export {
  type AdsMode,
  type AdsStream,
  type AdsStreamHandlers,
  type AdsTransport,
  createGrpcTransport,
  DEFAULT_CHANNEL_OPTIONS,
  type GrpcTransportOptions,
  type StreamEndStatus,
} from './client/ads-transport.ts';
export {
  type ResourceMeta,
  type ResourceStatus,
  type ResourceWatcher,
  WILDCARD,
  XdsClient,
  type XdsClientEvent,
  type XdsClientOptions,
} from './client/xds-client.ts';
export {
  type ClusterResolution,
  clustersOfRouteConfig,
  type ResolverResourceTypes,
  TargetResolver,
  type TargetResolverEvents,
  type TargetSnapshot,
} from './resolve/target-resolver.ts';
