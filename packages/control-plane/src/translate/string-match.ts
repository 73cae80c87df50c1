// Istio StringMatch → Envoy matchers (pilot/pkg/networking/util ConvertToEnvoyMatch and
// route.translateHeaderMatch): a regex of "*" or an empty match means "present".
import type { envoy } from '@inboard/xds/codec';
import type { StringMatch } from '../config/istio-types.ts';

type StringMatcherIn = envoy.type_matcher_v3_StringMatcher$In;
type HeaderMatcherIn = envoy.config_route_v3_HeaderMatcher$In;

/** canBeConvertedToPresentMatch */
export function isPresentMatch(m: StringMatch | undefined): boolean {
  if (m === undefined) return true;
  if (m.exact === undefined && m.prefix === undefined && m.regex === undefined) return true;
  return m.exact === undefined && m.prefix === undefined && m.regex === '*';
}

export function stringMatcher(m: StringMatch): StringMatcherIn | undefined {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { safe_regex: { regex: m.regex } };
  return undefined;
}

export function headerMatcher(name: string, m: StringMatch | undefined): HeaderMatcherIn {
  if (isPresentMatch(m)) return { name, present_match: true };
  return { name, string_match: stringMatcher(m!) };
}
