// @inboard/control-plane: an ADS server (SotW + Delta) over a snapshot cache, in the spirit of
// go-control-plane. The Istio translator will produce snapshots for it.
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
