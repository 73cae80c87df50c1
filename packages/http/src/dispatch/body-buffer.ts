// The outermost interceptor: makes a streamed request body (a stream or async iterable, what
// fetch passes) replayable without holding the request back. As Envoy's router does, the request
// goes upstream at once and each chunk is forwarded as it arrives, while a copy is kept for
// retries and mirrors up to the buffer limit (Envoy's per-connection buffer limit, 1 MiB by
// default). Once the body passes the limit, the copy is given up: no more retries and no mirror for
// that request. Strings, Buffers and no body at all pass through untouched (no allocation).
import type { Dispatcher } from 'undici';
import { bodyChunk, isIterableBody } from './body-chunks.ts';

type DispatchOptions = Dispatcher.DispatchOptions;
type Dispatch = (opts: DispatchOptions, handler: Dispatcher.DispatchHandler) => boolean;

export const DEFAULT_REQUEST_BUFFER_LIMIT = 1024 * 1024;

export interface BodyBufferOptions {
  /** bytes kept for retries and mirrors; a body that passes it streams on without them */
  readonly limit: number;
  /** false to leave a request alone (e.g. a host known to be outside the mesh) */
  readonly shouldBuffer?: (opts: DispatchOptions) => boolean;
}

/** A body that can be sent again as it is. */
export function isReplayableBody(body: unknown): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
}

/** A Node Readable (or any stream with destroy() and pipe()), not a web stream or an iterable. */
function isNodeStream(body: unknown): body is { destroy(): unknown; readonly destroyed?: boolean } {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { destroy?: unknown }).destroy === 'function' &&
    typeof (body as { pipe?: unknown }).pipe === 'function'
  );
}

type ChunkIterator = AsyncIterator<unknown> | Iterator<unknown>;

/** What a request learns from its streamed body (the exchange). */
export interface RequestBodyListener {
  /** a chunk came from the caller (stream activity) */
  onBodyChunk(): void;
  /** the body passed the buffer limit: its copy is gone, so no retry and no mirror any more */
  onBodyOverflow(): void;
  /** the caller's last chunk came: the request is complete */
  onBodyEnd(): void;
  /** the caller's stream failed */
  onBodyError(err: Error): void;
}

const READING = 0;
const ENDED = 1;
const FAILED = 2;
const CLOSED = 3;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A streamed request body shared by the attempts (and mirrors) of one request. The caller's stream
 * is read ahead while the copy stays within the limit (as Envoy reads the downstream into its
 * buffer), and past the limit only as fast as the attempt sending it takes chunks (backpressure).
 * Each attempt reads through its own reader: from the first chunk while the copy is whole, then
 * the chunks still arriving. Iterating the body itself gives such a reader, so undici can send it
 * as any async iterable.
 */
export class RequestBody implements AsyncIterable<Buffer> {
  readonly #source: ChunkIterator;
  /** what the caller passed, when it is a Node stream (destroyed if the request ends before it) */
  readonly #stream: { destroy(): unknown; readonly destroyed?: boolean } | undefined;
  readonly #limit: number;
  /** the chunks read so far; past the limit, entries every open reader has passed are dropped */
  readonly #chunks: (Buffer | undefined)[] = [];
  #bytes = 0;
  #state = READING;
  #error: Error | undefined;
  #reading = false;
  #started = false;
  #overflowed = false;
  /** nothing can send the body again (no retry, no mirror): no copy is kept, as in Envoy */
  #noCopy = false;
  readonly #readers = new Set<BodyReader>();
  /** readers waiting for the next chunk */
  #waiting: BodyReader[] = [];
  listener: RequestBodyListener | undefined;

  constructor(source: ChunkIterator, limit: number, caller?: unknown) {
    this.#source = source;
    this.#limit = limit;
    this.#stream = isNodeStream(caller) ? caller : undefined;
  }

  /** bytes read from the caller so far */
  get bytes(): number {
    return this.#bytes;
  }

  /** the caller's stream ended (every chunk is in hand) */
  get complete(): boolean {
    return this.#state === ENDED;
  }

  /** the body passed the limit: it cannot be sent again */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** The whole body as one Buffer (only once complete and within the limit: a mirror's copy). */
  buffered(): Buffer {
    const parts = this.#chunks as Buffer[];
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#bytes);
  }

  /**
   * No copy is kept: the request has no retry policy and no mirror, so, as Envoy's router buffers
   * only while a retry or a shadow may need the body, each chunk is let go once sent and the caller
   * is read only as fast as the attempt takes chunks.
   */
  keepNoCopy(): void {
    this.#noCopy = true;
  }

  /** Starts reading ahead: the request was routed and goes upstream. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#pull();
  }

  /** A reader for one attempt, from the first chunk. */
  reader(): BodyReader {
    const r = new BodyReader(this);
    this.#readers.add(r);
    return r;
  }

  [Symbol.asyncIterator](): BodyReader {
    return this.reader();
  }

  /**
   * Stops reading the caller's stream (the request is over: answered, failed or aborted) and
   * ends every reader still open.
   */
  close(reason?: Error): void {
    if (this.#state !== READING) return;
    this.#state = CLOSED;
    // a reader still sending must fail, never end as if the body were complete
    this.#error = reason ?? new Error('the request body was closed');
    this.#wake();
    // A Node stream is destroyed, as undici destroys the body of a request it ends: its iterator's
    // return() does nothing before the first read and waits behind a read in progress, so a file
    // or socket the caller passed would stay open. (Destroyed without an error: nobody may be
    // listening for one.)
    const stream = this.#stream;
    if (stream !== undefined && stream.destroyed !== true) stream.destroy();
    const it = this.#source;
    if (typeof it.return === 'function') {
      try {
        const r = it.return();
        if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function')
          (r as Promise<unknown>).then(undefined, () => {});
      } catch {
        // the caller's stream may refuse to be cancelled: nothing more to do
      }
    }
  }

  /** @internal the reader's next(): the chunk at `pos`, or a wait for it */
  take(r: BodyReader, pos: number): Buffer | IteratorReturnResult<undefined> | Error | undefined {
    if (pos < this.#chunks.length) {
      const c = this.#chunks[pos];
      if (c === undefined)
        return new Error(
          this.#noCopy
            ? 'the request body was not kept (no retry or mirror could send it again)'
            : 'the request body passed the buffer limit and cannot be sent again',
        );
      if (this.#overflowed || this.#noCopy) this.#release();
      return c;
    }
    if (this.#state === ENDED) return DONE;
    if (this.#state === FAILED) return this.#error!;
    if (this.#state === CLOSED) return this.#error!;
    this.#waiting.push(r);
    this.#started = true;
    this.#pull();
    return undefined;
  }

  /** @internal a reader is done with the body */
  detach(r: BodyReader): void {
    this.#readers.delete(r);
    const i = this.#waiting.indexOf(r);
    if (i >= 0) this.#waiting.splice(i, 1);
    if (this.#overflowed || this.#noCopy) this.#release();
  }

  /** Past the limit nothing is kept for a retry: drop what every open reader has passed. */
  #release(): void {
    let min = this.#chunks.length;
    for (const r of this.#readers) if (r.pos < min) min = r.pos;
    for (let i = min - 1; i >= 0 && this.#chunks[i] !== undefined; i--) this.#chunks[i] = undefined;
  }

  #pull(): void {
    if (this.#reading || this.#state !== READING) return;
    // Read ahead while the copy is within the limit; past it (or with no copy), only for a reader
    // that waits.
    if ((this.#overflowed || this.#noCopy) && this.#waiting.length === 0) return;
    this.#reading = true;
    let r: IteratorResult<unknown> | Promise<IteratorResult<unknown>>;
    try {
      r = this.#source.next();
    } catch (err) {
      this.#reading = false;
      this.#fail(err);
      return;
    }
    if (r !== null && typeof (r as Promise<unknown>).then === 'function') {
      (r as Promise<IteratorResult<unknown>>).then(
        (v) => this.#onNext(v),
        (err: unknown) => {
          this.#reading = false;
          this.#fail(err);
        },
      );
    } else queueMicrotask(() => this.#onNext(r as IteratorResult<unknown>));
  }

  #onNext(r: IteratorResult<unknown>): void {
    this.#reading = false;
    if (this.#state !== READING) return;
    if (r.done === true) {
      this.#state = ENDED;
      this.#wake();
      this.listener?.onBodyEnd();
      return;
    }
    let chunk: Buffer;
    try {
      chunk = bodyChunk(r.value);
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    const listener = this.listener;
    if (!this.#overflowed && this.#bytes > this.#limit) {
      this.#overflowed = true;
      listener?.onBodyOverflow();
    }
    listener?.onBodyChunk();
    this.#wake();
    this.#pull();
  }

  #fail(err: unknown): void {
    if (this.#state !== READING) return;
    this.#state = FAILED;
    this.#error = err instanceof Error ? err : new Error(String(err));
    // the request fails first (with its downstream flags), then the readers see the error
    this.listener?.onBodyError(this.#error);
    this.#wake();
  }

  #wake(): void {
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    this.#waiting = [];
    for (const r of waiting) r.wake();
  }
}

/** One attempt's view of a RequestBody: an async iterator undici sends from. */
export class BodyReader implements AsyncIterableIterator<Buffer> {
  readonly #body: RequestBody;
  /** the index of the next chunk */
  pos = 0;
  #closed = false;
  #ended = false;
  /** why it was closed: later reads fail with it, so undici never ends a body cut short cleanly */
  #reason: Error | undefined;
  #resolve: ((r: IteratorResult<Buffer>) => void) | undefined;
  #reject: ((err: Error) => void) | undefined;

  constructor(body: RequestBody) {
    this.#body = body;
  }

  /** every chunk went out (the reader saw the end of the body) */
  get finished(): boolean {
    return this.#ended;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Buffer>> {
    if (this.#closed) return this.#reason !== undefined ? Promise.reject(this.#reason) : Promise.resolve(DONE);
    const t = this.#body.take(this, this.pos);
    if (t === undefined) {
      return new Promise((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
      });
    }
    return this.#settle(t);
  }

  #settle(t: Buffer | IteratorReturnResult<undefined> | Error): Promise<IteratorResult<Buffer>> {
    if (t instanceof Error) {
      this.#detach();
      return Promise.reject(t);
    }
    if (Buffer.isBuffer(t)) {
      this.pos++;
      return Promise.resolve({ done: false, value: t });
    }
    this.#ended = true;
    this.#detach();
    return Promise.resolve(t);
  }

  /** @internal the body has news for a waiting reader */
  wake(): void {
    const resolve = this.#resolve;
    const reject = this.#reject;
    if (resolve === undefined || reject === undefined) return;
    this.#resolve = undefined;
    this.#reject = undefined;
    if (this.#closed) {
      if (this.#reason !== undefined) reject(this.#reason);
      else resolve(DONE);
      return;
    }
    const t = this.#body.take(this, this.pos);
    if (t === undefined) {
      this.#resolve = resolve;
      this.#reject = reject;
      return;
    }
    this.#settle(t).then(resolve, reject);
  }

  /**
   * Ends this reader (its attempt is over or was cancelled): a read in progress fails with
   * `reason`, so undici stops sending a request it no longer wants, and the body no longer keeps
   * chunks for it.
   */
  close(reason: Error): void {
    if (this.#closed) return;
    this.#reason = reason;
    this.#detach();
    const reject = this.#reject;
    this.#resolve = undefined;
    this.#reject = undefined;
    reject?.(reason);
  }

  return(): Promise<IteratorResult<Buffer>> {
    this.#detach();
    const resolve = this.#resolve;
    this.#resolve = undefined;
    this.#reject = undefined;
    resolve?.(DONE);
    return Promise.resolve(DONE);
  }

  #detach(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#body.detach(this);
  }
}

export function bodyBufferInterceptor(options: BodyBufferOptions): (dispatch: Dispatch) => Dispatch {
  const { limit, shouldBuffer } = options;
  return (dispatch) => (opts, handler) => {
    const body = opts.body;
    if (!isIterableBody(body) || typeof body === 'string' || body instanceof Uint8Array) return dispatch(opts, handler);
    if (body instanceof RequestBody) return dispatch(opts, handler);
    if (shouldBuffer !== undefined && !shouldBuffer(opts)) return dispatch(opts, handler);
    const it: ChunkIterator =
      typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
        ? (body as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        : (body as unknown as Iterable<unknown>)[Symbol.iterator]();
    return dispatch({ ...opts, body: new RequestBody(it, limit, body) as unknown as DispatchOptions['body'] }, handler);
  };
}
