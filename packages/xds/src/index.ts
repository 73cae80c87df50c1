// @inboard/xds: the xDS client of Inboard.

export {
  DEFAULT_ROOT_CERT_FILE,
  DEFAULT_TOKEN_FILE,
  ISTIO_SERVER_LISTENER_TEMPLATE,
  ISTIOD_DEFAULT_ADDRESS,
  ISTIOD_DEFAULT_PORT,
  type IstiodBootstrapOptions,
  istiodBootstrap,
} from './bootstrap/istiod-bootstrap.ts';
// Bootstrap and node identity (grpc-free modules only: see ./transport for credentials).
export {
  BOOTSTRAP_CONFIG_ENV,
  BOOTSTRAP_FILE_ENV,
  hasBootstrapEnv,
  type LoadBootstrapOptions,
  loadBootstrap,
} from './bootstrap/load-bootstrap.ts';
export {
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_LABELS_FILE,
  type NodeIdentityOptions,
  nodeIdentityFromEnv,
} from './bootstrap/node-identity.ts';
export { nodeToProto } from './bootstrap/node-proto.ts';
export { DEFAULT_CLIENT_LISTENER_TEMPLATE, parseBootstrap } from './bootstrap/parse-bootstrap.ts';
export { parseServerUri, targetFor } from './bootstrap/server-target.ts';
export type {
  Bootstrap,
  BootstrapNode,
  CallCredsConfig,
  ChannelCredsConfig,
  Env,
  FileWatcherCertificateProvider,
  XdsServerConfig,
} from './bootstrap/types.ts';
export { ISTIO_NODE_TYPES, validateNodeForIstiod } from './bootstrap/validate-node.ts';
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
export { type BackoffOptions, ExponentialBackoff } from './client/backoff.ts';
export {
  type ResourceMeta,
  type ResourceStatus,
  type ResourceWatcher,
  WILDCARD,
  XdsClient,
  type XdsClientEvent,
  type XdsClientOptions,
} from './client/xds-client.ts';
export * from './clock.ts';
export * from './errors.ts';
export * from './logger.ts';
export {
  type ClusterResolution,
  clustersOfRouteConfig,
  type ResolverResourceTypes,
  TargetResolver,
  type TargetResolverEvents,
  type TargetSnapshot,
} from './resolve/target-resolver.ts';
export * from './resources/index.ts';
export type * from './resources/model.ts';
export type { DecodeContext, DecodeResult, ResourceType } from './resources/resource-type.ts';
export { resourceTypes, Xds, type XdsOptions } from './xds.ts';
