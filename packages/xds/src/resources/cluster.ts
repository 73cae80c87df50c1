// Cluster: EDS, STATIC / STRICT_DNS / LOGICAL_DNS with an inline load assignment, or an
// aggregate; load balancing, limits, outlier detection, upstream TLS and protocol, with
// Envoy's defaults filled in so the data plane never has to know them.
import { structToJs, TypeUrl } from '../codec.ts';
import type {
  config_cluster_v3_CircuitBreakers,
  config_cluster_v3_Cluster,
  config_cluster_v3_LoadBalancingPolicy,
  config_cluster_v3_OutlierDetection,
  config_core_v3_RuntimeDouble,
  extensions_load_balancing_policies_common_v3_SlowStartConfig,
  google_protobuf_UInt32Value,
} from '../gen/envoy.ts';
import { clusterLoadAssignment } from './cluster-load-assignment.ts';
import { decodeResource } from './decode-resource.ts';
import { deepEqual } from './deep-equal.ts';
import type {
  CircuitBreakerThresholds,
  Cluster,
  ClusterLoadAssignment,
  LbPolicy,
  OutlierDetection,
  SlowStartConfig,
} from './model.ts';
import type { Problems } from './problems.ts';
import { anyMessageName, durationMs, EMPTY, positiveDurationMs, unpack } from './proto-values.ts';
import type { DecodeContext, ResourceType } from './resource-type.ts';
import { transportSocketTls } from './tls-context.ts';

const ROOT = 'cluster';
const AGGREGATE_CLUSTER_TYPE = 'envoy.clusters.aggregate';
const AGGREGATE_CONFIG = 'envoy.extensions.clusters.aggregate.v3.ClusterConfig';
const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const LB_ROUND_ROBIN = 'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin';
const LB_RANDOM = 'envoy.extensions.load_balancing_policies.random.v3.Random';
const LB_LEAST_REQUEST = 'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest';
const LB_RING_HASH = 'envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash';
const LB_MAGLEV = 'envoy.extensions.load_balancing_policies.maglev.v3.Maglev';

const DEFAULT_CONNECT_TIMEOUT = 5000;
const MIN_RING_SIZE = 1024;
const MAX_RING_SIZE = 8 * 1024 * 1024;
const MAGLEV_TABLE_SIZE = 65537;
const MAX_MAGLEV_TABLE_SIZE = 5_000_011;

// Index = Cluster.LbPolicy enum value; CLUSTER_PROVIDED (6) and LOAD_BALANCING_POLICY_CONFIG (7) handled apart.
const LB_POLICIES: readonly (LbPolicy | undefined)[] = [
  'ROUND_ROBIN',
  'LEAST_REQUEST',
  'RING_HASH',
  'RANDOM',
  undefined,
  'MAGLEV',
];
const LB_CLUSTER_PROVIDED = 6;
const LB_POLICY_CONFIG = 7;
const DISCOVERY_TYPES: readonly Cluster['type'][] = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS'];

const DEFAULT_THRESHOLDS: readonly CircuitBreakerThresholds[] = Object.freeze([
  Object.freeze({
    priority: 'DEFAULT',
    maxConnections: 1024,
    maxPendingRequests: 1024,
    maxRequests: 1024,
    maxRetries: 3,
  }),
  Object.freeze({ priority: 'HIGH', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 }),
] as const);

interface LbSettings {
  lbPolicy: LbPolicy;
  ringHash: { readonly minimumRingSize: number; readonly maximumRingSize: number } | undefined;
  leastRequestChoiceCount: number;
  leastRequestActiveRequestBias: number;
  maglevTableSize: number | undefined;
  slowStart: SlowStartConfig | undefined;
}

function ringHash(
  min: number | undefined,
  max: number | undefined,
  path: string,
  p: Problems,
): { readonly minimumRingSize: number; readonly maximumRingSize: number } {
  const minimumRingSize = min ?? MIN_RING_SIZE;
  const maximumRingSize = max ?? MAX_RING_SIZE;
  if (minimumRingSize > MAX_RING_SIZE) p.add(`${path}.minimum_ring_size`, `must be at most ${MAX_RING_SIZE}`);
  if (maximumRingSize > MAX_RING_SIZE) p.add(`${path}.maximum_ring_size`, `must be at most ${MAX_RING_SIZE}`);
  if (minimumRingSize > maximumRingSize) p.add(path, 'minimum_ring_size must not exceed maximum_ring_size');
  return { minimumRingSize, maximumRingSize };
}

function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  if (n % 2 === 0) return n === 2;
  for (let i = 3; i * i <= n; i += 2) if (n % i === 0) return false;
  return true;
}

function maglevTableSize(size: number | undefined, path: string, p: Problems): number {
  const n = size ?? MAGLEV_TABLE_SIZE;
  if (n > MAX_MAGLEV_TABLE_SIZE) p.add(path, `must be at most ${MAX_MAGLEV_TABLE_SIZE}`);
  else if (!isPrime(n)) p.add(path, `${n} is not a prime number`);
  return n;
}

/**
 * active_request_bias's default_value (the runtime key is not read). Envoy warns about a negative
 * bias and uses 1.0; so do we, without the warning.
 */
function activeRequestBias(v: config_core_v3_RuntimeDouble | undefined): number {
  const bias = v?.default_value ?? 1;
  return Number.isFinite(bias) && bias >= 0 ? bias : 1;
}

/**
 * Consistent-hash settings that would make Envoy pick other hosts than Inboard's ring hash /
 * maglev: rejected rather than silently hashing differently.
 */
function consistentHashing(
  c:
    | {
        readonly use_hostname_for_hashing: boolean;
        readonly hash_balance_factor?: google_protobuf_UInt32Value | undefined;
      }
    | undefined,
  path: string,
  p: Problems,
): void {
  if (c === undefined) return;
  if (c.use_hostname_for_hashing) {
    p.add(`${path}.use_hostname_for_hashing`, 'is not supported: hosts are hashed by address:port');
  }
  if (c.hash_balance_factor !== undefined) {
    p.add(`${path}.hash_balance_factor`, 'is not supported (bounded-load consistent hashing)');
  }
}

function ringHashFunction(fn: number, path: string, p: Problems): void {
  // 0 XX_HASH; 1 MURMUR_HASH_2 puts hosts (and requests) elsewhere on the ring
  if (fn !== 0) p.add(path, `hash function ${fn === 1 ? 'MURMUR_HASH_2' : fn} is not supported (only XX_HASH)`);
}

/**
 * Round robin / least request slow_start_config (both the Cluster.SlowStartConfig and the typed
 * policies' common SlowStartConfig have these three fields). Envoy truncates the window to whole
 * milliseconds and disables slow start when that is 0; min_weight_percent must be a percentage
 * (its proto constraint), defaulting to 10 %; aggression is read from its default_value, and a
 * value that is not > 0 is replaced with 1.0 when the weight is computed (Envoy logs an error and
 * carries on), so it is accepted here too.
 */
function slowStartConfig(
  c: extensions_load_balancing_policies_common_v3_SlowStartConfig | undefined,
  path: string,
  p: Problems,
): SlowStartConfig | undefined {
  if (c === undefined) return undefined;
  const window = durationMs(c.slow_start_window, `${path}.slow_start_window`, p);
  const minPercent = c.min_weight_percent?.value ?? 10;
  if (!(minPercent >= 0 && minPercent <= 100)) {
    p.add(`${path}.min_weight_percent`, `${minPercent} is not a percentage in [0, 100]`);
  }
  const windowMs = Math.floor(window ?? 0);
  if (windowMs <= 0) return undefined;
  const aggression = c.aggression?.default_value ?? 1;
  return {
    windowMs,
    aggression: aggression > 0 ? aggression : 1,
    minWeightFraction: minPercent / 100,
  };
}

function choiceCount(v: google_protobuf_UInt32Value | undefined, path: string, p: Problems): number {
  const n = v?.value ?? 2;
  if (n < 2) p.add(path, 'must be at least 2');
  return n;
}

/** The first policy of load_balancing_policy Inboard implements, as gRPC picks one (gRFC A52). */
function typedLbPolicy(lb: config_cluster_v3_LoadBalancingPolicy, path: string, p: Problems): LbSettings {
  const settings: LbSettings = {
    lbPolicy: 'ROUND_ROBIN',
    ringHash: undefined,
    leastRequestChoiceCount: 2,
    leastRequestActiveRequestBias: 1,
    maglevTableSize: undefined,
    slowStart: undefined,
  };
  const seen: string[] = [];
  for (let i = 0; i < lb.policies.length; i++) {
    const any = lb.policies[i]!.typed_extension_config?.typed_config;
    const at = `${path}.policies[${i}].typed_extension_config.typed_config`;
    const type = any === undefined ? '' : anyMessageName(any);
    switch (type) {
      case LB_ROUND_ROBIN: {
        const m = unpack(any!, LB_ROUND_ROBIN, at, p);
        settings.slowStart = slowStartConfig(m?.slow_start_config, `${at}.slow_start_config`, p);
        return settings;
      }
      case LB_RANDOM:
        settings.lbPolicy = 'RANDOM';
        return settings;
      case LB_LEAST_REQUEST: {
        const m = unpack(any!, LB_LEAST_REQUEST, at, p);
        settings.lbPolicy = 'LEAST_REQUEST';
        settings.leastRequestChoiceCount = choiceCount(m?.choice_count, `${at}.choice_count`, p);
        settings.leastRequestActiveRequestBias = activeRequestBias(m?.active_request_bias);
        if (m?.enable_full_scan?.value === true) p.add(`${at}.enable_full_scan`, 'is not supported');
        if (m !== undefined && m.selection_method !== 0) p.add(`${at}.selection_method`, 'only N_CHOICES is supported');
        settings.slowStart = slowStartConfig(m?.slow_start_config, `${at}.slow_start_config`, p);
        return settings;
      }
      case LB_RING_HASH: {
        const m = unpack(any!, LB_RING_HASH, at, p);
        settings.lbPolicy = 'RING_HASH';
        settings.ringHash = ringHash(m?.minimum_ring_size?.value, m?.maximum_ring_size?.value, at, p);
        if (m !== undefined) {
          ringHashFunction(m.hash_function, `${at}.hash_function`, p);
          // the deprecated fields the typed config still carries
          consistentHashing(m, at, p);
          consistentHashing(m.consistent_hashing_lb_config, `${at}.consistent_hashing_lb_config`, p);
        }
        return settings;
      }
      case LB_MAGLEV: {
        const m = unpack(any!, LB_MAGLEV, at, p);
        settings.lbPolicy = 'MAGLEV';
        settings.maglevTableSize = maglevTableSize(m?.table_size?.value, `${at}.table_size`, p);
        consistentHashing(m?.consistent_hashing_lb_config, `${at}.consistent_hashing_lb_config`, p);
        return settings;
      }
      default:
        seen.push(JSON.stringify(any?.type_url ?? ''));
    }
  }
  p.add(`${path}.policies`, `no supported load balancing policy (got ${seen.length === 0 ? 'none' : seen.join(', ')})`);
  return settings;
}

function lbSettings(c: config_cluster_v3_Cluster, aggregate: boolean, p: Problems): LbSettings {
  if (c.load_balancing_policy !== undefined && c.load_balancing_policy.policies.length > 0) {
    return typedLbPolicy(c.load_balancing_policy, `${ROOT}.load_balancing_policy`, p);
  }
  const settings: LbSettings = {
    lbPolicy: 'ROUND_ROBIN',
    ringHash: undefined,
    leastRequestChoiceCount: 2,
    leastRequestActiveRequestBias: 1,
    maglevTableSize: undefined,
    slowStart: undefined,
  };
  const policy = LB_POLICIES[c.lb_policy];
  if (policy === undefined) {
    // An aggregate cluster's LB is its children's; Envoy requires CLUSTER_PROVIDED there.
    if (!(aggregate && c.lb_policy === LB_CLUSTER_PROVIDED)) {
      p.add(
        `${ROOT}.lb_policy`,
        c.lb_policy === LB_POLICY_CONFIG
          ? 'LOAD_BALANCING_POLICY_CONFIG requires load_balancing_policy'
          : `unsupported lb_policy ${c.lb_policy} (supported: ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV)`,
      );
    }
    return settings;
  }
  settings.lbPolicy = policy;
  if (policy === 'RING_HASH') {
    const r = c.ring_hash_lb_config;
    settings.ringHash = ringHash(
      r?.minimum_ring_size?.value,
      r?.maximum_ring_size?.value,
      `${ROOT}.ring_hash_lb_config`,
      p,
    );
    if (r !== undefined) ringHashFunction(r.hash_function, `${ROOT}.ring_hash_lb_config.hash_function`, p);
  } else if (policy === 'LEAST_REQUEST') {
    settings.leastRequestChoiceCount = choiceCount(
      c.least_request_lb_config?.choice_count,
      `${ROOT}.least_request_lb_config.choice_count`,
      p,
    );
    settings.leastRequestActiveRequestBias = activeRequestBias(c.least_request_lb_config?.active_request_bias);
    settings.slowStart = slowStartConfig(
      c.least_request_lb_config?.slow_start_config,
      `${ROOT}.least_request_lb_config.slow_start_config`,
      p,
    );
  } else if (policy === 'ROUND_ROBIN') {
    settings.slowStart = slowStartConfig(
      c.round_robin_lb_config?.slow_start_config,
      `${ROOT}.round_robin_lb_config.slow_start_config`,
      p,
    );
  } else if (policy === 'MAGLEV') {
    settings.maglevTableSize = maglevTableSize(
      c.maglev_lb_config?.table_size?.value,
      `${ROOT}.maglev_lb_config.table_size`,
      p,
    );
  }
  if (policy === 'RING_HASH' || policy === 'MAGLEV') {
    consistentHashing(
      c.common_lb_config?.consistent_hashing_lb_config,
      `${ROOT}.common_lb_config.consistent_hashing_lb_config`,
      p,
    );
  }
  return settings;
}

function circuitBreakers(
  cb: config_cluster_v3_CircuitBreakers | undefined,
  p: Problems,
): readonly CircuitBreakerThresholds[] {
  if (cb === undefined || cb.thresholds.length === 0) return DEFAULT_THRESHOLDS;
  // Always one entry per priority, in priority order; the first Thresholds of a priority wins.
  const out: CircuitBreakerThresholds[] = [DEFAULT_THRESHOLDS[0]!, DEFAULT_THRESHOLDS[1]!];
  const set = [false, false];
  for (let i = 0; i < cb.thresholds.length; i++) {
    const t = cb.thresholds[i]!;
    if (t.priority !== 0 && t.priority !== 1) {
      p.add(`${ROOT}.circuit_breakers.thresholds[${i}].priority`, `unknown routing priority ${t.priority}`);
      continue;
    }
    if (set[t.priority]) continue;
    set[t.priority] = true;
    const thresholds: CircuitBreakerThresholds = {
      priority: t.priority === 0 ? 'DEFAULT' : 'HIGH',
      maxConnections: t.max_connections?.value ?? 1024,
      maxPendingRequests: t.max_pending_requests?.value ?? 1024,
      maxRequests: t.max_requests?.value ?? 1024,
      maxRetries: t.max_retries?.value ?? 3,
    };
    const rb = t.retry_budget;
    if (rb !== undefined) {
      // Envoy's defaults for an empty budget: 20 % and a floor of 3 (istiod's retryBudget)
      const budgetPercent = rb.budget_percent?.value ?? 20;
      if (!(budgetPercent >= 0 && budgetPercent <= 100))
        p.add(`${ROOT}.circuit_breakers.thresholds[${i}].retry_budget.budget_percent`, 'must be within [0, 100]');
      out[t.priority] = {
        ...thresholds,
        retryBudget: { budgetPercent, minRetryConcurrency: rb.min_retry_concurrency?.value ?? 3 },
      };
    } else out[t.priority] = thresholds;
  }
  return out;
}

function percent(v: google_protobuf_UInt32Value | undefined, fallback: number, path: string, p: Problems): number {
  if (v === undefined) return fallback;
  if (v.value > 100) p.add(path, `${v.value} is not a percentage in [0, 100]`);
  return v.value;
}

function outlierDetection(o: config_cluster_v3_OutlierDetection, p: Problems): OutlierDetection {
  const at = `${ROOT}.outlier_detection`;
  const interval = positiveDurationMs(o.interval, `${at}.interval`, p) ?? 10_000;
  const baseEjectionTime = positiveDurationMs(o.base_ejection_time, `${at}.base_ejection_time`, p) ?? 30_000;
  let maxEjectionTime = positiveDurationMs(o.max_ejection_time, `${at}.max_ejection_time`, p);
  if (maxEjectionTime === undefined) {
    maxEjectionTime = Math.max(300_000, baseEjectionTime);
  } else if (maxEjectionTime < baseEjectionTime) {
    p.add(`${at}.max_ejection_time`, 'must not be smaller than base_ejection_time');
  }
  const stdev = o.success_rate_stdev_factor?.value ?? 1900;
  return {
    consecutive5xx: o.consecutive_5xx?.value ?? 5,
    consecutiveGatewayFailure: o.consecutive_gateway_failure?.value ?? 5,
    consecutiveLocalOriginFailure: o.consecutive_local_origin_failure?.value ?? 5,
    enforcingConsecutiveLocalOriginFailure: percent(
      o.enforcing_consecutive_local_origin_failure,
      100,
      `${at}.enforcing_consecutive_local_origin_failure`,
      p,
    ),
    enforcingLocalOriginSuccessRate: percent(
      o.enforcing_local_origin_success_rate,
      100,
      `${at}.enforcing_local_origin_success_rate`,
      p,
    ),
    enforcingFailurePercentageLocalOrigin: percent(
      o.enforcing_failure_percentage_local_origin,
      0,
      `${at}.enforcing_failure_percentage_local_origin`,
      p,
    ),
    interval,
    baseEjectionTime,
    maxEjectionTime,
    maxEjectionTimeJitter: durationMs(o.max_ejection_time_jitter, `${at}.max_ejection_time_jitter`, p) ?? 0,
    maxEjectionPercent: percent(o.max_ejection_percent, 10, `${at}.max_ejection_percent`, p),
    alwaysEjectOneHost: o.always_eject_one_host?.value ?? false,
    enforcingConsecutive5xx: percent(o.enforcing_consecutive_5xx, 100, `${at}.enforcing_consecutive_5xx`, p),
    enforcingConsecutiveGatewayFailure: percent(
      o.enforcing_consecutive_gateway_failure,
      0,
      `${at}.enforcing_consecutive_gateway_failure`,
      p,
    ),
    enforcingSuccessRate: percent(o.enforcing_success_rate, 100, `${at}.enforcing_success_rate`, p),
    successRateMinimumHosts: o.success_rate_minimum_hosts?.value ?? 5,
    successRateRequestVolume: o.success_rate_request_volume?.value ?? 100,
    successRateStdevFactor: stdev,
    failurePercentageThreshold: percent(o.failure_percentage_threshold, 85, `${at}.failure_percentage_threshold`, p),
    enforcingFailurePercentage: percent(o.enforcing_failure_percentage, 0, `${at}.enforcing_failure_percentage`, p),
    failurePercentageMinimumHosts: o.failure_percentage_minimum_hosts?.value ?? 5,
    failurePercentageRequestVolume: o.failure_percentage_request_volume?.value ?? 50,
    splitExternalLocalOriginErrors: o.split_external_local_origin_errors,
  };
}

interface Protocol {
  http2: boolean;
  maxRequestsPerConnection: number | undefined;
  /** upstream_http_protocol_options: the SNI (and the SAN to verify) from the request's host */
  autoSni: boolean;
  autoSanValidation: boolean;
}

/** HTTP/2 to the endpoints, the per-connection request cap and auto SNI, from the protocol options. */
function protocol(c: config_cluster_v3_Cluster, p: Problems): Protocol {
  let http2 = c.http2_protocol_options !== undefined;
  let maxRequestsPerConnection = c.max_requests_per_connection?.value;
  // the deprecated Cluster field first; HttpProtocolOptions replaces it
  let autoSni = c.upstream_http_protocol_options?.auto_sni ?? false;
  let autoSanValidation = c.upstream_http_protocol_options?.auto_san_validation ?? false;
  if ((c.upstream_http_protocol_options?.override_auto_sni_header ?? '') !== '') {
    p.add(`${ROOT}.upstream_http_protocol_options.override_auto_sni_header`, 'is not supported');
  }
  const any = c.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS];
  if (any !== undefined) {
    const at = `${ROOT}.typed_extension_protocol_options["${HTTP_PROTOCOL_OPTIONS}"]`;
    if (anyMessageName(any) !== HTTP_PROTOCOL_OPTIONS) {
      p.add(at, `must be ${HTTP_PROTOCOL_OPTIONS}`);
    } else {
      const o = unpack(any, HTTP_PROTOCOL_OPTIONS, at, p);
      if (o !== undefined) {
        const e = o.explicit_http_config;
        if (e !== undefined) {
          if (e.http3_protocol_options !== undefined)
            p.add(`${at}.explicit_http_config.http3_protocol_options`, 'HTTP/3 is not supported');
          http2 = e.http2_protocol_options !== undefined;
        }
        // use_downstream_protocol_config and auto_config leave the choice to the data plane (HTTP/1.1 unless ALPN says h2)
        const mrpc = o.common_http_protocol_options?.max_requests_per_connection?.value;
        if (mrpc !== undefined) maxRequestsPerConnection = mrpc;
        if (o.http_filters.length > 0) p.add(`${at}.http_filters`, 'upstream HTTP filters are not supported');
        const up = o.upstream_http_protocol_options;
        if (up !== undefined) {
          autoSni = up.auto_sni;
          autoSanValidation = up.auto_san_validation;
          if (up.override_auto_sni_header !== '') {
            p.add(`${at}.upstream_http_protocol_options.override_auto_sni_header`, 'is not supported');
          }
        }
      }
    }
  }
  return {
    http2,
    maxRequestsPerConnection: maxRequestsPerConnection === 0 ? undefined : maxRequestsPerConnection,
    autoSni,
    autoSanValidation,
  };
}

function cluster(c: config_cluster_v3_Cluster, p: Problems, ctx: DecodeContext): Cluster {
  const name = c.name;
  if (name === '') p.add(`${ROOT}.name`, 'must not be empty');
  let type: Cluster['type'] = 'STATIC';
  let edsServiceName: string | undefined;
  let loadAssignment: ClusterLoadAssignment | undefined;
  let aggregateClusters: readonly string[] = EMPTY;
  if (c.cluster_type !== undefined) {
    const ct = c.cluster_type;
    const any = ct.typed_config;
    if (ct.name !== AGGREGATE_CLUSTER_TYPE && (any === undefined || anyMessageName(any) !== AGGREGATE_CONFIG)) {
      p.add(`${ROOT}.cluster_type`, `unsupported custom cluster type ${JSON.stringify(ct.name)}`);
    } else if (any === undefined || anyMessageName(any) !== AGGREGATE_CONFIG) {
      p.add(`${ROOT}.cluster_type.typed_config`, `must be ${AGGREGATE_CONFIG}`);
    } else {
      type = 'AGGREGATE';
      const agg = unpack(any, AGGREGATE_CONFIG, `${ROOT}.cluster_type.typed_config`, p);
      if (agg !== undefined) {
        if (agg.clusters.length === 0)
          p.add(`${ROOT}.cluster_type.typed_config.clusters`, 'at least one cluster is required');
        aggregateClusters = agg.clusters;
      }
    }
  } else {
    const t = c.type ?? 0;
    const discovery = DISCOVERY_TYPES[t];
    if (discovery === undefined) {
      p.add(`${ROOT}.type`, t === 4 ? 'ORIGINAL_DST clusters are not supported' : `unknown discovery type ${t}`);
    } else {
      type = discovery;
    }
    if (type === 'EDS') {
      const eds = c.eds_cluster_config;
      const cs = eds?.eds_config;
      if (cs === undefined || (cs.ads === undefined && cs.self === undefined)) {
        p.add(
          `${ROOT}.eds_cluster_config.eds_config`,
          'must be ads or self (endpoints are only fetched over the ADS stream)',
        );
      }
      edsServiceName = eds === undefined || eds.service_name === '' ? name : eds.service_name;
    } else if (discovery !== undefined) {
      if (c.load_assignment === undefined) {
        p.add(`${ROOT}.load_assignment`, `is required for ${type} clusters`);
      } else {
        loadAssignment = clusterLoadAssignment(
          c.load_assignment,
          `${ROOT}.load_assignment`,
          p,
          c.load_assignment.cluster_name || name,
        );
        if (type === 'LOGICAL_DNS') {
          const groups = loadAssignment.endpoints;
          if (groups.length !== 1 || groups[0]!.lbEndpoints.length !== 1) {
            p.add(`${ROOT}.load_assignment`, 'LOGICAL_DNS clusters must have exactly one endpoint');
          }
        }
      }
    }
  }
  const lb = lbSettings(c, type === 'AGGREGATE', p);
  if (c.lb_subset_config !== undefined) p.add(`${ROOT}.lb_subset_config`, 'subset load balancing is not supported');
  if (c.transport_socket_matches.length > 0) p.add(`${ROOT}.transport_socket_matches`, 'is not supported');
  const common = c.common_lb_config;
  let healthyPanicThreshold = 50;
  if (common?.healthy_panic_threshold !== undefined) {
    healthyPanicThreshold = common.healthy_panic_threshold.value;
    if (!(healthyPanicThreshold >= 0 && healthyPanicThreshold <= 100)) {
      p.add(
        `${ROOT}.common_lb_config.healthy_panic_threshold`,
        `${healthyPanicThreshold} is not a percentage in [0, 100]`,
      );
    }
  }
  const connectTimeout = positiveDurationMs(c.connect_timeout, `${ROOT}.connect_timeout`, p) ?? DEFAULT_CONNECT_TIMEOUT;
  const thresholds = circuitBreakers(c.circuit_breakers, p);
  const outlier = c.outlier_detection === undefined ? undefined : outlierDetection(c.outlier_detection, p);
  const { http2, maxRequestsPerConnection, autoSni, autoSanValidation } = protocol(c, p);
  let tls = transportSocketTls(c.transport_socket, 'upstream', `${ROOT}.transport_socket`, p, ctx);
  // auto SNI and SAN validation only matter to a TLS connection (Envoy ignores them on plaintext)
  if (tls !== undefined && (autoSni || autoSanValidation)) tls = { ...tls, autoSni, autoSanValidation };
  const istio = c.metadata?.filter_metadata.istio;
  return {
    name,
    type,
    edsServiceName,
    loadAssignment,
    aggregateClusters,
    lbPolicy: lb.lbPolicy,
    ringHash: lb.ringHash,
    leastRequestChoiceCount: lb.leastRequestChoiceCount,
    leastRequestActiveRequestBias: lb.leastRequestActiveRequestBias,
    maglevTableSize: lb.maglevTableSize,
    slowStart: lb.slowStart,
    connectTimeout,
    circuitBreakers: thresholds,
    outlierDetection: outlier,
    healthyPanicThreshold,
    localityWeightedLb: common?.locality_weighted_lb_config !== undefined,
    tls,
    http2,
    maxRequestsPerConnection,
    altStatName: c.alt_stat_name,
    istioMetadata: istio === undefined ? undefined : structToJs(istio),
  };
}

function nameOf(c: config_cluster_v3_Cluster): string {
  return c.name;
}

export const clusterType: ResourceType<Cluster> = {
  typeUrl: TypeUrl.Cluster,
  shortName: 'CDS',
  allResourcesRequiredInSotW: true,
  decode: (resource, context) =>
    decodeResource(resource, TypeUrl.Cluster, 'envoy.config.cluster.v3.Cluster', nameOf, cluster, context),
  equals: deepEqual,
};
