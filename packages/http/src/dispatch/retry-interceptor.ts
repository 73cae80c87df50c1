// The retry layer: runs a routed request as one or more upstream attempts under the route's
// retry policy (RetryState), the way Envoy's router does.
//   - every attempt goes back through endpoint selection (so previous_hosts can avoid a host);
//   - a per-try timeout starts when the attempt gets its connection (and the request is complete)
//     and ends at response headers;
//   - a retriable response is drained and dropped, and the next attempt starts after the
//     jittered backoff (timers from the injected clock);
//   - the first response that is not retried is committed: from then on its headers and body go
//     to the caller, and nothing is retried any more;
//   - a failure that is not retried becomes the final error, which the exchange turns into
//     Envoy's local reply (503 UF,URX, 504 UT, 503 UO...).
// A streamed request body goes to each attempt through its own reader: the chunks kept so far,
// then those still arriving. Once it passes the buffer limit nothing is retried any more, and a
// retry waiting in its backoff at that moment becomes Envoy's 507.
import type { Clock, RetryPolicy, TimerHandle } from '@inboard/xds';
import type { Dispatcher } from 'undici';
import type { RandomSource } from '../cluster/random-source.ts';
import { requestResult } from '../retry/response-flags.ts';
import {
  mayRetryResponse,
  policyPerTryTimeout,
  RETRY_CONTROL_HEADERS,
  type RetryDecision,
  RetryState,
} from '../retry/retry-state.ts';
import { formatGrpcTimeout } from '../route/grpc.ts';
import type { BodyReader } from './body-buffer.ts';
import {
  MeshHttpError,
  PerTryTimeoutError,
  RetryBufferOverflowError,
  StreamIdleTimeoutError,
  UpstreamOverflowError,
  UpstreamResetError,
} from './errors.ts';
import { type AttemptEvent, attemptEndChannel, attemptStartChannel } from './events.ts';
import {
  ATTEMPT_COUNT_HEADER,
  type Exchange,
  kExchange,
  type MeshDispatchOptions,
  type UpstreamCanceller,
} from './exchange.ts';
import { HAS_ENVOY } from './header-record.ts';
import { isStreamIdleTimeout, resetReasonOf } from './upstream-error.ts';

type DispatchOptions = Dispatcher.DispatchOptions;
type DispatchHandler = Dispatcher.DispatchHandler;
type DispatchController = Dispatcher.DispatchController;
type Dispatch = (opts: DispatchOptions, handler: DispatchHandler) => boolean;

const EXPECTED_RQ_TIMEOUT = 'x-envoy-expected-rq-timeout-ms';

/** Response body bytes drained from a retried attempt before its connection is dropped instead. */
const DISCARD_LIMIT = 64 * 1024;

export interface RetryInterceptorOptions {
  readonly clock: Clock;
  readonly random: RandomSource;
  /** honour x-envoy-retry-on & co. (in-process callers are internal) */
  readonly honorEnvoyHeaders: boolean;
  /**
   * send x-envoy-attempt-count upstream on every attempt: true / false override the virtual
   * host's include_request_attempt_count, which decides when undefined
   */
  readonly attemptCountHeader: boolean | undefined;
}

const STOP: RetryDecision = { action: 'stop', reason: 'not_retriable' };

const PENDING = 0;
const COMMITTED = 1;
const DISCARDING = 2;
const FINISHED = 3;

/**
 * The handler of one upstream attempt. The first attempt's handler is the RetryDriver itself
 * (it extends Attempt), so a request that is not retried costs one object here.
 */
class Attempt implements DispatchHandler {
  readonly #driver: RetryDriver;
  #controller: DispatchController | undefined;
  /** undici gave the attempt a connection (request bytes may have gone out) */
  started = false;
  /** the per-try timeout fired */
  timedOut = false;
  /** what undici sends of a streamed request body for this attempt */
  reader: BodyReader | undefined;
  /** the per-try timers wait for the end of the request body */
  #timersDeferred = false;
  #state = PENDING;
  #abortReason: Error | undefined;
  #timer: TimerHandle | undefined;
  #idleTimer: TimerHandle | undefined;
  #lastActivity = 0;
  #discarded = 0;
  /** the attempt's telemetry event, while someone listens (published again when it ends) */
  event: AttemptEvent | undefined;

  /** `driver` undefined: this is the driver (the first attempt). */
  constructor(driver?: RetryDriver) {
    this.#driver = driver ?? (this as unknown as RetryDriver);
  }

  get committed(): boolean {
    return this.#state === COMMITTED;
  }

  /**
   * Publishes the end of this attempt on the attempt-end channel (once); returns the
   * performance.now() reading it carries (-1 when there was no event).
   */
  endEvent(status: number, error: Error | undefined): number {
    const e = this.event;
    if (e === undefined) return -1;
    this.event = undefined;
    e.endedAt = performance.now();
    e.endpoint = this.#driver.ex.host?.key;
    e.status = status;
    e.error = error;
    if (attemptEndChannel.hasSubscribers) attemptEndChannel.publish(e);
    return e.endedAt;
  }

  abort(reason: Error): void {
    this.reader?.close(reason);
    if (this.#state === FINISHED) return;
    this.#abortReason ??= reason;
    this.#controller?.abort(reason);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      this.#timer.cancel();
      this.#timer = undefined;
    }
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer !== undefined) {
      this.#idleTimer.cancel();
      this.#idleTimer = undefined;
    }
  }

  /** Response headers or body from the upstream: the per-try idle interval starts again. */
  #touch(): void {
    if (this.#idleTimer !== undefined) this.#lastActivity = this.#driver.clock.now();
  }

  // Envoy's per_try_idle_timeout: armed when the attempt gets its stream, reset by every response
  // header and body event, and unlike the per-try timeout it still runs while the body streams.
  // Activity only records the time; the timer re-arms itself for the rest when it fires early.
  #onIdle(ms: number): void {
    const clock = this.#driver.clock;
    const left = this.#lastActivity + ms - clock.now();
    if (left > 0) {
      this.#idleTimer = clock.setTimeout(() => this.#onIdle(ms), left);
      return;
    }
    this.#idleTimer = undefined;
    this.timedOut = true;
    this.abort(new PerTryTimeoutError(ms, undefined, true));
  }

  onRequestStart(controller: DispatchController, _context: unknown): void {
    this.#controller = controller;
    this.started = true;
    if (this.#abortReason !== undefined) {
      controller.abort(this.#abortReason);
      return;
    }
    // Envoy's upstream request sets up both per-try timers once it has its stream and the
    // downstream request is complete, whichever comes last.
    if (this.#driver.ex.requestComplete) this.#armTimers(true);
    else this.#timersDeferred = true;
  }

  /** The streamed request body ended: the per-try timers start if they were waiting for it. */
  requestComplete(): void {
    if (!this.#timersDeferred) return;
    this.#timersDeferred = false;
    if (this.#state === PENDING) this.#armTimers(true);
    else if (this.#state === COMMITTED) this.#armTimers(false);
  }

  #armTimers(perTry: boolean): void {
    const ms = this.#driver.perTryMs;
    if (perTry && ms !== undefined) {
      this.#timer = this.#driver.clock.setTimeout(() => {
        this.#timer = undefined;
        this.timedOut = true;
        this.abort(new PerTryTimeoutError(ms));
      }, ms);
    }
    const idle = this.#driver.perTryIdleMs;
    if (idle !== undefined) {
      const clock = this.#driver.clock;
      this.#lastActivity = clock.now();
      this.#idleTimer = clock.setTimeout(() => this.#onIdle(idle), idle);
    }
  }

  /**
   * The response ended before the request body: the body ends here, so undici stops sending it
   * (over HTTP/1.1 it drops the connection of a request still being written; an HTTP/2 stream is
   * closed rather than left half open). Envoy resets such a stream; undici cannot once the
   * response is complete (its abort is ignored then, and a failing body leaves the stream half
   * open), so an HTTP/2 upstream sees END_STREAM after what was sent (see the README). The caller's
   * stream is let go by the exchange.
   */
  #endBody(): void {
    const r = this.reader;
    if (r !== undefined && !r.finished) void r.return();
  }

  onRequestUpgrade(
    controller: DispatchController,
    statusCode: number,
    headers: Record<string, unknown>,
    socket: unknown,
  ): void {
    this.#clearTimer();
    this.#clearIdleTimer();
    if (this.#state !== PENDING) return;
    this.#state = FINISHED;
    this.endEvent(statusCode, undefined);
    this.#driver.finish();
    this.#driver.ex.onRequestUpgrade(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: DispatchController,
    statusCode: number,
    headers: Record<string, unknown>,
    statusMessage?: string,
  ): void {
    this.#clearTimer();
    this.#touch();
    if (this.#state !== PENDING) return;
    const ex = this.#driver.ex;
    if (this.event !== undefined) this.event.status = statusCode;
    if (!ex.active) {
      // The request was answered meanwhile (route timeout): drop this response.
      this.#state = FINISHED;
      this.endEvent(statusCode, undefined);
      controller.abort(this.#abortReason ?? new Error('request already answered'));
      return;
    }
    const decision = this.#driver.decide(statusCode, headers);
    if (decision.action === 'retry') {
      this.#clearIdleTimer();
      this.#timersDeferred = false;
      const r = this.reader;
      if (r !== undefined && !r.finished) {
        // Envoy resets an upstream request it retries before the whole request went out.
        this.#state = FINISHED;
        this.endEvent(statusCode, undefined);
        this.#driver.scheduleRetry(decision.backoffMs);
        const reason = new Error('retried before the request body was sent');
        r.close(reason);
        controller.abort(reason);
        return;
      }
      this.#state = DISCARDING;
      this.endEvent(statusCode, undefined);
      this.#driver.scheduleRetry(decision.backoffMs);
      return;
    }
    this.#state = COMMITTED;
    ex.retryDecision = decision;
    this.#driver.finish();
    ex.onResponseStart(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: DispatchController, chunk: Buffer): void {
    if (this.#state === COMMITTED) {
      this.#touch();
      this.#driver.ex.onResponseData(controller, chunk);
    } else if (this.#state === DISCARDING) {
      this.#discarded += chunk.length;
      if (this.#discarded > DISCARD_LIMIT) {
        this.#state = FINISHED;
        controller.abort(new Error('retried response discarded'));
      }
    }
  }

  onResponseEnd(controller: DispatchController, trailers: Record<string, unknown>): void {
    this.#clearIdleTimer();
    this.#timersDeferred = false;
    // an upstream that answered before the body ended: the rest is not sent
    this.#endBody();
    const st = this.#state;
    this.#state = FINISHED;
    const endedAt = this.event !== undefined ? this.endEvent(this.event.status, undefined) : -1;
    if (st !== COMMITTED) return;
    // the request ends with its committed attempt: one clock reading for both
    const ex = this.#driver.ex;
    if (endedAt >= 0) ex.endedAt = endedAt;
    ex.onResponseEnd(controller, trailers);
  }

  onResponseError(controller: DispatchController | undefined, err: Error): void {
    this.#clearTimer();
    this.#clearIdleTimer();
    this.#timersDeferred = false;
    this.reader?.close(err);
    const st = this.#state;
    this.#state = FINISHED;
    if (this.event !== undefined) this.endEvent(this.event.status, err);
    if (st === COMMITTED) this.#driver.ex.onResponseError(controller, err);
    else if (st === PENDING) this.#driver.onAttemptError(this, err);
  }
}

// The response headers retry_on conditions read, passed through module state: onResponse runs
// synchronously, so one lookup function serves every request without a closure each.
const NO_HEADERS: Record<string, unknown> = {};
let lookupHeaders: Record<string, unknown> = NO_HEADERS;
let lookupStatus = 0;
function responseHeader(name: string): string | string[] | undefined {
  if (name === ':status') return String(lookupStatus);
  const v = lookupHeaders[name];
  return typeof v === 'string' || Array.isArray(v) ? (v as string | string[]) : undefined;
}

class RetryDriver extends Attempt implements UpstreamCanceller {
  readonly ex: Exchange;
  readonly clock: Clock;
  readonly perTryMs: number | undefined;
  /** the retry policy's per_try_idle_timeout (ms; undefined: none) */
  readonly perTryIdleMs: number | undefined;
  // Created on the first outcome that could be retried (most requests never need one).
  #rs: RetryState | undefined;
  /**
   * retries are possible at all (a policy or retry headers, a replayable body, no upgrade); false
   * once a streamed body passed the buffer limit
   */
  #retriable: boolean;
  readonly #policy: RetryPolicy | undefined;
  readonly #next: Dispatch;
  readonly #o: RetryInterceptorOptions;
  #current: Attempt | undefined;
  #backoff: TimerHandle | undefined;

  constructor(ex: Exchange, next: Dispatch, o: RetryInterceptorOptions) {
    super();
    this.ex = ex;
    this.#next = next;
    this.#o = o;
    this.clock = o.clock;
    const policy = ex.entry?.retryPolicy;
    this.#policy = policy;
    const record = ex.record;
    const hasEnvoyHeaders = (ex.headerBits & HAS_ENVOY) !== 0;
    const upgrade = ex.opts?.upgrade !== undefined && ex.opts.upgrade !== null;
    this.#retriable = (policy !== undefined || hasEnvoyHeaders) && ex.replayable && !upgrade;
    if (this.#retriable && hasEnvoyHeaders) {
      // x-envoy-* retry headers are read now, before they are stripped from the request.
      this.perTryMs = this.#retryState()!.perTryTimeout(ex.routeTimeoutMs);
    } else {
      this.perTryMs = policyPerTryTimeout(policy, ex.routeTimeoutMs);
    }
    const idle = policy?.perTryIdleTimeout;
    this.perTryIdleMs = idle === undefined || idle === 0 ? undefined : idle;
    if (hasEnvoyHeaders) {
      for (const name of RETRY_CONTROL_HEADERS) if (record[name] !== undefined) delete record[name];
    }
  }

  /** The request's RetryState, created on first need (undefined when retries are impossible). */
  #retryState(): RetryState | undefined {
    if (this.#rs !== undefined || !this.#retriable) return this.#rs;
    const ex = this.ex;
    const up = ex.upstream;
    const priority = ex.entry?.route.action.kind === 'route' ? ex.entry.route.action.priority : 'DEFAULT';
    const rs = new RetryState({
      policy: this.#policy,
      requestHeaders: (name) => ex.headers(name),
      honorRetryHeaders: this.#o.honorEnvoyHeaders && (ex.headerBits & HAS_ENVOY) !== 0,
      retries:
        up !== undefined && up.kind !== 'missing' ? up.state.circuitBreakers.forPriority(priority).retries : undefined,
      random: this.#o.random,
    });
    // The attempts so far (the first) count for previous_hosts and x-envoy-attempt-count.
    if (ex.host !== undefined) rs.onHostAttempted(ex.host);
    for (let n = 1; n < ex.attempts; n++) rs.beginRetry();
    this.#rs = rs;
    ex.retry = rs;
    return rs;
  }

  get retryState(): RetryState | undefined {
    return this.#rs;
  }

  start(): void {
    this.ex.retry = this.#rs;
    this.ex.upstreamCanceller = this;
    this.#attempt();
  }

  #attempt(): void {
    const ex = this.ex;
    const n = ++ex.attempts;
    const base = ex.opts!;
    let opts: MeshDispatchOptions;
    const countHeader = this.#o.attemptCountHeader ?? ex.entry?.vhost.includeRequestAttemptCount === true;
    if (n === 1) {
      opts = base;
      const headers = base.headers as Record<string, string | string[]>;
      if (countHeader) headers[ATTEMPT_COUNT_HEADER] = '1';
      this.#timeoutHeaders(headers);
    } else {
      const headers = { ...(base.headers as Record<string, string | string[]>) };
      if (countHeader) headers[ATTEMPT_COUNT_HEADER] = String(n);
      this.#timeoutHeaders(headers);
      opts = { ...base, headers };
    }
    const a = n === 1 ? this : new Attempt(this);
    this.#current = a;
    const body = ex.body;
    if (body !== undefined) {
      // each attempt reads the streamed body from its first chunk (kept while within the limit)
      a.reader = body.reader();
      opts = { ...opts, body: a.reader as unknown as MeshDispatchOptions['body'] };
    }
    const start = ex.start;
    if (start !== undefined && (attemptStartChannel.hasSubscribers || attemptEndChannel.hasSubscribers)) {
      const e: AttemptEvent = {
        request: start,
        attempt: n,
        headers: opts.headers as Record<string, string | string[]>,
        context: undefined,
        endpoint: undefined,
        status: 0,
        error: undefined,
        endedAt: -1,
      };
      a.event = e;
      attemptStartChannel.publish(e);
    }
    try {
      this.#next(opts, a);
    } catch (err) {
      a.onResponseError(undefined, err as Error);
    }
  }

  /**
   * Envoy's setTimeoutHeaders, before every attempt: x-envoy-expected-rq-timeout-ms tells the
   * upstream how long this attempt may take (the per-try timeout, else the route timeout, never
   * more than what is left of the route timeout, at least 1 ms); with max_grpc_timeout a gRPC
   * request's grpc-timeout says the same. Nothing when there is no timeout.
   */
  #timeoutHeaders(headers: Record<string, string | string[]>): void {
    const ex = this.ex;
    const global = ex.routeTimeoutMs;
    let expected = this.perTryMs ?? global;
    if (expected <= 0) return;
    if (global > 0) {
      const elapsed = Math.floor(ex.routeElapsed(this.clock.now()));
      expected = elapsed >= global ? 1 : Math.min(expected, global - elapsed);
    }
    headers[EXPECTED_RQ_TIMEOUT] = String(expected);
    if (ex.rewriteGrpcTimeout) headers['grpc-timeout'] = formatGrpcTimeout(expected);
  }

  /** The retry decision for response headers. */
  decide(status: number, headers: Record<string, unknown>): RetryDecision {
    if (!this.#retriable) return STOP;
    lookupHeaders = headers;
    lookupStatus = status;
    try {
      let rs = this.#rs;
      if (rs === undefined) {
        // An ordinary answer to the first attempt needs no retry state at all.
        if (!mayRetryResponse(this.#policy, status, responseHeader)) return STOP;
        rs = this.#retryState()!;
      }
      if (!rs.enabled) return STOP;
      return rs.onResponse(status, responseHeader);
    } finally {
      lookupHeaders = NO_HEADERS;
    }
  }

  scheduleRetry(backoffMs: number): void {
    this.#backoff = this.clock.setTimeout(() => {
      this.#backoff = undefined;
      if (!this.ex.active) {
        this.finish();
        return;
      }
      this.#rs?.beginRetry();
      this.#attempt();
    }, backoffMs);
  }

  onAttemptError(a: Attempt, err: Error): void {
    const ex = this.ex;
    if (!ex.active) return;
    const rs = this.#retryState();
    if (a.timedOut && err instanceof PerTryTimeoutError) {
      const d = rs === undefined ? STOP : rs.onPerTryTimeout(a.started);
      if (d.action === 'retry') {
        this.scheduleRetry(d.backoffMs);
        return;
      }
      this.finish();
      ex.onResponseError(
        undefined,
        new PerTryTimeoutError(
          err.timeoutMs,
          requestResult({ kind: 'per_try_timeout', retry: d, idle: err.idle }),
          err.idle,
          ex.timeoutAltResponse,
        ),
      );
      return;
    }
    // The stream idle timeout resets the whole stream, as Envoy's connection manager does: no retry.
    if (isStreamIdleTimeout(err)) {
      this.finish();
      ex.onResponseError(undefined, new StreamIdleTimeoutError({ cause: err, requestComplete: ex.requestComplete }));
      return;
    }
    // No healthy upstream, drop overload: final, no retry.
    if (err instanceof MeshHttpError && !(err instanceof UpstreamOverflowError)) {
      this.finish();
      ex.onResponseError(undefined, err);
      return;
    }
    const reason = resetReasonOf(err, a.started);
    if (reason === undefined) {
      this.finish();
      ex.onResponseError(undefined, err);
      return;
    }
    const d = rs === undefined ? STOP : rs.onReset(reason, a.started);
    if (d.action === 'retry') {
      this.scheduleRetry(d.backoffMs);
      return;
    }
    this.finish();
    if (err instanceof UpstreamOverflowError) {
      ex.onResponseError(undefined, err);
      return;
    }
    const result = requestResult({ kind: 'reset', reason, retry: d });
    ex.onResponseError(undefined, new UpstreamResetError(reason, result, ex.attempts > 1, err));
  }

  /** The request is over as far as retries go: release the retry circuit breaker slot. */
  finish(): void {
    this.#rs?.finish();
  }

  /** UpstreamCanceller: the streamed body ended; the attempt in flight may start its per-try timers. */
  onRequestComplete(): void {
    this.#current?.requestComplete();
  }

  /**
   * UpstreamCanceller: the streamed body passed the buffer limit. As Envoy's router, which drops
   * its retry state then: no retry from now on (the attempt in flight has the last word), and a
   * retry already waiting in its backoff cannot be made: 507.
   */
  onBodyOverflow(): void {
    if (!this.#retriable) return;
    this.#retriable = false;
    this.#rs?.finish();
    this.#rs = undefined;
    const backoff = this.#backoff;
    if (backoff === undefined) return;
    backoff.cancel();
    this.#backoff = undefined;
    if (this.ex.active) this.ex.onResponseError(undefined, new RetryBufferOverflowError());
  }

  /** UpstreamCanceller */
  cancel(reason: Error): void {
    this.#backoff?.cancel();
    this.#backoff = undefined;
    this.finish();
    this.#current?.abort(reason);
  }
}

export function retryInterceptor(options: RetryInterceptorOptions): (dispatch: Dispatch) => Dispatch {
  return (dispatch) => (opts, handler) => {
    const ex = (opts as MeshDispatchOptions)[kExchange];
    if (ex === undefined) return dispatch(opts, handler);
    new RetryDriver(ex, dispatch, options).start();
    return true;
  };
}
