// Trace and span ids for native spans. One crypto.randomFillSync of 4 KiB is hex-encoded at a time
// and ids are slices of that string: V8 makes a slice of 13 characters or more a view on its
// parent, so an id costs neither a buffer nor an encoding call (the SDK's RandomIdGenerator spends
// ≈ 0.3 µs per id on Math.random, a Buffer write and hex encoding).
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const ZERO_SPAN_ID = '0000000000000000';
const ZERO_TRACE_ID = '00000000000000000000000000000000';

let pool = '';
let next = 0;

function take(chars: number): string {
  if (next + chars > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES)).toString('hex');
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
