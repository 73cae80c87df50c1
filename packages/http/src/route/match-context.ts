// Per-lookup state shared by a virtual host's route matchers: the request (it is a RouteRequest
// itself, so header matchers read it directly), where the path ends, and the lazily drawn random
// value. One small object per lookup; everything else on the hot path is precompiled.
import type { RandomSource } from './random.ts';
import type { HeaderValue, RouteRequest } from './route-request.ts';

/** Index of the first '?' or '#' (Http::PathUtil::removeQueryAndFragment), or path.length. */
export function pathEndOf(path: string): number {
  const q = path.indexOf('?');
  const h = path.indexOf('#');
  if (q < 0) return h < 0 ? path.length : h;
  return h < 0 || q < h ? q : h;
}

/** pathEndOf, also cut at the first ';' (ignore_path_parameters_in_path_matching). */
export function pathEndWithoutParameters(path: string): number {
  const end = pathEndOf(path);
  const semi = path.indexOf(';');
  return semi >= 0 && semi < end ? semi : end;
}

// A RouteTable reuses one context across lookups (a lookup runs to completion synchronously), so
// the fields are rewritten by reset() rather than being readonly.
const NO_REQUEST: RouteRequest = { method: '', authority: '', path: '', scheme: '', headers: () => undefined };

export class MatchContext implements RouteRequest {
  method = '';
  authority = '';
  path = '';
  scheme = '';
  #req: RouteRequest = NO_REQUEST;
  /** end of the path as path matchers see it: the query and fragment (and `;params`) start here */
  pathEnd = 0;
  #pathOnly: string | undefined;
  #random = -1;
  readonly #source: RandomSource;

  /** `pathEnd`: where path matchers stop reading req.path (pathEndOf, or pathEndWithoutParameters). */
  constructor(req: RouteRequest, pathEnd: number, random: number | undefined, source: RandomSource) {
    this.#source = source;
    this.reset(req, pathEnd, random);
  }

  /** Points the context at another lookup. */
  reset(req: RouteRequest, pathEnd: number, random: number | undefined): void {
    this.method = req.method;
    this.authority = req.authority;
    this.path = req.path;
    this.scheme = req.scheme;
    this.#req = req;
    this.pathEnd = pathEnd;
    this.#pathOnly = undefined;
    this.#random = random ?? -1;
  }

  /** Drops the references to the last request. */
  clear(): void {
    this.#req = NO_REQUEST;
    this.path = '';
    this.authority = '';
    this.#pathOnly = undefined;
  }

  /** The request's header getter, called as a method of the request (so it may use `this`). */
  headers(name: string): HeaderValue {
    return this.#req.headers(name);
  }

  /** The path as path matchers see it (allocated once, only if a regex needs it). */
  pathOnly(): string {
    return (this.#pathOnly ??= this.pathEnd === this.path.length ? this.path : this.path.slice(0, this.pathEnd));
  }

  /** The lookup's random value: the one passed in, or one drawn on first use. */
  random(): number {
    if (this.#random < 0) this.#random = this.#source();
    return this.#random;
  }
}
