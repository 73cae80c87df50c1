// Evaluates an xDS HeaderMatcher against a header lookup, with Envoy's semantics
// (HeaderUtility::matchHeaders): several values of one header are joined with ','; a missing
// header fails the matcher (even inverted) unless treat_missing_header_as_empty, except that a
// present:false matcher matches an absent header; regexes (RE2) must match the whole value.
// Used for retriable_headers and retriable_request_headers.

import type { HeaderMatcher, StringMatcher } from '@inboard/xds';
import { RE2JS } from 're2js';

/** A header by lower-case name: one value, several values, or undefined when absent. */
export type HeaderLookup = (name: string) => string | readonly string[] | undefined;

const compiled = new Map<string, RE2JS>();

function regex(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = RE2JS.compile(pattern);
    compiled.set(pattern, re);
  }
  return re;
}

export function matchString(m: StringMatcher, value: string): boolean {
  if (m.kind === 'regex') return regex(m.regex).matches(value);
  const v = m.ignoreCase ? value.toLowerCase() : value;
  const want = m.ignoreCase ? m.value.toLowerCase() : m.value;
  switch (m.kind) {
    case 'exact':
      return v === want;
    case 'prefix':
      return v.startsWith(want);
    case 'suffix':
      return v.endsWith(want);
    case 'contains':
      return v.includes(want);
  }
}

export function matchHeader(m: HeaderMatcher, headers: HeaderLookup): boolean {
  const raw = headers(m.name);
  const value = raw === undefined ? undefined : typeof raw === 'string' ? raw : raw.join(',');
  if (value === undefined && !m.treatMissingHeaderAsEmpty) {
    const presentFalse = m.match.kind === 'present' && !m.match.present;
    const presentTrue = m.match.kind === 'present' && m.match.present;
    return m.invert ? presentTrue : presentFalse;
  }
  const v = value ?? '';
  let match: boolean;
  switch (m.match.kind) {
    case 'present':
      match = m.match.present;
      break;
    case 'range': {
      match = false;
      if (/^[+-]?\d+$/.test(v)) {
        const n = Number(v);
        match = n >= m.match.start && n < m.match.end;
      }
      break;
    }
    case 'string':
      match = matchString(m.match.matcher, v);
      break;
  }
  return match !== m.invert;
}
