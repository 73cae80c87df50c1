// The route layer: what Envoy's HTTP connection manager, fault filter and router do before the
// first upstream attempt.
//   - find the mesh target of the dispatch origin (waiting for its first snapshot if needed);
//     hosts outside the mesh pass through untouched, or get 502 in registry-only mode;
//   - match the route on the caller's request and choose the cluster;
//   - run the fault filter (delay: DI, abort: FI), on the original headers, for every request;
//   - then, as the router: 404 NR without a route, redirects and direct responses answered
//     locally, 503 NC (or cluster_not_found_response_code) for an unknown cluster, else
//     header mutations, path and host rewrites (x-envoy-original-*),
//     the route timeout (covering every attempt), request mirrors, and on to the retry layer.
import { stringify as stringifyQuery } from 'node:querystring';
import type { MaxStreamDuration, RequestMirrorPolicy, RouteAction } from '@inboard/xds';
import type { Dispatcher } from 'undici';
import { decideFault, type FaultAbortDecision } from '../fault/fault-decision.ts';
import type { CompiledTarget } from '../mesh/compiled-target.ts';
import { directResponseLocation } from '../route/direct-response.ts';
import { formatGrpcTimeout, isGrpcRequest, parseGrpcTimeout } from '../route/grpc.ts';
import type { HeaderRecord } from '../route/header-mutation.ts';
import { rewriteHost } from '../route/host-rewrite.ts';
import { rewritePath } from '../route/path-rewrite.ts';
import type { RandomSource } from '../route/random.ts';
import { redirectResponse } from '../route/redirect.ts';
import type { ClusterChoice } from '../route/route-table.ts';
import { chooseCluster } from '../route/weighted-cluster.ts';
import { isReplayableBody, RequestBody } from './body-buffer.ts';
import { observeCatchAll } from './catch-all-events.ts';
import { NotInMeshError } from './errors.ts';
import { Exchange, type ExchangeSettings, kExchange, type MeshDispatchOptions } from './exchange.ts';
import { HAS_ENVOY, HAS_HOP, HAS_HOST, normalizeHeaders, stripHopByHop } from './header-record.ts';
import { replyLocally } from './local-reply.ts';
import { newRequestId } from './request-id.ts';
import type { OriginInfo, TargetDirectory } from './target-directory.ts';

type DispatchOptions = Dispatcher.DispatchOptions;
type DispatchHandler = Dispatcher.DispatchHandler;
type Dispatch = (opts: DispatchOptions, handler: DispatchHandler) => boolean;

/** Envoy's route timeout when the route does not set one (Istio always sets one, 0 by default). */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

const UPSTREAM_RQ_TIMEOUT = 'x-envoy-upstream-rq-timeout-ms';
const TIMEOUT_ALT_RESPONSE = 'x-envoy-upstream-rq-timeout-alt-response';

export interface RouteInterceptorOptions {
  readonly directory: TargetDirectory;
  /** where traffic outside the mesh goes, untouched */
  readonly passthrough: Dispatch;
  readonly unknownHosts: 'passthrough' | 'reject';
  readonly settings: ExchangeSettings;
  readonly random: RandomSource;
  /** honour x-envoy-upstream-rq-timeout-ms (in-process callers are internal) */
  readonly honorEnvoyHeaders: boolean;
  /** sends the request mirrors of a routed request */
  readonly mirror?: (ex: Exchange, policies: readonly RequestMirrorPolicy[]) => void;
}

function firstValue(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : v?.[0];
}

/**
 * The path undici would put on the wire for `opts.query` (its serializePathWithQuery): the query
 * serialised by node:querystring (arrays as repeated keys, `%20` for a space), and an error when
 * the path already has a query or a fragment. Routes must match what the upstream receives.
 */
function withQuery(path: string, query: NonNullable<DispatchOptions['query']>): string {
  if (path.includes('?') || path.includes('#'))
    throw new Error('Query params cannot be passed when url already contains "?" or "#".');
  const qs = stringifyQuery(query as Parameters<typeof stringifyQuery>[0]);
  return qs === '' ? path : `${path}?${qs}`;
}

function parseUint(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/**
 * The stream's duration limit (ms; undefined: none), as Envoy's connection manager computes it
 * (refreshDurationTimeout): with a `grpc-timeout` header and the route's
 * max_stream_duration.grpc_timeout_header_max configured, the header's value, capped by that
 * maximum unless it is 0, minus grpc_timeout_header_offset (0 when the offset is not smaller,
 * which expires at once); otherwise the route's max_stream_duration (0: none), else the
 * connection manager's. The deprecated max_grpc_timeout plays no part here: it is the router's.
 */
function streamDuration(
  route: MaxStreamDuration | undefined,
  hcm: number | undefined,
  record: HeaderRecord,
): number | undefined {
  const max = route?.grpcTimeoutHeaderMax;
  const header = max === undefined ? undefined : parseGrpcTimeout(firstValue(record['grpc-timeout']));
  if (header === undefined) {
    const r = route?.maxStreamDuration;
    const t = r !== undefined ? r : hcm;
    return t === undefined || t === 0 ? undefined : t;
  }
  let t = max! > 0 && header > max! ? max! : header;
  const offset = route!.grpcTimeoutHeaderOffset;
  if (t !== 0 && offset !== undefined) t = offset < t ? t - offset : 0;
  return t;
}

/**
 * The router's route timeout before x-envoy-upstream-rq-timeout-ms (FilterUtility::finalTimeout):
 * none once the route has max_stream_duration ("new timeouts": the route's timeout and
 * max_grpc_timeout are ignored); for a gRPC request on a route with max_grpc_timeout, the
 * grpc-timeout header (0 when absent or malformed) less grpc_timeout_offset when the offset is
 * smaller, capped by max_grpc_timeout unless that is 0; else the route's timeout (15 s unset).
 */
function routeTimeout(action: RouteAction, grpc: boolean, record: HeaderRecord): number {
  if (action.maxStreamDuration !== undefined) return 0;
  const max = action.maxGrpcTimeout;
  if (!grpc || max === undefined) return action.timeout ?? DEFAULT_ROUTE_TIMEOUT_MS;
  let t = parseGrpcTimeout(firstValue(record['grpc-timeout'])) ?? 0;
  const offset = action.grpcTimeoutOffset;
  if (offset !== undefined && offset < t) t -= offset;
  if (max !== 0 && (t === 0 || t > max)) t = max;
  return t;
}

class Router {
  readonly #o: RouteInterceptorOptions;
  readonly #next: Dispatch;

  constructor(o: RouteInterceptorOptions, next: Dispatch) {
    this.#o = o;
    this.#next = next;
  }

  dispatch(opts: DispatchOptions, handler: DispatchHandler): boolean {
    const info = this.#o.directory.lookup(opts.origin);
    if (info === undefined) return this.#o.passthrough(opts, handler);
    const t = info.target;
    t.unusedSweeps = 0;
    const compiled = t.compiled;
    if (compiled !== undefined) return this.#route(opts, handler, info, compiled);
    if (t.state === 'resolving') {
      t.settled().then(
        () => {
          const c = t.compiled;
          if (c !== undefined) this.#route(opts, handler, info, c);
          else this.#unknown(opts, handler, info);
        },
        () => this.#unknown(opts, handler, info),
      );
      return true;
    }
    return this.#unknown(opts, handler, info);
  }

  #unknown(opts: DispatchOptions, handler: DispatchHandler, info: OriginInfo): boolean {
    // telemetry sees these as a sidecar reports them: routes allow_any / block_all
    if (this.#o.unknownHosts === 'passthrough')
      return this.#o.passthrough(opts, observeCatchAll(handler, opts, info, 'allow_any'));
    const err = new NotInMeshError(info.target.key);
    const observed = observeCatchAll(handler, opts, info, 'block_all', err.responseFlags, err.details);
    replyLocally(observed, err, this.#o.settings.responseFlagsHeader);
    return true;
  }

  #route(opts: DispatchOptions, handler: DispatchHandler, info: OriginInfo, compiled: CompiledTarget): boolean {
    let path = opts.path;
    if (opts.query) {
      try {
        path = withQuery(path, opts.query);
      } catch (err) {
        // as undici's dispatchers fail a request they refuse synchronously
        if (typeof handler.onResponseError !== 'function') throw err;
        handler.onResponseError(null as never, err as Error);
        return true;
      }
    }
    const record: Record<string, string | string[]> = {};
    const bits = normalizeHeaders(opts.headers, record);
    // a protocol upgrade (WebSocket) keeps its Connection / Upgrade pair for the upstream
    if ((bits & HAS_HOP) !== 0 && opts.upgrade == null) stripHopByHop(record);
    // Envoy's connection manager gives a request without one an x-request-id (a UUID v4) and sends
    // it upstream, so access logs on both sides and the application's own logs correlate
    // (generate_request_id, true unless the connection manager says false)
    if (record['x-request-id'] === undefined && compiled.snapshot.hcm.generateRequestId)
      record['x-request-id'] = newRequestId();
    const authority = (bits & HAS_HOST) !== 0 ? (firstValue(record.host) ?? info.authority) : info.authority;
    const ex = new Exchange(
      compiled,
      opts.method,
      authority,
      path,
      info.scheme,
      record,
      bits,
      handler,
      this.#o.settings,
    );
    ex.publishStart();
    try {
      handler.onRequestStart?.(ex.controller, null);
    } catch (err) {
      ex.onResponseError(undefined, err as Error);
      return true;
    }
    if (ex.done) return true;

    ex.random = this.#o.random();
    const entry = compiled.routeTable.match(ex, ex.random);
    ex.entry = entry;
    const action = entry?.route.action;
    let choice: ClusterChoice | undefined;
    if (action?.kind === 'route') {
      choice = chooseCluster(entry!, ex, ex.random);
      const upstream = choice === undefined ? undefined : compiled.clusters.get(choice.name);
      if (choice !== undefined && upstream !== undefined && upstream.kind !== 'missing') {
        ex.choice = choice;
        ex.upstream = upstream;
        const body = opts.body;
        if (body instanceof RequestBody) {
          // Streamed: forwarded as it arrives, kept for retries within the limit. Until it ends the
          // connection manager's timeouts would answer 408.
          ex.body = body;
          body.listener = ex;
          ex.requestComplete = false;
        } else {
          ex.replayable = isReplayableBody(body);
          ex.requestComplete = ex.replayable;
        }
        const hcm = compiled.snapshot.hcm;
        // The stream idle timeout: the route's idle_timeout over the connection manager's
        // stream_idle_timeout; 0 disables. Configured, it runs on the exchange's own timer (precise,
        // reset by response activity). Unconfigured, Envoy's 5 min default is left to undici's 300 s
        // header and body timers of each attempt: a timer of our own armed and cleared for every
        // request cost ≈ 0.3 µs, half again the mesh's own work per request.
        const idle = action.idleTimeout ?? hcm.streamIdleTimeout;
        if (idle !== undefined) {
          ex.streamIdleConfigured = true;
          if (idle > 0) ex.startIdleTimer(idle);
        }
        // max_stream_duration: the route's, else the connection manager's. It covers the whole
        // stream from here (fault delay, every attempt, the response body).
        const msd = streamDuration(action.maxStreamDuration, hcm.maxStreamDuration, record);
        if (msd !== undefined) {
          // With "new timeouts" a gRPC request carries the limit upstream as its grpc-timeout.
          if (action.maxStreamDuration !== undefined && isGrpcRequest(ex))
            record['grpc-timeout'] = formatGrpcTimeout(msd);
          ex.startStreamTimer(msd);
        }
        if (typeof body === 'string') ex.bodyBytes = Buffer.byteLength(body);
        else if (body instanceof Uint8Array) ex.bodyBytes = body.byteLength;
        else if (body === undefined || body === null) ex.bodyBytes = 0;
      }
    }

    // A streamed body of a request answered locally is let go when the request ends.
    if (ex.upstream === undefined && opts.body instanceof RequestBody) ex.body = opts.body;

    // The fault filter runs before the router, on the headers as the caller sent them, whatever
    // the router then does (forward, redirect, direct response, NR, NC). Its per-route config
    // comes from the route (the weighted cluster's entry first); without a route, the filter's
    // own. upstream_cluster only matches a forwarding route's cluster: Envoy's direct-response
    // routes have no route entry to compare.
    const ff = compiled.faultFilter;
    if (ff !== undefined) {
      const filters = choice?.filters ?? entry?.filters;
      if (!(filters?.disabled(ff.name) ?? ff.disabledByDefault)) {
        const fault = filters?.fault(ff.name) ?? ff.config;
        if (fault.fault.delay !== undefined || fault.fault.abort !== undefined) {
          const clusterName = action?.kind === 'route' ? (choice?.name ?? '') : undefined;
          const inj = decideFault(fault, ex, { random: this.#o.random, faults: ff.faults, clusterName });
          if (inj !== undefined) {
            ex.fault = inj;
            if (inj.delayMs !== undefined) {
              ex.addFlag('DI');
              ex.wait(inj.delayMs, () => {
                const abort = inj.afterDelay();
                if (abort !== undefined) this.#abort(ex, abort);
                else this.#decide(ex, opts);
              });
              return true;
            }
            if (inj.abort !== undefined) {
              this.#abort(ex, inj.abort);
              return true;
            }
          }
        }
      }
    }
    this.#decide(ex, opts);
    return true;
  }

  /** The router's decision: answer locally (NR, redirect, direct response, NC) or forward. */
  #decide(ex: Exchange, opts: DispatchOptions): void {
    const entry = ex.entry;
    const action = entry?.route.action;
    if (entry === undefined || action === undefined) {
      ex.reply({ status: 404, flags: ['NR'], details: 'route_not_found' });
      return;
    }
    if (action.kind === 'redirect') {
      const r = redirectResponse(entry, ex)!;
      ex.reply({ status: r.status, flags: [], details: 'direct_response', headers: { location: r.location } });
      return;
    }
    if (action.kind === 'direct_response') {
      const location = directResponseLocation(action.status, ex);
      const headers = location === undefined ? undefined : { location };
      ex.reply({ status: action.status, flags: [], details: 'direct_response', body: action.body, headers });
      return;
    }
    if (action.kind !== 'route') {
      ex.reply({ status: 404, flags: ['NR'], details: 'route_not_found' });
      return;
    }
    if (ex.upstream === undefined) {
      ex.reply({ status: action.clusterNotFoundResponseCode || 503, flags: ['NC'], details: 'cluster_not_found' });
      return;
    }
    this.#forward(ex, opts);
  }

  #abort(ex: Exchange, abort: FaultAbortDecision): void {
    ex.reply({
      status: abort.grpcStatus !== undefined ? 200 : abort.httpStatus,
      flags: ['FI'],
      details: 'fault_filter_abort',
      body: 'fault filter abort',
      // the gRPC form only for a gRPC request: a plain one gets 200 text/plain, as from Envoy
      grpcStatus: abort.grpcStatus,
    });
  }

  /** The router: mutate, rewrite, start the route timeout, mirror, then the upstream attempts. */
  #forward(ex: Exchange, opts: DispatchOptions): void {
    const entry = ex.entry!;
    const choice = ex.choice!;
    const action = entry.route.action;
    if (action.kind !== 'route') return;
    const record = ex.record;
    choice.requestHeaders(record, ex);

    let path = ex.path;
    const rewritten = rewritePath(entry, path);
    if (rewritten !== undefined) {
      record['x-envoy-original-path'] = path;
      path = rewritten;
    }
    const host = rewriteHost(entry, choice, record, ex.authority);
    if (host !== undefined) {
      record['x-envoy-original-host'] = ex.authority;
      record.host = host;
      ex.routedAuthority = host;
    } else {
      // undici would otherwise send the endpoint's address as Host.
      record.host = ex.authority;
    }

    const grpc = isGrpcRequest(ex);
    ex.grpc = grpc;
    let timeout = routeTimeout(action, grpc, record);
    ex.rewriteGrpcTimeout = grpc && action.maxStreamDuration === undefined && action.maxGrpcTimeout !== undefined;
    if ((ex.headerBits & HAS_ENVOY) !== 0 && record[UPSTREAM_RQ_TIMEOUT] !== undefined) {
      if (this.#o.honorEnvoyHeaders) {
        const t = parseUint(firstValue(record[UPSTREAM_RQ_TIMEOUT]));
        if (t !== undefined) timeout = t;
      }
      delete record[UPSTREAM_RQ_TIMEOUT];
    }
    // Any value: the route and per-try timeouts answer 204 instead of 504 (Envoy's router reads
    // the header and removes it).
    if ((ex.headerBits & HAS_ENVOY) !== 0 && record[TIMEOUT_ALT_RESPONSE] !== undefined) {
      if (this.#o.honorEnvoyHeaders) ex.timeoutAltResponse = true;
      delete record[TIMEOUT_ALT_RESPONSE];
    }
    if (timeout > 0) ex.startRouteTimer(timeout);

    const next: MeshDispatchOptions = { ...opts, path, headers: record, [kExchange]: ex };
    if (next.query !== undefined) next.query = undefined;
    // a streamed body the mesh does not keep (not made replayable by the bodyBuffer stage): its
    // chunks are stream activity, its end completes the request
    if (!ex.requestComplete && ex.body === undefined && isAsyncIterable(opts.body))
      next.body = observeUpload(opts.body, ex) as unknown as MeshDispatchOptions['body'];
    // A configured stream idle timeout (the exchange's timer, or 0: none) replaces undici's coarse
    // header and body timers.
    if (ex.streamIdleConfigured) {
      next.headersTimeout = 0;
      next.bodyTimeout = 0;
    }
    ex.opts = next;
    const mirrors = entry.requestMirrorPolicies;
    const mirror = this.#o.mirror;
    if (mirrors.length > 0 && mirror !== undefined) {
      // A streamed body is mirrored once it is complete within the limit (see the README's deviations).
      if (ex.body !== undefined) ex.whenBodyComplete(() => mirror(ex, mirrors));
      else if (ex.replayable) mirror(ex, mirrors);
    }
    // the request goes upstream at once; the body follows as the caller sends it, with a copy only
    // if a retry (the route's policy, or x-envoy-retry-* headers) or a mirror may send it again
    const body = ex.body;
    if (body !== undefined) {
      const retries =
        entry.retryPolicy !== undefined || ((ex.headerBits & HAS_ENVOY) !== 0 && this.#o.honorEnvoyHeaders);
      if (!retries && mirrors.length === 0) body.keepNoCopy();
      body.start();
    }
    this.#next(next, ex);
  }
}

function isAsyncIterable(body: unknown): body is AsyncIterable<unknown> {
  return (
    body !== null &&
    typeof body === 'object' &&
    typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

/** The caller's streamed body as undici reads it, telling the exchange of each chunk and of its end. */
async function* observeUpload(body: AsyncIterable<unknown>, ex: Exchange): AsyncGenerator<unknown> {
  for await (const chunk of body) {
    ex.requestBodyProgress(false);
    yield chunk;
  }
  ex.requestBodyProgress(true);
}

export function routeInterceptor(options: RouteInterceptorOptions): (dispatch: Dispatch) => Dispatch {
  return (dispatch) => {
    const router = new Router(options, dispatch);
    return (opts, handler) => router.dispatch(opts, handler);
  };
}
