// MAGLEV as Envoy builds it: hosts sorted by key, each with offset = xxHash64(key) mod M and
// skip = xxHash64(key, seed 1) mod (M − 1) + 1, filling the table round by round along their
// permutations; a host of weight w (normalized) takes a turn in round r when r × w ≥ its running
// target, so table shares follow weights. Lookup is table[hash mod M].

import { EMPTY_TABLE, type HashingTable } from './hash-lb.ts';
import type { Host } from './host.ts';
import type { NormalizedWeights } from './normalized-weights.ts';
import { type Hash64Parts, mod64, xxHash64Parts } from './xxhash64.ts';

export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;

export function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export class MaglevTable implements HashingTable {
  readonly size: number;
  /** entries per host, in `hosts` order */
  readonly counts: readonly number[];
  readonly hosts: readonly Host[];
  private readonly table: Int32Array;

  constructor(normalized: NormalizedWeights, tableSize: number) {
    const m = tableSize;
    const idx = normalized.hosts.map((_, i) => i);
    idx.sort((a, b) => {
      const ka = normalized.hosts[a]!.key;
      const kb = normalized.hosts[b]!.key;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    const n = idx.length;
    const hosts = idx.map((i) => normalized.hosts[i]!);
    const weight = idx.map((i) => normalized.weights[i]!);
    const offset = new Array<number>(n);
    const skip = new Array<number>(n);
    const next = new Array<number>(n).fill(0);
    const target = new Array<number>(n).fill(0);
    const counts = new Array<number>(n).fill(0);
    const parts: Hash64Parts = { hi: 0, lo: 0 };
    for (let i = 0; i < n; i++) {
      const key = hosts[i]!.key;
      xxHash64Parts(key, parts);
      offset[i] = mod64(parts.hi, parts.lo, m);
      xxHash64Parts(key, parts, 0, 1);
      skip[i] = mod64(parts.hi, parts.lo, m - 1) + 1;
    }
    const table = new Int32Array(m).fill(-1);
    const maxWeight = normalized.max;
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (let i = 0; i < n && filled < m; i++) {
        if (iteration * weight[i]! < target[i]!) continue;
        target[i]! += maxWeight;
        let c = (offset[i]! + skip[i]! * next[i]!) % m;
        while (table[c] !== -1) {
          next[i]!++;
          c = (offset[i]! + skip[i]! * next[i]!) % m;
        }
        table[c] = i;
        next[i]!++;
        counts[i]!++;
        filled++;
      }
    }
    this.size = m;
    this.table = table;
    this.hosts = hosts;
    this.counts = counts;
  }

  chooseHost(hi: number, lo: number, attempt: number): Host | undefined {
    if (attempt > 0) {
      // Envoy: hash ^= ~0 - attempt + 1, i.e. XOR with 2^64 - attempt.
      hi = (hi ^ 0xffffffff) >>> 0;
      lo = (lo ^ ((0x100000000 - attempt) >>> 0)) >>> 0;
    }
    return this.hosts[this.table[mod64(hi, lo, this.size)]!];
  }
}

export function maglevTable(normalized: NormalizedWeights, tableSize: number): HashingTable {
  return normalized.hosts.length === 0 ? EMPTY_TABLE : new MaglevTable(normalized, tableSize);
}
