// Failures of the outbound data plane, as error classes with stable codes that carry the Envoy
// response flags and the local reply Envoy would send. Before any response header reached the
// caller, the dispatcher turns them into that local reply (a real HTTP response); afterwards
// (e.g. the route timeout fires while the body streams) the caller's handler receives the error.
import { InboardError } from '@inboard/xds';
import type { ResetReason } from '../retry/reset-reason.ts';
import { resetReasonToString } from '../retry/reset-reason.ts';
import type { RequestResult, ResponseFlag } from '../retry/response-flags.ts';

export class MeshHttpError extends InboardError {
  /** status of the local reply (Envoy's) */
  readonly status: number;
  /** Envoy response flags, in Envoy's order */
  readonly responseFlags: readonly ResponseFlag[];
  /** %RESPONSE_CODE_DETAILS% */
  readonly details: string;
  /** the local reply carries `x-envoy-overloaded: true` (circuit breaker overflow) */
  readonly overloaded: boolean;
  /** the grpc-status of the local reply to a gRPC caller, when not the one its HTTP status maps to */
  readonly grpcStatus: number | undefined = undefined;

  constructor(code: string, message: string, result: RequestResult, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = result.status;
    this.responseFlags = result.flags;
    this.details = result.details;
    this.overloaded = result.overloaded;
  }

  /** The body of the local reply (Envoy's wording). */
  get replyBody(): string {
    return this.message;
  }
}

/**
 * The route timeout (covering every attempt and backoff) fired: 504, flag UT; 204 without a body
 * when the request asked for x-envoy-upstream-rq-timeout-alt-response.
 */
export class RouteTimeoutError extends MeshHttpError {
  readonly timeoutMs: number;
  readonly #alt: boolean;
  constructor(timeoutMs: number, altResponse = false) {
    super('INBOARD_HTTP_ROUTE_TIMEOUT', 'upstream request timeout', {
      status: altResponse ? 204 : 504,
      flags: ['UT'],
      details: 'upstream_response_timeout',
      overloaded: false,
    });
    this.timeoutMs = timeoutMs;
    this.#alt = altResponse;
  }

  override get replyBody(): string {
    return this.#alt ? '' : this.message;
  }
}

/**
 * Http::Utility::maybeRequestTimeoutCode: the connection manager's timeouts answer 504 once the
 * request was fully received, 408 while the caller was still sending it.
 */
export function requestTimeoutStatus(requestComplete: boolean): number {
  return requestComplete ? 504 : 408;
}

/** the grpc-status Envoy's connection manager sends when the stream duration limit expires */
const GRPC_DEADLINE_EXCEEDED = 4;

/**
 * The stream outlived its duration limit (the route's max_stream_duration, the grpc-timeout
 * under grpc_timeout_header_max, else the connection manager's max_stream_duration) before
 * response headers. Envoy's connection manager answers "downstream duration timeout": 504 once
 * the request was complete, else 408, DEADLINE_EXCEEDED to a gRPC caller, and sets no response
 * flag (UMSDR is the cluster's upstream max_stream_duration). After the headers the stream is
 * reset and the caller's handler gets this error.
 */
export class MaxStreamDurationError extends MeshHttpError {
  readonly durationMs: number;
  override readonly grpcStatus: number;
  constructor(durationMs: number, requestComplete = true) {
    super('INBOARD_HTTP_MAX_STREAM_DURATION', 'downstream duration timeout', {
      status: requestTimeoutStatus(requestComplete),
      flags: [],
      details: 'max_duration_timeout',
      overloaded: false,
    });
    this.durationMs = durationMs;
    this.grpcStatus = GRPC_DEADLINE_EXCEEDED;
  }
}

/**
 * The stream sat idle too long (the route's idle_timeout, else the connection manager's
 * stream_idle_timeout, Envoy's 5 min by default): "stream timeout", flag SI, 504 once the request
 * was complete, else 408, before response headers; the response body fails after them. Never
 * retried.
 */
export class StreamIdleTimeoutError extends MeshHttpError {
  constructor(options?: { cause?: unknown; requestComplete?: boolean }) {
    super(
      'INBOARD_HTTP_STREAM_IDLE_TIMEOUT',
      'stream timeout',
      {
        status: requestTimeoutStatus(options?.requestComplete ?? true),
        flags: ['SI'],
        details: 'stream_idle_timeout',
        overloaded: false,
      },
      options,
    );
  }
}

/**
 * A retry was waiting (backoff) when the streamed request body passed the buffer limit: the copy
 * the retry would resend is gone. Envoy's router answers 507 "exceeded request buffer limit while
 * retrying upstream" (details request_payload_exceeded_retry_buffer_limit), with no response flag.
 */
export class RetryBufferOverflowError extends MeshHttpError {
  constructor() {
    super('INBOARD_HTTP_RETRY_BUFFER_OVERFLOW', 'exceeded request buffer limit while retrying upstream', {
      status: 507,
      flags: [],
      details: 'request_payload_exceeded_retry_buffer_limit',
      overloaded: false,
    });
  }
}

/**
 * An attempt hit the per-try timeout, or went silent for the per-try idle timeout (`idle`), and
 * no retry followed: 504, flag UT (+ URX / UO).
 */
export class PerTryTimeoutError extends MeshHttpError {
  readonly timeoutMs: number;
  readonly idle: boolean;
  readonly #alt: boolean;
  /** `altResponse`: x-envoy-upstream-rq-timeout-alt-response, 204 without a body */
  constructor(timeoutMs: number, result?: RequestResult, idle = false, altResponse = false) {
    const r = result ?? {
      status: 504,
      flags: ['UT'],
      details: idle ? 'upstream_per_try_idle_timeout' : 'upstream_per_try_timeout',
      overloaded: false,
    };
    super('INBOARD_HTTP_PER_TRY_TIMEOUT', 'upstream request timeout', altResponse ? { ...r, status: 204 } : r);
    this.timeoutMs = timeoutMs;
    this.idle = idle;
    this.#alt = altResponse;
  }

  override get replyBody(): string {
    return this.#alt ? '' : this.message;
  }
}

/** A circuit breaker of the cluster is full (max_requests): 503, flag UO, x-envoy-overloaded. */
export class UpstreamOverflowError extends MeshHttpError {
  readonly cluster: string;
  constructor(cluster: string) {
    super(
      'INBOARD_HTTP_UPSTREAM_OVERFLOW',
      'upstream connect error or disconnect/reset before headers. reset reason: overflow',
      {
        status: 503,
        flags: ['UO'],
        details: 'upstream_reset_before_response_started{overflow}',
        overloaded: true,
      },
    );
    this.cluster = cluster;
  }
}

/** The cluster has no host to send to: 503, flag UH. */
export class NoHealthyUpstreamError extends MeshHttpError {
  readonly cluster: string;
  constructor(cluster: string) {
    super('INBOARD_HTTP_NO_HEALTHY_UPSTREAM', 'no healthy upstream', {
      status: 503,
      flags: ['UH'],
      details: 'no_healthy_upstream',
      overloaded: false,
    });
    this.cluster = cluster;
  }
}

/** The load assignment's drop_overload dropped the request: 503, flag DO. */
export class DropOverloadError extends MeshHttpError {
  readonly cluster: string;
  constructor(cluster: string) {
    super('INBOARD_HTTP_DROP_OVERLOAD', 'drop overload', {
      status: 503,
      flags: ['DO'],
      details: 'drop_overload',
      overloaded: false,
    });
    this.cluster = cluster;
  }
}

/**
 * The last attempt failed before response headers (connect failure, reset, connection closed):
 * 503 (502 for a protocol error) with UF / UC / UR / LR / UPE, plus URX or UO when a retry was
 * wanted but refused. `cause` is the underlying undici / socket error.
 */
export class UpstreamResetError extends MeshHttpError {
  readonly resetReason: ResetReason;
  /** Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON% of the attempt (access logs), when it has one */
  readonly transportFailureReason: string | undefined;
  constructor(reason: ResetReason, result: RequestResult, retried: boolean, cause: unknown) {
    const latest = retried ? 'retried and the latest reset reason' : 'reset reason';
    const transport = transportFailureReason(cause);
    super(
      'INBOARD_HTTP_UPSTREAM_RESET',
      `upstream connect error or disconnect/reset before headers. ${latest}: ${resetReasonToString(reason)}${
        transport === undefined ? '' : `, transport failure reason: ${transport}`
      }`,
      transport === undefined ? result : withTransportFailure(result, transport),
      { cause },
    );
    this.resetReason = reason;
    this.transportFailureReason = transport;
  }
}

/**
 * strerror() of the connect errors Node reports by code: the text Envoy's connection puts after
 * "delayed connect error: " (Linux wording).
 */
const CONNECT_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ETIMEDOUT: 'Connection timed out',
  EADDRNOTAVAIL: 'Cannot assign requested address',
};

/**
 * Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON% for a failed attempt: the TLS error, or "delayed
 * connect error: <strerror>" when the connect itself failed; nothing for a connection that was
 * reset or closed after it was up (Envoy records no reason then).
 */
function transportFailureReason(cause: unknown): string | undefined {
  if (cause instanceof UpstreamTlsError) return cause.transportFailureReason;
  if (!(cause instanceof Error)) return undefined;
  const e = cause as { code?: unknown; syscall?: unknown };
  if (e.syscall !== 'connect' || typeof e.code !== 'string') return undefined;
  const text = CONNECT_ERRORS[e.code];
  return text === undefined ? undefined : `delayed connect error: ${text}`;
}

/**
 * Envoy's router appends the transport failure reason to the details after a '|', whitespace
 * replaced: `upstream_reset_before_response_started{remote_connection_failure|TLS_error:_...}`.
 */
function withTransportFailure(result: RequestResult, reason: string): RequestResult {
  const d = result.details;
  if (!d.endsWith('}')) return result;
  return { ...result, details: `${d.slice(0, -1)}|${reason.replace(/\s/g, '_')}}` };
}

// ------------------------------------------------------------------ upstream TLS
// Not local replies themselves: they are the connection failures behind a 503 UF
// (UpstreamResetError's `cause`), retried like any connect failure.

/** A TLS connection to an endpoint could not be set up. */
export class UpstreamTlsError extends InboardError {
  /** Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON%: `TLS error: ...` (also the message) */
  readonly transportFailureReason: string;
  constructor(code: string, reason: string, options?: { cause?: unknown }) {
    super(code, `TLS error: ${reason}`, options);
    this.transportFailureReason = this.message;
  }
}

/**
 * The cluster's TLS context cannot be used here: its certificate provider instance is not in the
 * bootstrap (or the `certificateProviders` option), a file is missing or unreadable, a SAN regex
 * does not compile. Every connection to the cluster fails (local connection failure, 503 UF)
 * until the config or the files are fixed; other clusters are not affected.
 */
export class UpstreamTlsConfigError extends UpstreamTlsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INBOARD_HTTP_UPSTREAM_TLS_CONFIG', message, options);
  }
}

/**
 * The TLS handshake with an endpoint failed: the server's chain did not verify against the
 * cluster's CA, its SANs matched none of match_subject_alt_names, or the connection broke during
 * the handshake. `cause` is Node's error (or UpstreamSanMismatchError).
 */
export class UpstreamTlsHandshakeError extends UpstreamTlsError {
  constructor(cause: Error) {
    const code = (cause as { code?: unknown }).code;
    // Node's hint about system CAs does not apply: the mesh root comes from the provider files.
    const message = cause.message.replace(/; if the root CA is installed locally.*$/, '');
    super('INBOARD_HTTP_UPSTREAM_TLS_HANDSHAKE', typeof code === 'string' ? `${code}: ${message}` : message, {
      cause,
    });
  }
}

/**
 * The server certificate fails the SAN check, worded as Envoy's default validator words it: with
 * `expected` (auto_san_validation: the request's host) none of its SANs is that name (`verify cert
 * failed: verify SAN list`); without, none satisfies the cluster's match_subject_alt_names
 * (`verify cert failed: SAN matcher`).
 */
export class UpstreamSanMismatchError extends InboardError {
  /** the server certificate's SANs, `DNS:...` / `URI:...` / `email:...` / `IP:...` */
  readonly subjectAltNames: readonly string[];
  /** the names the certificate had to carry (auto_san_validation), else undefined */
  readonly expected: readonly string[] | undefined;
  constructor(subjectAltNames: readonly string[], expected?: readonly string[]) {
    const sans = subjectAltNames.join(', ');
    super(
      'INBOARD_HTTP_UPSTREAM_SAN_MISMATCH',
      expected === undefined
        ? `verify cert failed: SAN matcher, certificate SANs are [${sans}]`
        : `verify cert failed: verify SAN list, expected SANs: [${expected.join(', ')}], certificate SANs: [${sans}]`,
    );
    this.subjectAltNames = subjectAltNames;
    this.expected = expected;
  }
}

/** outboundTrafficPolicy REGISTRY_ONLY (`unknownHosts: 'reject'`): the host is not in the mesh. */
export class NotInMeshError extends MeshHttpError {
  readonly target: string;
  constructor(target: string) {
    super('INBOARD_HTTP_NOT_IN_MESH', `${target} is not a known mesh destination (unknownHosts: 'reject')`, {
      status: 502,
      flags: ['NR'],
      details: 'inboard_unknown_host',
      overloaded: false,
    });
    this.target = target;
  }
}
