// RouteMatch path specifiers. Every kind is matched against the path with its query and
// fragment removed: Envoy's PathMatcher strips them for prefix too (since Envoy 1.14; older
// docs and the route.proto comment still say the prefix sees the whole :path).
//
// The string kinds (and a regex's literal prefix) reduce to a (kind, value, fold) triple that
// a virtual host keeps in flat arrays (PathScreen), so a lookup rejects most routes without
// calling into them.
import type { PathMatch } from '@inboard/xds';
import { regionEqualsIgnoreCase } from './ascii-case.ts';
import type { MatchContext } from './match-context.ts';
import { compileRe2, literalPrefix } from './re2.ts';

export const SCREEN_PREFIX = 0;
export const SCREEN_EXACT = 1;
export const SCREEN_SEPARATED = 2;
export type ScreenKind = typeof SCREEN_PREFIX | typeof SCREEN_EXACT | typeof SCREEN_SEPARATED;

/** A cheap path condition; `fold`: compare ignoring ASCII case. */
export interface PathScreenSpec {
  readonly kind: ScreenKind;
  readonly value: string;
  readonly fold: boolean;
}

/** `path` up to `pathEnd` against one screen condition. */
export function screenPath(kind: number, value: string, fold: boolean, path: string, pathEnd: number): boolean {
  const len = value.length;
  switch (kind) {
    case SCREEN_PREFIX:
      return pathEnd >= len && (fold ? regionEqualsIgnoreCase(path, 0, value) : path.startsWith(value));
    case SCREEN_EXACT:
      return pathEnd === len && (fold ? regionEqualsIgnoreCase(path, 0, value) : path.startsWith(value));
    default:
      return (
        pathEnd >= len &&
        (fold ? regionEqualsIgnoreCase(path, 0, value) : path.startsWith(value)) &&
        (pathEnd === len || path.charCodeAt(len) === 47) /* / */
      );
  }
}

export interface CompiledPathMatch {
  /** the whole path condition */
  readonly test: (ctx: MatchContext) => boolean;
  /** a cheap necessary condition: the whole test for the string kinds, a literal prefix for regex */
  readonly screen: PathScreenSpec;
  /** true when `screen` is the whole test */
  readonly screenIsTest: boolean;
  /** How much of the path prefix_rewrite replaces (Envoy's `matched_path`). */
  readonly matchedLength: (path: string, pathEnd: number) => number;
}

/** Throws Re2SyntaxError for a bad safe_regex. */
export function compilePathMatch(m: PathMatch, caseSensitive: boolean): CompiledPathMatch {
  if (m.kind === 'regex') {
    const re = compileRe2(m.regex);
    const lit = literalPrefix(re);
    return {
      test: (ctx) => ctx.pathEnd >= lit.length && ctx.path.startsWith(lit) && re.matches(ctx.pathOnly()),
      screen: { kind: SCREEN_PREFIX, value: lit, fold: false },
      screenIsTest: false,
      matchedLength: (_path, pathEnd) => pathEnd,
    };
  }
  const kind = m.kind === 'prefix' ? SCREEN_PREFIX : m.kind === 'path' ? SCREEN_EXACT : SCREEN_SEPARATED;
  const value = m.value;
  // Envoy shares case-sensitive matchers for the prefixes "" and "/"; case cannot matter there.
  const fold = !caseSensitive && !(kind === SCREEN_PREFIX && (value === '' || value === '/'));
  const len = value.length;
  return {
    test: (ctx) => screenPath(kind, value, fold, ctx.path, ctx.pathEnd),
    screen: { kind, value, fold },
    screenIsTest: true,
    matchedLength: () => len,
  };
}

/** The screen conditions of a virtual host's routes, in flat arrays. */
export class PathScreen {
  readonly #kinds: Uint8Array;
  readonly #fold: Uint8Array;
  readonly #values: readonly string[];

  constructor(specs: readonly PathScreenSpec[]) {
    this.#kinds = Uint8Array.from(specs, (s) => s.kind);
    this.#fold = Uint8Array.from(specs, (s) => (s.fold ? 1 : 0));
    this.#values = specs.map((s) => s.value);
  }

  passes(i: number, path: string, pathEnd: number): boolean {
    return screenPath(this.#kinds[i]!, this.#values[i]!, this.#fold[i] === 1, path, pathEnd);
  }
}
