// retry_on conditions as a bit set, parsed the way Envoy's RetryStateImpl does: the route's
// retry_on accepts both HTTP and gRPC names; x-envoy-retry-on only HTTP names and
// x-envoy-retry-grpc-on only gRPC names. Unknown names are ignored.

export const RetryOn = {
  FIVE_XX: 1 << 0,
  GATEWAY_ERROR: 1 << 1,
  CONNECT_FAILURE: 1 << 2,
  RETRIABLE_4XX: 1 << 3,
  REFUSED_STREAM: 1 << 4,
  RETRIABLE_STATUS_CODES: 1 << 5,
  RETRIABLE_HEADERS: 1 << 6,
  RESET: 1 << 7,
  RESET_BEFORE_REQUEST: 1 << 8,
  ENVOY_RATE_LIMITED: 1 << 9,
  HTTP3_POST_CONNECT_FAILURE: 1 << 10,
  GRPC_CANCELLED: 1 << 11,
  GRPC_DEADLINE_EXCEEDED: 1 << 12,
  GRPC_RESOURCE_EXHAUSTED: 1 << 13,
  GRPC_UNAVAILABLE: 1 << 14,
  GRPC_INTERNAL: 1 << 15,
} as const;

export const GRPC_RETRY_ON =
  RetryOn.GRPC_CANCELLED |
  RetryOn.GRPC_DEADLINE_EXCEEDED |
  RetryOn.GRPC_RESOURCE_EXHAUSTED |
  RetryOn.GRPC_UNAVAILABLE |
  RetryOn.GRPC_INTERNAL;

const HTTP_NAMES: Readonly<Record<string, number>> = {
  '5xx': RetryOn.FIVE_XX,
  'gateway-error': RetryOn.GATEWAY_ERROR,
  'connect-failure': RetryOn.CONNECT_FAILURE,
  'envoy-ratelimited': RetryOn.ENVOY_RATE_LIMITED,
  'retriable-4xx': RetryOn.RETRIABLE_4XX,
  'refused-stream': RetryOn.REFUSED_STREAM,
  'retriable-status-codes': RetryOn.RETRIABLE_STATUS_CODES,
  'retriable-headers': RetryOn.RETRIABLE_HEADERS,
  reset: RetryOn.RESET,
  'reset-before-request': RetryOn.RESET_BEFORE_REQUEST,
  'http3-post-connect-failure': RetryOn.HTTP3_POST_CONNECT_FAILURE,
};

const GRPC_NAMES: Readonly<Record<string, number>> = {
  cancelled: RetryOn.GRPC_CANCELLED,
  'deadline-exceeded': RetryOn.GRPC_DEADLINE_EXCEEDED,
  'resource-exhausted': RetryOn.GRPC_RESOURCE_EXHAUSTED,
  unavailable: RetryOn.GRPC_UNAVAILABLE,
  internal: RetryOn.GRPC_INTERNAL,
};

/**
 * @param value a list of condition names, or a comma-separated string (header form)
 * @param names which vocabulary to accept
 */
export function parseRetryOn(value: string | readonly string[], names: 'http' | 'grpc' | 'both' = 'both'): number {
  const list = typeof value === 'string' ? value.split(',') : value;
  let bits = 0;
  for (const raw of list) {
    const name = raw.trim();
    if (name === '') continue;
    if (names !== 'grpc' && Object.hasOwn(HTTP_NAMES, name)) bits |= HTTP_NAMES[name]!;
    if (names !== 'http' && Object.hasOwn(GRPC_NAMES, name)) bits |= GRPC_NAMES[name]!;
  }
  return bits;
}
