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

/** The route timeout (covering every attempt and backoff) fired: 504, flag UT. */
export class RouteTimeoutError extends MeshHttpError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super('INBOARD_HTTP_ROUTE_TIMEOUT', 'upstream request timeout', {
      status: 504,
      flags: ['UT'],
      details: 'upstream_response_timeout',
      overloaded: false,
    });
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The stream outlived the route's max_stream_duration (or the connection manager's default)
 * before response headers: 408, as Envoy's connection manager answers, flagged UMSDR. After the
 * headers the stream is reset and the caller's handler gets this error.
 */
export class MaxStreamDurationError extends MeshHttpError {
  readonly durationMs: number;
  constructor(durationMs: number) {
    super('INBOARD_HTTP_MAX_STREAM_DURATION', 'downstream duration timeout', {
      status: 408,
      flags: ['UMSDR'],
      details: 'max_duration_timeout',
      overloaded: false,
    });
    this.durationMs = durationMs;
  }
}

/** An attempt hit the per-try timeout and no retry followed: 504, flag UT (+ URX / UO). */
export class PerTryTimeoutError extends MeshHttpError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, result?: RequestResult) {
    super(
      'INBOARD_HTTP_PER_TRY_TIMEOUT',
      'upstream request timeout',
      result ?? { status: 504, flags: ['UT'], details: 'upstream_per_try_timeout', overloaded: false },
    );
    this.timeoutMs = timeoutMs;
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
  constructor(reason: ResetReason, result: RequestResult, retried: boolean, cause: unknown) {
    const latest = retried ? 'retried and the latest reset reason' : 'reset reason';
    const transport = cause instanceof Error ? `, transport failure reason: ${cause.message}` : '';
    super(
      'INBOARD_HTTP_UPSTREAM_RESET',
      `upstream connect error or disconnect/reset before headers. ${latest}: ${resetReasonToString(reason)}${transport}`,
      result,
      { cause },
    );
    this.resetReason = reason;
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
