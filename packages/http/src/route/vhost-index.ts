// Virtual host lookup by host name, as RouteMatcher::findVirtualHost does it:
// exact domain, then the longest suffix wildcard (`*.foo.com`, `*-bar.foo.com`), then the
// longest prefix wildcard (`foo.*`), then `*`. A wildcard never matches an empty remainder.
// Wildcards sit in one Map per key length, longest first, so a lookup costs at most one probe
// per distinct wildcard length (and a one-character pre-check before any substring is made),
// however many virtual hosts there are.

interface Bucket<T> {
  readonly length: number;
  readonly map: Map<string, T>;
  /** codes (< 128) of the characters a key of this bucket starts (suffix) or ends (prefix) with */
  readonly edge: Uint8Array;
  /** some key has a non-ASCII edge character: skip the pre-check */
  nonAsciiEdge: boolean;
}

export type DomainConflict = 'duplicate' | 'second_catch_all';

export class VirtualHostIndex<T> {
  readonly #exact = new Map<string, T>();
  readonly #suffix: Bucket<T>[] = [];
  readonly #prefix: Bucket<T>[] = [];
  #catchAll: T | undefined;

  /** Adds a (lower-cased) domain; returns what conflicts instead of adding, if anything does. */
  add(domain: string, value: T): DomainConflict | undefined {
    if (domain === '*') {
      if (this.#catchAll !== undefined) return 'second_catch_all';
      this.#catchAll = value;
      return undefined;
    }
    if (domain.startsWith('*')) return addTo(this.#suffix, domain.slice(1), value, true);
    if (domain.endsWith('*')) return addTo(this.#prefix, domain.slice(0, -1), value, false);
    if (this.#exact.has(domain)) return 'duplicate';
    this.#exact.set(domain, value);
    return undefined;
  }

  /** `host` must already be lower-cased (and port-stripped when the config says so). */
  find(host: string): T | undefined {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    const n = host.length;
    for (const b of this.#suffix) {
      // `>=` because `*.foo.com` must not match `.foo.com`
      if (b.length >= n) continue;
      const c = host.charCodeAt(n - b.length);
      if (c < 128 ? b.edge[c] === 0 : !b.nonAsciiEdge) continue;
      const hit = b.map.get(host.slice(n - b.length));
      if (hit !== undefined) return hit;
    }
    for (const b of this.#prefix) {
      if (b.length >= n) continue;
      const c = host.charCodeAt(b.length - 1);
      if (c < 128 ? b.edge[c] === 0 : !b.nonAsciiEdge) continue;
      const hit = b.map.get(host.slice(0, b.length));
      if (hit !== undefined) return hit;
    }
    return this.#catchAll;
  }
}

function addTo<T>(buckets: Bucket<T>[], key: string, value: T, suffix: boolean): DomainConflict | undefined {
  let b = buckets.find((x) => x.length === key.length);
  if (b === undefined) {
    b = { length: key.length, map: new Map(), edge: new Uint8Array(128), nonAsciiEdge: false };
    buckets.push(b);
    buckets.sort((x, y) => y.length - x.length);
  }
  if (b.map.has(key)) return 'duplicate';
  b.map.set(key, value);
  if (key.length > 0) {
    const c = key.charCodeAt(suffix ? 0 : key.length - 1);
    if (c < 128) b.edge[c] = 1;
    else b.nonAsciiEdge = true;
  }
  return undefined;
}
