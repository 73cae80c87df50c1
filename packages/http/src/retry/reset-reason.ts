// Why an upstream stream ended without (complete) response headers: Envoy's
// Http::StreamResetReason, with the response flag and the wording Envoy uses for each.

export type ResetReason =
  /** connect() failed locally (e.g. no route, refused before TCP) */
  | 'local_connection_failure'
  /** the peer refused or reset the connection attempt */
  | 'remote_connection_failure'
  /** connect timeout (cluster connect_timeout) */
  | 'connection_timeout'
  /** the connection closed under an active stream */
  | 'connection_termination'
  /** reset by us (e.g. per-try timeout cancels the attempt) */
  | 'local_reset'
  | 'local_refused_stream_reset'
  /** RST_STREAM / stream error from the upstream */
  | 'remote_reset'
  /** HTTP/2 REFUSED_STREAM from the upstream (safe to retry) */
  | 'remote_refused_stream_reset'
  /** CONNECT request answered with an error */
  | 'connect_error'
  | 'protocol_error'
  /** a circuit breaker refused the stream (never retried) */
  | 'overflow'
  | 'overload_manager'
  | 'http1_premature_upstream_half_close';

/** True for the reasons Envoy treats as connection (pool) failures for `connect-failure`. */
export function isConnectFailure(reason: ResetReason): boolean {
  return (
    reason === 'local_connection_failure' || reason === 'remote_connection_failure' || reason === 'connection_timeout'
  );
}

/** Envoy's Http::Utility::resetReasonToString. */
export function resetReasonToString(reason: ResetReason): string {
  switch (reason) {
    case 'local_connection_failure':
      return 'local connection failure';
    case 'remote_connection_failure':
      return 'remote connection failure';
    case 'connection_timeout':
      return 'connection timeout';
    case 'connection_termination':
      return 'connection termination';
    case 'local_reset':
      return 'local reset';
    case 'local_refused_stream_reset':
      return 'local refused stream reset';
    case 'remote_reset':
      return 'remote reset';
    case 'remote_refused_stream_reset':
      return 'remote refused stream reset';
    case 'connect_error':
      return 'remote error with CONNECT request';
    case 'protocol_error':
      return 'protocol error';
    case 'overflow':
      return 'overflow';
    case 'overload_manager':
      return 'overload manager reset';
    case 'http1_premature_upstream_half_close':
      return 'HTTP/1 premature upstream half close';
  }
}
