// Retry decisions and final response flags.

export { DEFAULT_BASE_INTERVAL_MS, JitteredExponentialBackoff } from './backoff.ts';
export { isConnectFailure, type ResetReason, resetReasonToString } from './reset-reason.ts';
export {
  formatResponseFlags,
  RESPONSE_FLAG_LONG_NAMES,
  RESPONSE_FLAGS,
  type RequestOutcome,
  type RequestResult,
  type ResponseFlag,
  requestResult,
  resetReasonFlag,
} from './response-flags.ts';
export { GRPC_RETRY_ON, parseRetryOn, RetryOn } from './retry-on.ts';
export {
  type HeaderLookup,
  matchHeader,
  mayRetryResponse,
  PREVIOUS_HOSTS_PREDICATE,
  policyPerTryTimeout,
  RETRY_CONTROL_HEADERS,
  type RetryDecision,
  RetryState,
  type RetryStateOptions,
  type RetryStopReason,
} from './retry-state.ts';
