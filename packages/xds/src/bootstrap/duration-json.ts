// google.protobuf.Duration in its proto JSON form ("900s", "1.5s", "0.000000001s"), as used by
// refresh_interval in the bootstrap. Go-style "15m" is not proto JSON and is rejected.

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const MAX_SECONDS = 315_576_000_000;

/** Milliseconds, or undefined if `text` is not a proto JSON Duration. */
export function parseDurationJson(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (m === null) return undefined;
  const seconds = Number(m[2]);
  if (seconds > MAX_SECONDS) return undefined;
  const nanos = m[3] === undefined ? 0 : Number(m[3].padEnd(9, '0'));
  const ms = seconds * 1000 + nanos / 1e6;
  return m[1] === '-' ? -ms : ms;
}
