// Cluster-side decision core: hosts, load balancing, outlier detection, circuit breakers.

export { AggregateLoadBalancer, type AggregatePick } from './aggregate-lb.ts';
export {
  CircuitBreakers,
  DEFAULT_THRESHOLDS,
  PriorityCircuitBreakers,
  ResourceLimit,
  type RetryBudget,
  type RoutingPriority,
} from './circuit-breakers.ts';
export { ClusterState, type ClusterStateOptions, HostSet, type PickOptions } from './cluster-state.ts';
export { EdfScheduler, prePicks } from './edf-scheduler.ts';
export type { HashingTable } from './hash-lb.ts';
export { type CoarseHealth, compareLocality, Host, hostKey, localityKey } from './host.ts';
export { type HostPicker, weightsAreEqual } from './host-picker.ts';
export { type LeastRequestOptions, leastRequestPicker } from './least-request.ts';
export { effectiveLocalityWeight, LocalityScheduler } from './locality-wrr.ts';
export { DEFAULT_MAGLEV_TABLE_SIZE, isPrime, MaglevTable, maglevTable } from './maglev.ts';
export { type NormalizedWeights, normalizeWeights } from './normalized-weights.ts';
export {
  grpcStatusToHttpStatus,
  HostMonitor,
  type LocalOriginResult,
  OutlierDetector,
  type OutlierDetectorOptions,
  type OutlierEjectionType,
  type OutlierEvent,
  type OutlierResult,
  parseGrpcStatus,
} from './outlier-detector.ts';
export { choosePriority, computePriorityLoad, type PriorityLevelCounts, type PriorityLoad } from './priority-load.ts';
export { randomPicker } from './random-lb.ts';
// RandomSource is not re-exported: the route module exports the same (compatible) type name.
export { mathRandom, percentEnabled, seededRandom } from './random-source.ts';
export {
  computeRequestHash,
  generatedCookieValue,
  type HashRequest,
  makeSetCookieValue,
  parseCookieValue,
} from './request-hash.ts';
export { DEFAULT_MAX_RING_SIZE, DEFAULT_MIN_RING_SIZE, RingHash, ringHashTable } from './ring-hash.ts';
export { roundRobinPicker } from './round-robin.ts';
export { type ServerIdentityCheck, serverIdentityCheck } from './san-matcher.ts';
export { UpstreamTlsConnector, type UpstreamTlsOptions, upstreamTlsKey } from './upstream-tls.ts';
export { type Hash64Parts, mod64, toBigInt, xxHash64, xxHash64Chain, xxHash64Parts } from './xxhash64.ts';
