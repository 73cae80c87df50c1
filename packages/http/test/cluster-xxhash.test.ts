import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mod64, seededRandom, xxHash64, xxHash64Chain, xxHash64Parts } from '../src/cluster/index.ts';

// A direct BigInt transcription of the XXH64 specification, to check the 32-bit-halves version.
const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, input: bigint) => (rotl((acc + input * P2) & M, 31n) * P1) & M;
const merge = (acc: bigint, v: bigint) => ((((acc ^ round(0n, v)) * P1) & M) + P4) & M;
function u64(b: Uint8Array, p: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[p + i]!);
  return v;
}
function u32(b: Uint8Array, p: number): bigint {
  let v = 0n;
  for (let i = 3; i >= 0; i--) v = (v << 8n) | BigInt(b[p + i]!);
  return v;
}
function reference(b: Uint8Array, seed: bigint): bigint {
  const len = b.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + P1 + P2) & M;
    let v2 = (seed + P2) & M;
    let v3 = seed;
    let v4 = (seed - P1) & M;
    while (p + 32 <= len) {
      v1 = round(v1, u64(b, p));
      v2 = round(v2, u64(b, p + 8));
      v3 = round(v3, u64(b, p + 16));
      v4 = round(v4, u64(b, p + 24));
      p += 32;
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(h, v1);
    h = merge(h, v2);
    h = merge(h, v3);
    h = merge(h, v4);
  } else {
    h = (seed + P5) & M;
  }
  h = (h + BigInt(len)) & M;
  while (p + 8 <= len) {
    h ^= round(0n, u64(b, p));
    h = (((rotl(h, 27n) * P1) & M) + P4) & M;
    p += 8;
  }
  if (p + 4 <= len) {
    h ^= (u32(b, p) * P1) & M;
    h = (((rotl(h, 23n) * P2) & M) + P3) & M;
    p += 4;
  }
  while (p < len) {
    h ^= (BigInt(b[p]!) * P5) & M;
    h = (rotl(h, 11n) * P1) & M;
    p++;
  }
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

describe('xxHash64', () => {
  it('matches published XXH64 values', () => {
    assert.equal(xxHash64(''), 0xef46db3751d8e999n);
    assert.equal(xxHash64('a'), 0xd24ec4f1a98c6e5bn);
    assert.equal(xxHash64('abc'), 0x44bc2cf5ad770999n);
    assert.equal(xxHash64('The quick brown fox jumps over the lazy dog'), 0x0b242d361fda71bcn);
  });

  it('hashes UTF-8 bytes of non-ASCII strings and honours the seed', () => {
    assert.equal(xxHash64('héllo wörld'), 0x60041bfec530413cn);
    assert.equal(xxHash64('10.0.0.1:80', 1n), 0xa456919bcbffaa92n);
    assert.equal(xxHash64('10.0.0.1:80_0'), 0x75041381e7371a08n);
  });

  it('agrees with a BigInt transcription of the spec for every length up to 100 and 64-bit seeds', () => {
    const rnd = seededRandom(7);
    for (let len = 0; len <= 100; len++) {
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = rnd() & 0xff;
      for (const seed of [0n, 1n, 0xfedcba9876543210n]) {
        assert.equal(xxHash64(bytes, seed), reference(bytes, seed), `len ${len} seed ${seed}`);
      }
    }
  });

  it('exposes the halves without BigInt', () => {
    const out = { hi: 0, lo: 0 };
    xxHash64Parts('abc', out);
    assert.deepEqual(out, { hi: 0x44bc2cf5, lo: 0xad770999 });
  });

  it('chains values by seeding each with the previous hash (Envoy HashUtil span form)', () => {
    assert.equal(xxHash64Chain(['a', 'b']), xxHash64('b', xxHash64('a')));
    assert.equal(xxHash64Chain(['a']), xxHash64('a'));
  });

  it('mod64 equals BigInt modulo', () => {
    const rnd = seededRandom(3);
    for (let i = 0; i < 200; i++) {
      const hi = rnd();
      const lo = rnd();
      for (const m of [100, 65537, 5_000_011, 65536]) {
        const expected = Number(((BigInt(hi) << 32n) | BigInt(lo)) % BigInt(m));
        assert.equal(mod64(hi, lo, m), expected);
      }
    }
  });
});
