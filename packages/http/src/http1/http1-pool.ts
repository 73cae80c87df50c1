// The mesh's own HTTP/1.1 connection pool to one endpoint (Envoy's per-host HTTP/1 pool): keep-
// alive connections, one request at a time on each, written and parsed here instead of by an
// undici Pool. It speaks undici's dispatch API (a DispatchHandler per request, a controller with
// pause / resume / abort; undici's error classes, so the mesh maps failures to reset reasons and
// response flags as before) and connects with an undici connector (plaintext or the mesh's TLS).
// What it saves is undici's per-request machinery — a Request object re-validating every header,
// the request queue, the llhttp callbacks — which cost more than the mesh itself (BENCHMARKS.md).
// Requests it does not take (protocol upgrades, CONNECT, Expect: 100-continue, body types other
// than strings, bytes and iterables, and every request while a tool listens on undici's
// diagnostics channels) go to an undici Pool on the same connector.
import { channel } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { buildConnector, type Dispatcher, errors, Pool } from 'undici';
import { isIterableBody } from '../dispatch/body-chunks.ts';
import { Connection, Exchange, NO_TIMEOUT } from './http1-connection.ts';
import { unwatch, watch } from './loop-clock.ts';
import { requestHead } from './request-head.ts';

type DispatchOptions = Dispatcher.DispatchOptions;
type DispatchHandler = Dispatcher.DispatchHandler;
type Connector = buildConnector.connector;

export interface Http1PoolOptions {
  /** undici connector, or options for undici's buildConnector (timeout: the connect timeout) */
  readonly connect?: Connector | buildConnector.BuildOptions;
  /** most connections open at once (undefined: no cap; requests past it wait in order) */
  readonly connections?: number | null;
  /** idle time before a kept-alive connection is closed, ms (undici's default 4 s) */
  readonly keepAliveTimeout?: number;
  /** the most a server's `Keep-Alive: timeout` hint may keep a connection, ms */
  readonly keepAliveMaxTimeout?: number;
  /** taken off a server's hint, so the client closes first, ms */
  readonly keepAliveTimeoutThreshold?: number;
  /** time to the response head, ms (0: none; default 300 s, as undici) */
  readonly headersTimeout?: number;
  /** time between body chunks, ms (0: none; default 300 s) */
  readonly bodyTimeout?: number;
  /** largest response head, bytes (default 16 KiB, as Node's) */
  readonly maxHeaderSize?: number;
  /** requests per connection before it is closed (Envoy's max_requests_per_connection; undefined: no limit) */
  readonly maxRequestsPerConnection?: number;
  /** options for the undici Pool that takes the requests this pool does not */
  readonly fallback?: Pool.Options;
}

const DEFAULT_TIMEOUT = 300_000;

// undici's diagnostics channels: a tool listening on them (OpenTelemetry's undici
// instrumentation, APM agents) sees, and may add headers to, undici's requests only
const undiciChannels = ['undici:request:create', 'undici:request:headers', 'undici:client:sendHeaders'].map((n) =>
  channel(n),
);

function undiciObserved(): boolean {
  for (const c of undiciChannels) if (c.hasSubscribers) return true;
  return false;
}

export class Http1Pool {
  readonly origin: URL;
  readonly hostHeader: string;
  readonly keepAliveTimeout: number;
  readonly keepAliveMaxTimeout: number;
  readonly keepAliveTimeoutThreshold: number;
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
  readonly maxHeaderSize: number;
  readonly maxRequestsPerConnection: number | undefined;
  readonly #connector: Connector;
  readonly #cap: number;
  readonly #fallbackOptions: Pool.Options;
  #fallback: Pool | undefined;
  /** idle connections, the most recently used last */
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  /** requests waiting for a connection (the cap is reached), oldest first */
  #queue: Exchange[] = [];
  #connecting = 0;
  #closing: Promise<void> | undefined;
  #closed = false;
  /** destroy() was called */
  destroyed = false;
  /** called when the pool has neither connections nor requests (it may be forgotten) */
  onEmpty: (() => void) | undefined;

  constructor(origin: string | URL, options: Http1PoolOptions = {}) {
    this.origin = new URL(origin);
    this.hostHeader = `host: ${this.origin.host}\r\n`;
    const connect = options.connect;
    this.#connector =
      typeof connect === 'function' ? connect : buildConnector({ ...(connect ?? {}) } as buildConnector.BuildOptions);
    this.#cap =
      options.connections == null || options.connections <= 0 ? Number.POSITIVE_INFINITY : options.connections;
    this.keepAliveTimeout = options.keepAliveTimeout ?? 4000;
    this.keepAliveMaxTimeout = options.keepAliveMaxTimeout ?? 600_000;
    this.keepAliveTimeoutThreshold = options.keepAliveTimeoutThreshold ?? 2000;
    this.headersTimeout = options.headersTimeout ?? DEFAULT_TIMEOUT;
    this.bodyTimeout = options.bodyTimeout ?? DEFAULT_TIMEOUT;
    this.maxHeaderSize = options.maxHeaderSize ?? 16 * 1024;
    this.maxRequestsPerConnection = options.maxRequestsPerConnection;
    this.#fallbackOptions = { ...options.fallback, connect: this.#connector, allowH2: false };
  }

  /** Requests this pool writes itself; others go to an undici Pool. */
  static handles(opts: DispatchOptions): boolean {
    if (undiciObserved()) return false;
    if (opts.upgrade != null || opts.method === 'CONNECT' || opts.expectContinue === true) return false;
    const body = opts.body as unknown;
    if (body == null || typeof body === 'string' || body instanceof Uint8Array) return true;
    // a Blob or FormData is undici's to encode
    return isIterableBody(body) && !(body instanceof Blob) && !(body instanceof FormData);
  }

  get connections(): number {
    return this.#all.size;
  }

  /** No connection, no request waiting, nothing on the fallback pool. */
  get empty(): boolean {
    if (this.#all.size > 0 || this.#queue.length > 0 || this.#connecting > 0) return false;
    const f = this.#fallback?.stats;
    return f === undefined || (f.connected === 0 && f.pending === 0 && f.running === 0 && f.queued === 0);
  }

  dispatch(opts: DispatchOptions, handler: DispatchHandler): boolean {
    if (this.#closed) throw new errors.ClientClosedError();
    if (!Http1Pool.handles(opts)) return this.#fallbackPool().dispatch(opts, handler);
    const ex = new Exchange(opts, handler);
    // An invalid request fails at once, as undici's does (its Request is built on dispatch):
    // no connection is opened or used for it.
    try {
      ex.head = requestHead(opts.method, opts.path, opts.headers, this.hostHeader);
      const body = opts.body as unknown;
      const length = ex.head.contentLength;
      if (
        length !== -1 &&
        (body == null
          ? length > 0
          : typeof body === 'string'
            ? Buffer.byteLength(body, 'utf8') !== length
            : body instanceof Uint8Array && body.byteLength !== length)
      ) {
        throw new errors.RequestContentLengthMismatchError();
      }
    } catch (err) {
      ex.fail(err as Error);
      return true;
    }
    this.place(ex);
    return true;
  }

  /** Finds `ex` a connection: an idle one, a new one, or a place in the queue. */
  place(ex: Exchange): void {
    const servername = (ex.opts as { servername?: string | null }).servername ?? null;
    const idle = this.#idle;
    let now = -1;
    let expired: Connection[] | undefined;
    for (let i = idle.length - 1; i >= 0; i--) {
      const c = idle[i]!;
      if (c.servername !== servername) continue;
      idle.splice(i, 1);
      // The sweep may not have run (a blocked event loop): a connection idle past its keep-alive
      // may be closed by the server already, and is not reused (undici checks the clock too).
      if (now < 0) now = performance.now();
      if (now - c.idleSince < c.keepAliveMs) {
        this.#sendOn(c, ex);
        this.#closeAll(expired);
        return;
      }
      (expired ??= []).push(c);
    }
    if (this.#all.size < this.#cap) this.#open(ex, servername);
    else this.#queue.push(ex);
    // (closed after the request has its place: a freed slot goes to it if it waits)
    this.#closeAll(expired);
  }

  #closeAll(conns: Connection[] | undefined): void {
    if (conns !== undefined) for (const c of conns) c.destroy(null);
  }

  #open(ex: Exchange, servername: string | null): void {
    const conn = new Connection(this, servername);
    conn.connectingFor = ex;
    this.#all.add(conn);
    this.#connecting++;
    if (this.#all.size === 1) watch(this);
    const o = this.origin;
    this.#connector(
      {
        hostname: o.hostname,
        host: o.host,
        protocol: o.protocol,
        port: o.port,
        servername,
        localAddress: null,
        httpSocket: undefined,
      } as never,
      (err: Error | null, socket?: Socket | null) => {
        this.#connecting--;
        conn.connectingFor = undefined;
        if (conn.destroyed) {
          // the pool was destroyed meanwhile (the request failed with it): nothing is sent
          socket?.destroy();
          this.#maybeEmpty();
          return;
        }
        if (err !== null || socket == null) {
          conn.destroyed = true;
          this.#all.delete(conn);
          ex.fail(err ?? new errors.SocketError('connect failed'));
          this.#next();
          this.#maybeEmpty();
          return;
        }
        conn.attach(socket);
        // aborted while connecting: the connection serves the next request instead
        if (ex.aborted || ex.finished) this.release(conn);
        else conn.send(ex);
      },
    );
  }

  /** Sends `ex` on `conn` now, or in the next turn if a response ended on it in this one. */
  #sendOn(conn: Connection, ex: Exchange): void {
    if (conn.settled) {
      conn.send(ex);
      return;
    }
    conn.waitingFor = ex;
    const later = () => {
      if (conn.waitingFor !== ex) return;
      if (!conn.settled) {
        setImmediate(later);
        return;
      }
      conn.waitingFor = undefined;
      conn.send(ex);
    };
    setImmediate(later);
  }

  /** A connection is free again. */
  release(conn: Connection): void {
    if (conn.destroyed) return;
    const next = this.#queue.shift();
    if (next !== undefined) {
      if (next.aborted || next.finished) this.release(conn);
      else this.#sendOn(conn, next);
      return;
    }
    if (this.#closed) {
      conn.destroy(null);
      return;
    }
    conn.park();
    this.#idle.push(conn);
  }

  /** A connection is gone. */
  removed(conn: Connection): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#next();
    this.#maybeEmpty();
  }

  /**
   * A waiting request gets a new connection when one slot freed up (closing too: close() lets
   * the requests already dispatched finish; destroy() empties the queue).
   */
  #next(): void {
    while (this.#queue.length > 0 && this.#all.size < this.#cap) {
      const ex = this.#queue.shift()!;
      if (ex.aborted || ex.finished) continue;
      this.#open(ex, (ex.opts as { servername?: string | null }).servername ?? null);
    }
  }

  #maybeEmpty(): void {
    if (this.#all.size === 0) {
      unwatch(this);
      if (this.#queue.length === 0) this.onEmpty?.();
    }
  }

  /** Expires timeouts and idle connections (the shared sweep). */
  sweep(now: number): void {
    for (const c of this.#all) {
      if (c.ex !== undefined) {
        if (c.timeout !== NO_TIMEOUT && c.deadline !== 0 && now >= c.deadline) c.expire();
      } else if (c.idle && now - c.idleSince >= c.keepAliveMs) {
        c.destroy(null);
      }
    }
  }

  #fallbackPool(): Pool {
    if (this.#fallback === undefined) {
      this.#fallback = new Pool(this.origin, this.#fallbackOptions);
      const check = () => this.#maybeEmpty();
      this.#fallback.on('disconnect', check).on('connectionError', check);
    }
    return this.#fallback;
  }

  /** Lets requests in flight finish, then closes every connection. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    for (const c of [...this.#idle]) c.destroy(null);
    const fallback = this.#fallback?.close();
    this.#closing = (async () => {
      while (this.#all.size > 0 || this.#queue.length > 0) {
        await new Promise<void>((resolve) => {
          const prev = this.onEmpty;
          this.onEmpty = () => {
            this.onEmpty = prev;
            resolve();
          };
        });
      }
      await fallback;
      unwatch(this);
    })();
    return this.#closing;
  }

  /** Ends everything at once: requests waiting or in flight fail with `err`. */
  async destroy(err?: Error | null): Promise<void> {
    this.#closed = true;
    this.destroyed = true;
    const reason = err ?? new errors.ClientDestroyedError();
    const queue = this.#queue;
    this.#queue = [];
    for (const ex of queue) ex.fail(reason);
    for (const c of [...this.#all]) c.destroy(reason);
    unwatch(this);
    await this.#fallback?.destroy(err ?? null);
  }
}
