// Earliest Deadline First scheduler: Envoy's weighted round robin for hosts with unequal
// weights and for locality picks. Each entry's next deadline is `now + 1 / weight`; a pick takes
// the earliest deadline (ties in insertion order) and re-inserts it with its current weight, so
// weights that change between picks (LEAST_REQUEST's load-scaled weights) take effect lazily.

interface Entry<T> {
  item: T;
  deadline: number;
  order: number;
}

export class EdfScheduler<T> {
  private readonly heap: Entry<T>[] = [];
  private now = 0;
  private order = 0;

  /**
   * Builds a scheduler over `items` and performs `picks` picks up front, so schedulers built at
   * the same moment by different clients do not all start on the same host. (Envoy emulates up
   * to 2^32 pre-picks arithmetically; performing them is equivalent for the bounded counts we use.)
   */
  static create<T>(items: readonly T[], weightOf: (item: T) => number, picks: number): EdfScheduler<T> {
    const s = new EdfScheduler<T>();
    for (const item of items) s.add(weightOf(item), item);
    for (let i = 0; i < picks; i++) s.pickAndAdd(weightOf);
    return s;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Inserts with deadline now + 1/weight; weight must be > 0. */
  add(weight: number, item: T): void {
    const e: Entry<T> = { item, deadline: this.now + 1 / weight, order: this.order++ };
    this.heap.push(e);
    this.up(this.heap.length - 1);
  }

  /** Picks the earliest deadline and re-inserts it with `weightOf(item)`. */
  pickAndAdd(weightOf: (item: T) => number): T | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    this.now = top.deadline;
    // Re-use the entry: no allocation per pick.
    top.deadline = this.now + 1 / weightOf(top.item);
    top.order = this.order++;
    this.down(0);
    return top.item;
  }

  private less(a: Entry<T>, b: Entry<T>): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order);
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (!this.less(e, pe)) break;
      h[i] = pe;
      i = p;
    }
    h[i] = e;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(h[c + 1]!, h[c]!)) c++;
      if (!this.less(h[c]!, e)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = e;
  }
}

/**
 * How many pre-picks to perform for a seed: a random point within one scheduling cycle
 * (Σweight / min weight picks), bounded so rebuilding stays cheap.
 */
export function prePicks(seed: number, weights: readonly number[]): number {
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  for (const w of weights) {
    sum += w;
    if (w < min) min = w;
  }
  if (!(min > 0)) return 0;
  const cycle = Math.max(1, Math.min(1024, Math.round(sum / min)));
  return seed % cycle;
}
