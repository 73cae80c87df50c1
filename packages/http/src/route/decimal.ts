// Integer parsing with absl::SimpleAtoi semantics, which Envoy uses for range matches and the
// fault headers: ASCII whitespace trimmed on both ends, an optional sign, then base-10 digits
// only; anything else, or an overflow, is a parse failure.

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const UINT64_MAX = 18446744073709551615n;

function isSpace(c: number): boolean {
  // absl::ascii_isspace: space, \t, \n, \v, \f, \r
  return c === 32 || (c >= 9 && c <= 13);
}

/** [sign, firstDigit, end) of the trimmed number, or undefined when it is not sign + digits. */
function scan(s: string): [negative: boolean, start: number, end: number] | undefined {
  let start = 0;
  let end = s.length;
  while (start < end && isSpace(s.charCodeAt(start))) start++;
  while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
  let negative = false;
  const c = s.charCodeAt(start);
  if (c === 45 || c === 43) {
    negative = c === 45;
    start++;
  }
  if (start >= end) return undefined;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i);
    if (d < 48 || d > 57) return undefined;
  }
  return [negative, start, end];
}

/** A signed 64-bit integer: a number when it is a safe integer, a bigint beyond that. */
export function parseInt64(s: string): number | bigint | undefined {
  const r = scan(s);
  if (r === undefined) return undefined;
  const [negative, start, end] = r;
  if (end - start <= 15) {
    const n = Number(s.slice(start, end));
    return negative ? -n : n;
  }
  let n = BigInt(s.slice(start, end));
  if (negative) n = -n;
  if (n > INT64_MAX || n < INT64_MIN) return undefined;
  return Number.isSafeInteger(Number(n)) ? Number(n) : n;
}

/** An unsigned integer up to `max` (a sign of `-` fails, as absl does for unsigned types). */
function parseUnsigned(s: string, max: bigint): number | undefined {
  const r = scan(s);
  if (r === undefined || r[0]) return undefined;
  const [, start, end] = r;
  if (end - start <= 15) return Number(s.slice(start, end));
  const n = BigInt(s.slice(start, end));
  return n > max ? undefined : Number(n);
}

export function parseUint32(s: string): number | undefined {
  return parseUnsigned(s, 0xffffffffn);
}

/** uint64 (values above 2^53 lose precision, harmless for milliseconds and status codes). */
export function parseUint64(s: string): number | undefined {
  return parseUnsigned(s, UINT64_MAX);
}

/** start <= v < end, for v from parseInt64 and a model Int64Range. */
export function inHalfOpenRange(v: number | bigint, start: number, end: number): boolean {
  if (typeof v === 'number') return start <= v && v < end;
  return BigInt(Math.trunc(start)) <= v && v < BigInt(Math.trunc(end));
}
