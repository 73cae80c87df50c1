// The Aggregated Discovery Service on @grpc/grpc-js: SotW and Delta streams served from a
// SnapshotCache. It knows nothing about Istio; a translator only has to put snapshots in the cache.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { type Clock, createLogger, systemClock } from '@inboard/xds';
import {
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponseIn,
  type DiscoveryRequest,
  type DiscoveryResponseIn,
  TypeUrl,
} from '@inboard/xds/codec';
import { aggregatedDiscoveryServiceDefinition } from '@inboard/xds/transport';
import type { AdsCounters, AdsServerEventMap, AdsStreamInfo, AdsStreamKind } from './ads-events.ts';
import type { AdsStream, SendPolicy, StreamHost } from './ads-stream.ts';
import type { AuthHook, StreamStatus } from './auth-hook.ts';
import { DeltaStream } from './delta-stream.ts';
import { AdsServerError } from './errors.ts';
import { SnapshotCache } from './snapshot-cache.ts';
import { SotwStream } from './sotw-stream.ts';

/** Types where an empty SotW name list (or a first Delta request without names) means "everything". */
export const DEFAULT_WILDCARD_TYPES: readonly string[] = [TypeUrl.Listener, TypeUrl.Cluster];

export interface AdsServerTlsOptions {
  /** CA to verify client certificates with (mTLS); null/undefined for server-only TLS. */
  readonly rootCerts?: Buffer | null | undefined;
  readonly keyCertPairs: readonly grpc.KeyCertPair[];
  readonly checkClientCertificate?: boolean | undefined;
}

export interface AdsServerOptions {
  /** Where snapshots come from; a new empty cache when omitted (see `server.cache`). */
  readonly cache?: SnapshotCache | undefined;
  /** TLS via `grpc.ServerCredentials.createSsl`; plaintext when neither this nor `credentials` is set. */
  readonly tls?: AdsServerTlsOptions | undefined;
  /** Full control over server credentials (wins over `tls`). */
  readonly credentials?: grpc.ServerCredentials | undefined;
  /** Runs once per stream on the first request; may reject with a gRPC status. */
  readonly authenticate?: AuthHook | undefined;
  /** Default: LDS and CDS, like istiod. */
  readonly wildcardTypes?: Iterable<string> | undefined;
  /** Drives `setResponseDelay` and NACK timestamps. */
  readonly clock?: Clock | undefined;
  /** Passed to `new grpc.Server()` (keepalive, message sizes...). */
  readonly serverOptions?: grpc.ServerOptions | undefined;
}

export interface AdsListenOptions {
  /** Default 127.0.0.1. */
  readonly host?: string | undefined;
  /** Default 0: the OS picks a free port. */
  readonly port?: number | undefined;
}

export interface AdsStopOptions {
  /** How long to wait for connections to close before forcing them (default 5000 ms). */
  readonly graceMs?: number | undefined;
}

/** Selects streams for `killStreams`: a predicate, or fields that must all match. */
export type StreamFilter =
  | ((stream: AdsStreamInfo) => boolean)
  | {
      readonly nodeId?: string | undefined;
      readonly nodeKey?: string | undefined;
      readonly kind?: AdsStreamKind | undefined;
    };

const log = createLogger('control-plane/ads');

export class AdsServer extends EventEmitter<AdsServerEventMap> {
  readonly cache: SnapshotCache;
  readonly #options: AdsServerOptions;
  readonly #host: StreamHost;
  readonly #streams = new Map<number, AdsStream<unknown, unknown>>();
  readonly #instance = randomBytes(3).toString('hex');
  #server: grpc.Server | undefined;
  #listenHost: string | undefined;
  #port: number | undefined;
  #nextStreamId = 0;
  #nonceSeq = 0;
  #policy: SendPolicy = { delayMs: 0, paused: false, closeAfterResponse: undefined };
  #counters = { streamsOpened: 0, requests: 0, responses: 0, acks: 0, nacks: 0 };

  constructor(options: AdsServerOptions = {}) {
    super();
    this.#options = options;
    this.cache = options.cache ?? new SnapshotCache();
    const clock = options.clock ?? systemClock;
    const wildcardTypes = new Set(options.wildcardTypes ?? DEFAULT_WILDCARD_TYPES);
    this.#host = {
      cache: this.cache,
      clock,
      log,
      authenticate: options.authenticate,
      wildcardTypes,
      sendPolicy: () => this.#policy,
      nonce: (version) => `${version}/${this.#instance}-${++this.#nonceSeq}`,
      emit: (event, ...args) => this.#emitSafely(event, args),
      count: (counter) => {
        this.#counters[counter]++;
      },
      closed: (stream) => {
        this.#streams.delete(stream.id);
      },
    };
  }

  /** Binds and serves; resolves with the bound port. */
  async start(listen: AdsListenOptions = {}): Promise<number> {
    if (this.#server !== undefined)
      throw new AdsServerError('INBOARD_CP_SERVER_STATE', 'the ADS server is already started');
    const host = listen.host ?? '127.0.0.1';
    const server = new grpc.Server(this.#options.serverOptions);
    server.addService(aggregatedDiscoveryServiceDefinition, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponseIn>) =>
        this.#register(new SotwStream(++this.#nextStreamId, this.#host, call)),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponseIn>) =>
        this.#register(new DeltaStream(++this.#nextStreamId, this.#host, call)),
    });
    this.#server = server;
    const address = `${host.includes(':') ? `[${host}]` : host}:${listen.port ?? 0}`;
    try {
      const port = await new Promise<number>((resolve, reject) => {
        server.bindAsync(address, this.#credentials(), (err, p) => (err ? reject(err) : resolve(p)));
      });
      this.#listenHost = host;
      this.#port = port;
      log.info('ADS server listening', { address: this.address });
      return port;
    } catch (err) {
      this.#server = undefined;
      server.forceShutdown();
      throw new AdsServerError('INBOARD_CP_BIND', `cannot bind the ADS server to ${address}: ${String(err)}`, {
        cause: err,
      });
    }
  }

  /**
   * Ends every stream with UNAVAILABLE ("server shutting down"), then shuts down gracefully and
   * forces remaining connections closed after `graceMs`. The snapshot cache is kept.
   */
  async stop(options: AdsStopOptions = {}): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    for (const stream of [...this.#streams.values()]) {
      stream.end({ code: grpc.status.UNAVAILABLE, message: 'server shutting down' });
    }
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, options.graceMs ?? 5000);
      force.unref();
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    log.info('ADS server stopped', { port: this.#port });
  }

  /** Stops and starts again on the same host and port (for client reconnect tests). */
  async restart(options: AdsStopOptions = {}): Promise<number> {
    if (this.#port === undefined)
      throw new AdsServerError('INBOARD_CP_SERVER_STATE', 'the ADS server was never started');
    await this.stop(options);
    return this.start({ host: this.#listenHost, port: this.#port });
  }

  get isListening(): boolean {
    return this.#server !== undefined;
  }

  /** The last bound port (kept after stop, so a restart reuses it). */
  get port(): number | undefined {
    return this.#port;
  }

  /** `host:port` to dial, e.g. `127.0.0.1:43125`. */
  get address(): string {
    if (this.#port === undefined || this.#listenHost === undefined) {
      throw new AdsServerError('INBOARD_CP_SERVER_STATE', 'the ADS server was never started');
    }
    const h = this.#listenHost.includes(':') ? `[${this.#listenHost}]` : this.#listenHost;
    return `${h}:${this.#port}`;
  }

  /** Open streams with their node and per-type ACK/NACK state. */
  streams(): AdsStreamInfo[] {
    return [...this.#streams.values()].map((s) => s.info());
  }

  get counters(): AdsCounters {
    return { ...this.#counters, streamsActive: this.#streams.size };
  }

  // ------------------------------------------------------------------ test hooks

  /** Test hook: ends matching streams (all by default) with a status, UNAVAILABLE by default. Returns how many. */
  killStreams(
    filter?: StreamFilter,
    status: StreamStatus = { code: grpc.status.UNAVAILABLE, message: 'stream killed' },
  ): number {
    let n = 0;
    for (const stream of [...this.#streams.values()]) {
      if (filter !== undefined && !matches(filter, stream.info())) continue;
      stream.end(status);
      n++;
    }
    return n;
  }

  /** Test hook: every response waits `ms` on the server clock before it is written (0 turns it off). */
  setResponseDelay(ms: number): void {
    this.#policy = { ...this.#policy, delayMs: Math.max(0, ms) };
    if (ms <= 0) this.#pumpAll();
  }

  /** Test hook: responses queue up (in order, per stream) until `resumeResponses`. */
  pauseResponses(): void {
    this.#policy = { ...this.#policy, paused: true };
  }

  resumeResponses(): void {
    this.#policy = { ...this.#policy, paused: false };
    this.#pumpAll();
  }

  /**
   * Test hook: while on, a stream is ended right after writing a response, with the given status
   * (UNAVAILABLE by default), like a control plane that drops connections.
   */
  closeStreamsAfterResponse(on: boolean | StreamStatus): void {
    const status =
      on === false
        ? undefined
        : on === true
          ? { code: grpc.status.UNAVAILABLE, message: 'stream closed after response' }
          : on;
    this.#policy = { ...this.#policy, closeAfterResponse: status };
  }

  // ------------------------------------------------------------------ internals

  #register(stream: AdsStream<unknown, unknown>): void {
    this.#streams.set(stream.id, stream);
    this.#counters.streamsOpened++;
    log.debug('stream opened', { stream: stream.id, kind: stream.kind, peer: stream.peer });
    this.#emitSafely('stream-open', [{ streamId: stream.id, kind: stream.kind, peer: stream.peer }]);
  }

  #credentials(): grpc.ServerCredentials {
    if (this.#options.credentials !== undefined) return this.#options.credentials;
    const tls = this.#options.tls;
    if (tls === undefined) return grpc.ServerCredentials.createInsecure();
    return grpc.ServerCredentials.createSsl(
      tls.rootCerts ?? null,
      [...tls.keyCertPairs],
      tls.checkClientCertificate ?? false,
    );
  }

  #pumpAll(): void {
    for (const stream of [...this.#streams.values()]) stream.pump();
  }

  /** A throwing listener must not break protocol handling; its error surfaces as an uncaught exception. */
  #emitSafely<K extends keyof AdsServerEventMap>(event: K, args: AdsServerEventMap[K]): void {
    try {
      (this.emit as (e: K, ...a: AdsServerEventMap[K]) => boolean)(event, ...args);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

function matches(filter: StreamFilter, info: AdsStreamInfo): boolean {
  if (typeof filter === 'function') return filter(info);
  if (filter.nodeId !== undefined && filter.nodeId !== info.nodeId) return false;
  if (filter.nodeKey !== undefined && filter.nodeKey !== info.nodeKey) return false;
  if (filter.kind !== undefined && filter.kind !== info.kind) return false;
  return true;
}
