// Connection pools to the endpoints: one undici Pool per endpoint origin (`http://10.0.0.7:9080`),
// which is Envoy's per-host connection pool, grouped by what the cluster asks of its connections:
// HTTP/1.1 for ordinary clusters, HTTP/2 (h2c over plaintext, ALPN over TLS) for clusters whose
// config says http2, the cluster's connect timeout (and, for an HTTP/1.1 cluster with a
// max_connections below 1024, the cluster itself, with that per-host cap), and its upstream TLS
// context: a cluster with `tls` has pools of TLS connections (`https://10.0.0.7:9080`) made by an
// UpstreamTlsConnector, one per distinct context, which owns the certificates and their rotation.
// The endpoint layer has already rewritten the origin, so this is a map lookup and a Pool
// dispatch: undici's Agent would do the same with more work per request. A pool whose
// connections are all gone is closed and forgotten, as Agent does, so endpoints that leave the
// cluster do not accumulate.
// Traffic outside the mesh goes to a separate, plain undici Agent.
import { type Clock, type Cluster, systemClock } from '@inboard/xds';
import { Agent, type Dispatcher, Pool } from 'undici';
import { NO_REQUEST_SNI } from '../cluster/auto-sni.ts';
import type { CertificateProviders } from '../cluster/certificate-files.ts';
import { DEFAULT_THRESHOLDS } from '../cluster/circuit-breakers.ts';
import { UpstreamTlsConnector, upstreamTlsKey } from '../cluster/upstream-tls.ts';
import { Http1Pool, type Http1PoolOptions } from '../http1/http1-pool.ts';
import { kExchange, type MeshDispatchOptions } from './exchange.ts';

type DispatchOptions = Dispatcher.DispatchOptions;
type DispatchHandler = Dispatcher.DispatchHandler;

export interface UpstreamPoolsOptions {
  /** options for every Pool (connect.timeout is set per cluster) and for the passthrough Agent */
  readonly agentOptions?: Agent.Options;
  /** sends all mesh traffic here instead of the built-in pools (e.g. a custom TLS agent) */
  readonly upstream?: Dispatcher;
  /** where traffic outside the mesh goes (default: a plain undici Agent) */
  readonly passthrough?: Dispatcher;
  /** certificate provider instances for clusters with upstream TLS (default: none) */
  readonly certificateProviders?: CertificateProviders;
  /** certificate refresh interval and TLS connect timeouts (default: the system clock) */
  readonly clock?: Clock;
  /**
   * who writes HTTP/1.1 to the endpoints: the mesh's own connection pools (`'inboard'`, the
   * default) or undici Pools (`'undici'`). HTTP/2 always goes through undici.
   */
  readonly http1?: 'inboard' | 'undici';
}

/** What PoolGroup needs of a per-endpoint pool: undici's Pool or the mesh's Http1Pool. */
interface EndpointPool {
  dispatch(opts: DispatchOptions, handler: DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(err: Error | null): Promise<void>;
}

/** The Http1Pool options an undici Pool's options mean. */
function http1Options(o: Pool.Options): Http1PoolOptions {
  const connect = o.connect as Http1PoolOptions['connect'];
  return {
    connect,
    connections: o.connections,
    keepAliveTimeout: o.keepAliveTimeout,
    keepAliveMaxTimeout: o.keepAliveMaxTimeout,
    keepAliveTimeoutThreshold: o.keepAliveTimeoutThreshold,
    headersTimeout: o.headersTimeout,
    bodyTimeout: o.bodyTimeout,
    maxHeaderSize: o.maxHeaderSize,
    maxRequestsPerConnection: o.maxRequestsPerClient,
    fallback: o,
  };
}

/** The pools of one (protocol, connect timeout, TLS context) group, keyed by endpoint origin. */
class PoolGroup {
  readonly #pools = new Map<string, EndpointPool>();
  readonly #options: Pool.Options;
  readonly #h2: boolean;
  readonly #tls: boolean;
  readonly #ownH1: boolean;

  /**
   * `tls`: the options' connector makes TLS connections, whatever the origin's scheme says;
   * `ownH1`: HTTP/1.1 pools are the mesh's own
   */
  constructor(options: Pool.Options, h2: boolean, tls: boolean, ownH1: boolean) {
    this.#options = options;
    this.#h2 = h2;
    this.#tls = tls;
    this.#ownH1 = ownH1;
  }

  dispatch(opts: DispatchOptions, handler: DispatchHandler): boolean {
    const origin = opts.origin as string;
    // the mesh's HTTP/1.1 pools are per SNI too, as Envoy's are per transport socket options: a
    // connection made for one server name never carries a request for another (auto SNI / SAN);
    // requests without a server name of their own (the usual case) key by origin, with no new string
    const servername = (opts as { servername?: string | null }).servername;
    const key =
      servername == null || servername === NO_REQUEST_SNI || this.#h2 || !this.#ownH1
        ? origin
        : `${origin} ${servername}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) pool = this.#create(origin, key);
    return pool.dispatch(opts, handler);
  }

  #create(origin: string, key: string): EndpointPool {
    const url = new URL(origin);
    // A mirror sends the caller's scheme: the connection is TLS all the same.
    if (this.#tls) url.protocol = 'https:';
    if (!this.#h2 && this.#ownH1) {
      const own = new Http1Pool(url, http1Options(this.#options));
      this.#pools.set(key, own);
      own.onEmpty = () => {
        if (this.#pools.get(key) !== own || !own.empty) return;
        this.#pools.delete(key);
        own.close().catch(() => {});
      };
      return own;
    }
    // Plaintext HTTP/2 is h2c with prior knowledge, as Envoy speaks to a cluster with
    // http2_protocol_options and no TLS. undici's Pool builds its connector from the top-level
    // `useH2c` only (h2Options.useH2c reaches a Client, not a Pool's connector), so both are set.
    const h2c = url.protocol === 'http:';
    const options = this.#h2
      ? { ...this.#options, allowH2: true, useH2c: h2c, h2Options: { ...this.#options.h2Options, useH2c: h2c } }
      : { ...this.#options, allowH2: false };
    const pool = new Pool(url, options);
    this.#pools.set(origin, pool);
    const forget = () => {
      if (this.#pools.get(origin) !== pool) return;
      const s = pool.stats;
      if (s.connected > 0 || s.pending > 0 || s.running > 0 || s.queued > 0) return;
      this.#pools.delete(origin);
      pool.close().catch(() => {});
    };
    pool.on('disconnect', forget).on('connectionError', forget);
    return pool;
  }

  close(): Promise<unknown> {
    const all = [...this.#pools.values()].map((p) => p.close());
    this.#pools.clear();
    return Promise.all(all);
  }

  destroy(err: Error | null): Promise<unknown> {
    const all = [...this.#pools.values()].map((p) => p.destroy(err));
    this.#pools.clear();
    return Promise.all(all);
  }
}

/**
 * The per-host connection cap of an HTTP/1.1 cluster's pools: its max_connections, when below
 * Envoy's default of 1024 (above it the cap never binds in practice, and such clusters keep
 * sharing pools). The limits layer already keeps at most that many of the cluster's requests in
 * flight (one per HTTP/1.1 connection); the cap makes a pending request handed a just-freed
 * connection wait for it in the pool (undici frees a keep-alive socket one event-loop turn after
 * the response) instead of opening another one. The DEFAULT priority's limit is used (Istio sets
 * no other); HIGH-priority requests share the cap.
 */
function connectionCap(cluster: Cluster): number | undefined {
  const cap =
    cluster.circuitBreakers.find((t) => t.priority === 'DEFAULT')?.maxConnections ?? DEFAULT_THRESHOLDS.maxConnections;
  return cap < DEFAULT_THRESHOLDS.maxConnections ? cap : undefined;
}

export class UpstreamPools {
  readonly passthrough: Dispatcher;
  readonly #ownsPassthrough: boolean;
  readonly #upstream: Dispatcher | undefined;
  readonly #agentOptions: Agent.Options;
  readonly #providers: CertificateProviders;
  readonly #clock: Clock;
  readonly #ownH1: boolean;
  readonly #groups = new Map<string, PoolGroup>();
  readonly #byCluster = new WeakMap<Cluster, PoolGroup>();
  readonly #h1ByCluster = new WeakMap<Cluster, PoolGroup>();

  constructor(options: UpstreamPoolsOptions = {}) {
    this.#agentOptions = options.agentOptions ?? {};
    this.#upstream = options.upstream;
    this.#providers = options.certificateProviders ?? {};
    this.#clock = options.clock ?? systemClock;
    this.#ownH1 = (options.http1 ?? 'inboard') === 'inboard';
    this.#ownsPassthrough = options.passthrough === undefined;
    this.passthrough = options.passthrough ?? new Agent(this.#agentOptions);
  }

  /** The pools for a cluster's endpoints. `http1Only`: the caller cannot take HTTP/2. */
  forCluster(cluster: Cluster, http1Only = false): Dispatcher | PoolGroup {
    if (this.#upstream !== undefined) return this.#upstream;
    const h2 = cluster.http2 && !http1Only;
    const cache = h2 ? this.#byCluster : this.#h1ByCluster;
    let g = cache.get(cluster);
    if (g === undefined) {
      const cap = h2 ? undefined : connectionCap(cluster);
      // A capped cluster has pools of its own, so other clusters' requests never wait on its cap.
      g = this.#group(h2, cluster, cap, cap === undefined ? '' : cluster.name);
      cache.set(cluster, g);
    }
    return g;
  }

  #group(h2: boolean, cluster: Cluster, connections: number | undefined, owner: string): PoolGroup {
    const connectTimeout = cluster.connectTimeout;
    const tls = cluster.tls;
    // A new TLS context (a new snapshot, another cluster) never reuses connections of another.
    const tlsKey = tls === undefined ? '' : upstreamTlsKey(tls);
    // Envoy's max_requests_per_connection (DestinationRule maxRequestsPerConnection)
    const perConnection = cluster.maxRequestsPerConnection;
    const key = `${h2 ? 'h2' : 'h1'}|${connectTimeout}|${connections ?? ''}|${owner}|${tlsKey}|${perConnection ?? ''}`;
    let g = this.#groups.get(key);
    if (g === undefined) {
      const {
        factory: _factory,
        maxOrigins: _maxOrigins,
        ...o
      } = this.#agentOptions as Agent.Options & { maxOrigins?: number };
      // The mesh's TLS replaces any custom connector: a cluster that asks for TLS never gets plaintext.
      const connect =
        tls !== undefined
          ? new UpstreamTlsConnector(tls, {
              providers: this.#providers,
              clock: this.#clock,
              connectTimeoutMs: connectTimeout,
              h2,
            }).connect
          : typeof o.connect === 'function'
            ? o.connect
            : { ...o.connect, timeout: connectTimeout > 0 ? connectTimeout : undefined };
      const options: Pool.Options = { ...(o as Pool.Options), connect };
      if (perConnection !== undefined) options.maxRequestsPerClient = perConnection;
      if (connections !== undefined && (options.connections == null || options.connections > connections)) {
        options.connections = connections;
      }
      g = new PoolGroup(options, h2, tls !== undefined, this.#ownH1);
      this.#groups.set(key, g);
    }
    return g;
  }

  /** The innermost dispatch of the mesh chain. */
  dispatch(opts: DispatchOptions, handler: DispatchHandler): boolean {
    const cluster = (opts as MeshDispatchOptions)[kExchange]?.hostCluster?.cluster;
    if (cluster === undefined) return (this.#upstream ?? this.passthrough).dispatch(opts, handler);
    return this.forCluster(cluster, (opts as MeshDispatchOptions).allowH2 === false).dispatch(opts, handler);
  }

  async close(): Promise<void> {
    const all: Promise<unknown>[] = [];
    for (const g of this.#groups.values()) all.push(g.close());
    this.#groups.clear();
    if (this.#ownsPassthrough) all.push(this.passthrough.close());
    await Promise.all(all);
  }

  async destroy(err?: Error): Promise<void> {
    const all: Promise<unknown>[] = [];
    for (const g of this.#groups.values()) all.push(g.destroy(err ?? null));
    this.#groups.clear();
    if (this.#ownsPassthrough) all.push(this.passthrough.destroy(err ?? null));
    await Promise.all(all);
  }
}
