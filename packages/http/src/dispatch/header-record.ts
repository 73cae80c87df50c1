// Request headers as the data plane works on them: one plain object per request, keyed by
// lower-case name, a repeated header as an array. Built once from whatever shape undici was given
// (object, flat [name, value, ...] array, [name, value] pairs or another iterable); route
// matching, header mutations, host rewriting and the upstream dispatch all use that one object.
import type { HeaderRecord } from '../route/header-mutation.ts';

/** normalizeHeaders found a `host` header */
export const HAS_HOST = 1;
/** normalizeHeaders found an `x-envoy-*` header (retry / timeout control headers to strip) */
export const HAS_ENVOY = 2;
/** normalizeHeaders found a hop-by-hop header (connection and the like: stripHopByHop) */
export const HAS_HOP = 4;

/**
 * The hop-by-hop request headers Envoy's connection manager removes before a request goes
 * upstream: they describe the caller's hop to its proxy (here, the process), and the mesh manages
 * its own upstream connections. (`te` stays: Envoy keeps `te: trailers`, which gRPC sends.)
 */
function isHopByHop(name: string): boolean {
  switch (name.length) {
    case 7:
      return name === 'upgrade';
    case 10:
      return name === 'connection' || name === 'keep-alive';
    case 16:
      return name === 'proxy-connection';
    case 17:
      return name === 'transfer-encoding';
  }
  return false;
}

/** Removes the hop-by-hop headers and those the Connection header names (not the ones Envoy keeps). */
export function stripHopByHop(record: HeaderRecord): void {
  const connection = record.connection;
  if (connection !== undefined) {
    for (const value of typeof connection === 'string' ? [connection] : connection) {
      for (const token of value.split(',')) {
        const name = token.trim().toLowerCase();
        // Envoy leaves a header the Connection header names in place when it is one it needs
        if (name !== '' && name !== 'host' && name !== 'te' && !name.startsWith(':')) delete record[name];
      }
    }
  }
  for (const name of ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']) {
    delete record[name];
  }
}

const latin1 = new TextDecoder('latin1');

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return latin1.decode(v);
  return String(v);
}

function lower(name: string): string {
  // Names are almost always lower case already (fetch lower-cases them): skip the copy then.
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return name.toLowerCase();
  }
  return name;
}

function put(out: HeaderRecord, rawName: string, value: unknown): number {
  if (value === undefined || value === null) return 0;
  const name = lower(rawName);
  let add: string | string[];
  if (Array.isArray(value)) {
    if (value.length === 0) return 0;
    add = value.length === 1 ? text(value[0]) : value.map(text);
  } else {
    add = text(value);
  }
  const prev = Object.hasOwn(out, name) ? out[name] : undefined;
  if (prev === undefined) {
    if (name === '__proto__')
      Object.defineProperty(out, name, { value: add, enumerable: true, writable: true, configurable: true });
    else out[name] = add;
  } else {
    out[name] = [...(typeof prev === 'string' ? [prev] : prev), ...(typeof add === 'string' ? [add] : add)];
  }
  let bits = 0;
  if (name === 'host') bits |= HAS_HOST;
  else if (name.length > 8 && name.charCodeAt(0) === 120 /* x */ && name.startsWith('x-envoy-')) bits |= HAS_ENVOY;
  else if (isHopByHop(name)) bits |= HAS_HOP;
  return bits;
}

/**
 * Copies undici-style request headers into `out` (lower-case names; values as strings, repeats as
 * arrays). Returns HAS_HOST / HAS_ENVOY / HAS_HOP bits.
 */
export function normalizeHeaders(headers: unknown, out: HeaderRecord): number {
  if (headers === null || headers === undefined) return 0;
  let bits = 0;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as readonly (readonly [string, unknown])[]) bits |= put(out, text(pair[0]), pair[1]);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) bits |= put(out, text(headers[i]), headers[i + 1]);
    }
    return bits;
  }
  if (typeof headers !== 'object') return 0;
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of headers as Iterable<readonly [string, unknown]>) bits |= put(out, name, value);
    return bits;
  }
  const obj = headers as Record<string, unknown>;
  for (const name in obj) {
    if (Object.hasOwn(obj, name)) bits |= put(out, name, obj[name]);
  }
  return bits;
}

/** A header of a record, as route matching and retry policies read it. */
export function recordValue(record: HeaderRecord, name: string): string | string[] | undefined {
  const v = record[name];
  return typeof v === 'string' || Array.isArray(v) ? v : undefined;
}

/** undici's raw header form (`[name, value, ...]` as Buffers), one entry per value. */
export function toRawHeaders(headers: Readonly<Record<string, unknown>>): Buffer[] {
  const raw: Buffer[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || value === null) continue;
    const key = Buffer.from(name, 'latin1');
    if (Array.isArray(value)) {
      for (const v of value) raw.push(key, Buffer.from(String(v), 'latin1'));
    } else {
      raw.push(key, Buffer.from(String(value), 'latin1'));
    }
  }
  return raw;
}
