// Envoy response flags (%RESPONSE_FLAGS%) and the mapping from how a request ended to the
// status, flags and response code details Envoy would report. Flags print in Envoy's canonical
// order, comma-separated; '-' when there are none.

import type { ResetReason } from './reset-reason.ts';
import { resetReasonToString } from './reset-reason.ts';
import type { RetryDecision } from './retry-state.ts';

export type ResponseFlag =
  | 'LH'
  | 'UH'
  | 'UT'
  | 'LR'
  | 'UR'
  | 'UF'
  | 'UC'
  | 'UO'
  | 'NR'
  | 'DI'
  | 'FI'
  | 'RL'
  | 'UAEX'
  | 'RLSE'
  | 'DC'
  | 'URX'
  | 'SI'
  | 'IH'
  | 'DPE'
  | 'UMSDR'
  | 'RFCF'
  | 'NFCF'
  | 'DT'
  | 'UPE'
  | 'NC'
  | 'OM'
  | 'DF'
  | 'DO'
  | 'DR'
  | 'UDO';

/** Short flag → long name, in Envoy's canonical order (StreamInfo::ResponseFlagUtils). */
export const RESPONSE_FLAG_LONG_NAMES: Readonly<Record<ResponseFlag, string>> = {
  LH: 'FailedLocalHealthCheck',
  UH: 'NoHealthyUpstream',
  UT: 'UpstreamRequestTimeout',
  LR: 'LocalReset',
  UR: 'UpstreamRemoteReset',
  UF: 'UpstreamConnectionFailure',
  UC: 'UpstreamConnectionTermination',
  UO: 'UpstreamOverflow',
  NR: 'NoRouteFound',
  DI: 'DelayInjected',
  FI: 'FaultInjected',
  RL: 'RateLimited',
  UAEX: 'UnauthorizedExternalService',
  RLSE: 'RateLimitServiceError',
  DC: 'DownstreamConnectionTermination',
  URX: 'UpstreamRetryLimitExceeded',
  SI: 'StreamIdleTimeout',
  IH: 'InvalidEnvoyRequestHeaders',
  DPE: 'DownstreamProtocolError',
  UMSDR: 'UpstreamMaxStreamDurationReached',
  RFCF: 'ResponseFromCacheFilter',
  NFCF: 'NoFilterConfigFound',
  DT: 'DurationTimeout',
  UPE: 'UpstreamProtocolError',
  NC: 'NoClusterFound',
  OM: 'OverloadManagerTerminated',
  DF: 'DnsResolutionFailed',
  DO: 'DropOverload',
  DR: 'DownstreamRemoteReset',
  UDO: 'UnconditionalDropOverload',
};

export const RESPONSE_FLAGS: readonly ResponseFlag[] = Object.keys(RESPONSE_FLAG_LONG_NAMES) as ResponseFlag[];

const ORDER = new Map<ResponseFlag, number>(RESPONSE_FLAGS.map((f, i) => [f, i]));

/** `UF,URX` style; `-` when empty. Duplicates collapse; order is Envoy's, not insertion order. */
export function formatResponseFlags(flags: Iterable<ResponseFlag>, long = false): string {
  const sorted = [...new Set(flags)].sort((a, b) => ORDER.get(a)! - ORDER.get(b)!);
  if (sorted.length === 0) return '-';
  return (long ? sorted.map((f) => RESPONSE_FLAG_LONG_NAMES[f]) : sorted).join(',');
}

/** Envoy's Router::Filter::streamResetReasonToResponseFlag. */
export function resetReasonFlag(reason: ResetReason): ResponseFlag {
  switch (reason) {
    case 'local_connection_failure':
    case 'remote_connection_failure':
    case 'connection_timeout':
      return 'UF';
    case 'connection_termination':
      return 'UC';
    case 'local_reset':
    case 'local_refused_stream_reset':
    case 'http1_premature_upstream_half_close':
      return 'LR';
    case 'overflow':
      return 'UO';
    case 'remote_reset':
    case 'remote_refused_stream_reset':
    case 'connect_error':
      return 'UR';
    case 'protocol_error':
      return 'UPE';
    case 'overload_manager':
      return 'OM';
  }
}

/** How a request ended, as far as the router is concerned. */
export type RequestOutcome =
  /** an upstream response was forwarded; `retry` is the retry state's last decision for it */
  | { readonly kind: 'response'; readonly status: number; readonly retry?: RetryDecision }
  /** the last attempt failed before response headers */
  | { readonly kind: 'reset'; readonly reason: ResetReason; readonly retry?: RetryDecision }
  /** the last attempt hit its per-try timeout */
  | { readonly kind: 'per_try_timeout'; readonly retry?: RetryDecision; readonly idle?: boolean }
  /** the route timeout (covering all attempts) fired */
  | { readonly kind: 'global_timeout' }
  | { readonly kind: 'no_healthy_upstream' }
  /** `responseCode` is the route's cluster_not_found_response_code (default 503) */
  | { readonly kind: 'no_cluster'; readonly responseCode?: number }
  | { readonly kind: 'no_route' }
  | { readonly kind: 'drop_overload' }
  | { readonly kind: 'max_stream_duration' }
  /** the client went away; `status` is what had been sent, 0 if nothing */
  | { readonly kind: 'downstream_disconnect'; readonly status?: number };

export interface RequestResult {
  /** HTTP status reported (0: no response) */
  readonly status: number;
  readonly flags: readonly ResponseFlag[];
  /** %RESPONSE_CODE_DETAILS% */
  readonly details: string;
  /** a local reply caused by a circuit breaker carries `x-envoy-overloaded: true` */
  readonly overloaded: boolean;
}

function retryFlags(flags: ResponseFlag[], retry: RetryDecision | undefined): void {
  if (retry === undefined || retry.action !== 'stop') return;
  if (retry.reason === 'retry_limit_exceeded') flags.push('URX');
  else if (retry.reason === 'overflow') flags.push('UO');
}

function result(status: number, flags: ResponseFlag[], details: string, overloaded = false): RequestResult {
  const sorted = [...new Set(flags)].sort((a, b) => ORDER.get(a)! - ORDER.get(b)!);
  return { status, flags: sorted, details, overloaded };
}

/**
 * Status, flags and details Envoy's router reports for an outcome. A retry that was wanted but
 * refused adds URX (attempts exhausted) or UO (max_retries / retry budget overflow) to the flags
 * of the failure it returns, e.g. `UF,URX` for connect failures that ran out of retries.
 */
export function requestResult(outcome: RequestOutcome): RequestResult {
  const flags: ResponseFlag[] = [];
  switch (outcome.kind) {
    case 'response':
      retryFlags(flags, outcome.retry);
      return result(outcome.status, flags, 'via_upstream');
    case 'reset': {
      retryFlags(flags, outcome.retry);
      flags.push(resetReasonFlag(outcome.reason));
      const status = outcome.reason === 'protocol_error' ? 502 : 503;
      const details = `upstream_reset_before_response_started{${resetReasonToString(outcome.reason).replaceAll(' ', '_')}}`;
      return result(status, flags, details, outcome.reason === 'overflow');
    }
    case 'per_try_timeout':
      retryFlags(flags, outcome.retry);
      flags.push('UT');
      return result(504, flags, outcome.idle === true ? 'upstream_per_try_idle_timeout' : 'upstream_per_try_timeout');
    case 'global_timeout':
      return result(504, ['UT'], 'upstream_response_timeout');
    case 'no_healthy_upstream':
      return result(503, ['UH'], 'no_healthy_upstream');
    case 'no_cluster':
      return result(outcome.responseCode ?? 503, ['NC'], 'cluster_not_found');
    case 'no_route':
      return result(404, ['NR'], 'route_not_found');
    case 'drop_overload':
      return result(503, ['DO'], 'drop_overload');
    case 'max_stream_duration':
      return result(408, ['UMSDR'], 'upstream_max_stream_duration_reached');
    case 'downstream_disconnect':
      return result(outcome.status ?? 0, ['DC'], 'downstream_remote_disconnect');
  }
}
