// Trace and span ids for native spans: random 32-bit words (Math.random, as the SDK's
// RandomIdGenerator draws them) written as lowercase hex by one String.fromCharCode call per id —
// a flat 16- or 32-character string and nothing else allocated. The calls are written out: a loop
// filling a reused code array for String.fromCharCode.apply measured ≈ 50% slower. (Slicing ids
// off a pooled hex string of a few KiB cost less in a tight loop but several times more per id in
// a loaded process, where each refill writes a fresh 8 KiB string.)

const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** A random 32-bit word (unsigned). */
export function randomWord(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0;
}

function hex(w: number, shift: number): number {
  return HEX[(w >>> shift) & 15]!;
}

function hex16(a: number, b: number): string {
  return String.fromCharCode(
    hex(a, 28),
    hex(a, 24),
    hex(a, 20),
    hex(a, 16),
    hex(a, 12),
    hex(a, 8),
    hex(a, 4),
    hex(a, 0),
    hex(b, 28),
    hex(b, 24),
    hex(b, 20),
    hex(b, 16),
    hex(b, 12),
    hex(b, 8),
    hex(b, 4),
    hex(b, 0),
  );
}

/** 8 random bytes as 16 lowercase hex characters, never all zero (an invalid span id). */
export function newSpanId(): string {
  let a = randomWord();
  let b = randomWord();
  while (a === 0 && b === 0) {
    a = randomWord();
    b = randomWord();
  }
  return hex16(a, b);
}

/**
 * Draws the four random 32-bit words of a new trace id into `traceWords` (the first two never
 * both zero: an all-zero id is invalid) and returns it; read them before the next draw.
 */
export function drawTraceWords(): Uint32Array {
  let a = randomWord();
  let b = randomWord();
  while (a === 0 && b === 0) {
    a = randomWord();
    b = randomWord();
  }
  traceWords[0] = a;
  traceWords[1] = b;
  traceWords[2] = randomWord();
  traceWords[3] = randomWord();
  return traceWords;
}
const traceWords = new Uint32Array(4);

/** 16 random bytes as 32 lowercase hex characters, never all zero (an invalid trace id). */
export function newTraceId(): string {
  const w = drawTraceWords();
  return traceIdOf(w[0]!, w[1]!, w[2]!, w[3]!);
}

/** The trace id written from four 32-bit words, in order (the first two not both zero). */
export function traceIdOf(a: number, b: number, c: number, d: number): string {
  // one flat string (a concatenation would be a cons string, flattened again by every reader)
  return String.fromCharCode(
    hex(a, 28),
    hex(a, 24),
    hex(a, 20),
    hex(a, 16),
    hex(a, 12),
    hex(a, 8),
    hex(a, 4),
    hex(a, 0),
    hex(b, 28),
    hex(b, 24),
    hex(b, 20),
    hex(b, 16),
    hex(b, 12),
    hex(b, 8),
    hex(b, 4),
    hex(b, 0),
    hex(c, 28),
    hex(c, 24),
    hex(c, 20),
    hex(c, 16),
    hex(c, 12),
    hex(c, 8),
    hex(c, 4),
    hex(c, 0),
    hex(d, 28),
    hex(d, 24),
    hex(d, 20),
    hex(d, 16),
    hex(d, 12),
    hex(d, 8),
    hex(d, 4),
    hex(d, 0),
  );
}
