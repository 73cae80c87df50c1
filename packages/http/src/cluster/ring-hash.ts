// RING_HASH (Ketama) as Envoy builds it: each host gets ⌈scale × weight⌉-ish points hashed from
// `<address:port>_<i>` with xxHash64, where scale makes the least-weighted host get a whole
// number of points and the ring hold at least minimum_ring_size entries (capped at
// maximum_ring_size). A request hash maps to the first point ≥ it, wrapping to the start.

import { EMPTY_TABLE, type HashingTable } from './hash-lb.ts';
import type { Host } from './host.ts';
import type { NormalizedWeights } from './normalized-weights.ts';
import { type Hash64Parts, xxHash64Parts } from './xxhash64.ts';

export const DEFAULT_MIN_RING_SIZE = 1024;
export const DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;

export class RingHash implements HashingTable {
  readonly size: number;
  readonly minHashesPerHost: number;
  readonly maxHashesPerHost: number;
  private readonly hashHi: Uint32Array;
  private readonly hashLo: Uint32Array;
  private readonly entryHost: Host[];

  constructor(normalized: NormalizedWeights, minRingSize: number, maxRingSize: number) {
    const { hosts, weights } = normalized;
    const scale = Math.min(Math.ceil(normalized.min * minRingSize) / normalized.min, maxRingSize);
    const capacity = Math.ceil(scale) + hosts.length;
    const hi: number[] = [];
    const lo: number[] = [];
    const owner: Host[] = [];
    const parts: Hash64Parts = { hi: 0, lo: 0 };
    let current = 0;
    let target = 0;
    let minPer = capacity;
    let maxPer = 0;
    for (let h = 0; h < hosts.length; h++) {
      const host = hosts[h]!;
      const prefix = `${host.key}_`;
      target += scale * weights[h]!;
      let i = 0;
      while (current < target) {
        xxHash64Parts(prefix + i, parts);
        hi.push(parts.hi);
        lo.push(parts.lo);
        owner.push(host);
        i++;
        current++;
      }
      if (i < minPer) minPer = i;
      if (i > maxPer) maxPer = i;
    }
    const n = hi.length;
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => hi[a]! - hi[b]! || lo[a]! - lo[b]!);
    this.size = n;
    this.hashHi = new Uint32Array(n);
    this.hashLo = new Uint32Array(n);
    this.entryHost = new Array<Host>(n);
    for (let i = 0; i < n; i++) {
      const j = order[i]!;
      this.hashHi[i] = hi[j]!;
      this.hashLo[i] = lo[j]!;
      this.entryHost[i] = owner[j]!;
    }
    this.minHashesPerHost = hosts.length === 0 ? 0 : minPer;
    this.maxHashesPerHost = maxPer;
  }

  chooseHost(hi: number, lo: number, attempt: number): Host | undefined {
    const n = this.size;
    if (n === 0) return undefined;
    // lower bound: first entry with hash >= (hi, lo); past the end wraps to 0.
    let low = 0;
    let high = n;
    const hh = this.hashHi;
    const hl = this.hashLo;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const mh = hh[mid]!;
      if (mh < hi || (mh === hi && hl[mid]! < lo)) low = mid + 1;
      else high = mid;
    }
    let idx = low === n ? 0 : low;
    // Retry predicate rejected the host: behave as if it were not on the ring (Envoy: next entry).
    if (attempt > 0) idx = (idx + attempt) % n;
    return this.entryHost[idx];
  }
}

export function ringHashTable(normalized: NormalizedWeights, minRingSize: number, maxRingSize: number): HashingTable {
  return normalized.hosts.length === 0 ? EMPTY_TABLE : new RingHash(normalized, minRingSize, maxRingSize);
}
