// One request through the mesh, from the route decision to the last byte the caller receives.
// The route interceptor creates it and hands it down the chain on the dispatch options
// (opts[kExchange]); the inner interceptors read the decisions from it (cluster, retry policy,
// priority) and record theirs (attempt count, endpoint). It is also the handler the retry layer
// delivers the one committed response (or the final failure) to, and it is what turns a mesh
// failure into a local reply: a real HTTP response through the caller's handler.
import { STATUS_CODES } from 'node:http';
import type { Clock, CookieAttribute, TimerHandle } from '@inboard/xds';
import type { Dispatcher } from 'undici';
import type { ClusterState } from '../cluster/cluster-state.ts';
import { type Host, hostKey } from '../cluster/host.ts';
import { generatedCookieValue, type HashRequest, makeSetCookieValue } from '../cluster/request-hash.ts';
import type { FaultInjection } from '../fault/fault-decision.ts';
import type { CompiledTarget, UpstreamCluster } from '../mesh/compiled-target.ts';
import { formatResponseFlags, type ResponseFlag, requestResult } from '../retry/response-flags.ts';
import type { RetryDecision } from '../retry/retry-state.ts';
import { encodeGrpcMessage, httpToGrpcStatus, isGrpcRequest } from '../route/grpc.ts';
import { type HeaderMutator, type HeaderRecord, NOOP_MUTATOR } from '../route/header-mutation.ts';
import type { HeaderValue, RouteRequest } from '../route/route-request.ts';
import type { ClusterChoice, RouteEntry } from '../route/route-table.ts';
import type { RequestBody, RequestBodyListener } from './body-buffer.ts';
import {
  MaxStreamDurationError,
  MeshHttpError,
  RouteTimeoutError,
  StreamIdleTimeoutError,
  UpstreamResetError,
} from './errors.ts';
import {
  type HttpRequestEvent,
  PEER_METADATA_HEADER,
  PEER_METADATA_ID_HEADER,
  type RequestStartEvent,
  requestChannel,
  requestStartChannel,
} from './events.ts';
import { recordValue, toRawHeaders } from './header-record.ts';
import { LocalTarget, MeshController } from './mesh-controller.ts';

type DispatchHandler = Dispatcher.DispatchHandler;
type DispatchController = Dispatcher.DispatchController;
type DispatchOptions = Dispatcher.DispatchOptions;

/** The key of the Exchange on dispatch options inside the mesh chain. */
export const kExchange: unique symbol = Symbol('inboard.exchange');

/** Dispatch options as they travel inside the mesh chain. */
export type MeshDispatchOptions = DispatchOptions & {
  [kExchange]?: Exchange;
  /** TLS SNI (read by undici's Client) */
  servername?: string;
  /** false: the caller cannot take HTTP/2 (Dispatcher1Wrapper sets it for legacy handlers) */
  allowH2?: boolean;
};

/** What endpoint selection reads from the request's retry state (RetryState implements it). */
export interface RetryView {
  readonly previousHosts: ReadonlySet<string>;
  readonly hostSelectionRetryCount: number;
  onHostAttempted(host: Host): void;
}

/**
 * What the exchange cancels when it answers early, and tells of the streamed request body's
 * progress (the retry layer's driver).
 */
export interface UpstreamCanceller {
  /** cancels the attempt in flight and any pending backoff */
  cancel(reason: Error): void;
  /** the streamed request body ended: the per-try timers of the attempt in flight may start */
  onRequestComplete(): void;
  /** the streamed request body passed the buffer limit: no retry any more */
  onBodyOverflow(): void;
}

/** Per-mesh settings every exchange reads. */
export interface ExchangeSettings {
  readonly clock: Clock;
  /** add x-inboard-response-flags to responses that carry flags */
  readonly responseFlagsHeader: boolean;
  /**
   * The workload's own IP (the node's, as istiod knows it): for an in-process client the process
   * is the downstream, so hash policies read it as the source IP (connection_properties.source_ip)
   * and generated hash cookies are made from it.
   */
  readonly localIp?: string | undefined;
}

/** A local reply: what Envoy's sendLocalReply sends. */
export interface LocalReply {
  readonly status: number;
  readonly flags: readonly ResponseFlag[];
  readonly details: string;
  /** text (sent as UTF-8), or bytes as they are (a direct response's inline_bytes) */
  readonly body?: string | Uint8Array | undefined;
  readonly contentType?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly overloaded?: boolean | undefined;
  readonly error?: Error | undefined;
  /** the grpc-status when the reply goes out in gRPC form (else the HTTP status's mapping) */
  readonly grpcStatus?: number | undefined;
}

export const RESPONSE_FLAGS_HEADER = 'x-inboard-response-flags';
/** Envoy's attempt counter header: upstream with include_request_attempt_count, downstream with include_attempt_count_in_response */
export const ATTEMPT_COUNT_HEADER = 'x-envoy-attempt-count';

const ACTIVE = 0;
const STREAMING = 1;
const DONE = 2;

const NO_FLAGS: readonly ResponseFlag[] = [];

function safeCall(f: () => void, onThrow: (err: unknown) => void): void {
  try {
    f();
  } catch (err) {
    onThrow(err);
  }
}

// The exchange is also the controller the caller's handler sees, for the whole request: attempts
// come and go (each undici dispatch has its own controller) and local replies have none, so it
// forwards pause/resume to whatever delivers the response now, and turns abort() into the end of
// the request (timers, backoff and the attempt in flight are cancelled). One object per request
// instead of two.
export class Exchange
  extends MeshController
  implements RouteRequest, HashRequest, DispatchHandler, DispatchController, RequestBodyListener
{
  // ---- the request as route matching sees it (RouteRequest)
  readonly method: string;
  readonly authority: string;
  /** the path as sent by the caller (route matching, events) */
  readonly path: string;
  readonly scheme: string;

  readonly target: CompiledTarget;
  /** the request headers, mutated by the route and sent upstream */
  readonly record: HeaderRecord;
  /** HAS_HOST / HAS_ENVOY bits of the original headers */
  readonly headerBits: number;
  readonly user: DispatchHandler;
  readonly settings: ExchangeSettings;
  readonly startedAt: number;
  /** the stream's random value (runtime_fraction, weighted clusters) */
  random = 0;
  /** the start event, when someone listens on the request-start channel */
  start: RequestStartEvent | undefined;

  // ---- route decisions
  entry: RouteEntry | undefined;
  choice: ClusterChoice | undefined;
  upstream: UpstreamCluster | undefined;
  /** base options of every attempt (path and headers rewritten; origin set per attempt) */
  opts: MeshDispatchOptions | undefined;
  /**
   * the Host the router sends: the request's, or a route's host rewrite of it (not the per-endpoint
   * auto_host_rewrite), which auto_sni / auto_san_validation take as Envoy's getRequestHostValue
   */
  routedAuthority: string;
  /** the request body can be sent again (none, a string or bytes, or a streamed one within the limit) */
  replayable = true;
  /** request body size when known */
  bodyBytes: number | undefined;
  /** a streamed request body (forwarded as it arrives, kept for retries within the limit) */
  body: RequestBody | undefined;
  /**
   * the whole request is in hand (no body, a string or bytes, or a streamed body that ended): the
   * connection manager's timeouts then answer 504 rather than 408, and the route timeout runs
   */
  requestComplete = true;
  /** the route or the connection manager sets the stream idle timeout (else undici's timers stand in) */
  streamIdleConfigured = false;
  /** route timeout in ms, 0: none */
  routeTimeoutMs = 0;
  /** the route timeout waits for the end of a streamed request body */
  #routeTimerDeferred = false;
  /** sent once a streamed body is complete within the limit (request mirrors) */
  #onComplete: (() => void) | undefined;
  /** clock.now() as the route timeout started (x-envoy-expected-rq-timeout-ms of retries) */
  routeStartedAt = 0;
  /** a gRPC request (content-type `application/grpc` or `application/grpc+…`), once forwarded */
  grpc = false;
  /** the router rewrites grpc-timeout to the expected timeout (gRPC request, max_grpc_timeout) */
  rewriteGrpcTimeout = false;
  /** x-envoy-upstream-rq-timeout-alt-response: route and per-try timeouts answer 204, not 504 */
  timeoutAltResponse = false;
  fault: FaultInjection | undefined;
  /** consistent-hash value, computed on first need (null: not yet) */
  hash: bigint | undefined | null = null;
  /** Set-Cookie values of generated hash cookies, added to the upstream response */
  #setCookies: string[] | undefined;
  /** Date.now() on the first read of startTime (-1: not yet) */
  #startTime = -1;

  // ---- upstream progress, written by the inner interceptors
  attempts = 0;
  host: Host | undefined;
  hostCluster: ClusterState | undefined;
  retryDecision: RetryDecision | undefined;
  /** the retry state, when the request has one (previous_hosts) */
  retry: RetryView | undefined;
  /** cancels the attempt in flight or the pending backoff (set by the retry layer) */
  upstreamCanceller: UpstreamCanceller | undefined;

  // ---- outcome
  #state = ACTIVE;
  #flags: ResponseFlag[] | undefined;
  #routeTimer: TimerHandle | undefined;
  #streamTimer: TimerHandle | undefined;
  #waitTimer: TimerHandle | undefined;
  #idleTimer: TimerHandle | undefined;
  #idleMs = 0;
  #lastActivity = 0;
  status = 0;
  #details = '';
  #finalFlags: readonly ResponseFlag[] = NO_FLAGS;
  #responseStartAt: number | undefined;
  #bytesReceived = 0;
  #peerMetadata: string | undefined;
  #peerMetadataId: string | undefined;
  /** grpc-status as the caller received it: trailers, else response headers */
  #grpcStatus: string | undefined;
  #error: Error | undefined;
  /**
   * performance.now() as the committed attempt ended, set by the retry layer just before it
   * delivers the end of the response: the request's end, without a second clock reading
   */
  endedAt = -1;

  constructor(
    target: CompiledTarget,
    method: string,
    authority: string,
    path: string,
    scheme: string,
    record: HeaderRecord,
    headerBits: number,
    user: DispatchHandler,
    settings: ExchangeSettings,
  ) {
    // the exchange is the controller the caller's handler sees for the whole request
    super();
    this.target = target;
    this.method = method;
    this.authority = authority;
    this.routedAuthority = authority;
    this.path = path;
    this.scheme = scheme;
    this.record = record;
    this.headerBits = headerBits;
    this.user = user;
    this.settings = settings;
    // Timing is only taken for telemetry subscribers.
    this.startedAt = requestChannel.hasSubscribers ? performance.now() : -1;
    // A target with requests in flight is never idle (its clusters and pools are in use).
    target.usage.active++;
  }

  /**
   * RouteRequest: a request header by lower-case name; pseudo headers are answered from the
   * request fields so retry policies can match `:method` and friends. A method, not a closure
   * per request: callers invoke it as `req.headers(name)`.
   */
  headers(name: string): HeaderValue {
    return name.charCodeAt(0) === 58 ? this.#pseudo(name) : recordValue(this.record, name);
  }

  /** Publishes the request-start event (when someone listens): subscribers may add headers. */
  publishStart(): void {
    if (!requestStartChannel.hasSubscribers) return;
    const start: RequestStartEvent = {
      target: this.target.target,
      authority: this.authority,
      method: this.method,
      path: this.path,
      scheme: this.scheme,
      headers: this.record,
      startedAt: this.startedAt,
      context: undefined,
    };
    this.start = start;
    requestStartChannel.publish(start);
  }

  /** The controller handed to the caller's handler: the exchange itself. */
  get controller(): DispatchController {
    return this;
  }

  #pseudo(name: string): string | undefined {
    switch (name) {
      case ':method':
        return this.method;
      case ':authority':
        return this.authority;
      case ':path':
        return this.path;
      case ':scheme':
        return this.scheme;
      default:
        return undefined;
    }
  }

  /** HashRequest */
  header(name: string): HeaderValue {
    return this.headers(name);
  }

  /**
   * HeaderFormatContext: `%START_TIME%`, read first by the request header mutations as the router
   * forwards the request (the same tick as its start unless a fault delay came first), and the
   * same value for the response headers.
   */
  get startTime(): number {
    if (this.#startTime < 0) this.#startTime = Date.now();
    return this.#startTime;
  }

  /** HashRequest / RouteRequest: the downstream IP, which for an in-process caller is the workload's own. */
  get sourceIp(): string | undefined {
    return this.settings.localIp;
  }

  /**
   * HashRequest: a cookie hash policy with a TTL found no cookie. Like Envoy's router, the value
   * is 16 hex digits of xxHash64 of the downstream remote and local addresses, and the Set-Cookie
   * goes on the upstream response. An in-process caller has no downstream connection: each request
   * without the cookie counts as a new one, from the workload's IP and a port taken from the
   * request's random value, so new sessions spread over the hosts.
   */
  addCookie(name: string, path: string, ttlMs: number, attributes: readonly CookieAttribute[]): string {
    const ip = this.settings.localIp ?? '127.0.0.1';
    const value = generatedCookieValue(hostKey(ip, this.random % 65536), hostKey(ip, 0));
    (this.#setCookies ??= []).push(makeSetCookieValue(name, value, path, ttlMs, attributes));
    return value;
  }

  /** Still waiting for a response (no headers sent to the caller, not failed). */
  get active(): boolean {
    return this.#state === ACTIVE;
  }

  get done(): boolean {
    return this.#state === DONE;
  }

  /** Adds a response flag of a decision made along the way (DI, FI). */
  addFlag(flag: ResponseFlag): void {
    (this.#flags ??= []).push(flag);
  }

  /** The response header mutations that apply (the weighted cluster's when one was chosen). */
  get responseMutator(): HeaderMutator {
    return this.choice?.responseHeaders ?? this.entry?.responseHeaders ?? NOOP_MUTATOR;
  }

  /**
   * Starts the route timeout (covering every attempt and backoff). Like Envoy's router, which arms
   * it once the downstream request is complete, it waits for the end of a streamed body.
   */
  startRouteTimer(ms: number): void {
    const clock = this.settings.clock;
    this.routeTimeoutMs = ms;
    this.routeStartedAt = clock.now();
    if (!this.requestComplete) {
      this.#routeTimerDeferred = true;
      return;
    }
    this.#routeTimer = clock.setTimeout(() => this.#onRouteTimeout(), ms);
  }

  /** ms of the route timeout used up at `now` (0 while it waits for the request body) */
  routeElapsed(now: number): number {
    return this.#routeTimerDeferred ? 0 : now - this.routeStartedAt;
  }

  /** Runs `f` once the streamed body is complete within the limit (never if it passes the limit). */
  whenBodyComplete(f: () => void): void {
    this.#onComplete = f;
  }

  /** Starts the max stream duration: the whole request, response body included. */
  startStreamTimer(ms: number): void {
    this.#streamTimer = this.settings.clock.setTimeout(() => {
      this.#streamTimer = undefined;
      this.#expire(new MaxStreamDurationError(ms, this.requestComplete));
    }, ms);
  }

  /**
   * Starts the stream idle timer: it fires once nothing moved on the stream for `ms` (response
   * headers and body chunks count as activity, as Envoy's connection manager resets its timer on
   * every encode). Activity only records the time; the timer re-arms itself for the rest of the
   * interval when it fires early, so a streaming body costs no timer per chunk.
   */
  startIdleTimer(ms: number): void {
    this.#idleMs = ms;
    this.#lastActivity = this.settings.clock.now();
    this.#idleTimer = this.settings.clock.setTimeout(() => this.#onIdle(), ms);
  }

  #touch(): void {
    if (this.#idleTimer !== undefined) this.#lastActivity = this.settings.clock.now();
  }

  /**
   * A chunk of a streamed body the mesh does not keep came (`ended`: the end): activity for the
   * stream idle timer, as Envoy's decodeData resets it; once it ended, the request is complete and
   * the connection manager's timeouts answer 504.
   */
  requestBodyProgress(ended: boolean): void {
    this.#touch();
    if (ended) this.requestComplete = true;
  }

  // ---- RequestBodyListener: the streamed body (see body-buffer.ts)

  /** a chunk came from the caller: stream activity, as Envoy's decodeData resets the idle timer */
  onBodyChunk(): void {
    this.#touch();
  }

  /**
   * The caller's body ended: the request is complete (timeouts answer 504 from now on), the route
   * timeout starts, and so do the per-try timers of the attempt in flight, as in Envoy's
   * onRequestComplete; mirrors of a body kept whole go out.
   */
  onBodyEnd(): void {
    this.requestComplete = true;
    this.bodyBytes = this.body?.bytes;
    if (this.#state === DONE) return;
    if (this.#routeTimerDeferred) {
      this.#routeTimerDeferred = false;
      const clock = this.settings.clock;
      this.routeStartedAt = clock.now();
      this.#routeTimer = clock.setTimeout(() => this.#onRouteTimeout(), this.routeTimeoutMs);
    }
    this.upstreamCanceller?.onRequestComplete();
    const f = this.#onComplete;
    if (f !== undefined) {
      this.#onComplete = undefined;
      f();
    }
  }

  /** The body passed the buffer limit: its copy is gone, so retries and mirrors are given up. */
  onBodyOverflow(): void {
    this.replayable = false;
    this.#onComplete = undefined;
    if (this.#state !== DONE) this.upstreamCanceller?.onBodyOverflow();
  }

  /**
   * The caller's body failed: the request ends as if the caller had aborted it (Envoy sees a
   * downstream reset: DC), the attempt in flight is cancelled, and the caller gets the error.
   */
  onBodyError(err: Error): void {
    if (this.#state !== DONE) this.abort(err);
  }

  #onIdle(): void {
    const clock = this.settings.clock;
    const left = this.#lastActivity + this.#idleMs - clock.now();
    if (left > 0) {
      this.#idleTimer = clock.setTimeout(() => this.#onIdle(), left);
      return;
    }
    this.#idleTimer = undefined;
    this.#expire(new StreamIdleTimeoutError({ requestComplete: this.requestComplete }));
  }

  /** Runs `f` after `ms` unless the request ends first (fault delays). */
  wait(ms: number, f: () => void): void {
    this.#waitTimer = this.settings.clock.setTimeout(() => {
      this.#waitTimer = undefined;
      if (this.#state === ACTIVE) f();
    }, ms);
  }

  #clearTimers(): void {
    this.#routeTimer?.cancel();
    this.#routeTimer = undefined;
    this.#waitTimer?.cancel();
    this.#waitTimer = undefined;
    if (this.#streamTimer !== undefined) {
      this.#streamTimer.cancel();
      this.#streamTimer = undefined;
    }
    if (this.#idleTimer !== undefined) {
      this.#idleTimer.cancel();
      this.#idleTimer = undefined;
    }
  }

  #onRouteTimeout(): void {
    this.#routeTimer = undefined;
    this.#expire(new RouteTimeoutError(this.routeTimeoutMs, this.timeoutAltResponse));
  }

  /** A timer covering the whole request fired: a local reply, or a reset once headers went out. */
  #expire(err: MeshHttpError): void {
    if (this.#state === ACTIVE) {
      this.upstreamCanceller?.cancel(err);
      this.replyError(err);
    } else if (this.#state === STREAMING) {
      // Headers went out already: the stream is reset, the caller sees the error.
      this.#fail(err, true);
    }
  }

  protected override userAborted(reason: Error): void {
    if (this.#state === DONE) return;
    // Envoy logs a request the client gave up on with DC (downstream connection termination).
    this.addFlag('DC');
    this.#finalFlags = this.#flags!;
    this.#details = 'downstream_remote_disconnect';
    this.#fail(reason, true, true);
  }

  /** Ends the request with `err` on the caller's handler (after a microtask when `async`). */
  #fail(err: Error, cancel: boolean, async = false): void {
    if (this.#state === DONE) return;
    this.#state = DONE;
    this.#clearTimers();
    this.#error = err;
    if (this.#finalFlags === NO_FLAGS) this.#finalFlags = this.#flags ?? NO_FLAGS;
    if (err instanceof MeshHttpError) {
      this.#finalFlags = this.#merge(err.responseFlags);
      this.#details = err.details;
    }
    if (cancel) this.upstreamCanceller?.cancel(err);
    this.#finish();
    const deliver = () =>
      safeCall(
        () => this.user.onResponseError?.(this.controller, err),
        () => {},
      );
    if (async) queueMicrotask(deliver);
    else deliver();
  }

  // ------------------------------------------------------------------ local replies

  /** Replies with the local reply of a mesh failure. */
  replyError(err: MeshHttpError): void {
    this.reply({
      status: err.status,
      flags: err.responseFlags,
      details: err.details,
      body: err.replyBody,
      overloaded: err.overloaded,
      error: err,
      // for gRPC callers: the error's own status when it has one (DEADLINE_EXCEEDED)
      grpcStatus: err.grpcStatus,
    });
  }

  /**
   * Sends a local reply through the caller's handler (asynchronously). Ignored once answered. A
   * gRPC caller gets it as gRPC, as Envoy's sendLocalReply writes it: 200, trailers-only, the
   * HTTP status mapped to grpc-status and the text as grpc-message.
   */
  reply(r: LocalReply): void {
    if (this.#state !== ACTIVE) return;
    this.#state = STREAMING;
    this.#clearTimers();
    const grpc = isGrpcRequest(this);
    const text = r.body;
    const body =
      grpc || text === undefined || text.length === 0
        ? undefined
        : typeof text === 'string'
          ? Buffer.from(text, 'utf8')
          : Buffer.from(text); // a copy: the caller may write into the chunk it gets, the route's bytes stay
    const headers: Record<string, string | string[]> = {};
    if (grpc) {
      headers['content-type'] = 'application/grpc';
      headers['grpc-status'] = this.#grpcStatus = String(r.grpcStatus ?? httpToGrpcStatus(r.status));
      if (text !== undefined && text.length > 0)
        headers['grpc-message'] = encodeGrpcMessage(
          typeof text === 'string' ? text : Buffer.from(text).toString('utf8'),
        );
    } else if (body !== undefined) headers['content-type'] = r.contentType ?? 'text/plain';
    headers['content-length'] = String(body?.length ?? 0);
    if (r.headers !== undefined) Object.assign(headers, r.headers);
    if (r.overloaded) headers['x-envoy-overloaded'] = 'true';
    // Envoy's router adds it to its local replies too, once an upstream attempt was made.
    if (this.attempts > 0 && this.entry?.vhost.includeAttemptCountInResponse === true)
      headers[ATTEMPT_COUNT_HEADER] = String(this.attempts);
    const status = grpc ? 200 : r.status;
    this.status = status; // before the mutations: %RESPONSE_CODE%
    this.responseMutator(headers, this);
    const flags = this.#merge(r.flags);
    this.#finalFlags = flags;
    this.#details = r.details;
    this.#error = r.error;
    if (this.settings.responseFlagsHeader && flags.length > 0)
      headers[RESPONSE_FLAGS_HEADER] = formatResponseFlags(flags);
    queueMicrotask(() => this.#deliverLocal(status, headers, body));
  }

  #deliverLocal(status: number, headers: Record<string, string | string[]>, body: Buffer | undefined): void {
    if (this.#state !== STREAMING) return;
    const local = new LocalTarget();
    const controller = this.controller;
    this.setTarget(local, toRawHeaders(headers));
    this.#responseStartAt = this.startedAt >= 0 ? performance.now() : 0;
    const onThrow = (err: unknown) => this.#fail(err instanceof Error ? err : new Error(String(err)), false);
    safeCall(() => this.user.onResponseStart?.(controller, status, headers, STATUS_CODES[status] ?? ''), onThrow);
    const end = () => {
      if (this.#state !== STREAMING) return;
      this.#state = DONE;
      this.#finish();
      safeCall(
        () => this.user.onResponseEnd?.(controller, {}),
        () => {},
      );
    };
    local.whenFlowing(() => {
      if (this.#state !== STREAMING) return;
      if (body !== undefined) {
        this.#bytesReceived += body.length;
        safeCall(() => this.user.onResponseData?.(controller, body), onThrow);
      }
      local.whenFlowing(end);
    });
  }

  #merge(more: readonly ResponseFlag[]): readonly ResponseFlag[] {
    const own = this.#flags;
    if (own === undefined || own.length === 0) return more;
    if (more.length === 0) return own;
    return [...own, ...more];
  }

  // ------------------------------------------------------------------ the committed attempt

  onRequestStart(_controller: DispatchController, _context: unknown): void {
    // The caller's handler got its onRequestStart when the request entered the mesh.
  }

  onRequestUpgrade(
    controller: DispatchController,
    statusCode: number,
    headers: Record<string, unknown>,
    socket: unknown,
  ): void {
    if (this.#state !== ACTIVE) return;
    this.#state = DONE;
    this.#clearTimers();
    this.status = statusCode;
    this.setTarget(controller, undefined);
    this.#finish();
    // An upgraded connection (a WebSocket) carries the caller's traffic to the target until it
    // closes: the target stays in use as long, as a gRPC channel with a stream open is not idle.
    const s = socket as { once?: (event: 'close', f: () => void) => unknown; destroyed?: boolean } | null;
    if (typeof s?.once === 'function' && s.destroyed !== true) {
      const usage = this.target.usage;
      usage.active++;
      s.once('close', () => usage.active--);
    }
    (this.user.onRequestUpgrade as ((...args: unknown[]) => void) | undefined)?.(
      this.controller,
      statusCode,
      headers,
      socket,
    );
  }

  onResponseStart(
    controller: DispatchController,
    statusCode: number,
    headers: Record<string, unknown>,
    statusMessage?: string,
  ): void {
    if (this.#state !== ACTIVE) return;
    this.#state = STREAMING;
    this.status = statusCode;
    this.#touch();
    if (this.startedAt >= 0) this.#responseStartAt = performance.now();
    let modified = false;
    const cookies = this.#setCookies;
    if (cookies !== undefined) {
      // Envoy's router appends its routing cookies before the route's response header mutations.
      const prior = headers['set-cookie'];
      headers['set-cookie'] =
        prior === undefined ? [...cookies] : [...(Array.isArray(prior) ? prior : [String(prior)]), ...cookies];
      modified = true;
    }
    const mutate = this.responseMutator;
    if (mutate !== NOOP_MUTATOR) {
      mutate(headers as HeaderRecord, this);
      modified = true;
    }
    const d = this.retryDecision;
    const retryFlags =
      d === undefined || d.action !== 'stop' || d.reason === 'not_retriable'
        ? NO_FLAGS
        : requestResult({ kind: 'response', status: statusCode, retry: d }).flags;
    // a trailers-only gRPC response carries its status here (istio_stats' grpc_response_status)
    const grpcStatus = headers['grpc-status'];
    if (typeof grpcStatus === 'string') this.#grpcStatus = grpcStatus;
    // Istio's metadata exchange: the upstream said who it is; like Envoy, keep it from the caller
    const mx = headers[PEER_METADATA_HEADER];
    if (mx !== undefined) {
      this.#peerMetadata = typeof mx === 'string' ? mx : undefined;
      const id = headers[PEER_METADATA_ID_HEADER];
      this.#peerMetadataId = typeof id === 'string' ? id : undefined;
      delete headers[PEER_METADATA_HEADER];
      delete headers[PEER_METADATA_ID_HEADER];
      modified = true;
    }
    if (this.entry?.vhost.includeAttemptCountInResponse === true) {
      headers[ATTEMPT_COUNT_HEADER] = String(this.attempts);
      modified = true;
    }
    const flags = this.#merge(retryFlags);
    this.#finalFlags = flags;
    this.#details = 'via_upstream';
    if (flags.length > 0 && this.settings.responseFlagsHeader) {
      headers[RESPONSE_FLAGS_HEADER] = formatResponseFlags(flags);
      modified = true;
    }
    this.setTarget(controller, modified ? toRawHeaders(headers) : undefined);
    this.user.onResponseStart?.(this, statusCode, headers as never, statusMessage);
  }

  onResponseData(_controller: DispatchController, chunk: Buffer): void {
    if (this.#state !== STREAMING) return;
    this.#bytesReceived += chunk.length;
    this.#touch();
    this.user.onResponseData?.(this, chunk);
  }

  onResponseEnd(_controller: DispatchController, trailers: Record<string, unknown>): void {
    if (this.#state !== STREAMING) return;
    this.#state = DONE;
    this.#clearTimers();
    const grpcStatus = trailers?.['grpc-status'];
    if (typeof grpcStatus === 'string') this.#grpcStatus = grpcStatus;
    this.#finish();
    this.user.onResponseEnd?.(this, trailers as never);
  }

  onResponseError(_controller: DispatchController | undefined, err: Error): void {
    if (this.#state === DONE) return;
    if (this.#state === ACTIVE && err instanceof MeshHttpError) {
      this.replyError(err);
      return;
    }
    this.#fail(err, false);
  }

  // ------------------------------------------------------------------ telemetry

  #finish(): void {
    this.target.usage.active--;
    this.fault?.release();
    const body = this.body;
    if (body !== undefined && !body.complete) {
      // the request is over: the rest of the caller's body is not read (Envoy resets the stream)
      this.bodyBytes = body.bytes;
      body.close(this.#error ?? new Error('the request ended before its body was sent'));
    }
    if (!requestChannel.hasSubscribers) return;
    const entry = this.entry;
    const now = this.endedAt >= 0 ? this.endedAt : performance.now();
    const started = this.startedAt >= 0 ? this.startedAt : now;
    const event: HttpRequestEvent = {
      kind: 'request',
      target: this.target.target,
      authority: this.authority,
      method: this.method,
      path: this.path,
      routeConfig: this.target.routeTable.config.name,
      virtualHost: entry?.vhost.name,
      route: entry?.route.name,
      istioConfig: entry?.route.istioConfig,
      cluster: this.choice?.name,
      endpoint: this.host?.key,
      attempts: this.attempts,
      status: this.#responseStartAt === undefined ? 0 : this.status,
      flags: this.#finalFlags,
      details: this.#details,
      durations: {
        totalMs: now - started,
        responseStartMs: this.#responseStartAt === undefined ? undefined : Math.max(0, this.#responseStartAt - started),
      },
      bytes: { sent: this.bodyBytes, received: this.#bytesReceived },
      error: this.#error,
      start: this.start,
      peerMetadata: this.#peerMetadata,
      peerMetadataId: this.#peerMetadataId,
      grpcStatus: this.#grpcStatus,
      transportFailureReason:
        this.#error instanceof UpstreamResetError ? this.#error.transportFailureReason : undefined,
    };
    requestChannel.publish(event);
  }
}
