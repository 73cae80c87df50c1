// RE2 through re2js: linear-time, and the same syntax Envoy's GoogleRE2 engine accepts.
// Config-supplied patterns never reach JS RegExp.
import { RE2JS } from 're2js';
import { Re2SyntaxError } from './route-compile-error.ts';

export type Re2 = RE2JS;

// Compiled patterns are shared: configs repeat the same regex across many routes and virtual
// hosts, and every snapshot recompiles the table. One shared automaton per pattern also keeps
// the lazily built DFA states warm in the CPU cache. Matching never mutates what a match returns.
const CACHE_LIMIT = 8192;
const cache = new Map<string, Re2>();

/** Compiles `pattern` with RE2 default options (case-sensitive, `.` excludes `\n`); throws Re2SyntaxError. */
export function compileRe2(pattern: string): Re2 {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  let re: Re2;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    throw new Re2SyntaxError(pattern, err);
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(pattern, re);
  return re;
}

/**
 * The literal every match of `re` starts with (RE2's Prog::prefix; "" when there is none).
 * A cheap startsWith() on it rejects most non-matching inputs before the automaton runs.
 */
export function literalPrefix(re: Re2): string {
  const prefix: unknown = re.re2Input.prefix;
  return typeof prefix === 'string' ? prefix : '';
}

/** A whole-string RE2 match (what Envoy's safe_regex means), with the literal-prefix pre-check. */
export function compileRe2FullMatch(pattern: string): (value: string) => boolean {
  const re = compileRe2(pattern);
  const lit = literalPrefix(re);
  if (lit === '') return (v) => re.matches(v);
  return (v) => v.startsWith(lit) && re.matches(v);
}
