// Reconnect backoff for the ADS stream: gRPC's connection backoff (1 s initial, ×1.6, ±20 % jitter,
// 120 s cap). Per gRFC A57 the XdsClient resets it whenever a stream received a response, so a
// stream that dies after being useful is re-established at once.

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly multiplier?: number;
  readonly jitter?: number;
  readonly maxMs?: number;
  readonly random?: () => number;
}

export class ExponentialBackoff {
  private readonly initialMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private nextBaseMs: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.multiplier = options.multiplier ?? 1.6;
    this.jitter = options.jitter ?? 0.2;
    this.maxMs = options.maxMs ?? 120_000;
    this.random = options.random ?? Math.random;
    this.nextBaseMs = this.initialMs;
  }

  /** The delay before the next attempt; advances the schedule. */
  next(): number {
    const base = this.nextBaseMs;
    this.nextBaseMs = Math.min(base * this.multiplier, this.maxMs);
    const spread = base * this.jitter;
    return Math.max(0, base - spread + this.random() * 2 * spread);
  }

  reset(): void {
    this.nextBaseMs = this.initialMs;
  }
}
