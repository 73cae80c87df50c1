// istiod's push debounce (PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX): act once a burst of
// triggers has been quiet for `quietMs`, or `maxMs` after the burst started if it never calms down.
import type { Clock, TimerHandle } from '@inboard/xds';

export interface DebouncerOptions {
  readonly clock: Clock;
  /** Default 100 ms (PILOT_DEBOUNCE_AFTER). */
  readonly quietMs?: number;
  /** Default 10 s (PILOT_DEBOUNCE_MAX). */
  readonly maxMs?: number;
}

export class Debouncer {
  readonly #fire: () => void;
  readonly #clock: Clock;
  readonly #quietMs: number;
  readonly #maxMs: number;
  #burstStart: number | undefined;
  #timer: TimerHandle | undefined;

  constructor(fire: () => void, options: DebouncerOptions) {
    this.#fire = fire;
    this.#clock = options.clock;
    this.#quietMs = options.quietMs ?? 100;
    this.#maxMs = options.maxMs ?? 10_000;
  }

  /** Records an event; `fire` runs when the burst ends. */
  trigger(): void {
    const now = this.#clock.now();
    this.#burstStart ??= now;
    this.#timer?.cancel();
    const delay = Math.max(0, Math.min(this.#quietMs, this.#burstStart + this.#maxMs - now));
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#burstStart = undefined;
      this.#fire();
    }, delay);
  }

  get pending(): boolean {
    return this.#timer !== undefined;
  }

  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#burstStart = undefined;
  }
}
