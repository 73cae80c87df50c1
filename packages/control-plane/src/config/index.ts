// Config sources for the embedded control plane: Istio YAML and a service registry → MeshConfigSnapshot.

export { type ConfigChangeSummary, diffSnapshots } from './change-summary.ts';
export type { ObjectRef } from './config-entry.ts';
export { discoverConfigFiles, isConfigFileName } from './config-files.ts';
export { SUPPORTED_KINDS } from './config-kinds.ts';
export { type ConfigProblem, formatProblem, type ProblemSeverity } from './config-problem.ts';
export {
  type ConfigChangeEvent,
  type ConfigLoadResult,
  type ConfigSource,
  ConfigStore,
  type ConfigStoreOptions,
  type ConfigWatch,
} from './config-store.ts';
export { Debouncer, type DebouncerOptions } from './debouncer.ts';
export type { WatchMode } from './file-watcher.ts';
export type * from './istio-types.ts';
export { formatCounts, type SnapshotSummary, summarizeSnapshot } from './summary.ts';
