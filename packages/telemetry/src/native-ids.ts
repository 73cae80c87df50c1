// Trace and span ids for native spans. Random 32-bit words (Math.random, as the SDK's
// RandomIdGenerator draws them) fill a 4 KiB pool that is hex-encoded at once, and ids are slices of
// that string: V8 makes a slice of 13 characters or more a view on its parent, so an id costs
// neither a buffer nor an encoding call. (crypto.randomFillSync for the pool measured several
// times slower per id in a loaded process.)
const POOL_BYTES = 4096;
const ZERO_SPAN_ID = '0000000000000000';
const ZERO_TRACE_ID = '00000000000000000000000000000000';

const words = new Uint32Array(POOL_BYTES / 4);
const bytes = Buffer.from(words.buffer);
let pool = '';
let next = 0;

function take(chars: number): string {
  if (next + chars > pool.length) {
    for (let i = 0; i < words.length; i++) words[i] = Math.random() * 0x1_0000_0000;
    pool = bytes.toString('hex');
    next = 0;
  }
  const id = pool.slice(next, next + chars);
  next += chars;
  return id;
}

/** 8 random bytes as 16 lowercase hex characters, never all zero (an invalid span id). */
export function newSpanId(): string {
  let id = take(16);
  while (id === ZERO_SPAN_ID) id = take(16);
  return id;
}

/** 16 random bytes as 32 lowercase hex characters, never all zero (an invalid trace id). */
export function newTraceId(): string {
  let id = take(32);
  while (id === ZERO_TRACE_ID) id = take(32);
  return id;
}
