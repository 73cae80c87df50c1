// envoy.config.route.v3.HeaderMatcher compiled to a request predicate, following
// HeaderUtility::matchHeaders:
// - the value is every instance of the header joined with ',';
// - a missing header fails the match even when inverted, unless treat_missing_header_as_empty
//   (then it is matched as ""); present_match is the exception: present=false (or an inverted
//   present=true) matches exactly when the header is missing;
// - range_match is half-open and needs the whole value (whitespace aside) to be an int64.
import type { HeaderMatch, HeaderMatcher } from '@inboard/xds';
import { inHalfOpenRange, parseInt64 } from './decimal.ts';
import { compileHeaderReader, type RouteRequest } from './route-request.ts';
import { compileStringMatcher, type StringPredicate } from './string-matcher.ts';

export type RequestPredicate = (req: RouteRequest) => boolean;

const ALWAYS: RequestPredicate = () => true;

function compileValueTest(match: Exclude<HeaderMatch, { kind: 'present' }>): StringPredicate {
  if (match.kind === 'string') return compileStringMatcher(match.matcher);
  const { start, end } = match;
  return (v) => {
    const n = parseInt64(v);
    return n !== undefined && inHalfOpenRange(n, start, end);
  };
}

/** Throws Re2SyntaxError for a bad safe_regex. */
export function compileHeaderMatcher(h: HeaderMatcher): RequestPredicate {
  const read = compileHeaderReader(h.name);
  const { invert, treatMissingHeaderAsEmpty } = h;
  const match = h.match;
  if (match.kind === 'present') {
    const present = match.present;
    return (req) => {
      if (read(req) === undefined && !treatMissingHeaderAsEmpty) return invert ? present : !present;
      return present !== invert;
    };
  }
  const test = compileValueTest(match);
  return (req) => {
    const v = read(req);
    if (v === undefined) return treatMissingHeaderAsEmpty ? test('') !== invert : false;
    return test(v) !== invert;
  };
}

/** All matchers must match (an empty list always does). Throws Re2SyntaxError. */
export function compileHeaderMatchers(list: readonly HeaderMatcher[]): RequestPredicate {
  return allOf(list.map(compileHeaderMatcher));
}

/** The conjunction of `preds`, without a loop when there are none or one. */
export function allOf(preds: readonly RequestPredicate[]): RequestPredicate {
  if (preds.length === 0) return ALWAYS;
  if (preds.length === 1) return preds[0]!;
  return (req) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i]!(req)) return false;
    return true;
  };
}
