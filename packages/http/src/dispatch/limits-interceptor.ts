// The limits & accounting layer, closest to the connection pools:
//   - the cluster's max_requests circuit breaker (per routing priority): a full breaker fails
//     the attempt at once with UpstreamOverflowError (503 UO, x-envoy-overloaded), never queues;
//   - the host's active request count (LEAST_REQUEST) while the attempt runs;
//   - outlier detection: the response status (grpc-status mapped for gRPC), or the local-origin
//     failure (connect failure, timeout, reset) of an attempt that got no response.
import type { Dispatcher } from 'undici';
import type { PriorityCircuitBreakers } from '../cluster/circuit-breakers.ts';
import type { ClusterState } from '../cluster/cluster-state.ts';
import type { Host } from '../cluster/host.ts';
import { grpcStatusToHttpStatus } from '../cluster/outlier-detector.ts';
import { UpstreamOverflowError } from './errors.ts';
import { kExchange, type MeshDispatchOptions } from './exchange.ts';
import { failedController } from './mesh-controller.ts';
import { localOriginOf, resetReasonOf } from './upstream-error.ts';

type DispatchOptions = Dispatcher.DispatchOptions;
type DispatchHandler = Dispatcher.DispatchHandler;
type DispatchController = Dispatcher.DispatchController;
type Dispatch = (opts: DispatchOptions, handler: DispatchHandler) => boolean;

/** Counts an attempt against its cluster and host, and reports its outcome to outlier detection. */
export class UpstreamAccounting implements DispatchHandler {
  readonly #handler: DispatchHandler;
  readonly #cluster: ClusterState;
  readonly #host: Host;
  readonly #breakers: PriorityCircuitBreakers;
  #started = false;
  #responded = false;
  #released = false;

  constructor(handler: DispatchHandler, cluster: ClusterState, host: Host, breakers: PriorityCircuitBreakers) {
    this.#handler = handler;
    this.#cluster = cluster;
    this.#host = host;
    this.#breakers = breakers;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#host.release();
    this.#breakers.requests.release();
  }

  onRequestStart(controller: DispatchController, context: unknown): void {
    this.#started = true;
    if (this.#cluster.outlierDetector?.config.splitExternalLocalOriginErrors === true) {
      this.#cluster.recordResult(this.#host, { localOrigin: 'success' });
    }
    this.#handler.onRequestStart?.(controller, context);
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
      let status = statusCode;
      const grpc = headers['grpc-status'];
      if (typeof grpc === 'string') {
        const ct = headers['content-type'];
        if (typeof ct === 'string' && ct.startsWith('application/grpc')) status = grpcStatusToHttpStatus(Number(grpc));
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
    if (!this.#responded && this.#cluster.outlierDetector !== undefined) {
      const local = localOriginOf(err, resetReasonOf(err, this.#started));
      if (local !== undefined) this.#cluster.recordResult(this.#host, { localOrigin: local });
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
    if (!breakers.requests.tryAcquire()) {
      const err = new UpstreamOverflowError(cluster.name);
      queueMicrotask(() => handler.onResponseError?.(failedController(err), err));
      return true;
    }
    host.acquire();
    return dispatch(opts, new UpstreamAccounting(handler, cluster, host, breakers));
  };
}
