// RBAC policies (envoy.config.rbac.v3.RBAC) as the HTTP RBAC filter and RBACPerRoute carry them.
// Matchers Inboard cannot evaluate become `unsupported` and never match, as gRPC does (path
// templates are evaluated, and a template that does not parse is rejected); CEL
// conditions are rejected outright because ignoring one would widen or narrow a policy silently.
import type {
  config_core_v3_TypedExtensionConfig,
  config_rbac_v3_Permission,
  config_rbac_v3_Principal,
  config_rbac_v3_RBAC,
  extensions_filters_http_rbac_v3_RBAC,
  type_matcher_v3_PathMatcher,
} from '../gen/envoy.ts';
import { cidrRange, headerMatcher, stringMatcher } from './matchers.ts';
import type { RbacPermission, RbacPolicies, RbacPolicy, RbacPrincipal, StringMatcher } from './model.ts';
import type { Problems } from './problems.ts';
import { anyMessageName, unpack } from './proto-values.ts';
import { UriTemplateError, uriTemplateRegex } from './uri-template.ts';

const ACTIONS: readonly RbacPolicies['action'][] = ['ALLOW', 'DENY', 'LOG'];
const ANY = Object.freeze({ kind: 'any' as const });

function pathMatcher(m: type_matcher_v3_PathMatcher, path: string, p: Problems): StringMatcher {
  if (m.path === undefined) {
    p.add(`${path}.path`, 'must be set');
    return { kind: 'exact', value: '', ignoreCase: false };
  }
  return stringMatcher(m.path, `${path}.path`, p);
}

function permission(r: config_rbac_v3_Permission, path: string, p: Problems): RbacPermission {
  if (r.and_rules !== undefined)
    return { kind: 'and', rules: permissions(r.and_rules.rules, `${path}.and_rules.rules`, p) };
  if (r.or_rules !== undefined)
    return { kind: 'or', rules: permissions(r.or_rules.rules, `${path}.or_rules.rules`, p) };
  if (r.any !== undefined) {
    if (!r.any) p.add(`${path}.any`, 'must be true when set');
    return ANY;
  }
  if (r.header !== undefined) return { kind: 'header', matcher: headerMatcher(r.header, `${path}.header`, p) };
  if (r.url_path !== undefined) return { kind: 'url_path', matcher: pathMatcher(r.url_path, `${path}.url_path`, p) };
  if (r.destination_ip !== undefined)
    return { kind: 'destination_ip', cidr: cidrRange(r.destination_ip, `${path}.destination_ip`, p) };
  if (r.destination_port !== undefined) {
    if (r.destination_port > 65535) p.add(`${path}.destination_port`, `${r.destination_port} is not a port`);
    return { kind: 'destination_port', port: r.destination_port };
  }
  if (r.destination_port_range !== undefined) {
    return { kind: 'destination_port_range', start: r.destination_port_range.start, end: r.destination_port_range.end };
  }
  if (r.not_rule !== undefined) return { kind: 'not', rule: permission(r.not_rule, `${path}.not_rule`, p) };
  if (r.requested_server_name !== undefined) {
    return {
      kind: 'requested_server_name',
      matcher: stringMatcher(r.requested_server_name, `${path}.requested_server_name`, p),
    };
  }
  if (r.metadata !== undefined) return { kind: 'unsupported', what: 'metadata' };
  if (r.matcher !== undefined) return { kind: 'unsupported', what: `matcher ${r.matcher.name}` };
  if (r.uri_template !== undefined) return uriTemplate(r.uri_template, `${path}.uri_template`, p);
  p.add(path, 'exactly one permission rule must be set');
  return ANY;
}

const URI_TEMPLATE_MATCH = 'envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig';

/**
 * A path template (istiod's `{*}` / `{**}` paths). One that cannot be parsed is a NACK, never a
 * rule that silently matches nothing: in a DENY policy that would let the path through.
 */
function uriTemplate(ext: config_core_v3_TypedExtensionConfig, path: string, p: Problems): RbacPermission {
  const never: RbacPermission = { kind: 'uri_template', pathTemplate: '', regex: '^$(?!)' };
  const any = ext.typed_config;
  if (any === undefined) {
    p.add(`${path}.typed_config`, 'must be set');
    return never;
  }
  if (anyMessageName(any) !== URI_TEMPLATE_MATCH) {
    p.add(`${path}.typed_config`, `unsupported path matcher ${any.type_url} (expected ${URI_TEMPLATE_MATCH})`);
    return never;
  }
  const m = unpack(any, URI_TEMPLATE_MATCH, `${path}.typed_config`, p);
  if (m === undefined) return never;
  try {
    return { kind: 'uri_template', pathTemplate: m.path_template, regex: uriTemplateRegex(m.path_template) };
  } catch (e) {
    if (!(e instanceof UriTemplateError)) throw e;
    p.add(
      `${path}.typed_config.path_template`,
      `invalid path template ${JSON.stringify(m.path_template)}: ${e.message}`,
    );
    return never;
  }
}

function permissions(list: readonly config_rbac_v3_Permission[], path: string, p: Problems): readonly RbacPermission[] {
  const out = new Array<RbacPermission>(list.length);
  for (let i = 0; i < list.length; i++) out[i] = permission(list[i]!, `${path}[${i}]`, p);
  return out;
}

function principal(r: config_rbac_v3_Principal, path: string, p: Problems): RbacPrincipal {
  if (r.and_ids !== undefined) return { kind: 'and', ids: principals(r.and_ids.ids, `${path}.and_ids.ids`, p) };
  if (r.or_ids !== undefined) return { kind: 'or', ids: principals(r.or_ids.ids, `${path}.or_ids.ids`, p) };
  if (r.any !== undefined) {
    if (!r.any) p.add(`${path}.any`, 'must be true when set');
    return ANY;
  }
  if (r.authenticated !== undefined) {
    const pn = r.authenticated.principal_name;
    return {
      kind: 'authenticated',
      matcher: pn === undefined ? undefined : stringMatcher(pn, `${path}.authenticated.principal_name`, p),
    };
  }
  if (r.source_ip !== undefined) return { kind: 'source_ip', cidr: cidrRange(r.source_ip, `${path}.source_ip`, p) };
  if (r.direct_remote_ip !== undefined) {
    return { kind: 'direct_remote_ip', cidr: cidrRange(r.direct_remote_ip, `${path}.direct_remote_ip`, p) };
  }
  if (r.remote_ip !== undefined) return { kind: 'remote_ip', cidr: cidrRange(r.remote_ip, `${path}.remote_ip`, p) };
  if (r.header !== undefined) return { kind: 'header', matcher: headerMatcher(r.header, `${path}.header`, p) };
  if (r.url_path !== undefined) return { kind: 'url_path', matcher: pathMatcher(r.url_path, `${path}.url_path`, p) };
  if (r.not_id !== undefined) return { kind: 'not', id: principal(r.not_id, `${path}.not_id`, p) };
  if (r.metadata !== undefined) return { kind: 'unsupported', what: 'metadata' };
  if (r.filter_state !== undefined) return { kind: 'unsupported', what: 'filter_state' };
  p.add(path, 'exactly one principal identifier must be set');
  return ANY;
}

function principals(list: readonly config_rbac_v3_Principal[], path: string, p: Problems): readonly RbacPrincipal[] {
  const out = new Array<RbacPrincipal>(list.length);
  for (let i = 0; i < list.length; i++) out[i] = principal(list[i]!, `${path}[${i}]`, p);
  return out;
}

export function rbacPolicies(r: config_rbac_v3_RBAC, path: string, p: Problems): RbacPolicies {
  let action = ACTIONS[r.action];
  if (action === undefined) {
    p.add(`${path}.action`, `unknown action ${r.action}`);
    action = 'DENY';
  }
  // Sorted by name: map order on the wire is arbitrary, and equality must not depend on it.
  const names = Object.keys(r.policies).sort();
  const policies = new Array<RbacPolicy>(names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const at = `${path}.policies[${JSON.stringify(name)}]`;
    const pol = r.policies[name];
    if (pol === undefined) {
      p.add(at, 'must be set');
      policies[i] = { name, permissions: [], principals: [] };
      continue;
    }
    if (pol.permissions.length === 0) p.add(`${at}.permissions`, 'at least one permission is required');
    if (pol.principals.length === 0) p.add(`${at}.principals`, 'at least one principal is required');
    if (pol.condition !== undefined || pol.checked_condition !== undefined) {
      p.add(at, 'CEL conditions are not supported');
    }
    policies[i] = {
      name,
      permissions: permissions(pol.permissions, `${at}.permissions`, p),
      principals: principals(pol.principals, `${at}.principals`, p),
    };
  }
  return { action, policies };
}

/** The HTTP RBAC filter config; undefined rules: the filter enforces nothing. */
export function rbacFilterRules(
  f: extensions_filters_http_rbac_v3_RBAC,
  path: string,
  p: Problems,
): RbacPolicies | undefined {
  if (f.matcher !== undefined) p.add(`${path}.matcher`, 'matcher-based RBAC is not supported');
  return f.rules === undefined ? undefined : rbacPolicies(f.rules, `${path}.rules`, p);
}
