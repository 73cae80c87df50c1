// The request hash for RING_HASH / MAGLEV, from the route's hash policies (Envoy's
// Http::HashPolicyImpl::generateHash):
// - header: xxHash64 of the header's values, sorted, chained (each value's hash seeds the next);
// - cookie: xxHash64 of the cookie value; when absent and a TTL is set, a cookie is generated
//   (through the request's addCookie) and its value hashed;
// - source_ip: xxHash64 of the downstream IP (no port);
// - query_parameter: xxHash64 of the parameter's first value, raw (not URL-decoded);
// - filter_state: only through the request's filterStateHash hook.
// Policies combine as hash = rotl64(hash, 1) XOR next; a terminal policy stops the walk once a
// hash exists. No policy producing a hash → undefined (the load balancer then picks randomly).

import type { CookieAttribute, HashPolicy } from '@inboard/xds';
import { type Hash64Parts, toBigInt, xxHash64, xxHash64Parts } from './xxhash64.ts';

export interface HashRequest {
  /** A request header by lower-case name: one value, several values, or undefined when absent. */
  header(name: string): string | readonly string[] | undefined;
  /** `:path`, including the query string */
  readonly path: string;
  /** downstream (client) IP address without port, if known */
  readonly sourceIp?: string | undefined;
  /**
   * For cookie policies with a TTL when the cookie is absent: set a cookie on the response and
   * return its value ('' for none). Envoy generates the value with {@link generatedCookieValue}
   * and the header with {@link makeSetCookieValue}.
   */
  addCookie?(name: string, path: string, ttlMs: number, attributes: readonly CookieAttribute[]): string;
  filterStateHash?(key: string): bigint | undefined;
}

const parts: Hash64Parts = { hi: 0, lo: 0 };
let accHi = 0;
let accLo = 0;
let have = false;

function combine(hi: number, lo: number): void {
  if (!have) {
    accHi = hi;
    accLo = lo;
    have = true;
    return;
  }
  // rotate left by one, then XOR
  const rHi = ((accHi << 1) | (accLo >>> 31)) >>> 0;
  const rLo = ((accLo << 1) | (accHi >>> 31)) >>> 0;
  accHi = (rHi ^ hi) >>> 0;
  accLo = (rLo ^ lo) >>> 0;
}

function hashHeader(values: string | readonly string[]): void {
  if (typeof values === 'string') {
    xxHash64Parts(values, parts);
    combine(parts.hi, parts.lo);
    return;
  }
  if (values.length === 0) return;
  // Same hash whatever the order the values arrived in.
  const sorted = values.length === 1 ? values : [...values].sort();
  let hi = 0;
  let lo = 0;
  for (const v of sorted) {
    xxHash64Parts(v, parts, hi, lo);
    hi = parts.hi;
    lo = parts.lo;
  }
  combine(hi, lo);
}

/** Envoy's Http::Utility::parseCookieValue: first `name=value` over all Cookie headers, quotes stripped. */
export function parseCookieValue(cookieHeader: string | readonly string[] | undefined, name: string): string {
  if (cookieHeader === undefined) return '';
  const headers = typeof cookieHeader === 'string' ? [cookieHeader] : cookieHeader;
  for (const header of headers) {
    for (const part of header.split(';')) {
      const kv = part.trimStart();
      const eq = kv.indexOf('=');
      if (eq < 0) continue;
      if (kv.slice(0, eq) !== name) continue;
      let v = kv.slice(eq + 1);
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
  }
  return '';
}

/** First raw value of a query parameter in `path`, '' for a key without '=', undefined if absent. */
export function firstQueryValue(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  let end = path.indexOf('#', q);
  if (end < 0) end = path.length;
  let start = q + 1;
  while (start <= end) {
    let amp = path.indexOf('&', start);
    if (amp < 0 || amp > end) amp = end;
    const eq = path.indexOf('=', start);
    if (eq >= 0 && eq < amp) {
      if (path.slice(start, eq) === name) return path.slice(eq + 1, amp);
    } else if (amp > start && path.slice(start, amp) === name) {
      return '';
    }
    start = amp + 1;
  }
  return undefined;
}

export function computeRequestHash(policies: readonly HashPolicy[], request: HashRequest): bigint | undefined {
  have = false;
  for (const p of policies) {
    switch (p.kind) {
      case 'header': {
        const v = request.header(p.headerName);
        if (v !== undefined) hashHeader(v);
        break;
      }
      case 'cookie': {
        let value = parseCookieValue(request.header('cookie'), p.name);
        if (value === '' && p.ttl !== undefined && request.addCookie !== undefined) {
          value = request.addCookie(p.name, p.path, p.ttl, p.attributes);
        }
        if (value !== '') {
          xxHash64Parts(value, parts);
          combine(parts.hi, parts.lo);
        }
        break;
      }
      case 'source_ip': {
        const ip = request.sourceIp;
        if (ip !== undefined && ip !== '') {
          xxHash64Parts(ip, parts);
          combine(parts.hi, parts.lo);
        }
        break;
      }
      case 'query_parameter': {
        const v = firstQueryValue(request.path, p.name);
        if (v !== undefined) {
          xxHash64Parts(v, parts);
          combine(parts.hi, parts.lo);
        }
        break;
      }
      case 'filter_state': {
        const h = request.filterStateHash?.(p.key);
        if (h !== undefined) combine(Number((h >> 32n) & 0xffffffffn), Number(h & 0xffffffffn));
        break;
      }
    }
    if (p.terminal && have) break;
  }
  return have ? toBigInt(accHi, accLo) : undefined;
}

/**
 * The value Envoy gives a generated hash cookie: 16 hex digits of xxHash64 of the downstream
 * remote address followed by the local address (both `ip:port`).
 */
export function generatedCookieValue(remoteAddress: string, localAddress: string): string {
  return xxHash64(remoteAddress + localAddress)
    .toString(16)
    .padStart(16, '0');
}

/**
 * Envoy's Http::Utility::makeSetCookieValue as the hash policy calls it: Max-Age in whole seconds
 * (none for a zero TTL: a session cookie), Path when set, the policy's attributes in order, then
 * HttpOnly.
 */
export function makeSetCookieValue(
  name: string,
  value: string,
  path: string,
  ttlMs: number,
  attributes: readonly CookieAttribute[] = [],
): string {
  let s = `${name}="${value}"`;
  const maxAge = Math.floor(ttlMs / 1000);
  if (maxAge !== 0) s += `; Max-Age=${maxAge}`;
  if (path !== '') s += `; Path=${path}`;
  for (const a of attributes) s += a.value === '' ? `; ${a.name}` : `; ${a.name}=${a.value}`;
  return `${s}; HttpOnly`;
}
