// Envoy's JitteredExponentialBackOffStrategy, used between retries: the n-th call returns a
// uniform random delay in [0, interval) where interval starts at the base (default 25 ms) and
// doubles per call until doubling would pass max/2, after which it is the max (default 10 × base).
// With the defaults: [0,25), [0,50), [0,100), [0,200), then [0,250) ms.
// (Envoy's router docs still describe an older formula, [0, (2^N − 1) × base); the code above
// is what Envoy runs.)

import type { RandomSource } from '../cluster/random-source.ts';

export const DEFAULT_BASE_INTERVAL_MS = 25;

export class JitteredExponentialBackoff {
  readonly baseInterval: number;
  readonly maxInterval: number;
  private readonly random: RandomSource;
  private nextInterval: number;

  /**
   * @param baseInterval ms; values under 1 ms become 1 ms
   * @param maxInterval ms; default 10 × base, never below base
   */
  constructor(baseInterval: number, maxInterval: number | undefined, random: RandomSource) {
    this.baseInterval = Math.max(1, Math.floor(baseInterval));
    this.maxInterval = Math.max(this.baseInterval, Math.floor(maxInterval ?? this.baseInterval * 10));
    this.random = random;
    this.nextInterval = this.baseInterval;
  }

  /** The current upper bound (exclusive) of the next delay. */
  get interval(): number {
    return this.nextInterval;
  }

  nextBackOffMs(): number {
    const backoff = this.nextInterval;
    this.nextInterval = this.nextInterval < Math.floor(this.maxInterval / 2) ? this.nextInterval * 2 : this.maxInterval;
    return this.random() % backoff;
  }

  reset(): void {
    this.nextInterval = this.baseInterval;
  }
}
