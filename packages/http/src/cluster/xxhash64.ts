// xxHash64 (XXH64, the hash Envoy's HashUtil::xxHash64 uses for hash policies, ring hash and
// maglev). Computed on 32-bit halves so a per-request hash allocates nothing but the result:
// BigInt arithmetic would allocate on every step.

// 64-bit registers as (hi, lo) uint32 pairs. Helpers leave their result in rh/rl.
let rh = 0;
let rl = 0;

const P1H = 0x9e3779b1;
const P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d;
const P2L = 0x27d4eb4f;
const P3H = 0x165667b1;
const P3L = 0x9e3779f9;
const P4H = 0x85ebca77;
const P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f;
const P5L = 0x165667c5;

function mul(ah: number, al: number, bh: number, bl: number): void {
  // al*bl needs the full 64-bit product: split into 16-bit limbs so every partial product is exact.
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const mid = a1 * b0 + a0 * b1 + (p00 >>> 16);
  const lo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const hi = a1 * b1 + Math.floor(mid / 65536) + Math.imul(ah, bl) + Math.imul(al, bh);
  rl = lo;
  rh = hi >>> 0;
}

function add(ah: number, al: number, bh: number, bl: number): void {
  const s = al + bl;
  rl = s >>> 0;
  rh = (ah + bh + (s > 0xffffffff ? 1 : 0)) >>> 0;
}

/** rotate left by 0 < r < 32 */
function rotl(h: number, l: number, r: number): void {
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** acc = rotl(acc + input * P2, 31) * P1 */
function round(accH: number, accL: number, inH: number, inL: number): void {
  mul(inH, inL, P2H, P2L);
  add(accH, accL, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

function readLo(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** Hashes b[0..len) with a 64-bit seed; the result lands in rh/rl. */
function hashBytes(b: Uint8Array, len: number, seedH: number, seedL: number): void {
  let p = 0;
  let hH: number;
  let hL: number;
  if (len >= 32) {
    add(seedH, seedL, P1H, P1L);
    add(rh, rl, P2H, P2L);
    let v1h = rh;
    let v1l = rl;
    add(seedH, seedL, P2H, P2L);
    let v2h = rh;
    let v2l = rl;
    let v3h = seedH;
    let v3l = seedL;
    // seed - P1 == seed + (2^64 - P1)
    add(seedH, seedL, ~P1H >>> 0, ((~P1L >>> 0) + 1) >>> 0);
    let v4h = rh;
    let v4l = rl;
    const limit = len - 32;
    do {
      round(v1h, v1l, readLo(b, p + 4), readLo(b, p));
      v1h = rh;
      v1l = rl;
      round(v2h, v2l, readLo(b, p + 12), readLo(b, p + 8));
      v2h = rh;
      v2l = rl;
      round(v3h, v3l, readLo(b, p + 20), readLo(b, p + 16));
      v3h = rh;
      v3l = rl;
      round(v4h, v4l, readLo(b, p + 28), readLo(b, p + 24));
      v4h = rh;
      v4l = rl;
      p += 32;
    } while (p <= limit);
    rotl(v1h, v1l, 1);
    hH = rh;
    hL = rl;
    rotl(v2h, v2l, 7);
    add(hH, hL, rh, rl);
    hH = rh;
    hL = rl;
    rotl(v3h, v3l, 12);
    add(hH, hL, rh, rl);
    hH = rh;
    hL = rl;
    rotl(v4h, v4l, 18);
    add(hH, hL, rh, rl);
    hH = rh;
    hL = rl;
    // merge rounds: h = (h ^ round(0, v)) * P1 + P4
    for (let i = 0; i < 4; i++) {
      const vh = i === 0 ? v1h : i === 1 ? v2h : i === 2 ? v3h : v4h;
      const vl = i === 0 ? v1l : i === 1 ? v2l : i === 2 ? v3l : v4l;
      round(0, 0, vh, vl);
      mul((hH ^ rh) >>> 0, (hL ^ rl) >>> 0, P1H, P1L);
      add(rh, rl, P4H, P4L);
      hH = rh;
      hL = rl;
    }
  } else {
    add(seedH, seedL, P5H, P5L);
    hH = rh;
    hL = rl;
  }
  add(hH, hL, 0, len >>> 0);
  hH = rh;
  hL = rl;
  while (p + 8 <= len) {
    round(0, 0, readLo(b, p + 4), readLo(b, p));
    rotl((hH ^ rh) >>> 0, (hL ^ rl) >>> 0, 27);
    mul(rh, rl, P1H, P1L);
    add(rh, rl, P4H, P4L);
    hH = rh;
    hL = rl;
    p += 8;
  }
  if (p + 4 <= len) {
    mul(0, readLo(b, p), P1H, P1L);
    rotl((hH ^ rh) >>> 0, (hL ^ rl) >>> 0, 23);
    mul(rh, rl, P2H, P2L);
    add(rh, rl, P3H, P3L);
    hH = rh;
    hL = rl;
    p += 4;
  }
  while (p < len) {
    mul(0, b[p]!, P5H, P5L);
    rotl((hH ^ rh) >>> 0, (hL ^ rl) >>> 0, 11);
    mul(rh, rl, P1H, P1L);
    hH = rh;
    hL = rl;
    p++;
  }
  // avalanche
  hL = (hL ^ (hH >>> 1)) >>> 0;
  mul(hH, hL, P2H, P2L);
  hH = rh;
  hL = rl;
  hL = (hL ^ ((hL >>> 29) | (hH << 3))) >>> 0;
  hH = (hH ^ (hH >>> 29)) >>> 0;
  mul(hH, hL, P3H, P3L);
  rl = (rl ^ rh) >>> 0;
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** UTF-8 encodes into the shared scratch buffer and returns the byte length. */
function encode(input: string): number {
  const n = input.length;
  // ASCII fast path: no encoder call.
  if (n <= scratch.length) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = input.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      scratch[i] = c;
    }
    if (ascii) return n;
  }
  if (scratch.length < n * 3) scratch = new Uint8Array(n * 3);
  return encoder.encodeInto(input, scratch).written;
}

/** Output of {@link xxHash64Parts}: the hash as two unsigned 32-bit halves. */
export interface Hash64Parts {
  hi: number;
  lo: number;
}

/**
 * xxHash64 of a string (as UTF-8) or bytes, writing the halves into `out`. Allocation-free for
 * ASCII strings. `seedHi`/`seedLo` form the 64-bit seed (Envoy uses 0, and 1 for maglev skips).
 */
export function xxHash64Parts(input: string | Uint8Array, out: Hash64Parts, seedHi = 0, seedLo = 0): Hash64Parts {
  if (typeof input === 'string') {
    const len = encode(input);
    hashBytes(scratch, len, seedHi >>> 0, seedLo >>> 0);
  } else {
    hashBytes(input, input.length, seedHi >>> 0, seedLo >>> 0);
  }
  out.hi = rh;
  out.lo = rl;
  return out;
}

const tmp: Hash64Parts = { hi: 0, lo: 0 };

/** xxHash64 of a string (as UTF-8) or bytes, as an unsigned 64-bit BigInt. */
export function xxHash64(input: string | Uint8Array, seed: bigint = 0n): bigint {
  const seedHi = Number((seed >> 32n) & 0xffffffffn);
  const seedLo = Number(seed & 0xffffffffn);
  xxHash64Parts(input, tmp, seedHi, seedLo);
  return toBigInt(tmp.hi, tmp.lo);
}

/**
 * Envoy's HashUtil::xxHash64 over a list of strings: each value is hashed with the previous
 * hash as its seed (used for headers with several values).
 */
export function xxHash64Chain(inputs: readonly string[], seed: bigint = 0n): bigint {
  let hi = Number((seed >> 32n) & 0xffffffffn);
  let lo = Number(seed & 0xffffffffn);
  for (const s of inputs) {
    xxHash64Parts(s, tmp, hi, lo);
    hi = tmp.hi;
    lo = tmp.lo;
  }
  return toBigInt(hi, lo);
}

export function toBigInt(hi: number, lo: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** (hi·2^32 + lo) mod m for m < 2^26, without BigInt. */
export function mod64(hi: number, lo: number, m: number): number {
  // 2^32 mod m < m, and (hi mod m)·(2^32 mod m) < 2^42: exact in a double.
  return ((((hi % m) * (4294967296 % m)) % m) + (lo % m)) % m;
}
