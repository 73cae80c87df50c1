// RouteAction / RedirectAction path rewrites (rewritePathByPrefixOrRegex):
// - prefix_rewrite replaces the part of the path the route matched (the prefix, the exact path,
//   or for safe_regex the whole path without query), keeping everything after it;
// - regex_rewrite replaces every match in the path without query and fragment, which are kept;
//   an empty result means no rewrite.
// The caller puts the original path in x-envoy-original-path when a rewrite happened.
import type { RegexRewrite } from '@inboard/xds';
import { pathEndOf } from './match-context.ts';
import { compileRe2Substitution } from './re2-substitution.ts';
import type { RouteEntry } from './route-table.ts';

/** New path, or undefined when nothing is rewritten. */
export type PathRewriter = (path: string, matchedLength: number) => string | undefined;

/** undefined when neither rewrite is set. Throws Re2SyntaxError. */
export function compilePathRewrite(
  prefixRewrite: string | undefined,
  regexRewrite: RegexRewrite | undefined,
): PathRewriter | undefined {
  // proto3 cannot tell an empty prefix_rewrite from an unset one: Envoy ignores "".
  if (prefixRewrite !== undefined && prefixRewrite !== '') {
    return (path, matchedLength) => prefixRewrite + path.slice(matchedLength);
  }
  if (regexRewrite === undefined) return undefined;
  const replace = compileRe2Substitution(regexRewrite.regex, regexRewrite.substitution);
  return (path) => {
    const end = pathEndOf(path);
    const rewritten = replace(end === path.length ? path : path.slice(0, end));
    if (rewritten === '') return undefined;
    return end === path.length ? rewritten : rewritten + path.slice(end);
  };
}

/**
 * The path to forward for a request matched by `entry` (a forwarding route), or undefined when
 * the route does not rewrite it. When defined, the original path goes in x-envoy-original-path.
 */
export function rewritePath(entry: RouteEntry, path: string): string | undefined {
  if (entry.route.action.kind !== 'route' || entry.pathRewriter === undefined) return undefined;
  return entry.pathRewriter(path, entry.pathMatch.matchedLength(path, pathEndOf(path)));
}
