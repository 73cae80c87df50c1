// The limits & accounting layer, closest to the connection pools:
//   - the cluster's max_requests circuit breaker (per routing priority): checked when an attempt
//     gets a connection, as Envoy's pool checks it when it attaches a stream to a connection; a
//     full breaker fails the attempt with UpstreamOverflowError (503 UO, x-envoy-overloaded);
//   - max_connections / max_pending_requests for HTTP/1.1 attempts: an HTTP/1.1 connection
//     carries one request at a time (undici does not pipeline by default), so the connections a
//     cluster keeps busy are its attempts in flight. An attempt takes a `connections` unit; when
//     none is left it waits here as pending (a `pendingRequests` unit only, FIFO) until an
//     attempt of the cluster ends, and when the pending queue is full too it fails at once with
//     503 UO. A host with no connection always gets one, over the limit if need be (Envoy's pool
//     never leaves a host's pending requests without a connection to wait for), and a freed
//     connection goes first to a request waiting for the same host.
//     Counting here instead of in undici keeps the cap cluster-wide (undici's `connections`
//     option is per host; upstream-pools.ts caps it too, so a freed connection is reused) and
//     bounds what can wait in undici's queue, so nothing waits unbounded.
//     HTTP/2 multiplexes one connection per host, so only max_requests applies there;
//   - the host's active request count (LEAST_REQUEST) while the attempt runs;
//   - outlier detection: the response status (grpc-status mapped for gRPC), and the local-origin
//     failure (connect failure, timeout, reset) of an attempt, a reset after the response
//     headers included.
import type { Dispatcher } from 'undici';
import {
  moveConnection,
  type PendingRequest,
  type PriorityCircuitBreakers,
  releaseConnection,
  takeConnection,
} from '../cluster/circuit-breakers.ts';
import type { ClusterState } from '../cluster/cluster-state.ts';
import type { Host } from '../cluster/host.ts';
import { grpcStatusToHttpStatus, parseGrpcStatus } from '../cluster/outlier-detector.ts';
import { UpstreamOverflowError } from './errors.ts';
import { kExchange, type MeshDispatchOptions } from './exchange.ts';
import { failedController, MeshController } from './mesh-controller.ts';
import { isStreamIdleTimeout, localOriginOf, resetReasonOf } from './upstream-error.ts';

type DispatchOptions = Dispatcher.DispatchOptions;
type DispatchHandler = Dispatcher.DispatchHandler;
type DispatchController = Dispatcher.DispatchController;
type Dispatch = (opts: DispatchOptions, handler: DispatchHandler) => boolean;

/**
 * The controller an attempt sees while it waits for a connection: abort() takes it out of the
 * queue (route or per-try timeout, caller abort); once sent, abort() goes to undici's controller.
 */
class PendingController extends MeshController {
  readonly #owner: UpstreamAccounting;
  real: DispatchController | undefined;

  constructor(owner: UpstreamAccounting) {
    super();
    this.#owner = owner;
  }

  protected override userAborted(reason: Error): void {
    if (this.real !== undefined) this.real.abort(reason);
    else this.#owner.abandon(reason);
  }
}

/**
 * Hands the `connections` unit an HTTP/1.1 attempt to `host` held to a waiting request: one for
 * the same host first (Envoy's pending requests belong to a host's pool and its freed connection
 * serves them), else the oldest, unless the cluster is over its limit (a host's first connection
 * may exceed it); with nobody waiting the unit is given back.
 */
export function handOverConnection(b: PriorityCircuitBreakers, host: Host): void {
  const q = b.pendingQueue;
  let i = -1;
  if (q.length > 0) {
    i = q.findIndex((p) => p.host === host);
    if (i < 0 && b.connections.count <= b.connections.max) i = 0;
  }
  if (i < 0) {
    releaseConnection(b, host);
    return;
  }
  const next = q.splice(i, 1)[0]!;
  b.pendingRequests.release();
  moveConnection(b, host, next.host);
  // After undici has finished with the response that freed the connection, so the next
  // request reuses it instead of opening another.
  queueMicrotask(() => next.proceed());
}

/** Counts an attempt against its cluster and host, and reports its outcome to outlier detection. */
export class UpstreamAccounting implements DispatchHandler, PendingRequest {
  readonly #handler: DispatchHandler;
  readonly #cluster: ClusterState;
  readonly #host: Host;
  readonly #breakers: PriorityCircuitBreakers;
  /** the request is gRPC (its content-type): a grpc-status in the response headers is its result */
  readonly #grpc: boolean;
  /** holds a `connections` unit (HTTP/1.1) */
  #connection: boolean;
  /** holds a `requests` unit (not while waiting for a connection) */
  #request = true;
  #started = false;
  #responded = false;
  #released = false;
  // ---- only while (or after) waiting as pending
  #pending: PendingController | undefined;
  #opts: DispatchOptions | undefined;
  #dispatch: Dispatch | undefined;

  constructor(
    handler: DispatchHandler,
    cluster: ClusterState,
    host: Host,
    breakers: PriorityCircuitBreakers,
    connection: boolean,
    grpc: boolean,
  ) {
    this.#handler = handler;
    this.#cluster = cluster;
    this.#host = host;
    this.#breakers = breakers;
    this.#connection = connection;
    this.#grpc = grpc;
  }

  get host(): Host {
    return this.#host;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#host.release();
    const b = this.#breakers;
    if (this.#request) b.requests.release();
    if (this.#connection) handOverConnection(b, this.#host);
  }

  /**
   * Parks the attempt until a connection frees up (it holds a `pendingRequests` unit, taken by the
   * caller, and no `requests` unit yet); the attempt's handler starts now.
   */
  park(opts: DispatchOptions, dispatch: Dispatch): void {
    this.#opts = opts;
    this.#dispatch = dispatch;
    this.#connection = false;
    this.#request = false;
    const c = new PendingController(this);
    this.#pending = c;
    this.#breakers.pendingQueue.push(this);
    this.#handler.onRequestStart?.(c, null);
  }

  /**
   * PendingRequest: a connection unit was handed over. The attempt now needs a `requests` unit,
   * as Envoy's pool checks max_requests when it attaches a waiting stream to a connection.
   */
  proceed(): void {
    const opts = this.#opts!;
    const dispatch = this.#dispatch!;
    this.#opts = undefined;
    this.#dispatch = undefined;
    this.#connection = true;
    if (!this.#breakers.requests.tryAcquire()) {
      this.#released = true;
      this.#host.release();
      handOverConnection(this.#breakers, this.#host);
      const err = new UpstreamOverflowError(this.#cluster.name);
      this.#handler.onResponseError?.(this.#pending!, err);
      return;
    }
    this.#request = true;
    dispatch(opts, this);
  }

  /** Aborted while pending: leave the queue, give back what it holds, fail the attempt. */
  abandon(reason: Error): void {
    const q = this.#breakers.pendingQueue;
    const i = q.indexOf(this);
    if (i < 0) return;
    q.splice(i, 1);
    this.#breakers.pendingRequests.release();
    this.#released = true;
    this.#host.release();
    this.#opts = undefined;
    this.#dispatch = undefined;
    const c = this.#pending!;
    queueMicrotask(() => this.#handler.onResponseError?.(c, reason));
  }

  onRequestStart(controller: DispatchController, context: unknown): void {
    this.#started = true;
    if (this.#cluster.outlierDetector?.config.splitExternalLocalOriginErrors === true) {
      this.#cluster.recordResult(this.#host, { localOrigin: 'success' });
    }
    const pending = this.#pending;
    if (pending === undefined) {
      this.#handler.onRequestStart?.(controller, context);
      return;
    }
    // The handler started when the attempt was parked: hand it undici's controller from now on.
    pending.real = controller;
    if (pending.aborted) controller.abort(pending.reason ?? new Error('aborted'));
    else pending.setTarget(controller);
  }

  onRequestUpgrade(
    controller: DispatchController,
    statusCode: number,
    headers: Record<string, unknown>,
    socket: unknown,
  ): void {
    this.#release();
    (this.#handler.onRequestUpgrade as ((...args: unknown[]) => void) | undefined)?.(
      controller,
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
    this.#responded = true;
    const detector = this.#cluster.outlierDetector;
    if (detector !== undefined) {
      // Envoy's router: for a gRPC request (its content-type, whatever the response's), a
      // grpc-status in the response headers is mapped to the HTTP status outlier detection sees;
      // one that only comes in trailers is not looked at.
      let status = statusCode;
      if (this.#grpc) {
        const value = headers['grpc-status'];
        const grpc = typeof value === 'string' ? parseGrpcStatus(value) : undefined;
        if (grpc !== undefined) status = grpcStatusToHttpStatus(grpc);
      }
      detector.recordResult(this.#host, { status });
    }
    this.#handler.onResponseStart?.(controller, statusCode, headers as never, statusMessage);
  }

  onResponseData(controller: DispatchController, chunk: Buffer): void {
    this.#handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: DispatchController, trailers: Record<string, unknown>): void {
    this.#release();
    this.#handler.onResponseEnd?.(controller, trailers as never);
  }

  onResponseError(controller: DispatchController, err: Error): void {
    this.#release();
    if (this.#cluster.outlierDetector !== undefined) {
      const local = localOriginOf(err, resetReasonOf(err, this.#started));
      // Envoy's router reports an upstream reset to outlier detection whether or not response
      // headers had arrived (a connection lost mid-body counts against the host too); timeouts
      // count only while it awaits headers, and a stream it resets itself is not reported.
      const afterHeadersTimeout = this.#responded && (local === 'timeout' || isStreamIdleTimeout(err));
      if (local !== undefined && !afterHeadersTimeout) this.#cluster.recordResult(this.#host, { localOrigin: local });
    }
    this.#handler.onResponseError?.(controller, err);
  }
}

export function limitsInterceptor(): (dispatch: Dispatch) => Dispatch {
  return (dispatch) => (opts, handler) => {
    const ex = (opts as MeshDispatchOptions)[kExchange];
    if (ex === undefined || ex.host === undefined || ex.hostCluster === undefined) return dispatch(opts, handler);
    const cluster = ex.hostCluster;
    const host = ex.host;
    const action = ex.entry?.route.action;
    const breakers = cluster.circuitBreakers.forPriority(action?.kind === 'route' ? action.priority : 'DEFAULT');
    // HTTP/1.1 (the cluster's protocol, or a caller that cannot take HTTP/2): one connection each.
    const h1 = !cluster.cluster.http2 || (opts as MeshDispatchOptions).allowH2 === false;
    if (h1 && !takeConnection(breakers, host)) {
      if (!breakers.pendingRequests.tryAcquire()) return overflow(cluster.name, handler);
      host.acquire();
      new UpstreamAccounting(handler, cluster, host, breakers, true, ex.grpc).park(opts, dispatch);
      return true;
    }
    if (!breakers.requests.tryAcquire()) {
      if (h1) handOverConnection(breakers, host);
      return overflow(cluster.name, handler);
    }
    host.acquire();
    return dispatch(opts, new UpstreamAccounting(handler, cluster, host, breakers, h1, ex.grpc));
  };
}

function overflow(cluster: string, handler: DispatchHandler): boolean {
  const err = new UpstreamOverflowError(cluster);
  queueMicrotask(() => handler.onResponseError?.(failedController(err), err));
  return true;
}
