// Istio durations as written in YAML ("10s", "0.5s", "1m30s", "100ms") → google.protobuf.Duration.
// istio/api accepts both the protobuf JSON form and Go's time.ParseDuration form, so we do too.
import type { Duration } from '@inboard/xds/codec';

const UNIT_NANOS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Nanoseconds of a duration string; undefined when it is not one. */
export function durationNanos(text: string): bigint | undefined {
  let s = text.trim();
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '') return undefined;
  if (s === '0') return 0n;
  let total = 0n;
  PART.lastIndex = 0;
  let at = 0;
  while (at < s.length) {
    PART.lastIndex = at;
    const m = PART.exec(s);
    if (m === null) return undefined;
    const [whole = '0', frac = ''] = (m[1] ?? '0').split('.');
    const unit = UNIT_NANOS[m[2] ?? ''] ?? 0n;
    total += BigInt(whole === '' ? '0' : whole) * unit;
    if (frac !== '') {
      // exact fractional part: frac / 10^len * unit, truncated like Go
      total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    }
    at = PART.lastIndex;
  }
  return negative ? -total : total;
}

/** A google.protobuf.Duration from an Istio duration string; undefined when unparseable. */
export function parseDuration(text: string | undefined): Duration | undefined {
  if (text === undefined) return undefined;
  const n = durationNanos(text);
  if (n === undefined) return undefined;
  const seconds = n / 1_000_000_000n;
  const nanos = n - seconds * 1_000_000_000n;
  return { seconds: Number(seconds), nanos: Number(nanos) };
}

/** Whole seconds of a duration string (CORS max_age, etc.), truncated. */
export function durationSeconds(text: string | undefined): number | undefined {
  return parseDuration(text)?.seconds;
}

export const ZERO_DURATION: Duration = Object.freeze({ seconds: 0, nanos: 0 });
