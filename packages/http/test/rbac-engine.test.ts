// RBAC: every permission and principal kind against Envoy's matcher semantics, and the
// DENY-then-ALLOW evaluation istiod's two RBAC filters give AuthorizationPolicy.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HeaderMatcher, RbacPermission, RbacPolicies, RbacPrincipal, StringMatcher } from '@inboard/xds';
import {
  compileRbac,
  evaluateRbacFilters,
  RbacCompileError,
  type RbacFilter,
  type RbacRequest,
  rbacDeniedDetails,
} from '../src/rbac/index.ts';
import { headerGetter } from '../src/route/index.ts';

// ---------------------------------------------------------------------------- builders

const exact = (value: string, ignoreCase = false): StringMatcher => ({ kind: 'exact', value, ignoreCase });
const prefix = (value: string): StringMatcher => ({ kind: 'prefix', value, ignoreCase: false });
const header = (name: string, matcher: StringMatcher, invert = false): HeaderMatcher => ({
  name,
  match: { kind: 'string', matcher },
  invert,
  treatMissingHeaderAsEmpty: false,
});
const cidr = (addressPrefix: string, prefixLen: number) => ({ addressPrefix, prefixLen });

const PRODUCTPAGE = 'spiffe://cluster.local/ns/default/sa/productpage';

function request(
  over: Partial<Omit<RbacRequest, 'headers'>> & { headers?: Record<string, string | string[]> } = {},
): RbacRequest {
  const { headers, ...rest } = over;
  return {
    method: 'GET',
    authority: 'reviews.default.svc.cluster.local:9080',
    path: '/reviews/1',
    scheme: 'https',
    headers: headerGetter(headers ?? {}),
    urlPath: (rest.path ?? '/reviews/1').split('?')[0]!,
    sourceIp: '10.1.2.3',
    remoteIp: '10.1.2.3',
    destinationIp: '10.4.5.6',
    destinationPort: 9080,
    requestedServerName: 'outbound_.9080_._.reviews.default.svc.cluster.local',
    tls: true,
    peer: { uriSans: [PRODUCTPAGE], dnsSans: [], subject: '' },
    ...rest,
  };
}

const PLAINTEXT = { tls: false, peer: undefined, requestedServerName: '' } as const;

/** Does a single-policy ALLOW config with this permission (and any principal) allow `req`? */
function permits(p: RbacPermission, req: RbacRequest): boolean {
  return compileRbac({
    action: 'ALLOW',
    policies: [{ name: 'p', permissions: [p], principals: [{ kind: 'any' }] }],
  }).evaluate(req).allowed;
}
/** Does a single-policy ALLOW config with this principal (and any permission) allow `req`? */
function identifies(p: RbacPrincipal, req: RbacRequest): boolean {
  return compileRbac({
    action: 'ALLOW',
    policies: [{ name: 'p', permissions: [{ kind: 'any' }], principals: [p] }],
  }).evaluate(req).allowed;
}

interface Row<T> {
  readonly name: string;
  readonly rule: T;
  readonly req: RbacRequest;
  readonly want: boolean;
}

// ---------------------------------------------------------------------------- permissions

const permissionRows: Row<RbacPermission>[] = [
  { name: 'any', rule: { kind: 'any' }, req: request(), want: true },
  {
    name: 'header :method',
    rule: { kind: 'header', matcher: header(':method', exact('GET')) },
    req: request(),
    want: true,
  },
  {
    name: 'header :method mismatch',
    rule: { kind: 'header', matcher: header(':method', exact('POST')) },
    req: request(),
    want: false,
  },
  {
    name: 'header :authority ignore_case (AuthorizationPolicy hosts)',
    rule: {
      kind: 'header',
      matcher: header(':authority', { kind: 'prefix', value: 'REVIEWS.default', ignoreCase: true }),
    },
    req: request(),
    want: true,
  },
  {
    name: 'header values are joined with "," before matching',
    rule: { kind: 'header', matcher: header('x-team', exact('a,b')) },
    req: request({ headers: { 'x-team': ['a', 'b'] } }),
    want: true,
  },
  {
    name: 'header absent fails even inverted',
    rule: { kind: 'header', matcher: header('x-team', exact('a'), true) },
    req: request(),
    want: false,
  },
  { name: 'url_path prefix', rule: { kind: 'url_path', matcher: prefix('/reviews') }, req: request(), want: true },
  {
    name: 'url_path ignores the query',
    rule: { kind: 'url_path', matcher: exact('/admin') },
    req: request({ path: '/admin?debug=1' }),
    want: true,
  },
  {
    name: 'url_path exact mismatch',
    rule: { kind: 'url_path', matcher: exact('/reviews') },
    req: request(),
    want: false,
  },
  {
    name: 'url_path regex (full match)',
    rule: { kind: 'url_path', matcher: { kind: 'regex', regex: '/reviews/[0-9]+' } },
    req: request(),
    want: true,
  },
  {
    name: 'destination_ip in range',
    rule: { kind: 'destination_ip', cidr: cidr('10.4.0.0', 16) },
    req: request(),
    want: true,
  },
  {
    name: 'destination_ip outside range',
    rule: { kind: 'destination_ip', cidr: cidr('10.5.0.0', 16) },
    req: request(),
    want: false,
  },
  {
    name: 'destination_ip: an IPv4-mapped address matches an IPv4 range',
    rule: { kind: 'destination_ip', cidr: cidr('10.4.5.6', 32) },
    req: request({ destinationIp: '::ffff:10.4.5.6' }),
    want: true,
  },
  {
    name: 'destination_ip: IPv6 range',
    rule: { kind: 'destination_ip', cidr: cidr('fd00::', 8) },
    req: request({ destinationIp: 'fd00::1' }),
    want: true,
  },
  { name: 'destination_port', rule: { kind: 'destination_port', port: 9080 }, req: request(), want: true },
  { name: 'destination_port mismatch', rule: { kind: 'destination_port', port: 8080 }, req: request(), want: false },
  {
    name: 'destination_port_range start is inclusive',
    rule: { kind: 'destination_port_range', start: 9080, end: 9090 },
    req: request(),
    want: true,
  },
  {
    name: 'destination_port_range end is exclusive',
    rule: { kind: 'destination_port_range', start: 9000, end: 9080 },
    req: request(),
    want: false,
  },
  {
    name: 'requested_server_name',
    rule: {
      kind: 'requested_server_name',
      matcher: { kind: 'suffix', value: '.svc.cluster.local', ignoreCase: false },
    },
    req: request(),
    want: true,
  },
  {
    name: 'requested_server_name is empty on plaintext',
    rule: { kind: 'requested_server_name', matcher: prefix('outbound_') },
    req: request(PLAINTEXT),
    want: false,
  },
  {
    name: 'and: all must match',
    rule: {
      kind: 'and',
      rules: [
        { kind: 'destination_port', port: 9080 },
        { kind: 'url_path', matcher: prefix('/admin') },
      ],
    },
    req: request(),
    want: false,
  },
  {
    name: 'and: all match',
    rule: {
      kind: 'and',
      rules: [
        { kind: 'destination_port', port: 9080 },
        { kind: 'url_path', matcher: prefix('/rev') },
      ],
    },
    req: request(),
    want: true,
  },
  {
    name: 'or: one is enough',
    rule: {
      kind: 'or',
      rules: [
        { kind: 'destination_port', port: 1 },
        { kind: 'url_path', matcher: prefix('/rev') },
      ],
    },
    req: request(),
    want: true,
  },
  { name: 'or: empty never matches', rule: { kind: 'or', rules: [] }, req: request(), want: false },
  {
    name: 'not inverts (AuthorizationPolicy notPaths)',
    rule: { kind: 'not', rule: { kind: 'url_path', matcher: prefix('/admin') } },
    req: request(),
    want: true,
  },
  {
    name: 'not inverts a match',
    rule: { kind: 'not', rule: { kind: 'url_path', matcher: prefix('/reviews') } },
    req: request(),
    want: false,
  },
  { name: 'unsupported never matches', rule: { kind: 'unsupported', what: 'metadata' }, req: request(), want: false },
  {
    name: 'not(unsupported) therefore always matches',
    rule: { kind: 'not', rule: { kind: 'unsupported', what: 'metadata' } },
    req: request(),
    want: true,
  },
];

describe('RBAC permissions', () => {
  for (const row of permissionRows) {
    test(row.name, () => assert.equal(permits(row.rule, row.req), row.want));
  }
});

// ---------------------------------------------------------------------------- principals

const principalRows: Row<RbacPrincipal>[] = [
  { name: 'any', rule: { kind: 'any' }, req: request(PLAINTEXT), want: true },
  {
    name: 'authenticated principal_name against the URI SAN',
    rule: { kind: 'authenticated', matcher: exact(PRODUCTPAGE) },
    req: request(),
    want: true,
  },
  {
    name: 'authenticated principal_name: another identity',
    rule: { kind: 'authenticated', matcher: exact('spiffe://cluster.local/ns/default/sa/ratings') },
    req: request(),
    want: false,
  },
  {
    name: 'authenticated principal_name: plaintext never matches',
    rule: { kind: 'authenticated', matcher: { kind: 'regex', regex: '.*' } },
    req: request(PLAINTEXT),
    want: false,
  },
  {
    name: 'authenticated principal_name: a DNS SAN when no URI SAN matches',
    rule: { kind: 'authenticated', matcher: exact('reviews.example.com') },
    req: request({ peer: { uriSans: [PRODUCTPAGE], dnsSans: ['reviews.example.com'], subject: '' } }),
    want: true,
  },
  {
    name: 'authenticated principal_name: the subject last',
    rule: { kind: 'authenticated', matcher: exact('O=Inboard,CN=legacy') },
    req: request({ peer: { uriSans: [], dnsSans: [], subject: 'O=Inboard,CN=legacy' } }),
    want: true,
  },
  {
    name: 'authenticated principal_name: TLS without a client certificate has an empty subject',
    rule: { kind: 'authenticated', matcher: { kind: 'regex', regex: '.+' } },
    req: request({ peer: undefined }),
    want: false,
  },
  {
    name: 'authenticated without principal_name: any TLS connection',
    rule: { kind: 'authenticated', matcher: undefined },
    req: request({ peer: undefined }),
    want: true,
  },
  {
    name: 'authenticated without principal_name: not plaintext',
    rule: { kind: 'authenticated', matcher: undefined },
    req: request(PLAINTEXT),
    want: false,
  },
  {
    name: 'authenticated principal_name prefix (AuthorizationPolicy namespaces)',
    rule: { kind: 'authenticated', matcher: { kind: 'regex', regex: '.*/ns/default/.*' } },
    req: request(),
    want: true,
  },
  { name: 'source_ip', rule: { kind: 'source_ip', cidr: cidr('10.1.0.0', 16) }, req: request(), want: true },
  {
    name: 'source_ip: an IPv4-mapped peer (dual-stack server) matches',
    rule: { kind: 'source_ip', cidr: cidr('10.1.0.0', 16) },
    req: request({ sourceIp: '::ffff:10.1.2.3' }),
    want: true,
  },
  {
    name: 'direct_remote_ip',
    rule: { kind: 'direct_remote_ip', cidr: cidr('10.1.2.3', 32) },
    req: request(),
    want: true,
  },
  {
    name: 'direct_remote_ip is the peer, not X-Forwarded-For',
    rule: { kind: 'direct_remote_ip', cidr: cidr('192.168.0.0', 16) },
    req: request({ remoteIp: '192.168.1.1' }),
    want: false,
  },
  {
    name: 'remote_ip is the address after X-Forwarded-For',
    rule: { kind: 'remote_ip', cidr: cidr('192.168.0.0', 16) },
    req: request({ remoteIp: '192.168.1.1' }),
    want: true,
  },
  {
    name: 'prefix_len 0 matches every address of the family',
    rule: { kind: 'source_ip', cidr: cidr('0.0.0.0', 0) },
    req: request(),
    want: true,
  },
  {
    name: 'an IPv6 peer never matches an IPv4 range',
    rule: { kind: 'source_ip', cidr: cidr('0.0.0.0', 0) },
    req: request({ sourceIp: 'fd00::1' }),
    want: false,
  },
  {
    name: 'header',
    rule: { kind: 'header', matcher: header('x-user', exact('jason')) },
    req: request({ headers: { 'X-User': 'jason' } }),
    want: true,
  },
  { name: 'url_path', rule: { kind: 'url_path', matcher: prefix('/reviews/') }, req: request(), want: true },
  {
    name: 'and',
    rule: {
      kind: 'and',
      ids: [
        { kind: 'authenticated', matcher: exact(PRODUCTPAGE) },
        { kind: 'source_ip', cidr: cidr('10.9.0.0', 16) },
      ],
    },
    req: request(),
    want: false,
  },
  {
    name: 'or',
    rule: {
      kind: 'or',
      ids: [
        { kind: 'authenticated', matcher: exact(PRODUCTPAGE) },
        { kind: 'source_ip', cidr: cidr('10.9.0.0', 16) },
      ],
    },
    req: request(),
    want: true,
  },
  {
    name: 'not (AuthorizationPolicy notPrincipals)',
    rule: { kind: 'not', id: { kind: 'authenticated', matcher: exact(PRODUCTPAGE) } },
    req: request(),
    want: false,
  },
  {
    name: 'not: plaintext is not the principal',
    rule: { kind: 'not', id: { kind: 'authenticated', matcher: exact(PRODUCTPAGE) } },
    req: request(PLAINTEXT),
    want: true,
  },
  {
    name: 'unsupported never matches',
    rule: { kind: 'unsupported', what: 'filter_state' },
    req: request(),
    want: false,
  },
];

describe('RBAC principals', () => {
  for (const row of principalRows) {
    test(row.name, () => assert.equal(identifies(row.rule, row.req), row.want));
  }
});

// ---------------------------------------------------------------------------- policies and filters

/** What istiod generates for `to.operation.paths: [<path>]` (and_rules/or_rules nesting). */
const pathPermission = (p: StringMatcher): RbacPermission => ({
  kind: 'and',
  rules: [{ kind: 'or', rules: [{ kind: 'url_path', matcher: p }] }],
});
/** What istiod generates for `from.source.principals: [<principal>]`. */
const principal = (spiffe: string): RbacPrincipal => ({
  kind: 'and',
  ids: [{ kind: 'or', ids: [{ kind: 'authenticated', matcher: exact(spiffe) }] }],
});

const denyAdmin: RbacPolicies = {
  action: 'DENY',
  policies: [
    {
      name: 'ns[default]-policy[deny-admin]-rule[0]',
      permissions: [pathPermission(prefix('/admin'))],
      principals: [{ kind: 'any' }],
    },
  ],
};
const allowProductpage: RbacPolicies = {
  action: 'ALLOW',
  policies: [
    {
      name: 'ns[default]-policy[allow-productpage]-rule[0]',
      permissions: [{ kind: 'any' }],
      principals: [principal(PRODUCTPAGE)],
    },
  ],
};

function filters(...configs: (RbacPolicies | undefined)[]): RbacFilter[] {
  return configs.map((c) => ({
    name: c?.action === 'DENY' ? 'envoy.filters.http.rbac.DENY' : 'envoy.filters.http.rbac',
    rules: c === undefined ? undefined : compileRbac(c),
  }));
}

describe('RBAC filters (AuthorizationPolicy order)', () => {
  const chain = filters(denyAdmin, allowProductpage);

  test('a DENY match wins over an ALLOW match, and names the DENY policy', () => {
    const d = evaluateRbacFilters(chain, request({ path: '/admin/users' }));
    assert.deepEqual(d, {
      allowed: false,
      filter: 'envoy.filters.http.rbac.DENY',
      matchedPolicy: 'ns[default]-policy[deny-admin]-rule[0]',
    });
    assert.equal(rbacDeniedDetails(d), 'rbac_access_denied_matched_policy[ns[default]-policy[deny-admin]-rule[0]]');
  });

  test('a DENY match denies whatever the filter order', () => {
    const reversed = filters(allowProductpage, denyAdmin);
    assert.equal(evaluateRbacFilters(reversed, request({ path: '/admin' })).allowed, false);
  });

  test('no DENY match and an ALLOW match: allowed, naming the ALLOW policy', () => {
    assert.deepEqual(evaluateRbacFilters(chain, request()), {
      allowed: true,
      filter: 'envoy.filters.http.rbac',
      matchedPolicy: 'ns[default]-policy[allow-productpage]-rule[0]',
    });
  });

  test('an ALLOW filter that matches nothing denies, with [none] in the details', () => {
    const d = evaluateRbacFilters(
      chain,
      request({ peer: { uriSans: ['spiffe://cluster.local/ns/default/sa/ratings'], dnsSans: [], subject: '' } }),
    );
    assert.equal(d.allowed, false);
    assert.equal(d.matchedPolicy, undefined);
    assert.equal(rbacDeniedDetails(d), 'rbac_access_denied_matched_policy[none]');
  });

  test('an ALLOW filter with no policies denies everything (AuthorizationPolicy spec: {})', () => {
    assert.equal(evaluateRbacFilters(filters({ action: 'ALLOW', policies: [] }), request()).allowed, false);
  });

  test('a DENY filter with no policies allows everything', () => {
    assert.equal(
      evaluateRbacFilters(filters({ action: 'DENY', policies: [] }), request({ path: '/admin' })).allowed,
      true,
    );
  });

  test('only a DENY filter: everything it does not match is allowed', () => {
    const d = evaluateRbacFilters(filters(denyAdmin), request(PLAINTEXT));
    assert.deepEqual(d, { allowed: true, filter: undefined, matchedPolicy: undefined });
  });

  test('no RBAC filter, or a filter without rules, allows', () => {
    assert.equal(evaluateRbacFilters([], request({ path: '/admin' })).allowed, true);
    assert.equal(evaluateRbacFilters(filters(undefined), request({ path: '/admin' })).allowed, true);
  });

  test('rules: [{}] under DENY (any/any) denies everything', () => {
    const denyAll: RbacPolicies = {
      action: 'DENY',
      policies: [{ name: 'deny-all', permissions: [{ kind: 'any' }], principals: [{ kind: 'any' }] }],
    };
    assert.equal(evaluateRbacFilters(filters(denyAll, allowProductpage), request()).allowed, false);
  });

  test('a policy needs a permission and a principal to match', () => {
    const both: RbacPolicies = {
      action: 'ALLOW',
      policies: [
        { name: 'p', permissions: [pathPermission(prefix('/reviews'))], principals: [principal(PRODUCTPAGE)] },
      ],
    };
    assert.equal(compileRbac(both).evaluate(request()).allowed, true);
    assert.equal(compileRbac(both).evaluate(request({ path: '/ratings', urlPath: '/ratings' })).allowed, false);
    assert.equal(compileRbac(both).evaluate(request(PLAINTEXT)).allowed, false);
  });

  test('the first matching policy by name is reported', () => {
    const c = compileRbac({
      action: 'ALLOW',
      policies: [
        { name: 'a-first', permissions: [{ kind: 'any' }], principals: [{ kind: 'any' }] },
        { name: 'b-second', permissions: [{ kind: 'any' }], principals: [{ kind: 'any' }] },
      ],
    });
    assert.equal(c.evaluate(request()).matchedPolicy, 'a-first');
  });

  test('LOG never changes the verdict', () => {
    const log = compileRbac({
      action: 'LOG',
      policies: [{ name: 'audit', permissions: [{ kind: 'any' }], principals: [{ kind: 'any' }] }],
    });
    assert.deepEqual(log.evaluate(request()), { allowed: true, matchedPolicy: 'audit' });
    assert.equal(evaluateRbacFilters([{ name: 'log', rules: log }], request()).allowed, true);
  });

  test('a regex RE2 rejects fails compilation, naming the policy', () => {
    assert.throws(
      () =>
        compileRbac({
          action: 'ALLOW',
          policies: [
            {
              name: 'bad',
              permissions: [{ kind: 'url_path', matcher: { kind: 'regex', regex: '(a' } }],
              principals: [{ kind: 'any' }],
            },
          ],
        }),
      (e: unknown) => e instanceof RbacCompileError && e.code === 'INBOARD_RBAC_COMPILE' && e.policy === 'bad',
    );
  });
});
