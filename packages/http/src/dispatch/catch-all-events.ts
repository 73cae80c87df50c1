// Requests no mesh route handles still show in telemetry, as an Envoy sidecar reports them: a host
// outside the mesh's services goes out through the catch-all route `allow_any` to
// PassthroughCluster (outboundTrafficPolicy ALLOW_ANY), or is refused by the route `block_all`
// (REGISTRY_ONLY, a direct 502, no cluster). The observer below watches such a request on its way
// to the caller's handler without touching it, and publishes its request event at the end. It is
// only put in place while someone listens on the request channel; it costs one object and the
// event, less than a request through the mesh.
import type { Dispatcher } from 'undici';
import type { ResponseFlag } from '../retry/response-flags.ts';
import { type HttpRequestEvent, PASSTHROUGH_CLUSTER, type RequestStartEvent, requestChannel } from './events.ts';
import { HAS_HOST, normalizeHeaders } from './header-record.ts';
import type { OriginInfo } from './target-directory.ts';

type DispatchHandler = Dispatcher.DispatchHandler;
type DispatchController = Dispatcher.DispatchController;
type DispatchOptions = Dispatcher.DispatchOptions;

/** `allow_any`: passed through to the host; `block_all`: refused (REGISTRY_ONLY). */
export type CatchAllRoute = 'allow_any' | 'block_all';

const NO_FLAGS: readonly ResponseFlag[] = [];
const UPSTREAM_FAILURE: readonly ResponseFlag[] = ['UF'];

class CatchAllObserver implements DispatchHandler {
  readonly #user: DispatchHandler;
  readonly #opts: DispatchOptions;
  readonly #info: OriginInfo;
  readonly #route: CatchAllRoute;
  readonly #flags: readonly ResponseFlag[];
  readonly #details: string;
  readonly #startedAt = performance.now();
  #responseStartAt = -1;
  #status = 0;
  #received = 0;
  #grpcStatus: string | undefined;
  #done = false;

  constructor(
    user: DispatchHandler,
    opts: DispatchOptions,
    info: OriginInfo,
    route: CatchAllRoute,
    flags: readonly ResponseFlag[],
    details: string,
  ) {
    this.#user = user;
    this.#opts = opts;
    this.#info = info;
    this.#route = route;
    this.#flags = flags;
    this.#details = details;
  }

  onRequestStart(controller: DispatchController, context: unknown): void {
    this.#user.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: DispatchController, statusCode: number, headers: never, socket: never): void {
    this.#status = statusCode;
    this.#responseStartAt = performance.now();
    this.#publish(undefined);
    this.#user.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    this.#status = statusCode;
    this.#responseStartAt = performance.now();
    const grpcStatus = headers['grpc-status'];
    if (typeof grpcStatus === 'string') this.#grpcStatus = grpcStatus;
    this.#user.onResponseStart?.(controller, statusCode, headers as never, statusMessage);
  }

  onResponseData(controller: DispatchController, chunk: Buffer): void {
    this.#received += chunk.length;
    this.#user.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    const grpcStatus = trailers?.['grpc-status'];
    if (typeof grpcStatus === 'string') this.#grpcStatus = grpcStatus;
    this.#publish(undefined);
    this.#user.onResponseEnd?.(controller, trailers as never);
  }

  onResponseError(controller: DispatchController, err: Error): void {
    this.#publish(err);
    this.#user.onResponseError?.(controller, err);
  }

  #publish(error: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (!requestChannel.hasSubscribers) return;
    const now = performance.now();
    const started = this.#startedAt;
    const opts = this.#opts;
    const record: Record<string, string | string[]> = {};
    const bits = normalizeHeaders(opts.headers, record);
    const host = record.host;
    const authority = (bits & HAS_HOST) !== 0 && typeof host === 'string' ? host : this.#info.authority;
    const target = this.#info.target.key;
    const path = opts.path;
    const start: RequestStartEvent = {
      target,
      authority,
      method: opts.method,
      path,
      scheme: this.#info.scheme,
      headers: record,
      startedAt: started,
      context: undefined,
    };
    const responded = this.#responseStartAt >= 0;
    const passthrough = this.#route === 'allow_any';
    const event: HttpRequestEvent = {
      kind: 'request',
      target,
      authority,
      method: opts.method,
      path,
      routeConfig: undefined,
      virtualHost: this.#route,
      route: this.#route,
      istioConfig: undefined,
      cluster: passthrough ? PASSTHROUGH_CLUSTER : undefined,
      // the address the host resolved to is undici's business: not known here
      endpoint: undefined,
      attempts: passthrough ? 1 : 0,
      status: responded ? this.#status : 0,
      flags: error !== undefined && !responded && passthrough ? UPSTREAM_FAILURE : this.#flags,
      details:
        error !== undefined && !responded && passthrough ? 'upstream_reset_before_response_started' : this.#details,
      durations: {
        totalMs: now - started,
        responseStartMs: responded ? Math.max(0, this.#responseStartAt - started) : undefined,
      },
      bytes: { sent: undefined, received: this.#received },
      error,
      start,
      peerMetadata: undefined,
      peerMetadataId: undefined,
      grpcStatus: this.#grpcStatus,
      transportFailureReason: undefined,
    };
    requestChannel.publish(event);
  }
}

/**
 * The caller's handler, observed for the request event of a request on a catch-all route while
 * someone listens; the handler itself otherwise.
 */
export function observeCatchAll(
  handler: DispatchHandler,
  opts: DispatchOptions,
  info: OriginInfo,
  route: CatchAllRoute,
  flags: readonly ResponseFlag[] = NO_FLAGS,
  details = 'via_upstream',
): DispatchHandler {
  return requestChannel.hasSubscribers ? new CatchAllObserver(handler, opts, info, route, flags, details) : handler;
}
