// Property: for random route configurations and requests, the compiled RouteTable picks the same
// (virtual host, route) as a deliberately naive reference matcher written from Envoy's rules
// with linear scans and no precompilation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type {
  HeaderMatch,
  HeaderMatcher,
  PathMatch,
  QueryParameterMatcher,
  Route,
  RouteConfiguration,
  StringMatcher,
  VirtualHost,
} from '@inboard/xds';
import fc from 'fast-check';
import { compileRouteTable, headerGetter } from '../src/route/index.ts';
import { NO_MUTATIONS, routeConfiguration, virtualHost } from './route-fixtures.ts';

// ---------------------------------------------------------------------------- generators

const DOMAINS = [
  'a.com',
  'b.com',
  'ab.io',
  'x-y.io',
  'a.com:80',
  'b.com:8080',
  '[::1]',
  '[::1]:80',
  '*.com',
  '*.a.com',
  '*b.com',
  '*-y.io',
  '*.io:80',
  '*:8080',
  'a.*',
  'ab*',
  'x-*',
  'a.com:*',
  '*',
];

const stringMatcher: fc.Arbitrary<StringMatcher> = fc.record({
  kind: fc.constantFrom('exact' as const, 'prefix' as const, 'suffix' as const, 'contains' as const),
  value: fc.constantFrom('', 'v', 'V', 'v1', '1', 'get', 'a,b', ',b', 'a,'),
  ignoreCase: fc.boolean(),
});

const headerMatch: fc.Arbitrary<HeaderMatch> = fc.oneof(
  stringMatcher.map((matcher) => ({ kind: 'string' as const, matcher })),
  fc.record({ kind: fc.constant('present' as const), present: fc.boolean() }),
  fc
    .tuple(fc.integer({ min: -3, max: 12 }), fc.integer({ min: 0, max: 8 }))
    .map(([start, width]) => ({ kind: 'range' as const, start, end: start + width })),
);

const headerMatcher: fc.Arbitrary<HeaderMatcher> = fc.record({
  name: fc.constantFrom('x-a', 'x-b', ':method', ':authority', ':path', ':scheme'),
  match: headerMatch,
  invert: fc.boolean(),
  treatMissingHeaderAsEmpty: fc.boolean(),
});

const queryMatcher: fc.Arbitrary<QueryParameterMatcher> = fc.record({
  name: fc.constantFrom('q', 'r', 'qq', ''),
  matcher: fc.option(
    fc.record({
      kind: fc.constantFrom('exact' as const, 'prefix' as const),
      value: fc.constantFrom('', '1', '2', 'x'),
      ignoreCase: fc.boolean(),
    }),
    { nil: undefined },
  ),
  presentMatch: fc.boolean(),
});

const pathMatch: fc.Arbitrary<PathMatch> = fc.oneof(
  fc.constantFrom('', '/', '/a', '/a/', '/a/b', '/A', '/ab').map((value) => ({ kind: 'prefix' as const, value })),
  fc.constantFrom('/', '/a', '/a/', '/a/b', '/A/b', '/ab').map((value) => ({ kind: 'path' as const, value })),
  fc.constantFrom('/a', '/a/b', '/A', '/ab').map((value) => ({ kind: 'path_separated_prefix' as const, value })),
);

const routeArb: fc.Arbitrary<Omit<Route, 'name'>> = fc.record({
  match: fc.record({
    path: pathMatch,
    caseSensitive: fc.boolean(),
    headers: fc.array(headerMatcher, { maxLength: 2 }),
    queryParameters: fc.array(queryMatcher, { maxLength: 2 }),
    runtimeFraction: fc.constant(undefined),
    grpc: fc.boolean(),
  }),
  action: fc.constant({ kind: 'direct_response' as const, status: 200, body: undefined }),
  headerMutations: fc.constant(NO_MUTATIONS),
  filterOverrides: fc.constant({}),
  istioConfig: fc.constant(undefined),
  decoratorOperation: fc.constant(undefined),
});

const configArb: fc.Arbitrary<RouteConfiguration> = fc
  .record({
    vhosts: fc.array(
      fc.record({
        domains: fc.uniqueArray(fc.constantFrom(...DOMAINS), { minLength: 1, maxLength: 3 }),
        routes: fc.array(routeArb, { maxLength: 6 }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    ignorePortInHostMatching: fc.boolean(),
    ignorePathParametersInPathMatching: fc.boolean(),
  })
  .map(({ vhosts, ignorePortInHostMatching, ignorePathParametersInPathMatching }) => {
    // A domain may appear in one virtual host only (Envoy rejects the config otherwise).
    const seen = new Set<string>();
    const virtualHosts: VirtualHost[] = vhosts.map((v, i) =>
      virtualHost(
        `vh${i}`,
        v.domains.filter((d) => !seen.has(d) && seen.add(d) !== undefined),
        v.routes.map((r, j) => ({ ...r, name: `vh${i}/r${j}` })),
      ),
    );
    return routeConfiguration(virtualHosts, { ignorePortInHostMatching, ignorePathParametersInPathMatching });
  });

interface Req {
  method: string;
  authority: string;
  path: string;
  scheme: string;
  raw: Record<string, string | string[]>;
}

const headerValue = fc.oneof(
  fc.constantFrom('v', 'V1', '1', ' 5', '-2', '7x', 'get', 'a', 'b', ''),
  fc.array(fc.constantFrom('a', 'b', 'v1'), { minLength: 0, maxLength: 3 }),
);

const requestArb: fc.Arbitrary<Req> = fc.record({
  method: fc.constantFrom('GET', 'get', 'POST'),
  authority: fc
    .tuple(
      fc.constantFrom('a', 'A', 'b', 'ab', 'x', 'x-y', 'q.a', '', '[::1]'),
      fc.constantFrom('.com', '.io', '.a.com', '-y.io', 'b.com', '.', ''),
      fc.constantFrom('', ':80', ':8080', ':'),
    )
    .map(([a, b, c]) => a + b + c),
  path: fc
    .tuple(
      fc.constantFrom('', '/', '/a', '/a/', '/a/b', '/A/b', '/ab', '/a;p=1', '/a/b;x'),
      fc.constantFrom('', '?q=1', '?q', '?r=x&q=2', '?q=1&q=2', '#f', '?q=1#f', '?qq=1&q', '?&q=x', '?=1'),
    )
    .map(([p, q]) => p + q),
  scheme: fc.constantFrom('http', 'https'),
  raw: fc.record(
    {
      'x-a': headerValue,
      'X-B': headerValue,
      'content-type': fc.constantFrom(
        'application/grpc',
        'application/grpc+proto',
        'application/grpc-web',
        'text/plain',
      ),
    },
    { requiredKeys: [] },
  ),
});

// ---------------------------------------------------------------------------- naive reference

function lower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function referenceVhost(rc: RouteConfiguration, authority: string): VirtualHost | undefined {
  let host = lower(authority);
  if (rc.ignorePortInHostMatching) {
    const colon = host.lastIndexOf(':');
    const bracket = host.lastIndexOf(']');
    if (colon >= 0 && bracket < colon) host = host.slice(0, colon);
  }
  const isExact = (d: string) => !d.startsWith('*') && !d.endsWith('*');
  for (const vh of rc.virtualHosts) if (vh.domains.some((d) => isExact(d) && d === host)) return vh;

  let best: VirtualHost | undefined;
  let bestLength = -1;
  for (const vh of rc.virtualHosts) {
    for (const d of vh.domains) {
      if (d === '*' || !d.startsWith('*')) continue;
      const suffix = d.slice(1);
      if (host.length > suffix.length && host.endsWith(suffix) && suffix.length > bestLength) {
        best = vh;
        bestLength = suffix.length;
      }
    }
  }
  if (best !== undefined) return best;
  for (const vh of rc.virtualHosts) {
    for (const d of vh.domains) {
      if (d === '*' || d.startsWith('*') || !d.endsWith('*')) continue;
      const prefix = d.slice(0, -1);
      if (host.length > prefix.length && host.startsWith(prefix) && prefix.length > bestLength) {
        best = vh;
        bestLength = prefix.length;
      }
    }
  }
  if (best !== undefined) return best;
  return rc.virtualHosts.find((vh) => vh.domains.includes('*'));
}

function pathOnly(path: string, stripParameters: boolean): string {
  let end = path.length;
  for (const c of stripParameters ? ['?', '#', ';'] : ['?', '#']) {
    const i = path.indexOf(c);
    if (i >= 0 && i < end) end = i;
  }
  return path.slice(0, end);
}

function referencePath(m: PathMatch, caseSensitive: boolean, path: string): boolean {
  if (m.kind === 'regex') throw new Error('not generated');
  const p = caseSensitive ? path : lower(path);
  const v = caseSensitive ? m.value : lower(m.value);
  switch (m.kind) {
    case 'prefix':
      return p.startsWith(v);
    case 'path':
      return p === v;
    case 'path_separated_prefix':
      return p === v || p.startsWith(v + '/');
  }
}

function referenceString(m: StringMatcher, value: string): boolean {
  if (m.kind === 'regex') throw new Error('not generated');
  const v = m.ignoreCase ? lower(value) : value;
  const want = m.ignoreCase ? lower(m.value) : m.value;
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

function referenceHeaderValue(req: Req, name: string): string | undefined {
  if (name === ':method') return req.method;
  if (name === ':authority') return req.authority;
  if (name === ':path') return req.path;
  if (name === ':scheme') return req.scheme;
  const values: string[] = [];
  for (const [k, v] of Object.entries(req.raw)) {
    if (k.toLowerCase() === name) values.push(...(Array.isArray(v) ? v : [v]));
  }
  return values.length === 0 ? undefined : values.join(',');
}

function referenceInt(value: string): bigint | undefined {
  const t = value.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
  if (!/^[+-]?[0-9]+$/.test(t)) return undefined;
  const n = BigInt(t);
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

function referenceHeader(h: HeaderMatcher, req: Req): boolean {
  const value = referenceHeaderValue(req, h.name);
  if (value === undefined && !h.treatMissingHeaderAsEmpty) {
    // Envoy's special case: only a present_match can match a missing header.
    if (h.match.kind !== 'present') return false;
    return h.invert ? h.match.present : !h.match.present;
  }
  const v = value ?? '';
  let result: boolean;
  switch (h.match.kind) {
    case 'string':
      result = referenceString(h.match.matcher, v);
      break;
    case 'present':
      result = h.match.present;
      break;
    case 'range': {
      const n = referenceInt(v);
      result = n !== undefined && BigInt(h.match.start) <= n && n < BigInt(h.match.end);
      break;
    }
  }
  return result !== h.invert;
}

function referenceQuery(q: QueryParameterMatcher, path: string): boolean {
  const start = path.indexOf('?');
  let value: string | undefined;
  if (start >= 0) {
    const parts = path.slice(start + 1).split('&');
    if (parts.at(-1) === '') parts.pop(); // Envoy stops at the end: no empty last parameter
    for (const part of parts) {
      const eq = part.indexOf('=');
      const key = eq < 0 ? part : part.slice(0, eq);
      if (key === q.name) {
        value = eq < 0 ? '' : part.slice(eq + 1);
        break;
      }
    }
  }
  if (q.matcher === undefined) return q.presentMatch ? value !== undefined : value === undefined;
  return value !== undefined && referenceString(q.matcher, value);
}

function referenceMatch(rc: RouteConfiguration, req: Req): string | undefined {
  const vh = referenceVhost(rc, req.authority);
  if (vh === undefined) return undefined;
  const path = pathOnly(req.path, rc.ignorePathParametersInPathMatching);
  for (const r of vh.routes) {
    const m = r.match;
    if (!referencePath(m.path, m.caseSensitive, path)) continue;
    if (m.grpc) {
      const ct = referenceHeaderValue(req, 'content-type');
      if (ct === undefined || !(ct === 'application/grpc' || ct.startsWith('application/grpc+'))) continue;
    }
    if (!m.headers.every((h) => referenceHeader(h, req))) continue;
    if (!m.queryParameters.every((q) => referenceQuery(q, req.path))) continue;
    return r.name;
  }
  return undefined;
}

// ---------------------------------------------------------------------------- the property

test('the compiled table agrees with the naive reference matcher', () => {
  fc.assert(
    fc.property(configArb, fc.array(requestArb, { minLength: 1, maxLength: 25 }), (rc, reqs) => {
      const table = compileRouteTable(rc);
      for (const r of reqs) {
        const got = table.match({
          method: r.method,
          authority: r.authority,
          path: r.path,
          scheme: r.scheme,
          headers: headerGetter(r.raw),
        });
        const expectedVhost = referenceVhost(rc, r.authority)?.name;
        assert.equal(
          table.findVirtualHost(r.authority)?.vhost.name,
          expectedVhost,
          `vhost for ${JSON.stringify(r.authority)}`,
        );
        assert.equal(got?.route.name, referenceMatch(rc, r), `route for ${JSON.stringify(r)}`);
        if (got !== undefined) assert.equal(got.vhost.routes[got.routeIndex], got.route);
      }
    }),
    { numRuns: 500 },
  );
});
