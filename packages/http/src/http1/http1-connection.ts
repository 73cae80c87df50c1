// One request and one keep-alive connection of the mesh's HTTP/1.1 pool (http1-pool.ts): the
// request's controller (pause / resume / abort, undici's DispatchController), and the connection
// that writes requests, reads responses through the parser, keeps their timeouts and settles
// before it carries the next request.
import type { Socket } from 'node:net';
import { type Dispatcher, errors } from 'undici';
import { bodyChunk } from '../dispatch/body-chunks.ts';
import type { Http1Pool } from './http1-pool.ts';
import { coarseNow, SWEEP_MS, thisTurn, turn } from './loop-clock.ts';
import { framing, type RequestHead } from './request-head.ts';
import { type ResponseHeaders, ResponseParser, type ResponseSink } from './response-parser.ts';

type DispatchOptions = Dispatcher.DispatchOptions;
type DispatchHandler = Dispatcher.DispatchHandler;

// which timeout a connection's deadline is
export const NO_TIMEOUT = 0;
export const HEADERS_TIMEOUT = 1;
export const BODY_TIMEOUT = 2;

/** One request, from dispatch to its end; the controller its handler sees. */
export class Exchange implements Dispatcher.DispatchController {
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
export class Connection implements ResponseSink {
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
