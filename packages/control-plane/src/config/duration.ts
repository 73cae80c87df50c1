// Istio accepts durations the way Kubernetes validates them (Go's time.ParseDuration): "1.5s",
// "100ms", "2m", "1h30m". The protobuf JSON form ("1.5s") is a special case of that.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds, or `undefined` when the text is not a non-negative duration. "0" alone is allowed. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '') return undefined;
  let ms = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (m === null) return undefined;
    ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    pos = PART.lastIndex;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

/** "1.5s" for 1500 ms: the protobuf JSON spelling, used when printing. */
export function formatDuration(ms: number): string {
  return `${Number((ms / 1000).toFixed(9))}s`;
}
