// The retry state of one request (Envoy's Router::RetryStateImpl plus the router's use of it).
// After each failed attempt the caller asks whether to retry; the answer is a backoff delay or
// a stop reason, which also decides the final response flags (URX, UO).
//
//   const rs = new RetryState({ policy, requestHeaders, retries: breakers.retries });
//   for (;;) {
//     const host = cluster.pick({ previousHosts: rs.previousHosts, hostSelectionRetryCount: rs.hostSelectionRetryCount });
//     rs.onHostAttempted(host);
//     // send with `x-envoy-attempt-count: rs.attemptCount` ...
//     const d = rs.onResponse(status, headers) /* or onReset(reason) / onPerTryTimeout() */;
//     if (d.action === 'stop') { rs.finish(); break; }   // forward / reply; flags from requestResult()
//     await sleep(d.backoffMs); rs.beginRetry();
//   }
//
// Request headers: x-envoy-retry-on, x-envoy-retry-grpc-on, x-envoy-max-retries,
// x-envoy-retriable-status-codes, x-envoy-retriable-header-names and
// x-envoy-upstream-rq-per-try-timeout-ms are honoured by default. Envoy honours them only from
// "internal" clients (it strips them from external requests at the connection manager); an
// in-process client is the application itself, hence internal. Pass honorRetryHeaders: false
// for requests that carry untrusted headers. The caller strips these headers before sending
// upstream, as Envoy's router does (see RETRY_CONTROL_HEADERS).

import type { HeaderMatcher, RetryPolicy } from '@inboard/xds';
import type { ResourceLimit } from '../cluster/circuit-breakers.ts';
import { mathRandom, type RandomSource } from '../cluster/random-source.ts';
import { compileHeaderMatcher, type RequestPredicate } from '../route/header-matcher.ts';
import type { RouteRequest } from '../route/route-request.ts';
import { DEFAULT_BASE_INTERVAL_MS, JitteredExponentialBackoff } from './backoff.ts';
import { isConnectFailure, type ResetReason } from './reset-reason.ts';
import { GRPC_RETRY_ON, parseRetryOn, RetryOn } from './retry-on.ts';

/** A header by lower-case name: one value, several values, or undefined when absent. */
export type HeaderLookup = (name: string) => string | readonly string[] | undefined;

// Matchers belong to immutable snapshot objects: compile each once, with the route module's
// compiler (Envoy's HeaderUtility::matchHeaders semantics, RE2 included).
const compiledMatchers = new WeakMap<HeaderMatcher, RequestPredicate>();

/** Evaluates `matcher` against a header lookup (request or response headers). */
export function matchHeader(matcher: HeaderMatcher, headers: HeaderLookup): boolean {
  let pred = compiledMatchers.get(matcher);
  if (pred === undefined) {
    pred = compileHeaderMatcher(matcher);
    compiledMatchers.set(matcher, pred);
  }
  // Pseudo headers (`:method`, `:authority`/`host`, `:path`, `:scheme`) are read through the
  // lookup too; a lookup that does not know them yields ''.
  const req: RouteRequest = {
    method: pseudo(headers, ':method'),
    authority: pseudo(headers, ':authority'),
    path: pseudo(headers, ':path'),
    scheme: pseudo(headers, ':scheme'),
    headers,
  };
  return pred(req);
}

function pseudo(headers: HeaderLookup, name: string): string {
  const v = headers(name);
  if (v === undefined) return '';
  return typeof v === 'string' ? v : v.join(',');
}

export const PREVIOUS_HOSTS_PREDICATE = 'envoy.retry_host_predicates.previous_hosts';

/** Request headers that steer retries; removed before the request goes upstream. */
export const RETRY_CONTROL_HEADERS: readonly string[] = [
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-hedge-on-per-try-timeout',
  'x-envoy-retriable-header-names',
  'x-envoy-retriable-status-codes',
  'x-envoy-upstream-rq-per-try-timeout-ms',
];

export type RetryStopReason =
  /** the outcome is not retriable under the policy (or there is no policy) */
  | 'not_retriable'
  /** retriable, but num_retries (or x-envoy-max-retries) is used up: flag URX */
  | 'retry_limit_exceeded'
  /** retriable, but the cluster's max_retries breaker / retry budget is full: flag UO */
  | 'overflow';

export type RetryDecision =
  | { readonly action: 'retry'; readonly backoffMs: number }
  | { readonly action: 'stop'; readonly reason: RetryStopReason };

export interface RetryStateOptions {
  /** the effective policy (route-level if set, else virtual-host-level); undefined: none */
  readonly policy: RetryPolicy | undefined;
  readonly requestHeaders?: HeaderLookup;
  /** honour x-envoy-* retry headers (default true: in-process requests are internal) */
  readonly honorRetryHeaders?: boolean;
  /** the cluster's retries circuit breaker for the route's priority */
  readonly retries?: ResourceLimit;
  readonly random?: RandomSource;
  /** matcher evaluation; defaults to Envoy's HeaderMatcher semantics */
  readonly matchHeader?: (matcher: HeaderMatcher, headers: HeaderLookup) => boolean;
}

/** What a RetryState takes from its policy, derived once per (immutable) policy object. */
interface PolicyDefaults {
  readonly retryOn: number;
  readonly numRetries: number;
  readonly codes: readonly number[];
  readonly retriableHeaders: readonly HeaderMatcher[];
  readonly requestMatchers: readonly HeaderMatcher[];
  readonly hostSelectionMaxAttempts: number;
  readonly usePreviousHosts: boolean;
  readonly backoffBase: number;
  readonly backoffMax: number | undefined;
  readonly perTryTimeout: number | undefined;
}

const NO_POLICY: PolicyDefaults = {
  retryOn: 0,
  numRetries: 1,
  codes: [],
  retriableHeaders: [],
  requestMatchers: [],
  hostSelectionMaxAttempts: 1,
  usePreviousHosts: false,
  backoffBase: DEFAULT_BASE_INTERVAL_MS,
  backoffMax: undefined,
  perTryTimeout: undefined,
};

const policyDefaults = new WeakMap<RetryPolicy, PolicyDefaults>();

function defaultsOf(policy: RetryPolicy | undefined): PolicyDefaults {
  if (policy === undefined) return NO_POLICY;
  let d = policyDefaults.get(policy);
  if (d === undefined) {
    d = {
      retryOn: parseRetryOn(policy.retryOn, 'both'),
      numRetries: policy.numRetries,
      codes: policy.retriableStatusCodes,
      retriableHeaders: policy.retriableHeaders,
      requestMatchers: policy.retriableRequestHeaders,
      hostSelectionMaxAttempts: policy.hostSelectionRetryMaxAttempts > 0 ? policy.hostSelectionRetryMaxAttempts : 1,
      usePreviousHosts: policy.hostPredicates.includes(PREVIOUS_HOSTS_PREDICATE),
      backoffBase: policy.backOff?.baseInterval ?? DEFAULT_BASE_INTERVAL_MS,
      backoffMax: policy.backOff?.maxInterval,
      perTryTimeout: policy.perTryTimeout,
    };
    policyDefaults.set(policy, d);
  }
  return d;
}

/**
 * Whether a first-attempt response could be retried under `policy` (x-envoy-* request headers
 * aside). False means RetryState.onResponse would say not_retriable, so a caller may skip
 * creating a RetryState for the ordinary response.
 */
export function mayRetryResponse(policy: RetryPolicy | undefined, status: number, headers: HeaderLookup): boolean {
  const d = defaultsOf(policy);
  const on = d.retryOn;
  if (on === 0) return false;
  // wouldRetryFromHeaders reads x-envoy-ratelimited before any status
  if (on & RetryOn.ENVOY_RATE_LIMITED && headers('x-envoy-ratelimited') !== undefined) return true;
  if (status >= 500 || status === 409 || status === 425) return true;
  if (on & RetryOn.RETRIABLE_STATUS_CODES && d.codes.includes(status)) return true;
  if (on & RetryOn.RETRIABLE_HEADERS && d.retriableHeaders.length > 0) return true;
  if (on & GRPC_RETRY_ON && headers('grpc-status') !== undefined) return true;
  return false;
}

/** The per-try timeout of a policy (ms), or undefined: see RetryState.perTryTimeout. */
export function policyPerTryTimeout(policy: RetryPolicy | undefined, routeTimeout: number): number | undefined {
  const t = policy?.perTryTimeout;
  if (t === undefined || t === 0) return undefined;
  if (routeTimeout !== 0 && t >= routeTimeout) return undefined;
  return t;
}

const EMPTY_HOSTS: ReadonlySet<string> = new Set();

const STOP_NOT_RETRIABLE: RetryDecision = { action: 'stop', reason: 'not_retriable' };
const STOP_LIMIT: RetryDecision = { action: 'stop', reason: 'retry_limit_exceeded' };
const STOP_OVERFLOW: RetryDecision = { action: 'stop', reason: 'overflow' };

function headerValue(headers: HeaderLookup | undefined, name: string): string | undefined {
  const v = headers?.(name);
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(',');
}

function parseUint(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

export class RetryState {
  /** the retry_on conditions in force for this request (RetryOn bits) */
  readonly retryOn: number;
  retriesRemaining: number;
  /** x-envoy-attempt-count of the current attempt (1 for the first) */
  attemptCount = 1;
  readonly retriableStatusCodes: readonly number[];
  readonly hostSelectionMaxAttempts: number;
  // created on first use: most requests never retry
  #previousHosts: Set<string> | undefined;
  private readonly usePreviousHosts: boolean;
  private readonly retriableHeaders: readonly HeaderMatcher[];
  #backoff: JitteredExponentialBackoff | undefined;
  readonly #backoffBase: number;
  readonly #backoffMax: number | undefined;
  readonly #random: RandomSource;
  private readonly retries: ResourceLimit | undefined;
  private readonly match: (matcher: HeaderMatcher, headers: HeaderLookup) => boolean;
  private readonly requestHeaders: HeaderLookup | undefined;
  private readonly perTryTimeoutMs: number | undefined;
  private holdingRetry = false;
  private requestStarted = false;

  constructor(options: RetryStateOptions) {
    const policy = options.policy;
    const headers = options.requestHeaders;
    const honor = options.honorRetryHeaders ?? true;
    this.match = options.matchHeader ?? matchHeader;
    this.requestHeaders = headers;
    this.retries = options.retries;
    const random = options.random ?? mathRandom;
    const d = defaultsOf(policy);

    let retryOn = d.retryOn;
    let remaining = d.numRetries;
    let codes = d.codes;
    let retriableHeaders = d.retriableHeaders;

    if (honor) {
      const on = headerValue(headers, 'x-envoy-retry-on');
      if (on !== undefined) retryOn |= parseRetryOn(on, 'http');
      const grpcOn = headerValue(headers, 'x-envoy-retry-grpc-on');
      if (grpcOn !== undefined) retryOn |= parseRetryOn(grpcOn, 'grpc');
    }
    const requestMatchers = d.requestMatchers;
    if (requestMatchers.length > 0) {
      const h = headers ?? (() => undefined);
      if (!requestMatchers.some((m) => this.match(m, h))) retryOn = 0;
    }
    if (honor) {
      if (retryOn !== 0) {
        const max = parseUint(headerValue(headers, 'x-envoy-max-retries'));
        if (max !== undefined) remaining = max;
      }
      const statusCodes = headerValue(headers, 'x-envoy-retriable-status-codes');
      if (statusCodes !== undefined) {
        const more: number[] = [];
        for (const c of statusCodes.split(',')) {
          const n = parseUint(c);
          if (n !== undefined) more.push(n);
        }
        codes = [...codes, ...more];
      }
      const names = headerValue(headers, 'x-envoy-retriable-header-names');
      if (names !== undefined) {
        const more: HeaderMatcher[] = [];
        for (const raw of names.split(',')) {
          const name = raw.trim().toLowerCase();
          if (name === '') continue;
          // A bare name matches when the header is present.
          more.push({
            name,
            match: { kind: 'present', present: true },
            invert: false,
            treatMissingHeaderAsEmpty: false,
          });
        }
        retriableHeaders = [...retriableHeaders, ...more];
      }
    }
    this.retryOn = retryOn;
    this.retriesRemaining = remaining;
    this.retriableStatusCodes = codes;
    this.retriableHeaders = retriableHeaders;
    this.hostSelectionMaxAttempts = d.hostSelectionMaxAttempts;
    this.usePreviousHosts = d.usePreviousHosts;
    this.#backoffBase = d.backoffBase;
    this.#backoffMax = d.backoffMax;
    this.#random = random;
    const headerPerTry = honor ? parseUint(headerValue(headers, 'x-envoy-upstream-rq-per-try-timeout-ms')) : undefined;
    this.perTryTimeoutMs = headerPerTry ?? d.perTryTimeout;
  }

  /** Keys of hosts tried so far; populated only when the previous_hosts predicate is configured. */
  get previousHosts(): ReadonlySet<string> {
    return this.#previousHosts ?? EMPTY_HOSTS;
  }

  /** Whether any retry can happen for this request. */
  get enabled(): boolean {
    return this.retryOn !== 0;
  }

  /**
   * The per-try timeout in force (x-envoy-upstream-rq-per-try-timeout-ms over the policy), or
   * undefined for none: Envoy ignores a per-try timeout ≥ a non-zero route timeout.
   * @param routeTimeout the route's total timeout in ms (0: none)
   */
  perTryTimeout(routeTimeout: number): number | undefined {
    const t = this.perTryTimeoutMs;
    if (t === undefined || t === 0) return undefined;
    if (routeTimeout !== 0 && t >= routeTimeout) return undefined;
    return t;
  }

  /** Envoy's hostSelectionRetryCount for the LB pick of the current attempt. */
  get hostSelectionRetryCount(): number {
    return this.attemptCount === 1 ? 1 : this.hostSelectionMaxAttempts;
  }

  /** Record the host an attempt went to (feeds the previous_hosts predicate). */
  onHostAttempted(host: { readonly key: string } | undefined): void {
    if (host !== undefined && this.usePreviousHosts) (this.#previousHosts ??= new Set()).add(host.key);
  }

  /** The previous_hosts predicate: true when the LB should pick again. */
  shouldSelectAnotherHost(host: { readonly key: string }): boolean {
    return this.usePreviousHosts && this.#previousHosts?.has(host.key) === true;
  }

  /**
   * Mark that request bytes of the current attempt reached the upstream (reset-before-request
   * stops applying for the rest of the request).
   */
  markRequestStarted(): void {
    this.requestStarted = true;
  }

  /** After response headers of an attempt. `headers` are the response headers. */
  onResponse(status: number, headers: HeaderLookup): RetryDecision {
    return this.shouldRetry(this.wouldRetryFromHeaders(status, headers));
  }

  /**
   * After an attempt failed without response headers.
   * @param requestStarted whether any request bytes were sent upstream on this attempt
   */
  onReset(reason: ResetReason, requestStarted = false): RetryDecision {
    if (requestStarted) this.requestStarted = true;
    return this.shouldRetry(this.wouldRetryFromReset(reason));
  }

  /**
   * After the per-try timeout fired (handled as a local reset: retried under 5xx, gateway-error,
   * reset; the final reply is 504 UT).
   */
  onPerTryTimeout(requestStarted = true): RetryDecision {
    return this.onReset('local_reset', requestStarted);
  }

  /** Call when the backoff has elapsed and the next attempt starts. Returns its attempt count. */
  beginRetry(): number {
    return ++this.attemptCount;
  }

  /** Call when the request is over (releases the retry circuit breaker slot, if held). */
  finish(): void {
    this.releaseRetry();
  }

  private releaseRetry(): void {
    if (this.holdingRetry) {
      this.holdingRetry = false;
      this.retries?.release();
    }
  }

  /** 0: no, 1: retry with backoff, 2: retry immediately */
  private wouldRetryFromHeaders(status: number, headers: HeaderLookup): number {
    const on = this.retryOn;
    if (on === 0) return 0;
    // A response rate limited by an upstream Envoy is retried only under envoy-ratelimited.
    if (headers('x-envoy-ratelimited') !== undefined) return on & RetryOn.ENVOY_RATE_LIMITED ? 1 : 0;
    if (on & RetryOn.FIVE_XX && status >= 500 && status < 600) return 1;
    if (on & RetryOn.GATEWAY_ERROR && (status === 502 || status === 503 || status === 504)) return 1;
    if (on & RetryOn.RETRIABLE_4XX && status === 409) return 1;
    if (on & RetryOn.RETRIABLE_STATUS_CODES) {
      const codes = this.retriableStatusCodes;
      for (let i = 0; i < codes.length; i++) {
        const code = codes[i]!;
        if (code !== status) continue;
        if (code !== 425) return 1;
        // 425 Too Early: retry at once unless the downstream request itself was early data.
        if (this.requestHeaders?.('early-data') === undefined) return 2;
      }
    }
    if (on & RetryOn.RETRIABLE_HEADERS) {
      const matchers = this.retriableHeaders;
      for (let i = 0; i < matchers.length; i++) if (this.match(matchers[i]!, headers)) return 1;
    }
    if (on & GRPC_RETRY_ON) {
      // Only grpc-status in the response headers (trailers-only responses) is considered.
      const g = parseUint(headerValue(headers, 'grpc-status'));
      if (g !== undefined) {
        if (
          (g === 1 && on & RetryOn.GRPC_CANCELLED) ||
          (g === 4 && on & RetryOn.GRPC_DEADLINE_EXCEEDED) ||
          (g === 8 && on & RetryOn.GRPC_RESOURCE_EXHAUSTED) ||
          (g === 14 && on & RetryOn.GRPC_UNAVAILABLE) ||
          (g === 13 && on & RetryOn.GRPC_INTERNAL)
        ) {
          return 1;
        }
      }
    }
    return 0;
  }

  private wouldRetryFromReset(reason: ResetReason): number {
    const on = this.retryOn;
    // A circuit breaker overflow is never retried.
    if (reason === 'overflow' || on === 0) return 0;
    if (isConnectFailure(reason) && on & RetryOn.CONNECT_FAILURE) return 1;
    if (on & RetryOn.RESET_BEFORE_REQUEST && !this.requestStarted) return 1;
    if (on & RetryOn.RESET) return 1;
    // An upstream reset counts as a 5xx (it will become a 503).
    if (on & (RetryOn.FIVE_XX | RetryOn.GATEWAY_ERROR)) return 1;
    if (on & RetryOn.REFUSED_STREAM && reason === 'remote_refused_stream_reset') return 1;
    return 0;
  }

  private shouldRetry(would: number): RetryDecision {
    // The outcome of the previous retry is known: its breaker slot is released.
    this.releaseRetry();
    if (would === 0) return STOP_NOT_RETRIABLE;
    if (this.retriesRemaining === 0) return STOP_LIMIT;
    this.retriesRemaining--;
    if (this.retries !== undefined) {
      if (!this.retries.canCreate()) return STOP_OVERFLOW;
      this.retries.acquire();
      this.holdingRetry = true;
    }
    if (would === 2) return { action: 'retry', backoffMs: 0 };
    this.#backoff ??= new JitteredExponentialBackoff(this.#backoffBase, this.#backoffMax, this.#random);
    return { action: 'retry', backoffMs: this.#backoff.nextBackOffMs() };
  }
}
