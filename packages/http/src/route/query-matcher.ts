// RouteMatch.query_parameters. Envoy parses the query (everything after the first '?', fragment
// included) without percent-decoding, keeps only the first value of a repeated key, and treats
// a parameter without '=' as having the value "". present_match: true needs the parameter,
// present_match: false needs it absent (Envoy >= 1.34, runtime guard
// enable_new_query_param_present_match_behavior on by default). Scanned in place: nothing is
// allocated unless the parameter is found.
import type { QueryParameterMatcher } from '@inboard/xds';
import type { RouteRequest } from './route-request.ts';
import { compileStringMatcher } from './string-matcher.ts';

/** The raw first value of query parameter `name` in `path`, or undefined when absent. */
export function firstQueryValue(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const len = path.length;
  let start = q + 1;
  while (start < len) {
    let end = path.indexOf('&', start);
    if (end < 0) end = len;
    if (path.startsWith(name, start)) {
      const k = start + name.length;
      if (k === end) return '';
      if (k < end && path.charCodeAt(k) === 61 /* = */) return path.slice(k + 1, end);
    }
    start = end + 1;
  }
  return undefined;
}

/** Throws Re2SyntaxError for a bad safe_regex. */
export function compileQueryParameterMatcher(m: QueryParameterMatcher): (req: RouteRequest) => boolean {
  const name = m.name;
  // Keys are cut at the first '=' and segments at '&', so such names are never present.
  const unmatchable = name.includes('=') || name.includes('&');
  if (m.matcher === undefined) {
    if (!m.presentMatch) return unmatchable ? () => true : (req) => firstQueryValue(req.path, name) === undefined;
    return unmatchable ? () => false : (req) => firstQueryValue(req.path, name) !== undefined;
  }
  if (unmatchable) return () => false;
  const test = compileStringMatcher(m.matcher);
  return (req) => {
    const v = firstQueryValue(req.path, name);
    return v !== undefined && test(v);
  };
}
