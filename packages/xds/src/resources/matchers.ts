// StringMatcher, RegexMatcher, HeaderMatcher and CidrRange: the matcher vocabulary shared by
// routes, retry policies, fault filters, RBAC and TLS SAN checks.
import { isIP } from 'node:net';
import type {
  config_core_v3_CidrRange,
  config_route_v3_HeaderMatcher,
  type_matcher_v3_RegexMatcher,
  type_matcher_v3_StringMatcher,
} from '../gen/envoy.ts';
import { hasInvalidHeaderChars } from './header-names.ts';
import type { CidrRange, HeaderMatch, HeaderMatcher, StringMatcher } from './model.ts';
import type { Problems } from './problems.ts';
import { re2Problem } from './re2-check.ts';

/** The pattern text of a RegexMatcher, checked for emptiness and obvious non-RE2 syntax. */
export function regexText(m: type_matcher_v3_RegexMatcher, path: string, p: Problems): string {
  const problem = re2Problem(m.regex);
  if (problem !== undefined) p.add(`${path}.regex`, problem);
  return m.regex;
}

export function stringMatcher(m: type_matcher_v3_StringMatcher, path: string, p: Problems): StringMatcher {
  let set = 0;
  let out: StringMatcher | undefined;
  const ignoreCase = m.ignore_case;
  if (m.exact !== undefined) {
    set++;
    out = { kind: 'exact', value: m.exact, ignoreCase };
  }
  if (m.prefix !== undefined) {
    set++;
    if (m.prefix === '') p.add(`${path}.prefix`, 'must not be empty');
    out = { kind: 'prefix', value: m.prefix, ignoreCase };
  }
  if (m.suffix !== undefined) {
    set++;
    if (m.suffix === '') p.add(`${path}.suffix`, 'must not be empty');
    out = { kind: 'suffix', value: m.suffix, ignoreCase };
  }
  if (m.contains !== undefined) {
    set++;
    if (m.contains === '') p.add(`${path}.contains`, 'must not be empty');
    out = { kind: 'contains', value: m.contains, ignoreCase };
  }
  if (m.safe_regex !== undefined) {
    set++;
    // Envoy's StringMatcherImpl rejects the pair rather than ignore the flag
    if (ignoreCase) p.add(`${path}.ignore_case`, 'ignore_case has no effect for safe_regex');
    out = { kind: 'regex', regex: regexText(m.safe_regex, `${path}.safe_regex`, p) };
  }
  if (m.custom !== undefined) {
    p.add(`${path}.custom`, `custom string matcher ${JSON.stringify(m.custom.name)} is not supported`);
    return PLACEHOLDER;
  }
  if (set !== 1 || out === undefined) {
    p.add(path, 'exactly one of exact, prefix, suffix, contains, safe_regex must be set');
    return PLACEHOLDER;
  }
  return out;
}

const PLACEHOLDER: StringMatcher = Object.freeze({ kind: 'exact', value: '', ignoreCase: false });

const PRESENT: HeaderMatch = Object.freeze({ kind: 'present', present: true });
const ABSENT: HeaderMatch = Object.freeze({ kind: 'present', present: false });

export function headerMatcher(h: config_route_v3_HeaderMatcher, path: string, p: Problems): HeaderMatcher {
  const name = h.name.toLowerCase();
  if (name === '') p.add(`${path}.name`, 'must not be empty');
  else if (hasInvalidHeaderChars(name)) p.add(`${path}.name`, 'invalid header name');
  let set = 0;
  // No specifier at all means "header present" (Envoy's HEADER_MATCH_SPECIFIER_NOT_SET).
  let match: HeaderMatch = PRESENT;
  if (h.exact_match !== undefined) {
    set++;
    // The deprecated exact_match matches any value when it is empty (Envoy's
    // HeaderDataExactMatch); an empty prefix says the same for the string matchers downstream.
    match =
      h.exact_match === ''
        ? { kind: 'string', matcher: { kind: 'prefix', value: '', ignoreCase: false } }
        : { kind: 'string', matcher: { kind: 'exact', value: h.exact_match, ignoreCase: false } };
  }
  if (h.safe_regex_match !== undefined) {
    set++;
    match = {
      kind: 'string',
      matcher: { kind: 'regex', regex: regexText(h.safe_regex_match, `${path}.safe_regex_match`, p) },
    };
  }
  if (h.range_match !== undefined) {
    set++;
    match = { kind: 'range', start: h.range_match.start, end: h.range_match.end };
  }
  if (h.present_match !== undefined) {
    set++;
    match = h.present_match ? PRESENT : ABSENT;
  }
  if (h.prefix_match !== undefined) {
    set++;
    if (h.prefix_match === '') p.add(`${path}.prefix_match`, 'must not be empty');
    match = { kind: 'string', matcher: { kind: 'prefix', value: h.prefix_match, ignoreCase: false } };
  }
  if (h.suffix_match !== undefined) {
    set++;
    if (h.suffix_match === '') p.add(`${path}.suffix_match`, 'must not be empty');
    match = { kind: 'string', matcher: { kind: 'suffix', value: h.suffix_match, ignoreCase: false } };
  }
  if (h.contains_match !== undefined) {
    set++;
    if (h.contains_match === '') p.add(`${path}.contains_match`, 'must not be empty');
    match = { kind: 'string', matcher: { kind: 'contains', value: h.contains_match, ignoreCase: false } };
  }
  if (h.string_match !== undefined) {
    set++;
    match = { kind: 'string', matcher: stringMatcher(h.string_match, `${path}.string_match`, p) };
  }
  if (set > 1) {
    p.add(
      path,
      'at most one of exact_match, safe_regex_match, range_match, present_match, prefix_match, suffix_match, contains_match, string_match may be set',
    );
  }
  return { name, match, invert: h.invert_match, treatMissingHeaderAsEmpty: h.treat_missing_header_as_empty };
}

export function headerMatchers(
  list: readonly config_route_v3_HeaderMatcher[],
  path: string,
  p: Problems,
): readonly HeaderMatcher[] {
  const out = new Array<HeaderMatcher>(list.length);
  for (let i = 0; i < list.length; i++) out[i] = headerMatcher(list[i]!, `${path}[${i}]`, p);
  return out;
}

export function cidrRange(c: config_core_v3_CidrRange, path: string, p: Problems): CidrRange {
  const family = isIP(c.address_prefix);
  const prefixLen = c.prefix_len?.value ?? 0;
  if (family === 0) {
    p.add(`${path}.address_prefix`, `${JSON.stringify(c.address_prefix)} is not an IP address`);
  } else if (prefixLen > (family === 4 ? 32 : 128)) {
    p.add(`${path}.prefix_len`, `${prefixLen} is too long for an IPv${family} address`);
  }
  return { addressPrefix: c.address_prefix, prefixLen };
}
