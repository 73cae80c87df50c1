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
import { bodyChunk, isIterableBody } from '../dispatch/body-chunks.ts';
import { framing, type RequestHead, requestHead } from './request-head.ts';
import { type ResponseHeaders, ResponseParser, type ResponseSink } from './response-parser.ts';

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

// One coarse clock for every pool's timeouts and idle connections: a request sets a deadline
// (a number) instead of a timer; a sweep once a second expires what is due, as undici's own
// timers are coarse for long timeouts. The clock is at most a sweep behind, so a deadline is set
// a sweep further out: a timeout fires up to two seconds late, never early. Shorter timeouts get
// a timer of their own.
const SWEEP_MS = 1000;
const livePools = new Set<Http1Pool>();
let sweeper: ReturnType<typeof setInterval> | undefined;
let coarseNow = performance.now();

function watch(pool: Http1Pool): void {
  livePools.add(pool);
  if (sweeper === undefined) {
    coarseNow = performance.now();
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
}

function unwatch(pool: Http1Pool): void {
  livePools.delete(pool);
  if (livePools.size === 0 && sweeper !== undefined) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

function sweep(): void {
  coarseNow = performance.now();
  for (const pool of livePools) pool.sweep(coarseNow);
}

// A connection carries its next request only once the event loop has polled for I/O after its
// response, as undici validates an idle socket (GHSA-35p6-xmwp-9g52): a FIN, RST or stray bytes
// a server sent right after a response it did not mark `Connection: close` are read first, and
// the request goes to a fresh connection instead of failing with "other side closed". One shared
// immediate per loop iteration counts the turns (check phases).
let turn = 0;
/** turns still to count (only while a connection waits to settle) */
let turnsToCount = 0;

function nextTurn(): void {
  turn++;
  if (--turnsToCount > 0) setImmediate(nextTurn);
}

/** The current turn; the two after it are counted as they come. */
function thisTurn(): number {
  if (turnsToCount === 0) setImmediate(nextTurn);
  turnsToCount = 2;
  return turn;
}

// which timeout a connection's deadline is
const NO_TIMEOUT = 0;
const HEADERS_TIMEOUT = 1;
const BODY_TIMEOUT = 2;

/** One request, from dispatch to its end; the controller its handler sees. */
class Exchange implements Dispatcher.DispatchController {
  readonly opts: DispatchOptions;
  readonly handler: DispatchHandler;
  /** the request line and headers, validated when dispatched */
  head!: RequestHead;
  conn: Connection | undefined;
  aborted = false;
  paused = false;
  reason: Error | null = null;
  rawHeaders: string[] | null = null;
  rawTrailers: string[] | null = null;
  finished = false;

  constructor(opts: DispatchOptions, handler: DispatchHandler) {
    this.opts = opts;
    this.handler = handler;
  }

  abort(reason?: Error): void {
    if (this.aborted || this.finished) return;
    this.aborted = true;
    this.reason = reason ?? new errors.RequestAbortedError();
    const conn = this.conn;
    if (conn !== undefined) conn.destroy(this.reason);
    else this.fail(this.reason);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.conn?.resumeReading();
  }

  /** Ends the request with `err` (once). */
  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.handler.onResponseError?.(this, err);
  }
}

/** One keep-alive connection; carries one exchange at a time. */
class Connection implements ResponseSink {
  readonly pool: Http1Pool;
  readonly servername: string | null;
  socket: Socket | undefined;
  readonly parser: ResponseParser;
  ex: Exchange | undefined;
  /** the request this connection is being opened for */
  connectingFor: Exchange | undefined;
  /** the request body is still being written */
  writing = false;
  /** closed after the current exchange */
  reset = false;
  requests = 0;
  /** when idle: since when (coarse clock) */
  idleSince = 0;
  keepAliveMs: number;
  deadline = 0;
  timeout = NO_TIMEOUT as number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** the length of the timeout armed, ms */
  #ms = 0;
  /** the exchange's body timeout (its own, else the pool's) */
  #bodyMs = 0;
  /** the server ended the connection while a read was held: handled once the held bytes are */
  #eof = false;
  /** the rest of a read the handler paused in */
  #held: Buffer | undefined;
  #heldAt = 0;
  destroyed = false;
  /** the socket is unref'd (idle) */
  #parked = false;

  constructor(pool: Http1Pool, servername: string | null) {
    this.pool = pool;
    this.servername = servername;
    this.parser = new ResponseParser(this, pool.maxHeaderSize);
    this.keepAliveMs = pool.keepAliveTimeout;
  }

  get idle(): boolean {
    return this.socket !== undefined && this.ex === undefined && this.waitingFor === undefined && !this.destroyed;
  }

  /** the turn its last response ended in (it carries no request before the next turn) */
  endedTurn = -2;
  /** the request that waits for the next turn to go out on this connection */
  waitingFor: Exchange | undefined;

  /** Whether a request may go out on this connection now (a poll phase came after its response). */
  get settled(): boolean {
    return turn - this.endedTurn >= 2;
  }

  attach(socket: Socket): void {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('end', () => this.#onEnd());
    socket.on('error', (err: Error) => this.destroy(err));
    socket.on('close', () => {
      // the server's close behind bytes a paused handler has not taken: they are read first
      if (this.#held !== undefined) this.#eof = true;
      else this.destroy(null);
    });
  }

  /** An idle connection does not keep the process alive (undici unrefs idle sockets too). */
  park(): void {
    if (this.#parked) return;
    this.#parked = true;
    this.socket!.unref();
  }

  /** Sends `ex` on this (connected, idle) connection. */
  send(ex: Exchange): void {
    const socket = this.socket!;
    // The handler gets its controller before anything is written: one that aborts now (the mesh
    // gave up on the attempt while it waited for a connection) fails alone, and the connection,
    // which carried nothing of it, serves the next request.
    try {
      ex.handler.onRequestStart?.(ex, {});
    } catch (err) {
      // as undici: the request fails with it (it may be sent from a connect callback or another
      // request's end, where a throw would reach no handler)
      ex.fail(err as Error);
    }
    if (ex.finished) {
      this.pool.release(this);
      return;
    }
    this.ex = ex;
    ex.conn = this;
    this.requests++;
    if (this.#parked) {
      this.#parked = false;
      socket.ref();
    }
    const { opts } = ex;
    const method = opts.method;
    this.parser.start(method, false);
    const head = ex.head;
    const body = opts.body as unknown;
    if (head.reset || opts.reset === true) this.reset = true;
    const pool = this.pool;
    // a request's own timeouts over the pool's, as undici's Client reads them (the mesh sets 0
    // when its stream idle timer replaces them)
    this.#bodyMs = opts.bodyTimeout ?? pool.bodyTimeout;
    this.#arm(opts.headersTimeout ?? pool.headersTimeout, HEADERS_TIMEOUT);
    if (body == null) {
      socket.write(head.text + framing(method, 0), 'latin1');
    } else if (typeof body === 'string' || body instanceof Uint8Array) {
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      socket.cork();
      socket.write(head.text + framing(method, bytes.byteLength), 'latin1');
      if (bytes.byteLength > 0) socket.write(bytes);
      socket.uncork();
    } else {
      socket.write(head.text + framing(method, head.contentLength), 'latin1');
      void this.#writeBody(ex, body as AsyncIterable<unknown> | Iterable<unknown>, head.contentLength);
    }
  }

  async #writeBody(ex: Exchange, body: AsyncIterable<unknown> | Iterable<unknown>, length: number): Promise<void> {
    const socket = this.socket!;
    const chunked = length < 0;
    let written = 0;
    this.writing = true;
    const it =
      typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
        ? (body as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        : (body as Iterable<unknown>)[Symbol.iterator]();
    try {
      for (;;) {
        const r = await it.next();
        if (this.ex !== ex || this.destroyed) {
          // the response ended (or failed) first: stop reading the caller's body
          await it.return?.();
          return;
        }
        if (r.done === true) break;
        const chunk = bodyChunk(r.value);
        if (chunk.byteLength === 0) continue;
        written += chunk.byteLength;
        if (!chunked && written > length) throw new errors.RequestContentLengthMismatchError();
        let ok: boolean;
        if (chunked) {
          socket.cork();
          socket.write(`${chunk.byteLength.toString(16)}\r\n`, 'latin1');
          socket.write(chunk);
          ok = socket.write('\r\n', 'latin1');
          socket.uncork();
        } else {
          ok = socket.write(chunk);
        }
        if (!ok && !this.destroyed)
          await new Promise<void>((resolve) => {
            const done = () => {
              socket.off('drain', done);
              socket.off('close', done);
              resolve();
            };
            socket.on('drain', done);
            socket.on('close', done);
          });
        if (this.destroyed) return;
      }
      if (!chunked && written !== length) throw new errors.RequestContentLengthMismatchError();
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      this.writing = false;
      // the time to the response head counts from the end of the request
      if (this.timeout === HEADERS_TIMEOUT) this.#extend();
      // the response may have completed while the body was still going out
      if (this.ex !== ex) this.destroy(null);
    } catch (err) {
      this.writing = false;
      if (this.ex === ex) this.#bodyFailed(ex, err as Error);
      else this.destroy(null);
    }
  }

  #bodyFailed(ex: Exchange, err: Error): void {
    // the connection is mid-request: it cannot carry another
    this.destroy(err);
    ex.fail(err);
  }

  #arm(ms: number, kind: number): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.timeout = ms > 0 ? kind : NO_TIMEOUT;
    this.#ms = ms;
    if (ms <= 0) return;
    if (ms < SWEEP_MS * 2) {
      this.#timer = setTimeout(() => this.expire(), ms);
      this.#timer.unref();
    } else {
      this.deadline = coarseNow + SWEEP_MS + ms;
    }
  }

  /** Restarts the timeout armed. */
  #extend(): void {
    if (this.#timer !== undefined) this.#timer.refresh();
    else this.deadline = coarseNow + SWEEP_MS + this.#ms;
  }

  /** The headers or body timeout passed. */
  expire(): void {
    const kind = this.timeout;
    const ex = this.ex;
    if (kind === NO_TIMEOUT || ex === undefined) return;
    // undici's rules: the headers timeout waits while the request body is still going out (the
    // caller is the slow one) unless the socket is backed up; the body timeout does not run while
    // the handler has paused the response (it restarts on resume)
    if (
      (kind === HEADERS_TIMEOUT && this.writing && this.socket?.writableNeedDrain !== true) ||
      (kind === BODY_TIMEOUT && ex.paused)
    ) {
      this.#extend();
      return;
    }
    this.destroy(kind === HEADERS_TIMEOUT ? new errors.HeadersTimeoutError() : new errors.BodyTimeoutError());
  }

  #onData(data: Buffer): void {
    if (this.#held !== undefined) {
      // paused mid-read and more arrived before the socket paused: keep it in order
      this.#held = Buffer.concat([this.#held.subarray(this.#heldAt), data]);
      this.#heldAt = 0;
      return;
    }
    this.#parse(data, 0);
  }

  #parse(data: Buffer, offset: number): void {
    const ex = this.ex;
    if (ex === undefined) {
      // bytes with no request outstanding: the connection cannot be trusted with another
      this.destroy(new errors.SocketError('unexpected data from the upstream'));
      return;
    }
    let at: number;
    try {
      at = this.parser.execute(data, offset);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    if (this.ex !== ex) {
      // the response completed in this read: anything after it is not a response to anything
      if (at < data.length && !this.destroyed) this.destroy(null);
      return;
    }
    if (this.parser.upgraded) return;
    if (at < data.length && ex.paused) {
      this.#held = data;
      this.#heldAt = at;
      this.socket?.pause();
    } else if (ex.paused) {
      this.socket?.pause();
    }
  }

  resumeReading(): void {
    if (this.timeout === BODY_TIMEOUT) this.#extend();
    const held = this.#held;
    const at = this.#heldAt;
    this.#held = undefined;
    if (held !== undefined) {
      queueMicrotask(() => {
        if (this.destroyed) return;
        this.#parse(held, at);
        if (this.#eof && this.#held === undefined) this.#onEnd();
        else if (this.ex?.paused !== true) this.socket?.resume();
      });
      return;
    }
    this.socket?.resume();
  }

  // ResponseSink

  onHead(status: number, statusText: string, headers: ResponseHeaders, raw: string[]): void {
    const ex = this.ex!;
    this.#arm(this.#bodyMs, BODY_TIMEOUT);
    ex.rawHeaders = raw;
    ex.handler.onResponseStart?.(ex, status, headers as never, statusText);
  }

  onData(chunk: Buffer): boolean {
    const ex = this.ex!;
    if (this.timeout === BODY_TIMEOUT) this.#extend();
    ex.handler.onResponseData?.(ex, chunk);
    return !ex.paused && !ex.finished;
  }

  onEnd(trailers: ResponseHeaders, raw: string[]): void {
    const ex = this.ex!;
    this.#arm(0, NO_TIMEOUT);
    ex.finished = true;
    ex.rawTrailers = raw;
    this.ex = undefined;
    ex.conn = undefined;
    const hint = this.parser.keepAliveHintMs;
    if (hint !== undefined) {
      const ms = Math.min(hint - this.pool.keepAliveTimeoutThreshold, this.pool.keepAliveMaxTimeout);
      if (ms <= 0) this.reset = true;
      else this.keepAliveMs = ms;
    } else {
      this.keepAliveMs = this.pool.keepAliveTimeout;
    }
    const max = this.pool.maxRequestsPerConnection;
    if (
      !this.parser.keepAlive ||
      this.reset ||
      this.writing ||
      this.#eof ||
      (max !== undefined && this.requests >= max)
    ) {
      this.destroy(null);
    } else {
      this.idleSince = performance.now();
      this.endedTurn = thisTurn();
      this.pool.release(this);
    }
    try {
      ex.handler.onResponseEnd?.(ex, trailers as never);
    } catch {
      // The connection may carry the next request already: a throw from the finished one's
      // handler is no failure of it. (undici destroys the socket, which then carries nothing, and
      // the error goes no further either.)
    }
  }

  #onEnd(): void {
    if (this.#held !== undefined) {
      // bytes a paused handler has not taken come before the end (the response may be complete in them)
      this.#eof = true;
      return;
    }
    // the server closed its side: a body read to the close is complete, anything else is cut short
    if (this.ex !== undefined && this.parser.readsToEof) {
      this.parser.finish();
    }
    this.destroy(null);
  }

  /** Closes the connection; an exchange on it fails with `err` (or "other side closed"). */
  destroy(err: Error | null): void {
    if (this.destroyed) {
      return;
    }
    this.destroyed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    // (a connection still being opened fails the request waiting for it)
    const ex = this.ex ?? this.connectingFor;
    this.ex = undefined;
    this.connectingFor = undefined;
    this.socket?.destroy();
    // nothing of a request waiting for the next turn was written: it goes elsewhere (unless the
    // pool is being destroyed), placed before the pool counts this connection gone
    const waiting = this.waitingFor;
    this.waitingFor = undefined;
    if (waiting !== undefined) {
      if (this.pool.destroyed) waiting.fail(err ?? new errors.ClientDestroyedError());
      else this.pool.place(waiting);
    }
    this.pool.removed(this);
    if (ex !== undefined) {
      ex.conn = undefined;
      ex.fail(ex.aborted ? ex.reason! : (err ?? new errors.SocketError('other side closed')));
    }
  }
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
