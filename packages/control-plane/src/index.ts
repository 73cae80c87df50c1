// @inboard/control-plane: an ADS server (SotW + Delta) over a snapshot cache, in the spirit of
// go-control-plane, plus the Istio translator (src/translate) and config sources (src/config).
export type * from './ads-events.ts';
export {
  type AdsListenOptions,
  AdsServer,
  type AdsServerOptions,
  type AdsServerTlsOptions,
  type AdsStopOptions,
  DEFAULT_WILDCARD_TYPES,
  type StreamFilter,
} from './ads-server.ts';
export { type AuthContext, type AuthDecision, type AuthHook, authRejection, type StreamStatus } from './auth-hook.ts';
export { type CliIo, DEFAULT_XDS_PORT, runCli } from './cli.ts';
// Config sources: Istio YAML and a service registry → MeshConfigSnapshot, watched and validated.
export {
  type ConfigChangeEvent,
  type ConfigChangeSummary,
  type ConfigLoadResult,
  type ConfigProblem,
  type ConfigSource,
  ConfigStore,
  type ConfigStoreOptions,
  type ConfigWatch,
  Debouncer,
  type DebouncerOptions,
  diffSnapshots,
  discoverConfigFiles,
  formatCounts,
  formatProblem,
  isConfigFileName,
  type ObjectRef,
  type ProblemSeverity,
  type SnapshotSummary,
  SUPPORTED_KINDS,
  summarizeSnapshot,
  type WatchMode,
} from './config/index.ts';
// The Istio API subset and the service registry the translator reads.
export type * from './config/istio-types.ts';
export { AdsServerError, SnapshotError } from './errors.ts';
export { resourceVersion, typeVersion } from './resource-version.ts';
export {
  Snapshot,
  type SnapshotMessages,
  type SnapshotResource,
  type SnapshotResourceInput,
  type SnapshotTypeInput,
  type SnapshotTypeResources,
} from './snapshot.ts';
export {
  type NodeKeyFunction,
  nodeIdKey,
  SnapshotCache,
  type SnapshotCacheOptions,
  type SnapshotGenerator,
} from './snapshot-cache.ts';
// Istio → xDS translation (an embedded istiod for proxyless clients).
export {
  createIstioSnapshotGenerator,
  InvalidNodeError,
  type IstioSnapshotGenerator,
  MeshIndex,
  type NodeInput,
  type ProxyNode,
  parseProxyNode,
  translate,
  translateMessages,
  validateIstioNode,
  type XdsMessages,
} from './translate/index.ts';
