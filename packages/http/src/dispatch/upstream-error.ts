// undici / socket errors of an attempt → Envoy's stream reset reasons, which decide retries
// (retry_on), outlier detection (local-origin results) and the response flags. Errors that are
// not upstream failures (a bad argument, the caller's own abort) map to undefined: they are
// passed to the caller untouched and never retried.
import { errors } from 'undici';
import type { LocalOriginResult } from '../cluster/outlier-detector.ts';
import type { ResetReason } from '../retry/reset-reason.ts';
import {
  MeshHttpError,
  PerTryTimeoutError,
  RouteTimeoutError,
  UpstreamOverflowError,
  UpstreamTlsConfigError,
  UpstreamTlsHandshakeError,
} from './errors.ts';

const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'EPIPE',
  'UND_ERR_SOCKET',
]);

const CONNECT_TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** Errors after the request went out that mean the connection went away. */
const TERMINATIONS = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED', 'ETIMEDOUT']);

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** undici's header / body timeout: the stream idle timeout (the route's idle_timeout sets both). */
export function isStreamIdleTimeout(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

/**
 * The reset reason of a failed attempt, or undefined when `err` is not an upstream failure.
 * @param requestStarted whether the attempt got a connection (undici called onRequestStart)
 */
export function resetReasonOf(err: unknown, requestStarted: boolean): ResetReason | undefined {
  if (err instanceof UpstreamOverflowError) return 'overflow';
  if (err instanceof PerTryTimeoutError || err instanceof RouteTimeoutError) return 'local_reset';
  if (err instanceof MeshHttpError) return undefined;
  // Upstream TLS (the cluster's transport socket): our own files or config → a local failure;
  // a handshake the server or its certificate failed → a remote one. Both are UF.
  if (err instanceof UpstreamTlsConfigError) return 'local_connection_failure';
  if (err instanceof UpstreamTlsHandshakeError) return 'remote_connection_failure';
  // undici's llhttp errors carry no code (undici 8 builds them with an undefined one)
  if (err instanceof errors.HTTPParserError) return 'protocol_error';
  const code = codeOf(err);
  if (code === '') return undefined;
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.includes('CERT')) {
    return 'remote_connection_failure';
  }
  if (!requestStarted) {
    if (CONNECT_TIMEOUTS.has(code)) return 'connection_timeout';
    if (CONNECT_FAILURES.has(code)) return 'remote_connection_failure';
  }
  if (TERMINATIONS.has(code)) return 'connection_termination';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'local_reset';
  if (code.startsWith('HPE_') || code === 'UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE' || code === 'UND_ERR_HEADERS_OVERFLOW') {
    return 'protocol_error';
  }
  if (code === 'ERR_HTTP2_STREAM_ERROR' || code === 'ERR_HTTP2_SESSION_ERROR' || code === 'ERR_HTTP2_GOAWAY_SESSION') {
    const message = err instanceof Error ? err.message : '';
    return message.includes('REFUSED_STREAM') ? 'remote_refused_stream_reset' : 'remote_reset';
  }
  if (code === 'UND_ERR_INFO') return 'connection_termination';
  return undefined;
}

/** What outlier detection records for a failed attempt (undefined: nothing). */
export function localOriginOf(err: unknown, reason: ResetReason | undefined): LocalOriginResult | undefined {
  if (err instanceof PerTryTimeoutError || err instanceof RouteTimeoutError) return 'timeout';
  // Unusable certificate files are this process's problem, not the host's: no ejection for them.
  if (err instanceof UpstreamTlsConfigError) return undefined;
  switch (reason) {
    case undefined:
    case 'overflow':
      return undefined;
    case 'local_connection_failure':
    case 'remote_connection_failure':
      return 'connect_failure';
    case 'connection_timeout':
      return 'timeout';
    default:
      return 'reset';
  }
}
