// VirtualService `retries` → RetryPolicy as istiod's retry.ConvertPolicy builds it, including
// Istio's default policy when `retries` is unset and no policy at all when attempts is 0.
import type { envoy } from '@inboard/xds/codec';
import type { HTTPRetry } from '../config/istio-types.ts';
import { parseDuration } from './durations.ts';
import {
  PREVIOUS_HOSTS_PREDICATE,
  PREVIOUS_HOSTS_TYPE,
  PREVIOUS_PRIORITIES,
  PREVIOUS_PRIORITIES_TYPE,
} from './envoy-names.ts';

type RetryPolicyIn = envoy.config_route_v3_RetryPolicy$In;

export const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';

/** Go's http.StatusText is non-empty exactly for these codes. */
const HTTP_STATUS_CODES = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400,
  401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425,
  426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

const TYPE_PREFIX = 'type.googleapis.com/';

function previousHosts(): envoy.config_route_v3_RetryPolicy_RetryHostPredicate$In {
  // PreviousHostsPredicate has no fields: its encoding is empty
  return {
    name: PREVIOUS_HOSTS_PREDICATE,
    typed_config: { type_url: TYPE_PREFIX + PREVIOUS_HOSTS_TYPE, value: new Uint8Array(0) },
  };
}

function previousPriorities(): envoy.config_route_v3_RetryPolicy_RetryPriority$In {
  // PreviousPrioritiesConfig{update_frequency: 2}: field 1, varint 2
  return {
    name: PREVIOUS_PRIORITIES,
    typed_config: { type_url: TYPE_PREFIX + PREVIOUS_PRIORITIES_TYPE, value: Uint8Array.of(0x08, 0x02) },
  };
}

function defaultPolicy(consistentHash: boolean): RetryPolicyIn {
  return {
    num_retries: { value: 2 },
    retry_on: DEFAULT_RETRY_ON,
    host_selection_retry_max_attempts: 5,
    // a consistent-hash route must retry on the same host
    ...(consistentHash ? {} : { retry_host_predicate: [previousHosts()] }),
  };
}

/** parseRetryOn: integers that are HTTP status codes become retriable_status_codes. */
function parseRetryOn(retryOn: string): [string, number[]] {
  const codes: number[] = [];
  const rest: string[] = [];
  for (const raw of retryOn.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const n = /^[+-]?\d+$/.test(part) ? Number(part) : Number.NaN;
    if (HTTP_STATUS_CODES.has(n)) codes.push(n);
    else rest.push(part);
  }
  return [rest.join(','), codes];
}

/**
 * `retry.ConvertPolicy(policy, hashPolicy)`: undefined `policy` → Istio's default; attempts ≤ 0 → no
 * retry policy at all (undefined).
 */
export function retryPolicy(policy: HTTPRetry | undefined, consistentHash: boolean): RetryPolicyIn | undefined {
  const out = defaultPolicy(consistentHash);
  if (policy === undefined) return out;
  if ((policy.attempts ?? 0) <= 0) return undefined;
  out.num_retries = { value: policy.attempts! };
  if (policy.retryOn !== undefined && policy.retryOn !== '') {
    const [retryOn, codes] = parseRetryOn(policy.retryOn);
    out.retry_on = retryOn;
    if (codes.length > 0) {
      out.retriable_status_codes = codes;
      if (!retryOn.includes('retriable-status-codes')) out.retry_on = `${retryOn},retriable-status-codes`;
    }
  }
  const perTry = parseDuration(policy.perTryTimeout);
  if (perTry !== undefined) out.per_try_timeout = perTry;
  if (policy.retryIgnorePreviousHosts !== undefined) {
    if (policy.retryIgnorePreviousHosts) out.retry_host_predicate = [previousHosts()];
    else delete out.retry_host_predicate;
  }
  if (policy.retryRemoteLocalities === true) out.retry_priority = previousPriorities();
  const backoff = parseDuration(policy.backoff);
  if (backoff !== undefined) out.retry_back_off = { base_interval: backoff };
  return out;
}
