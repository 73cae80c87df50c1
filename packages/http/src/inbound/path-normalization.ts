// Request path normalisation before authorization, as Istio's default (`BASE`) configures Envoy's
// HttpConnectionManager: normalize_path (RFC 3986) with unreserved %XX decoded, backslashes as
// slashes, and optionally merge_slashes. The normalised path is what RBAC sees and, as with
// Envoy, what the application sees too: checking one path and serving another would let
// `/public/../admin` past a DENY on `/admin`.
//   - %00 anywhere in the path rejects the request (400);
//   - %XX of an unreserved character (A-Z a-z 0-9 - . _ ~) is decoded; other escapes keep their
//     byte with upper-case hex (%2F and %5C stay encoded, as in BASE);
//   - `\` becomes `/`;
//   - `.` and `..` segments are removed (RFC 3986 §5.2.4), never above the root;
//   - the query (and fragment) is left alone and excluded from url_path matching.
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

function isUnreserved(c: number): boolean {
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    (c >= 48 && c <= 57) ||
    c === 45 ||
    c === 46 ||
    c === 95 ||
    c === 126
  );
}

/** %XX decoding of unreserved characters and `\` → `/`; undefined for %00. */
function decodeUnreserved(p: string): string | undefined {
  if (!p.includes('%') && !p.includes('\\')) return p;
  let out = '';
  let from = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c === 92 /* \ */) {
      out += `${p.slice(from, i)}/`;
      from = i + 1;
      continue;
    }
    if (c !== 37 /* % */ || i + 2 >= p.length) continue;
    const hi = hexValue(p.charCodeAt(i + 1));
    const lo = hexValue(p.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) continue;
    const byte = hi * 16 + lo;
    if (byte === 0) return undefined;
    out += p.slice(from, i);
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`;
    from = i + 3;
    i += 2;
  }
  return from === 0 ? p : out + p.slice(from);
}

function mergeSlashes(p: string): string {
  return p.includes('//') ? p.replace(/\/{2,}/g, '/') : p;
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
  const decoded = decodeUnreserved(path);
  if (decoded === undefined) return undefined;
  path = decoded;
  if (options?.mergeSlashes === true) path = mergeSlashes(path);
  path = removeDotSegments(path);
  return { path, query };
}
