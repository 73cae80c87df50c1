// envoy.type.matcher.v3.StringMatcher compiled to a predicate. ignore_case is ASCII-only and does
// not apply to safe_regex, which must match the whole value.
import type { StringMatcher } from '@inboard/xds';
import { asciiLower, regionEqualsIgnoreCase } from './ascii-case.ts';
import { compileRe2FullMatch } from './re2.ts';

export type StringPredicate = (value: string) => boolean;

/** Throws Re2SyntaxError for a bad regex. */
export function compileStringMatcher(m: StringMatcher): StringPredicate {
  if (m.kind === 'regex') return compileRe2FullMatch(m.regex);
  const want = m.value;
  if (!m.ignoreCase) {
    switch (m.kind) {
      case 'exact':
        return (v) => v === want;
      case 'prefix':
        return (v) => v.startsWith(want);
      case 'suffix':
        return (v) => v.endsWith(want);
      case 'contains':
        return (v) => v.includes(want);
    }
  }
  switch (m.kind) {
    case 'exact':
      return (v) => v.length === want.length && regionEqualsIgnoreCase(v, 0, want);
    case 'prefix':
      return (v) => regionEqualsIgnoreCase(v, 0, want);
    case 'suffix':
      return (v) => regionEqualsIgnoreCase(v, v.length - want.length, want);
    case 'contains': {
      const lowered = asciiLower(want);
      return (v) => asciiLower(v).includes(lowered);
    }
  }
}
