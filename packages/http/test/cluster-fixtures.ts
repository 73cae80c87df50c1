// Builders for model objects and deterministic random sources used by the cluster-* and retry-*
// tests.

import type {
  Cluster,
  ClusterLoadAssignment,
  HealthStatus,
  LbEndpoint,
  Locality,
  LocalityLbEndpoints,
  OutlierDetection,
  RetryPolicy,
} from '@inboard/xds';
import type { RandomSource } from '../src/cluster/random-source.ts';
import type { HeaderLookup } from '../src/retry/index.ts';

export function makeCluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    name: 'outbound|80||svc.ns.svc.cluster.local',
    type: 'EDS',
    edsServiceName: undefined,
    loadAssignment: undefined,
    aggregateClusters: [],
    lbPolicy: 'ROUND_ROBIN',
    ringHash: undefined,
    leastRequestChoiceCount: 2,
    leastRequestActiveRequestBias: 1,
    maglevTableSize: undefined,
    slowStart: undefined,
    connectTimeout: 5000,
    circuitBreakers: [],
    outlierDetection: undefined,
    healthyPanicThreshold: 50,
    localityWeightedLb: false,
    tls: undefined,
    http2: false,
    maxRequestsPerConnection: undefined,
    altStatName: '',
    istioMetadata: undefined,
    ...overrides,
  };
}

export function ep(address: string, port = 80, health: HealthStatus = 'HEALTHY', weight = 1): LbEndpoint {
  return {
    address: { address, port },
    additionalAddresses: [],
    hostname: '',
    healthStatus: health,
    loadBalancingWeight: weight,
    tlsMode: undefined,
    istioWorkload: undefined,
  };
}

export function locality(region: string, zone = '', subZone = ''): Locality {
  return { region, zone, subZone };
}

export function group(
  lbEndpoints: readonly LbEndpoint[],
  opts: { priority?: number; weight?: number; locality?: Locality } = {},
): LocalityLbEndpoints {
  return {
    locality: opts.locality ?? locality(''),
    lbEndpoints,
    loadBalancingWeight: opts.weight,
    priority: opts.priority ?? 0,
  };
}

export function makeCla(
  endpoints: readonly LocalityLbEndpoints[],
  overprovisioningFactor = 140,
): ClusterLoadAssignment {
  return { clusterName: 'svc', endpoints, overprovisioningFactor, dropOverloads: [] };
}

/** `n` endpoints 10.0.<third>.1..n on port 80, the first `healthy` of them HEALTHY, the rest UNHEALTHY. */
export function endpoints(n: number, healthy = n, third = 0): LbEndpoint[] {
  return Array.from({ length: n }, (_, i) => ep(`10.0.${third}.${i + 1}`, 80, i < healthy ? 'HEALTHY' : 'UNHEALTHY'));
}

/** Envoy's OutlierDetection defaults. */
export function makeOutlier(overrides: Partial<OutlierDetection> = {}): OutlierDetection {
  return {
    consecutive5xx: 5,
    consecutiveGatewayFailure: 5,
    consecutiveLocalOriginFailure: 5,
    enforcingConsecutiveLocalOriginFailure: 100,
    enforcingLocalOriginSuccessRate: 100,
    enforcingFailurePercentageLocalOrigin: 0,
    interval: 10_000,
    baseEjectionTime: 30_000,
    maxEjectionTime: 300_000,
    maxEjectionTimeJitter: 0,
    maxEjectionPercent: 10,
    alwaysEjectOneHost: false,
    enforcingConsecutive5xx: 100,
    enforcingConsecutiveGatewayFailure: 0,
    enforcingSuccessRate: 100,
    successRateMinimumHosts: 5,
    successRateRequestVolume: 100,
    successRateStdevFactor: 1900,
    failurePercentageThreshold: 85,
    enforcingFailurePercentage: 0,
    failurePercentageMinimumHosts: 5,
    failurePercentageRequestVolume: 50,
    splitExternalLocalOriginErrors: false,
    ...overrides,
  };
}

export function makeRetryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    retryOn: [],
    numRetries: 1,
    perTryTimeout: undefined,
    perTryIdleTimeout: undefined,
    retriableStatusCodes: [],
    retriableHeaders: [],
    retriableRequestHeaders: [],
    backOff: undefined,
    hostPredicates: [],
    hostSelectionRetryMaxAttempts: 1,
    retryPriority: undefined,
    ...overrides,
  };
}

/** Replays `values` in order, cycling. */
export function sequence(values: readonly number[]): RandomSource {
  let i = 0;
  return () => {
    const v = values[i % values.length]!;
    i++;
    return v >>> 0;
  };
}

/** 0, 1, 2, ... — each draw one more than the last. */
export function counting(start = 0): RandomSource {
  let n = start;
  return () => n++ >>> 0;
}

export function constant(value: number): RandomSource {
  return () => value >>> 0;
}

export function headers(h: Record<string, string | string[]>): HeaderLookup {
  const lower = new Map(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v] as const));
  return (name) => lower.get(name);
}

export function tally<T>(n: number, f: () => T): Map<T, number> {
  const m = new Map<T, number>();
  for (let i = 0; i < n; i++) {
    const v = f();
    m.set(v, (m.get(v) ?? 0) + 1);
  }
  return m;
}
