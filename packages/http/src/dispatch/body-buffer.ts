// The outermost interceptor: makes a streamed request body replayable. A stream or async
// iterable (what fetch passes) is collected into one Buffer up to the limit (Envoy's request
// buffer limit, 1 MiB by default) and the request goes on with that Buffer, so retries and
// mirrors can resend it. A body over the limit keeps streaming (what was read, then the rest) and
// is marked not replayable: no retries and no mirroring for that request, as Envoy abandons both.
import type { Dispatcher } from 'undici';
import { failedController } from './mesh-controller.ts';

type DispatchOptions = Dispatcher.DispatchOptions;
type Dispatch = (opts: DispatchOptions, handler: Dispatcher.DispatchHandler) => boolean;

/** Set on dispatch options whose body could not be buffered. */
export const kBodyNotReplayable: unique symbol = Symbol('inboard.bodyNotReplayable');

export const DEFAULT_REQUEST_BUFFER_LIMIT = 1024 * 1024;

export interface BodyBufferOptions {
  /** bytes; bodies above it are streamed without retries */
  readonly limit: number;
  /** false to leave a request alone (e.g. a host known to be outside the mesh) */
  readonly shouldBuffer?: (opts: DispatchOptions) => boolean;
}

/** A body that can be sent again as it is. */
export function isReplayableBody(body: unknown): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
}

function isStreamed(body: unknown): body is AsyncIterable<unknown> | Iterable<unknown> {
  if (typeof body !== 'object' || body === null) return false;
  return (
    typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' ||
    typeof (body as Iterable<unknown>)[Symbol.iterator] === 'function'
  );
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return Buffer.from(chunk);
  throw new TypeError(`unsupported request body chunk: ${typeof chunk}`);
}

type ChunkIterator = AsyncIterator<unknown> | Iterator<unknown>;

async function* rest(read: readonly Buffer[], it: ChunkIterator): AsyncGenerator<Buffer> {
  for (const c of read) yield c;
  for (;;) {
    const r = await it.next();
    if (r.done === true) return;
    yield toBuffer(r.value);
  }
}

export function bodyBufferInterceptor(options: BodyBufferOptions): (dispatch: Dispatch) => Dispatch {
  const { limit, shouldBuffer } = options;
  return (dispatch) => (opts, handler) => {
    const body = opts.body;
    if (!isStreamed(body) || typeof body === 'string' || body instanceof Uint8Array) return dispatch(opts, handler);
    if (shouldBuffer !== undefined && !shouldBuffer(opts)) return dispatch(opts, handler);
    const it: ChunkIterator =
      typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
        ? (body as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        : (body as unknown as Iterable<unknown>)[Symbol.iterator]();
    const read: Buffer[] = [];
    let size = 0;
    const collect = async (): Promise<DispatchOptions> => {
      for (;;) {
        const r = await it.next();
        if (r.done === true) return { ...opts, body: read.length === 1 ? read[0]! : Buffer.concat(read, size) };
        const chunk = toBuffer(r.value);
        read.push(chunk);
        size += chunk.length;
        if (size > limit) {
          return { ...opts, body: rest(read, it), [kBodyNotReplayable]: true } as unknown as DispatchOptions;
        }
      }
    };
    collect().then(
      (next) => {
        try {
          dispatch(next, handler);
        } catch (err) {
          handler.onResponseError?.(failedController(err as Error), err as Error);
        }
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        handler.onResponseError?.(failedController(e), e);
      },
    );
    return true;
  };
}
