// What route matching reads from a request. Shaped so an undici dispatch can feed it without
// copying: the pseudo headers are plain fields, and other headers are read through a getter
// that is only called when a matcher needs a header.
//
//   const req: RouteRequest = {
//     method: opts.method,
//     authority: host,                    // Host / :authority, port included as sent
//     path: opts.path,                    // with the query string
//     scheme: origin.protocol === 'https:' ? 'https' : 'http',
//     headers: headerGetter(opts.headers), // object, flat array or [name, value] pairs
//   };

/** One header's value(s) as stored by the caller; undefined when the header is absent. */
export type HeaderValue = string | readonly string[] | undefined;

/** Looks a regular header up by its lower-case name. Never asked for pseudo headers or `host`. */
export type HeaderGetter = (lowerCaseName: string) => HeaderValue;

export interface RouteRequest {
  /** `:method` */
  readonly method: string;
  /** `:authority` (the Host header), exactly as sent, port included */
  readonly authority: string;
  /** `:path`, including the query string (and a fragment, if any) */
  readonly path: string;
  /** `:scheme`: `http` or `https` */
  readonly scheme: string;
  /** called as `req.headers(name)`: a method of the request may rely on `this` */
  readonly headers: HeaderGetter;
}

/**
 * A header's value as Envoy's matchers see it: several values joined with `,`
 * (HeaderUtility::getAllOfHeaderAsString). An empty list counts as absent.
 */
export function joinedHeaderValue(v: HeaderValue): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  if (v.length === 0) return undefined;
  if (v.length === 1) return v[0];
  return v.join(',');
}

/** The first value only: what Envoy reads from "implicitly untrusted" control headers. */
export function firstHeaderValue(v: HeaderValue): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  return v[0];
}

/**
 * Request fields served for the pseudo headers. `host` is `:authority` too: Envoy's request
 * header map aliases the legacy name to the same inline header.
 */
export function pseudoHeaderReader(name: string): ((req: RouteRequest) => string) | undefined {
  switch (name) {
    case ':authority':
    case 'host':
      return (req) => req.authority;
    case ':method':
      return (req) => req.method;
    case ':path':
      return (req) => req.path;
    case ':scheme':
      return (req) => req.scheme;
    default:
      return undefined;
  }
}

/** Reads a header the way matchers do: pseudo headers from the request fields, others joined. */
export function compileHeaderReader(name: string): (req: RouteRequest) => string | undefined {
  const pseudo = pseudoHeaderReader(name);
  if (pseudo !== undefined) return pseudo;
  return (req) => joinedHeaderValue(req.headers(name));
}

type RawValue = string | number | readonly string[] | Uint8Array | null | undefined;

/** The header shapes undici accepts in DispatchOptions.headers. */
export type IncomingHeaders =
  | Readonly<Record<string, RawValue>>
  | readonly (string | Uint8Array)[]
  | Iterable<readonly [string, RawValue]>;

const EMPTY_GETTER: HeaderGetter = () => undefined;
const latin1 = new TextDecoder('latin1');

function text(v: string | number | Uint8Array): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return latin1.decode(v);
}

function add(map: Map<string, string | string[]>, name: string, value: RawValue): void {
  if (value === null || value === undefined) return;
  const key = name.toLowerCase();
  const values = Array.isArray(value) ? (value as readonly string[]).map(text) : [text(value as string)];
  if (values.length === 0) return;
  const prev = map.get(key);
  if (prev === undefined) map.set(key, values.length === 1 ? values[0]! : values);
  else map.set(key, [...(typeof prev === 'string' ? [prev] : prev), ...values]);
}

function normalize(headers: IncomingHeaders): Map<string, string | string[]> {
  const map = new Map<string, string | string[]>();
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown as (readonly [string, RawValue])[]) add(map, pair[0], pair[1]);
    } else {
      const flat = headers as readonly (string | Uint8Array)[];
      for (let i = 0; i + 1 < flat.length; i += 2) add(map, text(flat[i]!), flat[i + 1]);
    }
  } else if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of headers as Iterable<readonly [string, RawValue]>) add(map, name, value);
  } else {
    const obj = headers as Readonly<Record<string, RawValue>>;
    for (const name of Object.keys(obj)) add(map, name, obj[name]);
  }
  return map;
}

/**
 * A HeaderGetter over undici-style headers (object, flat `[name, value, ...]` array, or
 * `[name, value]` pairs). Names are matched case-insensitively; the lower-cased index is built on
 * the first lookup only, so requests whose routes have no header matchers never pay for it.
 */
export function headerGetter(headers: IncomingHeaders | null | undefined): HeaderGetter {
  if (headers === null || headers === undefined) return EMPTY_GETTER;
  let map: Map<string, string | string[]> | undefined;
  return (name) => {
    map ??= normalize(headers);
    return map.get(name);
  };
}
