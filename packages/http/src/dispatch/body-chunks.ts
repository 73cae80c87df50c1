// What a request body given as a stream is, for the layers that read one (the body buffer, the
// mesh's HTTP/1.1 writer): an iterable (sync or async: a Node Readable, a generator, fetch's
// stream) of chunks that are bytes or strings.

/** A body read chunk by chunk: anything async-iterable or iterable (strings and bytes excepted by the caller). */
export function isIterableBody(body: unknown): body is AsyncIterable<unknown> | Iterable<unknown> {
  if (typeof body !== 'object' || body === null) return false;
  return (
    typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' ||
    typeof (body as Iterable<unknown>)[Symbol.iterator] === 'function'
  );
}

/** One chunk of such a body as bytes (strings as UTF-8), without copying. */
export function bodyChunk(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return Buffer.from(chunk);
  throw new TypeError(`unsupported request body chunk: ${typeof chunk}`);
}
