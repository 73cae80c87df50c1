// AuthorizationPolicy → the RBAC policies of the inbound HTTP filters, as istiod's proxyless
// generator builds them (grpcgen buildRBAC + authz/model Generate with authenticated principals):
// one policy per rule, keyed `<ns>-<name>-<ruleIndex>`; ALLOW and DENY only.
import { type envoy, packAny } from '@inboard/xds/codec';
import type { AuthorizationPolicy, Rule } from '../config/istio-types.ts';
import { labelsMatch, type MeshIndex } from './mesh-index.ts';

type PermissionIn = envoy.config_rbac_v3_Permission$In;
type PrincipalIn = envoy.config_rbac_v3_Principal$In;
type PolicyIn = envoy.config_rbac_v3_Policy$In;
type StringMatcherIn = envoy.type_matcher_v3_StringMatcher$In;
type HeaderMatcherIn = envoy.config_route_v3_HeaderMatcher$In;

const SPIFFE = 'spiffe://';

export interface SelectedPolicies {
  readonly allow: readonly AuthorizationPolicy[];
  readonly deny: readonly AuthorizationPolicy[];
}

/**
 * ListAuthorizationPolicies: policies of the root namespace and of the workload's namespace whose
 * selector matches (or that have none). targetRef policies (waypoints, gateways) and dry-run policies
 * are not enforced by workloads; CUSTOM and AUDIT are ignored as in istiod's proxyless generator.
 */
export function selectAuthorizationPolicies(
  index: MeshIndex,
  namespace: string,
  labels: Readonly<Record<string, string>>,
): SelectedPolicies {
  const allow: AuthorizationPolicy[] = [];
  const deny: AuthorizationPolicy[] = [];
  const root = index.settings.rootNamespace;
  for (const p of index.authorizationPolicies) {
    const ns = p.metadata.namespace;
    if (ns !== root && ns !== namespace) continue;
    if (p.spec.targetRef !== undefined || (p.spec.targetRefs?.length ?? 0) > 0) continue;
    if (p.metadata.annotations?.['istio.io/dry-run'] === 'true') continue;
    if (!labelsMatch(p.spec.selector?.matchLabels, labels)) continue;
    const action = p.spec.action ?? 'ALLOW';
    if (action === 'ALLOW') allow.push(p);
    else if (action === 'DENY') deny.push(p);
  }
  return { allow, deny };
}

function regexQuote(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** matcher.StringMatcherWithPrefix: `*` present, `*x` suffix, `x*` prefix, else exact. */
function stringMatcher(v: string, prefix = ''): StringMatcherIn {
  if (v === '*') return { safe_regex: { regex: '.+' } };
  if (v.startsWith('*')) {
    return prefix === '' ? { suffix: v.slice(1) } : { safe_regex: { regex: `${prefix}.*${regexQuote(v.slice(1))}` } };
  }
  if (v.endsWith('*')) return { prefix: prefix + v.slice(0, -1) };
  return { exact: prefix + v };
}

/** matcher.HeaderMatcher */
function headerMatcher(name: string, v: string): HeaderMatcherIn {
  if (v === '*') return { name, present_match: true };
  if (v.startsWith('*')) return { name, string_match: { suffix: v.slice(1) } };
  if (v.endsWith('*')) return { name, string_match: { prefix: v.slice(0, -1) } };
  return { name, string_match: { exact: v } };
}

/** matcher.HostMatcher: hosts compare case-insensitively. */
function hostMatcher(v: string): HeaderMatcherIn {
  const name = ':authority';
  if (v === '*') return { name, present_match: true };
  if (v.startsWith('*')) return { name, string_match: { suffix: v.slice(1), ignore_case: true } };
  if (v.endsWith('*')) return { name, string_match: { prefix: v.slice(0, -1), ignore_case: true } };
  return { name, string_match: { exact: v, ignore_case: true } };
}

/**
 * A path: with `{*}` (one segment) or `{**}` (the rest) it is a path template, sent as istiod
 * sends it (matcher.PathTemplateMatcher: `{*}` → `*`, `{**}` → `**` in a uri_template
 * permission named "uri-template"); otherwise a url_path string match.
 */
function pathPermission(v: string): PermissionIn {
  if (!v.includes('{*}') && !v.includes('{**}')) return { url_path: { path: stringMatcher(v) } };
  const template = v.replaceAll('{*}', '*').replaceAll('{**}', '**');
  return {
    uri_template: {
      name: 'uri-template',
      typed_config: packAny('envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig', {
        path_template: template,
      }),
    },
  };
}

function cidr(v: string): envoy.config_core_v3_CidrRange$In {
  const slash = v.indexOf('/');
  if (slash >= 0) return { address_prefix: v.slice(0, slash), prefix_len: { value: Number(v.slice(slash + 1)) } };
  return { address_prefix: v, prefix_len: { value: v.includes(':') ? 128 : 32 } };
}

function bracketName(key: string, prefix: string): string {
  const rest = key.slice(prefix.length);
  return rest.startsWith('[') && rest.endsWith(']') ? rest.slice(1, -1) : rest;
}

function metadataPrincipal(path: string[], m: StringMatcherIn, list = false): PrincipalIn {
  return {
    metadata: {
      filter: 'istio_authn',
      path: path.map((key) => ({ key })),
      value: list ? { list_match: { one_of: { string_match: m } } } : { string_match: m },
    },
  };
}

interface Generator {
  readonly kind: 'permission' | 'principal';
  permission?(value: string): PermissionIn | undefined;
  principal?(value: string): PrincipalIn | undefined;
}

interface RuleEntry {
  readonly g: Generator;
  readonly values: readonly string[];
  readonly notValues: readonly string[];
}

function makeGenerators(index: MeshIndex, policyNamespace: string) {
  const td = index.settings.trustDomain;
  const perm = (f: (v: string) => PermissionIn | undefined): Generator => ({ kind: 'permission', permission: f });
  const prin = (f: (v: string) => PrincipalIn | undefined): Generator => ({ kind: 'principal', principal: f });
  const authenticated = (m: StringMatcherIn): PrincipalIn => ({ authenticated: { principal_name: m } });
  return {
    destPort: perm((v) => (/^\d+$/.test(v) ? { destination_port: Number(v) } : undefined)),
    destIp: perm((v) => ({ destination_ip: cidr(v) })),
    sni: perm((v) => ({ requested_server_name: stringMatcher(v) })),
    path: perm(pathPermission),
    method: perm((v) => ({ header: headerMatcher(':method', v) })),
    host: perm((v) => ({ header: hostMatcher(v) })),
    srcIp: prin((v) => ({ direct_remote_ip: cidr(v) })),
    remoteIp: prin((v) => ({ remote_ip: cidr(v) })),
    srcNamespace: prin((v) => authenticated({ safe_regex: { regex: `.*/ns/${v.replaceAll('*', '.*')}/.*` } })),
    srcPrincipal: prin((v) => authenticated(stringMatcher(v, SPIFFE))),
    serviceAccount: prin((v) => {
      const slash = v.indexOf('/');
      const [ns, sa] = slash < 0 ? [policyNamespace, v] : [v.slice(0, slash), v.slice(slash + 1)];
      return authenticated({ exact: `${SPIFFE}${td}/ns/${ns}/sa/${sa}` });
    }),
    requestPrincipal: prin((v) => metadataPrincipal(['request.auth.principal'], stringMatcher(v))),
    requestAudiences: prin((v) => metadataPrincipal(['request.auth.audiences'], stringMatcher(v))),
    requestPresenter: prin((v) => metadataPrincipal(['request.auth.presenter'], stringMatcher(v))),
    requestHeader: (key: string) => prin((v) => ({ header: headerMatcher(bracketName(key, 'request.headers'), v) })),
    requestClaim: (key: string) =>
      prin((v) => {
        const claims = bracketName(key, 'request.auth.claims')
          .split('][')
          .filter((c) => c !== '');
        return metadataPrincipal(['request.auth.claims', ...claims], { exact: v }, true);
      }),
  };
}

function orPermissions(list: PermissionIn[]): PermissionIn {
  return { or_rules: { rules: list } };
}

function orPrincipals(list: PrincipalIn[]): PrincipalIn {
  return { or_ids: { ids: list } };
}

/** authz/model.New + Generate for one rule; undefined for a rule istiod rejects. */
export function rulePolicy(index: MeshIndex, policyNamespace: string, rule: Rule): PolicyIn | undefined {
  const g = makeGenerators(index, policyNamespace);
  const basePermission: RuleEntry[] = [];
  const basePrincipal: RuleEntry[] = [];
  for (const w of rule.when ?? []) {
    const e = { values: w.values ?? [], notValues: w.notValues ?? [] };
    const key = w.key;
    if (key === 'destination.ip') basePermission.push({ g: g.destIp, ...e });
    else if (key === 'destination.port') basePermission.push({ g: g.destPort, ...e });
    else if (key === 'connection.sni') basePermission.push({ g: g.sni, ...e });
    else if (key === 'source.ip') basePrincipal.push({ g: g.srcIp, ...e });
    else if (key === 'remote.ip') basePrincipal.push({ g: g.remoteIp, ...e });
    else if (key === 'source.namespace') basePrincipal.push({ g: g.srcNamespace, ...e });
    else if (key === 'source.principal') basePrincipal.push({ g: g.srcPrincipal, ...e });
    else if (key === 'request.auth.principal') basePrincipal.push({ g: g.requestPrincipal, ...e });
    else if (key === 'request.auth.audiences') basePrincipal.push({ g: g.requestAudiences, ...e });
    else if (key === 'request.auth.presenter') basePrincipal.push({ g: g.requestPresenter, ...e });
    else if (key.startsWith('request.headers')) basePrincipal.push({ g: g.requestHeader(key), ...e });
    else if (key.startsWith('request.auth.claims')) basePrincipal.push({ g: g.requestClaim(key), ...e });
    // an unknown attribute makes istiod skip the whole rule
    else return undefined;
  }

  const principalLists: RuleEntry[][] = [];
  for (const from of rule.from ?? []) {
    const s = from.source ?? {};
    const front: RuleEntry[] = [];
    const add = (gen: Generator, values: readonly string[] | undefined, notValues: readonly string[] | undefined) => {
      if ((values?.length ?? 0) === 0 && (notValues?.length ?? 0) === 0) return;
      front.push({ g: gen, values: values ?? [], notValues: notValues ?? [] });
    };
    // the order istiod's insertFront calls leave them in
    add(g.serviceAccount, s.serviceAccounts, s.notServiceAccounts);
    add(g.srcPrincipal, s.principals, s.notPrincipals);
    add(g.requestPrincipal, s.requestPrincipals, s.notRequestPrincipals);
    add(g.srcNamespace, s.namespaces, s.notNamespaces);
    add(g.remoteIp, s.remoteIpBlocks, s.notRemoteIpBlocks);
    add(g.srcIp, s.ipBlocks, s.notIpBlocks);
    principalLists.push([...front, ...basePrincipal]);
  }
  if ((rule.from ?? []).length === 0) principalLists.push(basePrincipal);

  const permissionLists: RuleEntry[][] = [];
  for (const to of rule.to ?? []) {
    const o = to.operation ?? {};
    const front: RuleEntry[] = [];
    const add = (gen: Generator, values: readonly string[] | undefined, notValues: readonly string[] | undefined) => {
      if ((values?.length ?? 0) === 0 && (notValues?.length ?? 0) === 0) return;
      front.push({ g: gen, values: values ?? [], notValues: notValues ?? [] });
    };
    add(g.host, o.hosts, o.notHosts);
    add(g.method, o.methods, o.notMethods);
    add(g.path, o.paths, o.notPaths);
    add(g.destPort, o.ports, o.notPorts);
    permissionLists.push([...front, ...basePermission]);
  }
  if ((rule.to ?? []).length === 0) permissionLists.push(basePermission);

  const permissions = permissionLists.map((list) => {
    const and: PermissionIn[] = [];
    for (const r of list) {
      const or = r.values.map((v) => r.g.permission!(v)).filter((p): p is PermissionIn => p !== undefined);
      if (or.length > 0) and.push(orPermissions(or));
      const not = r.notValues.map((v) => r.g.permission!(v)).filter((p): p is PermissionIn => p !== undefined);
      if (not.length > 0) and.push({ not_rule: orPermissions(not) });
    }
    return and.length > 0 ? { and_rules: { rules: and } } : { any: true };
  });
  const principals = principalLists.map((list) => {
    const and: PrincipalIn[] = [];
    for (const r of list) {
      const or = r.values.map((v) => r.g.principal!(v)).filter((p): p is PrincipalIn => p !== undefined);
      if (or.length > 0) and.push(orPrincipals(or));
      const not = r.notValues.map((v) => r.g.principal!(v)).filter((p): p is PrincipalIn => p !== undefined);
      if (not.length > 0) and.push({ not_id: orPrincipals(not) });
    }
    return and.length > 0 ? { and_ids: { ids: and } } : { any: true };
  });
  return { permissions, principals };
}

/** buildRBAC: every rule of every policy, keyed `<ns>-<name>-<index>`. */
export function rbacPolicies(index: MeshIndex, policies: readonly AuthorizationPolicy[]): Record<string, PolicyIn> {
  const out: Record<string, PolicyIn> = {};
  for (const p of policies) {
    const rules = p.spec.rules ?? [];
    for (let i = 0; i < rules.length; i++) {
      const policy = rulePolicy(index, p.metadata.namespace, rules[i]!);
      if (policy !== undefined) out[`${p.metadata.namespace}-${p.metadata.name}-${i}`] = policy;
    }
  }
  return out;
}
