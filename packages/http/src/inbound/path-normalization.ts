// Request path normalisation before authorization, as Istio's default (`BASE`) configures Envoy's
// HttpConnectionManager: normalize_path, then (Istio's MERGE_SLASHES) merge_slashes, in that
// order. The normalised path is what RBAC sees and, as with Envoy, what the application sees too:
// checking one path and serving another would let `/public/../admin` past a DENY on `/admin`.
// normalize_path is Envoy's canonicaliser (Chromium's URL path canonicalisation), byte for byte:
//   - %XX of a letter, digit, `-`, `_` or `~` is decoded; %2E (either case) is a dot;
//   - every other escape is kept exactly as sent, hex case included (`%2f`, `%5C`, `%25`);
//     %00 (or a NUL byte) rejects the request (400);
//   - characters that may not appear unescaped (space, `"`, `<`, `>`, `^`, `` ` ``, `{`, `|`, `}`,
//     controls, non-ASCII bytes) are escaped with upper-case hex;
//   - a `%` that starts no valid escape is kept, unless decoding what follows it would make it one
//     (`/%%36%31dmin`): then it becomes `%25`, so no later decoding turns the result into another
//     path (`/%2561dmin`, never `/%61dmin`, which an application decoding once would see as /admin);
//   - `\` becomes `/`; `.` and `..` segments are resolved, never above the root;
//   - the query (and fragment) is left alone and excluded from url_path matching.
// merge_slashes then collapses runs of `/` (after the dot segments: `/a//../admin` is `/a/admin`).
// An absolute-form target (`http://host/p`) contributes its path; `*` (OPTIONS *) is kept.

export interface NormalizedPath {
  /** the normalised path, without query */
  readonly path: string;
  /** `?query` as received (no fragment), or '' */
  readonly query: string;
}

export interface PathNormalizationOptions {
  /** merge runs of `/` into one (Istio's MERGE_SLASHES); default false */
  readonly mergeSlashes?: boolean;
}

const HEX = '0123456789ABCDEF';

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** What the canonicaliser does with a byte of the path (Chromium's path character table). */
const PASS = 0;
/** copied unescaped; decoded when it arrives escaped */
const UNESCAPE = 1;
/** escaped (upper-case hex) when it arrives unescaped; kept escaped when it arrives so */
const ESCAPE = 2;
/** NUL: the path is rejected */
const INVALID = 3;

const PATH_CHARS = (() => {
  const t = new Uint8Array(256).fill(ESCAPE);
  t[0] = INVALID;
  for (const c of "!$&'()*+,/:;=@[]") t[c.charCodeAt(0)] = PASS;
  for (const c of '-_~') t[c.charCodeAt(0)] = UNESCAPE;
  for (let c = 48; c <= 57; c++) t[c] = UNESCAPE;
  for (let c = 65; c <= 90; c++) t[c] = UNESCAPE;
  for (let c = 97; c <= 122; c++) t[c] = UNESCAPE;
  return t;
})();

/** A byte that needs no special handling (copied as is). */
function isPlain(c: number): boolean {
  return c < 256 && c !== 37 /* % */ && c !== 46 /* . */ && c !== 92 /* \ */ && PATH_CHARS[c] !== ESCAPE && c !== 0;
}

function isSlash(c: number): boolean {
  return c === 47 || c === 92;
}

/** The length of a dot at `i` (`.` or `%2E`), or 0. */
function dotLength(p: string, i: number, end: number): number {
  const c = p.charCodeAt(i);
  if (c === 46) return 1;
  if (c === 37 && i + 2 < end && p.charCodeAt(i + 1) === 50 && (p.charCodeAt(i + 2) | 32) === 101) return 3;
  return 0;
}

/** The byte a valid `%XX` at `i` stands for, or -1. */
function escapedByte(p: string, i: number, end: number): number {
  if (i + 2 >= end) return -1;
  const hi = hexValue(p.charCodeAt(i + 1));
  const lo = hexValue(p.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/** Appends `%XX` one character at a time: the output is indexed by byte, as Chromium's is. */
function pushEscaped(out: string[], byte: number): void {
  out.push('%', HEX[byte >> 4]!, HEX[byte & 15]!);
}

/**
 * Envoy's normalize_path for the path alone (no query): Chromium's URL path canonicalisation, as
 * Envoy runs it. A path that does not start with a slash gets one. undefined when it must be
 * rejected (an escaped or raw NUL).
 */
export function canonicalizePath(p: string): string | undefined {
  const end = p.length;
  let fast = end > 0 && isSlash(p.charCodeAt(0));
  for (let i = 0; fast && i < end; i++) {
    const c = p.charCodeAt(i);
    if (!isPlain(c) && c !== 46) fast = false;
    else if (c === 46 && p.charCodeAt(i - 1) === 47) fast = false;
  }
  if (fast) return p;

  // the output as an array of characters: nested escapes rewrite what was already written
  const out: string[] = [];
  if (end === 0 || !isSlash(p.charCodeAt(0))) out.push('/');
  let ok = true;
  // where in `out` a `%` that started no valid escape was written
  let invalidPercent = Number.MIN_SAFE_INTEGER;
  for (let i = 0; i < end; i++) {
    const c = p.charCodeAt(i);
    const dot = dotLength(p, i, end);
    if (dot > 0) {
      if (out[out.length - 1] !== '/') {
        out.push('.'); // part of a name
        i += dot - 1;
        continue;
      }
      // a dot right after a slash: `.` or `..` segment, or the start of a name
      const after = i + dot;
      if (after === end || isSlash(p.charCodeAt(after))) {
        i = after === end ? after - 1 : after; // current directory: drop it (and its slash)
        continue;
      }
      const second = dotLength(p, after, end);
      const afterSecond = after + second;
      if (second > 0 && (afterSecond === end || isSlash(p.charCodeAt(afterSecond)))) {
        // parent directory: back up to the previous slash, never above the first
        if (out.length > 1) {
          let j = out.length - 2;
          while (j > 0 && out[j] !== '/') j--;
          out.length = j + 1;
        }
        i = afterSecond === end ? afterSecond - 1 : afterSecond;
        continue;
      }
      out.push('.');
      i += dot - 1;
      continue;
    }
    if (c === 92 /* \ */) {
      out.push('/');
      continue;
    }
    if (c === 37 /* % */) {
      const byte = escapedByte(p, i, end);
      if (byte < 0) {
        invalidPercent = out.length;
        out.push('%');
        continue;
      }
      const kind = PATH_CHARS[byte]!;
      if (kind === UNESCAPE) {
        out.push(String.fromCharCode(byte));
        i += 2;
        if (invalidPercent >= out.length - 3) checkNestedEscape(p, i + 1, invalidPercent, out);
      } else {
        // kept exactly as sent, in case the server cares about the case of the hex digits
        out.push('%', p[i + 1]!, p[i + 2]!);
        i += 2;
        if (kind === INVALID) ok = false;
      }
      continue;
    }
    if (c >= 256) {
      // not from the wire (node reads request-targets as latin1): escape its UTF-8 bytes
      const cp = p.codePointAt(i)!;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) pushEscaped(out, b);
      if (cp > 0xffff) i++;
      continue;
    }
    const kind = PATH_CHARS[c]!;
    if (kind === INVALID) {
      pushEscaped(out, c);
      ok = false;
    } else if (kind === ESCAPE) {
      pushEscaped(out, c);
    } else {
      out.push(p[i]!);
    }
  }
  return ok ? out.join('') : undefined;
}

/**
 * Just decoded a character within two of a `%` that started no valid escape: if the `%` and what
 * now follows it form a valid escape, the `%` becomes `%25` (Chromium's CheckForNestedEscapes).
 * `next` is the index in `p` of the next character not yet read.
 */
function checkNestedEscape(p: string, next: number, percent: number, out: string[]): void {
  const length = out.length;
  const last = out[length - 1]!;
  // "%c": look at the next input character as well
  const withNext = percent === length - 2;
  if (withNext) {
    if (next === p.length || p.charCodeAt(next) >= 0x80) return;
    out.push(p[next]!);
  }
  const hi = hexValue(out[percent + 1]!.charCodeAt(0));
  const lo = hexValue((out[percent + 2] ?? '').charCodeAt(0));
  if (out.length === percent + 3 && hi >= 0 && lo >= 0) {
    if (!withNext) out.push(out[percent + 1]!);
    out[percent + 1] = '2';
    out[percent + 2] = '5';
    out.push(last);
  } else if (withNext) {
    out.length = length;
  }
}

/**
 * Envoy's merge_slashes for the path alone: runs of `/` become one, keeping a leading and a
 * trailing slash (a path of slashes only keeps both, as Envoy's does).
 */
export function mergeSlashes(p: string): string {
  if (!p.includes('//')) return p;
  const inner = p
    .split('/')
    .filter((s) => s !== '')
    .join('/');
  return (p.startsWith('/') ? '/' : '') + inner + (p.endsWith('/') ? '/' : '');
}

/** RFC 3986 §5.2.4 remove_dot_segments for an absolute path. */
export function removeDotSegments(p: string): string {
  if (!p.includes('.')) return p;
  const segments = p.split('/');
  // segments[0] is '' (the path starts with '/')
  const out: string[] = [];
  const last = segments.length - 1;
  for (let i = 1; i <= last; i++) {
    const s = segments[i]!;
    if (s === '.') {
      if (i === last) out.push('');
    } else if (s === '..') {
      out.pop();
      if (i === last) out.push('');
    } else {
      out.push(s);
    }
  }
  return `/${out.join('/')}`;
}

/** Where the path of a request-target starts: after `scheme://authority` in absolute form. */
function pathStart(target: string): number {
  if (target.charCodeAt(0) === 47 /* / */) return 0;
  const scheme = target.indexOf('://');
  if (scheme <= 0) return -1;
  const slash = target.indexOf('/', scheme + 3);
  return slash < 0 ? target.length : slash;
}

/** undefined: the request must be rejected with 400 (Envoy's `path_normalization_failed`). */
export function normalizeRequestPath(target: string, options?: PathNormalizationOptions): NormalizedPath | undefined {
  if (target === '*') return { path: '*', query: '' };
  const start = pathStart(target);
  if (start < 0) return undefined;
  const q = target.indexOf('?', start);
  const h = target.indexOf('#', start);
  const end = q < 0 ? (h < 0 ? target.length : h) : h < 0 || q < h ? q : h;
  let path = start === target.length ? '/' : target.slice(start, end);
  const query = q >= 0 && (h < 0 || q < h) ? target.slice(q, h < 0 ? target.length : h) : '';
  const canonical = canonicalizePath(path);
  if (canonical === undefined) return undefined;
  path = options?.mergeSlashes === true ? mergeSlashes(canonical) : canonical;
  return { path, query };
}
