// The outbound half of Inboard's data plane: an xDS client plus an undici Dispatcher that sends
// every request the way an Envoy sidecar would. Targets (`host:port`) are resolved lazily, on
// the first request to them, and stay cached until unused for the idle timeout; hosts the control
// plane does not know pass through untouched (or get 502 with `unknownHosts: 'reject'`).
//
//   const mesh = new OutboundMesh({ bootstrap });
//   setGlobalDispatcher(mesh.dispatcher);            // undici, and Node's global fetch
//   await fetch('http://reviews:9080/reviews/1');     // routed, balanced, retried
//
// The dispatcher is a chain of interceptors, outermost first:
//   bufferBody → route → retry → endpoint → limits → per-endpoint undici pools
import { isIP } from 'node:net';
import {
  type Bootstrap,
  type BootstrapNode,
  type Clock,
  createLogger,
  type FileWatcherCertificateProvider,
  systemClock,
  type TimerHandle,
  Xds,
  type XdsOptions,
} from '@inboard/xds';
import { type Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher, fetch as undiciFetch } from 'undici';
import { mathRandom, type RandomSource } from '../cluster/random-source.ts';
import { bodyBufferInterceptor, DEFAULT_REQUEST_BUFFER_LIMIT } from '../dispatch/body-buffer.ts';
import { endpointInterceptor } from '../dispatch/endpoint-interceptor.ts';
import type { ExchangeSettings } from '../dispatch/exchange.ts';
import { limitsInterceptor } from '../dispatch/limits-interceptor.ts';
import { sendMirrors } from '../dispatch/mirror.ts';
import { requestClock } from '../dispatch/request-clock.ts';
import { retryInterceptor } from '../dispatch/retry-interceptor.ts';
import { routeInterceptor } from '../dispatch/route-interceptor.ts';
import type { OriginInfo, TargetDirectory } from '../dispatch/target-directory.ts';
import { UpstreamPools } from '../dispatch/upstream-pools.ts';
import { ClusterManager } from './cluster-manager.ts';
import type { CompiledTarget } from './compiled-target.ts';
import { MeshDispatcher } from './mesh-dispatcher.ts';
import { MeshOptionError } from './mesh-option-error.ts';
import { MeshTarget } from './mesh-target.ts';

const log = createLogger('http.outbound-mesh');

type Dispatch = (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => boolean;

export interface OutboundMeshOptions {
  /** an Xds to share (not closed by the mesh); otherwise one is created from `bootstrap` */
  readonly xds?: Xds;
  readonly bootstrap?: Bootstrap;
  /** options of the Xds the mesh creates */
  readonly xdsOptions?: Omit<XdsOptions, 'bootstrap'>;
  /** hosts without a listener: 'passthrough' (default, Istio's ALLOW_ANY) or 'reject' (502, REGISTRY_ONLY) */
  readonly unknownHosts?: 'passthrough' | 'reject';
  /**
   * Time for every timer: route and per-try timeouts, retry backoff, fault delays, outlier
   * detection intervals and ejections. Tests inject a ManualClock.
   */
  readonly clock?: Clock;
  /** Random source for route matching, weighted clusters, LB, faults, mirrors and backoff jitter. */
  readonly random?: RandomSource;
  /** request bodies up to this many bytes are buffered for retries and mirrors (default 1 MiB) */
  readonly requestBufferLimitBytes?: number;
  /** how long a request waits for a new target's first xDS snapshot (default 15 s) */
  readonly resolveTimeoutMs?: number;
  /**
   * A target (`host:port`) nothing used for this long is released: its xDS watches, compiled
   * routes and the cluster states only it used; the next request resolves it again. Default
   * 30 min (gRPC's channel idle timeout); 0: never; else at least 1000.
   */
  readonly idleTimeoutMs?: number;
  /** options for the per-endpoint connection pools (undici Agent options) */
  readonly agentOptions?: Agent.Options;
  /** sends mesh traffic to this dispatcher instead of the built-in per-endpoint pools */
  readonly upstream?: Dispatcher;
  /**
   * who writes HTTP/1.1 to the endpoints: the mesh's own connection pools (default, `'inboard'`)
   * or undici Pools (`'undici'`). HTTP/2 clusters always use undici.
   */
  readonly http1?: 'inboard' | 'undici';
  /** where traffic outside the mesh goes (default: a plain undici Agent) */
  readonly passthrough?: Dispatcher;
  /**
   * certificate provider instances for clusters with upstream TLS (Istio mTLS): the client
   * certificate, key and mesh root. Default: the bootstrap's `certificate_providers`.
   */
  readonly certificateProviders?: Readonly<Record<string, FileWatcherCertificateProvider>>;
  /** add `x-inboard-response-flags` to responses that carry Envoy response flags (default true) */
  readonly responseFlagsHeader?: boolean;
  /**
   * send `x-envoy-attempt-count` upstream: true / false for every request; by default the virtual
   * host's include_request_attempt_count decides, as in Envoy (istiod sets it on every sidecar
   * virtual host)
   */
  readonly attemptCountHeader?: boolean;
  /**
   * honour x-envoy-retry-on, x-envoy-max-retries, x-envoy-upstream-rq-timeout-ms & co. on
   * requests (default true: in-process callers are internal callers in Envoy's sense)
   */
  readonly honorEnvoyHeaders?: boolean;
}

/**
 * The workload's IP as istiod sees the proxy: the first INSTANCE_IPS metadata entry, else the
 * node id's second part (`sidecar~10.1.2.3~pod.ns~ns.svc.cluster.local`); undefined when neither
 * is an IP address.
 */
export function workloadIp(node: BootstrapNode): string | undefined {
  const listed = node.metadata['INSTANCE_IPS'];
  if (typeof listed === 'string') {
    const first = listed.split(',')[0]!.trim();
    if (isIP(first) !== 0) return first;
  }
  const fromId = node.id.split('~')[1];
  return fromId !== undefined && isIP(fromId) !== 0 ? fromId : undefined;
}

const DEFAULT_RESOLVE_TIMEOUT_MS = 15_000;
/** gRPC's default channel idle timeout (grpc.client_idle_timeout_ms) */
const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000;
/** the smallest idle timeout gRPC accepts for a channel */
const MIN_IDLE_TIMEOUT_MS = 1000;
/** the sweep looks at every target this many times per idle timeout */
const SWEEPS_PER_TIMEOUT = 8;
/** setTimeout's largest delay */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_CACHED_ORIGINS = 10_000;
const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

export class OutboundMesh implements TargetDirectory {
  readonly xds: Xds;
  readonly dispatcher: MeshDispatcher;
  #ownsXds: boolean;
  readonly #clock: Clock;
  readonly #random: RandomSource;
  readonly #resolveTimeoutMs: number;
  readonly #clusters: ClusterManager;
  readonly #pools: UpstreamPools;
  readonly #targets = new Map<string, MeshTarget>();
  readonly #origins = new Map<string, OriginInfo | null>();
  /** idle tracking: the sweep's clock and period, and how many unused sweeps release a target */
  readonly #sweepClock: Clock;
  readonly #sweepMs: number;
  readonly #idleSweeps: number;
  #sweepTimer: TimerHandle | undefined;
  #closed = false;

  constructor(options: OutboundMeshOptions) {
    if (options.xds !== undefined) {
      this.xds = options.xds;
      this.#ownsXds = false;
    } else if (options.bootstrap !== undefined) {
      this.xds = new Xds({ ...options.xdsOptions, bootstrap: options.bootstrap });
      this.#ownsXds = true;
    } else {
      throw new TypeError('OutboundMesh needs `xds` or `bootstrap` (see OutboundMesh.fromEnvironment)');
    }
    this.#clock = options.clock ?? requestClock;
    this.#random = options.random ?? mathRandom;
    this.#resolveTimeoutMs = options.resolveTimeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS;
    const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (typeof idleMs !== 'number' || !Number.isFinite(idleMs) || (idleMs !== 0 && idleMs < MIN_IDLE_TIMEOUT_MS))
      throw new MeshOptionError(
        'idleTimeoutMs',
        `expected 0 (never) or a number of milliseconds from ${MIN_IDLE_TIMEOUT_MS}, got ${String(idleMs)}`,
      );
    // One periodic sweep instead of a timer per target or per request: a target is released on
    // the first sweep after it has gone unused for the whole timeout, which is between the
    // timeout and an eighth of it later. The sweep's timer must not keep the process alive.
    this.#sweepClock = options.clock ?? systemClock;
    this.#sweepMs = Math.min(MAX_TIMER_MS, Math.floor(idleMs / SWEEPS_PER_TIMEOUT));
    this.#idleSweeps = idleMs === 0 ? 0 : Math.ceil(idleMs / this.#sweepMs);
    // Outlier detection's interval timers must not keep the process alive.
    this.#clusters = new ClusterManager({ clock: options.clock ?? systemClock, random: this.#random });
    this.#pools = new UpstreamPools({
      agentOptions: options.agentOptions,
      upstream: options.upstream,
      passthrough: options.passthrough,
      http1: options.http1,
      certificateProviders: options.certificateProviders ?? this.xds.bootstrap.certificateProviders,
      // Certificate refresh intervals and TLS connect timeouts must not keep the process alive.
      clock: options.clock ?? systemClock,
    });

    const settings: ExchangeSettings = {
      clock: this.#clock,
      responseFlagsHeader: options.responseFlagsHeader ?? true,
      localIp: workloadIp(this.xds.bootstrap.node),
    };
    const honorEnvoyHeaders = options.honorEnvoyHeaders ?? true;
    const pools = this.#pools;
    const random = this.#random;
    const passthrough: Dispatch = (opts, handler) => pools.passthrough.dispatch(opts, handler);

    // Innermost first.
    let chain: Dispatch = (opts, handler) => pools.dispatch(opts, handler);
    chain = limitsInterceptor()(chain);
    chain = endpointInterceptor()(chain);
    chain = retryInterceptor({
      clock: this.#clock,
      random,
      honorEnvoyHeaders,
      attemptCountHeader: options.attemptCountHeader,
    })(chain);
    chain = routeInterceptor({
      directory: this,
      passthrough,
      unknownHosts: options.unknownHosts ?? 'passthrough',
      settings,
      random,
      honorEnvoyHeaders,
      mirror: (ex, policies) => sendMirrors(ex, policies, pools, random),
    })(chain);
    chain = bodyBufferInterceptor({
      limit: options.requestBufferLimitBytes ?? DEFAULT_REQUEST_BUFFER_LIMIT,
      // Bodies to hosts known to be outside the mesh stream through untouched.
      shouldBuffer: (opts) => this.lookup(opts.origin)?.target.state !== 'absent',
    })(chain);
    this.dispatcher = new MeshDispatcher(
      chain,
      () => this.close(),
      (err) => this.#destroy(err),
    );
  }

  /** Builds the mesh from GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG. */
  static async fromEnvironment(options: Omit<OutboundMeshOptions, 'xds' | 'bootstrap'> = {}): Promise<OutboundMesh> {
    const xds = await Xds.fromEnvironment(options.xdsOptions);
    const mesh = new OutboundMesh({ ...options, xds });
    mesh.#ownsXds = true;
    return mesh;
  }

  /** TargetDirectory: the mesh target of a dispatch origin (undefined: not http(s)). */
  lookup(origin: string | URL | undefined): OriginInfo | undefined {
    if (origin === undefined) return undefined;
    const key = typeof origin === 'string' ? origin : origin.origin;
    const hit = this.#origins.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const info = this.#parseOrigin(key);
    if (this.#origins.size >= MAX_CACHED_ORIGINS) this.#origins.clear();
    this.#origins.set(key, info ?? null);
    return info;
  }

  #parseOrigin(origin: string): OriginInfo | undefined {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return undefined;
    }
    const defaultPort = DEFAULT_PORTS[url.protocol];
    if (defaultPort === undefined || url.hostname === '') return undefined;
    const port = url.port === '' ? defaultPort : Number(url.port);
    return {
      scheme: url.protocol === 'https:' ? 'https' : 'http',
      authority: url.host,
      hostname: url.hostname,
      target: this.target(`${url.hostname}:${port}`),
    };
  }

  /**
   * The target `host:port`, resolved on first use (again after it was released for being idle).
   * Counts as a use: the target is not idle from now.
   */
  target(key: string): MeshTarget {
    let t = this.#targets.get(key);
    if (t === undefined) {
      if (this.#closed) throw new Error('OutboundMesh is closed');
      t = new MeshTarget(key, this.xds, this.#clusters, {
        clock: this.#clock,
        random: this.#random,
        resolveTimeoutMs: this.#resolveTimeoutMs,
      });
      this.#targets.set(key, t);
      this.#armSweep();
    }
    t.unusedSweeps = 0;
    return t;
  }

  /**
   * The target `host:port` if the mesh follows it now (a request, `target()` or `ready()` used it
   * within the idle timeout); undefined otherwise. Resolves nothing and is not a use: for
   * introspection (admin, telemetry).
   */
  find(key: string): MeshTarget | undefined {
    return this.#targets.get(key);
  }

  #armSweep(): void {
    if (this.#sweepTimer !== undefined || this.#idleSweeps === 0 || this.#closed) return;
    this.#sweepTimer = this.#sweepClock.setTimeout(() => this.#sweep(), this.#sweepMs);
  }

  /**
   * Releases the targets nothing used for the idle timeout, as gRPC drops the resolver (and so
   * the xDS watches) of a channel without calls for its idle timeout and resolves again on the
   * next call. A target with requests in flight or waiting for its first snapshot is in use.
   */
  #sweep(): void {
    this.#sweepTimer = undefined;
    if (this.#closed) return;
    let released = 0;
    for (const [key, t] of this.#targets) {
      if (t.active > 0 || t.waiting) {
        t.unusedSweeps = 0;
        continue;
      }
      if (++t.unusedSweeps <= this.#idleSweeps) continue;
      this.#targets.delete(key);
      t.close(true);
      released++;
    }
    if (released > 0) {
      // Parsed origins name the target object: the next request parses again and resolves anew.
      for (const [origin, info] of this.#origins) {
        if (info !== null && this.#targets.get(info.target.key) !== info.target) this.#origins.delete(origin);
      }
      log.debug('released idle targets', { released, remaining: this.#targets.size });
    }
    if (this.#targets.size > 0) this.#armSweep();
  }

  /**
   * Resolves a target ahead of the first request: the compiled snapshot, or undefined when the
   * host is not in the mesh (or did not resolve in time). Counts as a use, like a request.
   */
  async ready(key: string): Promise<CompiledTarget | undefined> {
    const t = this.target(key);
    await t.settled();
    return t.compiled;
  }

  /** undici's fetch through the mesh. */
  fetch(
    input: Parameters<typeof undiciFetch>[0],
    init?: Parameters<typeof undiciFetch>[1],
  ): ReturnType<typeof undiciFetch> {
    return undiciFetch(input, { ...init, dispatcher: this.dispatcher });
  }

  /**
   * Makes the mesh undici's global dispatcher, which Node's built-in fetch also uses. Returns a
   * function that puts the previous global dispatcher back.
   */
  installGlobalDispatcher(): () => void {
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(this.dispatcher);
    return () => {
      if (getGlobalDispatcher() === this.dispatcher) setGlobalDispatcher(previous);
    };
  }

  /**
   * Stops every watch, closes the connection pools and (if the mesh created it) the Xds. The
   * pools close gracefully (undici's close()): this resolves once the requests in flight ended.
   */
  async close(): Promise<void> {
    if (!this.#stop()) return;
    await this.#pools.close();
    log.debug('closed');
  }

  /** Everything close() does but wait for the pools; false if the mesh was closed already. */
  #stop(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    this.#sweepTimer?.cancel();
    this.#sweepTimer = undefined;
    // A shared Xds keeps its resolvers: other users may watch the same targets.
    for (const t of this.#targets.values()) t.close();
    this.#targets.clear();
    this.#origins.clear();
    this.#clusters.close();
    if (this.#ownsXds) this.xds.close();
    return true;
  }

  /** The dispatcher's destroy(): requests in flight end now (a graceful close() may be pending). */
  async #destroy(err: Error | null): Promise<void> {
    this.#stop();
    await this.#pools.destroy(err ?? undefined);
  }
}
