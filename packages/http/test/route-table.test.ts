// Route table: virtual host selection and route matching, against Envoy's exact rules.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  Action,
  HeaderMatch,
  HeaderMatcher,
  PathMatch,
  QueryParameterMatcher,
  Route,
  RouteConfiguration,
  RouteMatch,
  StringMatcher,
  VirtualHost,
} from '@inboard/xds';
import {
  compileRouteTable,
  headerGetter,
  RouteCompileError,
  type RouteRequest,
  type RouteTableOptions,
} from '../src/route/index.ts';
import { route as fixtureRoute, forward, match, routeConfiguration, virtualHost } from './route-fixtures.ts';

// ---------------------------------------------------------------------------- model builders

const prefix = (value: string): PathMatch => ({ kind: 'prefix', value });
const exactPath = (value: string): PathMatch => ({ kind: 'path', value });
const regexPath = (regex: string): PathMatch => ({ kind: 'regex', regex });

function route(name: string, m: RouteMatch, action: Action = forward(name)): Route {
  return fixtureRoute(name, m, action);
}

function vhost(name: string, domains: string[], routes: Route[] = [route(name, match(prefix('/')))]): VirtualHost {
  return virtualHost(name, domains, routes);
}

function config(virtualHosts: VirtualHost[], over: Partial<RouteConfiguration> = {}): RouteConfiguration {
  return routeConfiguration(virtualHosts, over);
}

function request(
  authority: string,
  path = '/',
  headers: Record<string, string | string[]> = {},
  over: Partial<RouteRequest> = {},
): RouteRequest {
  return { method: 'GET', authority, path, scheme: 'http', headers: headerGetter(headers), ...over };
}

const exact = (value: string, ignoreCase = false): StringMatcher => ({ kind: 'exact', value, ignoreCase });

function header(name: string, m: HeaderMatch, over: Partial<HeaderMatcher> = {}): HeaderMatcher {
  return { name, match: m, invert: false, treatMissingHeaderAsEmpty: false, ...over };
}

const str = (matcher: StringMatcher): HeaderMatch => ({ kind: 'string', matcher });

function query(name: string, matcher: StringMatcher | undefined, presentMatch = true): QueryParameterMatcher {
  return { name, matcher, presentMatch };
}

// ---------------------------------------------------------------------------- helpers

/** The name of the vhost an authority selects, or undefined. */
function vhostFor(rc: RouteConfiguration, authority: string): string | undefined {
  return compileRouteTable(rc).findVirtualHost(authority)?.vhost.name;
}

/** The route name one request matches in a single-vhost table, or undefined. */
function routeFor(
  routes: Route[],
  req: Partial<RouteRequest> & { headers?: RouteRequest['headers'] },
  over: Partial<RouteConfiguration> = {},
  options?: RouteTableOptions,
  random?: number,
): string | undefined {
  const table = compileRouteTable(config([vhost('vh', ['*'], routes)], over), options);
  return table.match({ ...request('host'), ...req }, random)?.route.name;
}

/** Does a single route with these match conditions match the request? */
function matches(m: RouteMatch, req: Partial<RouteRequest>, over: Partial<RouteConfiguration> = {}): boolean {
  return routeFor([route('r', m)], req, over) === 'r';
}

function withHeaders(path: string, headers: Record<string, string | string[]>): Partial<RouteRequest> {
  return { path, headers: headerGetter(headers) };
}

// ---------------------------------------------------------------------------- virtual hosts

describe('virtual host selection', () => {
  const rc = config([
    vhost('exact', ['www.foo.com']),
    vhost('dot-suffix', ['*.foo.com']),
    vhost('dash-suffix', ['*-bar.foo.com']),
    vhost('prefix', ['foo.*']),
    vhost('long-prefix', ['foo.bar.*']),
    vhost('catch-all', ['*']),
  ]);

  const cases: [string, string][] = [
    ['www.foo.com', 'exact'],
    ['WWW.Foo.COM', 'exact'], // lower-cased before lookup
    ['api.foo.com', 'dot-suffix'],
    ['baz-bar.foo.com', 'dash-suffix'], // the longest suffix wins
    ['-bar.foo.com', 'dot-suffix'], // `*-bar.foo.com` needs a non-empty remainder
    ['.foo.com', 'catch-all'], // so does `*.foo.com`
    ['foo.org', 'prefix'],
    ['foo.bar.org', 'long-prefix'], // the longest prefix wins
    ['foo.', 'catch-all'], // `foo.*` needs a non-empty remainder
    ['foo.bar.foo.com', 'dot-suffix'], // suffix wildcards come before prefix wildcards
    ['elsewhere', 'catch-all'],
    ['', 'catch-all'],
  ];
  for (const [authority, expected] of cases) {
    test(`${JSON.stringify(authority)} selects ${expected}`, () => {
      assert.equal(vhostFor(rc, authority), expected);
    });
  }

  test('no matching domain and no `*`: no virtual host, so no route', () => {
    const table = compileRouteTable(config([vhost('only', ['only.svc'])]));
    assert.equal(table.findVirtualHost('other.svc'), undefined);
    assert.equal(table.match(request('other.svc')), undefined);
  });

  test('the port takes part in matching, as istiod sends both forms', () => {
    const rc2 = config([vhost('reviews', ['reviews', 'reviews:9080']), vhost('ratings', ['ratings:9080'])]);
    assert.equal(vhostFor(rc2, 'reviews:9080'), 'reviews');
    assert.equal(vhostFor(rc2, 'reviews'), 'reviews');
    assert.equal(vhostFor(rc2, 'reviews:9081'), undefined);
    assert.equal(vhostFor(rc2, 'ratings'), undefined);
  });

  test('ignorePortInHostMatching strips the request port, never a domain port', () => {
    const rc2 = config([vhost('plain', ['reviews']), vhost('ported', ['ratings:9080'])], {
      ignorePortInHostMatching: true,
    });
    assert.equal(vhostFor(rc2, 'reviews:9081'), 'plain');
    assert.equal(vhostFor(rc2, 'ratings:9080'), undefined); // became `ratings`, and no domain says that
    assert.equal(vhostFor(config([vhost('v6', ['[::1]'])], { ignorePortInHostMatching: true }), '[::1]:80'), 'v6');
    assert.equal(vhostFor(config([vhost('v6', ['[::1]'])], { ignorePortInHostMatching: true }), '[::1]'), 'v6');
  });

  test('wildcards include ports when the domain has one', () => {
    const rc2 = config([vhost('ported', ['*.ns.svc.cluster.local:9080']), vhost('any', ['*.ns.svc.cluster.local'])]);
    assert.equal(vhostFor(rc2, 'reviews.ns.svc.cluster.local:9080'), 'ported');
    assert.equal(vhostFor(rc2, 'reviews.ns.svc.cluster.local'), 'any');
    assert.equal(vhostFor(rc2, 'reviews.ns.svc.cluster.local:9090'), undefined);
  });

  test('thousands of virtual hosts still resolve each host to its own', () => {
    const hosts = Array.from({ length: 3000 }, (_, i) =>
      vhost(`v${i}`, [`svc${i}.ns.svc.cluster.local`, `svc${i}:80`, `*.w${i}.example`, `p${i}.*`]),
    );
    const table = compileRouteTable(config(hosts));
    for (const i of [0, 7, 1234, 2999]) {
      assert.equal(table.findVirtualHost(`svc${i}.ns.svc.cluster.local`)?.vhost.name, `v${i}`);
      assert.equal(table.findVirtualHost(`svc${i}:80`)?.vhost.name, `v${i}`);
      assert.equal(table.findVirtualHost(`a.b.w${i}.example`)?.vhost.name, `v${i}`);
      assert.equal(table.findVirtualHost(`p${i}.anything`)?.vhost.name, `v${i}`);
    }
    assert.equal(table.findVirtualHost('svc3000:80'), undefined);
  });

  test('a domain in two virtual hosts, or two `*`, fails the table', () => {
    assert.throws(
      () => compileRouteTable(config([vhost('a', ['x.com']), vhost('b', ['y.com', 'X.com'])])),
      (err: unknown) =>
        err instanceof RouteCompileError &&
        err.code === 'INBOARD_ROUTE_COMPILE' &&
        err.virtualHost === 'b' &&
        err.routeIndex === undefined &&
        err.field === 'domains[1]',
    );
    assert.throws(() => compileRouteTable(config([vhost('a', ['*']), vhost('b', ['*'])])), RouteCompileError);
    assert.throws(() => compileRouteTable(config([vhost('a', ['*.x']), vhost('b', ['*.x'])])), RouteCompileError);
  });
});

// ---------------------------------------------------------------------------- path matching

describe('path matching', () => {
  test('routes are tried in order and the first match wins (no longest-prefix ranking)', () => {
    const routes = [route('short', match(prefix('/api'))), route('long', match(prefix('/api/v1')))];
    assert.equal(routeFor(routes, { path: '/api/v1/x' }), 'short');
    assert.equal(routeFor(routes, { path: '/other' }), undefined);
  });

  const cases: [string, RouteMatch, string, boolean][] = [
    ['prefix `/` matches everything', match(prefix('/')), '/anything?x=1', true],
    ['prefix is a plain string prefix', match(prefix('/api')), '/apiary', true],
    ['prefix ignores the query', match(prefix('/search')), '/search?q=1', true],
    // Envoy >= 1.14 strips the query before prefix matching (envoyproxy/envoy#15592), despite the proto comment
    ['a prefix cannot reach into the query', match(prefix('/search?q=')), '/search?q=abc', false],
    ['a prefix cannot reach into the fragment', match(prefix('/a#b')), '/a#b', false],
    ['prefix is case-sensitive by default', match(prefix('/API')), '/api/x', false],
    ['case_sensitive=false folds ASCII case', match(prefix('/API'), { caseSensitive: false }), '/api/x', true],
    ['case folding is ASCII-only', match(prefix('/Ä'), { caseSensitive: false }), '/ä', false],
    ['path is exact', match(exactPath('/foo')), '/foo', true],
    ['path ignores the query', match(exactPath('/foo')), '/foo?x=1', true],
    ['path ignores the fragment', match(exactPath('/foo')), '/foo#top', true],
    ['path needs the whole path', match(exactPath('/foo')), '/foo/', false],
    ['path honours case_sensitive=false', match(exactPath('/Foo'), { caseSensitive: false }), '/fOO?x', true],
    ['safe_regex must match the whole path', match(regexPath('/v[0-9]+')), '/v12', true],
    ['safe_regex ignores the query', match(regexPath('/v[0-9]+')), '/v12?page=2', true],
    ['safe_regex partial match is no match', match(regexPath('/v[0-9]+')), '/v12/x', false],
    ['safe_regex partial match at the end is no match', match(regexPath('[0-9]+')), '/v12', false],
    ['safe_regex ignores case_sensitive', match(regexPath('/v'), { caseSensitive: false }), '/V', false],
    ['path_separated_prefix: equal', match({ kind: 'path_separated_prefix', value: '/api/dev' }), '/api/dev', true],
    ['path_separated_prefix: slash', match({ kind: 'path_separated_prefix', value: '/api/dev' }), '/api/dev/', true],
    ['path_separated_prefix: below', match({ kind: 'path_separated_prefix', value: '/api/dev' }), '/api/dev/v1', true],
    ['path_separated_prefix: query', match({ kind: 'path_separated_prefix', value: '/api/dev' }), '/api/dev?x', true],
    [
      'path_separated_prefix: not a longer segment',
      match({ kind: 'path_separated_prefix', value: '/api/dev' }),
      '/api/developer',
      false,
    ],
    [
      'path_separated_prefix: case',
      match({ kind: 'path_separated_prefix', value: '/API' }, { caseSensitive: false }),
      '/api/x',
      true,
    ],
  ];
  for (const [name, m, path, expected] of cases) {
    test(`${name} (${path})`, () => assert.equal(matches(m, { path }), expected));
  }

  test('ignorePathParametersInPathMatching strips `;params` before path matching', () => {
    const m = match(exactPath('/foo/bar'));
    assert.equal(matches(m, { path: '/foo/bar;jsessionid=1' }), false);
    assert.equal(matches(m, { path: '/foo/bar;jsessionid=1' }, { ignorePathParametersInPathMatching: true }), true);
    assert.equal(matches(m, { path: '/foo/bar;v=1?q' }, { ignorePathParametersInPathMatching: true }), true);
    const re = match(regexPath('/foo/[a-z]+'));
    assert.equal(matches(re, { path: '/foo/bar;x' }, { ignorePathParametersInPathMatching: true }), true);
  });
});

// ---------------------------------------------------------------------------- header matching

describe('header matching', () => {
  const one = (h: HeaderMatcher, headers: Record<string, string | string[]>) =>
    matches(match(prefix('/'), { headers: [h] }), withHeaders('/', headers));

  const cases: [string, HeaderMatcher, Record<string, string | string[]>, boolean][] = [
    ['exact', header('x-v', str(exact('a'))), { 'x-v': 'a' }, true],
    ['exact is case-sensitive', header('x-v', str(exact('a'))), { 'x-v': 'A' }, false],
    ['exact ignore_case', header('x-v', str(exact('abc', true))), { 'x-v': 'AbC' }, true],
    ['prefix', header('x-v', str({ kind: 'prefix', value: 'ab', ignoreCase: false })), { 'x-v': 'abc' }, true],
    [
      'prefix ignore_case',
      header('x-v', str({ kind: 'prefix', value: 'AB', ignoreCase: true })),
      { 'x-v': 'abc' },
      true,
    ],
    ['suffix', header('x-v', str({ kind: 'suffix', value: 'bc', ignoreCase: false })), { 'x-v': 'abc' }, true],
    [
      'suffix ignore_case',
      header('x-v', str({ kind: 'suffix', value: 'BC', ignoreCase: true })),
      { 'x-v': 'abc' },
      true,
    ],
    [
      'suffix longer than value',
      header('x-v', str({ kind: 'suffix', value: 'zabc', ignoreCase: true })),
      { 'x-v': 'abc' },
      false,
    ],
    ['contains', header('x-v', str({ kind: 'contains', value: 'b', ignoreCase: false })), { 'x-v': 'abc' }, true],
    [
      'contains ignore_case',
      header('x-v', str({ kind: 'contains', value: 'B', ignoreCase: true })),
      { 'x-v': 'aBc' },
      true,
    ],
    ['regex is a full match', header('x-v', str({ kind: 'regex', regex: 'a.c' })), { 'x-v': 'abc' }, true],
    ['regex partial is no match', header('x-v', str({ kind: 'regex', regex: 'b' })), { 'x-v': 'abc' }, false],
    ['header names are matched case-insensitively', header('x-v', str(exact('a'))), { 'X-V': 'a' }, true],
    ['several values are joined with ","', header('x-v', str(exact('a,b'))), { 'x-v': ['a', 'b'] }, true],
    ['joined values: one of them alone is no match', header('x-v', str(exact('b'))), { 'x-v': ['a', 'b'] }, false],
    ['present: present', header('x-v', { kind: 'present', present: true }), { 'x-v': '' }, true],
    ['present: absent', header('x-v', { kind: 'present', present: true }), {}, false],
    ['present=false: absent', header('x-v', { kind: 'present', present: false }), {}, true],
    ['present=false: present', header('x-v', { kind: 'present', present: false }), { 'x-v': 'a' }, false],
    ['inverted present: absent', header('x-v', { kind: 'present', present: true }, { invert: true }), {}, true],
    ['inverted present=false: absent', header('x-v', { kind: 'present', present: false }, { invert: true }), {}, false],
    ['invert flips a value match', header('x-v', str(exact('a')), { invert: true }), { 'x-v': 'b' }, true],
    ['invert + missing header: still no match', header('x-v', str(exact('a')), { invert: true }), {}, false],
    [
      'treat_missing_header_as_empty: matches ""',
      header('x-v', str(exact('')), { treatMissingHeaderAsEmpty: true }),
      {},
      true,
    ],
    [
      'treat_missing_header_as_empty + invert',
      header('x-v', str(exact('a')), { treatMissingHeaderAsEmpty: true, invert: true }),
      {},
      true,
    ],
    ['range: inside', header('x-n', { kind: 'range', start: 0, end: 10 }), { 'x-n': '5' }, true],
    ['range: start is inclusive', header('x-n', { kind: 'range', start: 0, end: 10 }), { 'x-n': '0' }, true],
    ['range: end is exclusive', header('x-n', { kind: 'range', start: 0, end: 10 }), { 'x-n': '10' }, false],
    ['range: negative', header('x-n', { kind: 'range', start: -5, end: 0 }), { 'x-n': '-3' }, true],
    ['range: explicit plus sign', header('x-n', { kind: 'range', start: 0, end: 10 }), { 'x-n': '+3' }, true],
    [
      'range: surrounding whitespace (SimpleAtoi)',
      header('x-n', { kind: 'range', start: 0, end: 10 }),
      { 'x-n': ' 7 ' },
      true,
    ],
    ['range: trailing garbage', header('x-n', { kind: 'range', start: 0, end: 10 }), { 'x-n': '7a' }, false],
    ['range: hex', header('x-n', { kind: 'range', start: 0, end: 100 }), { 'x-n': '0x10' }, false],
    ['range: exponent', header('x-n', { kind: 'range', start: 0, end: 10000 }), { 'x-n': '1e3' }, false],
    ['range: decimal', header('x-n', { kind: 'range', start: 0, end: 10 }), { 'x-n': '1.5' }, false],
    ['range: empty', header('x-n', { kind: 'range', start: -1, end: 10 }), { 'x-n': '' }, false],
    [
      'range: int64 overflow',
      header('x-n', { kind: 'range', start: 0, end: 2 ** 62 }),
      { 'x-n': '99999999999999999999' },
      false,
    ],
    [
      'range: large int64',
      header('x-n', { kind: 'range', start: 0, end: 2 ** 62 }),
      { 'x-n': '4611686018427387903' },
      true,
    ],
    [
      'range + invert + missing: no match (proto example)',
      header('x-n', { kind: 'range', start: 0, end: 10 }, { invert: true }),
      {},
      false,
    ],
    [
      'range + invert: outside matches',
      header('x-n', { kind: 'range', start: 0, end: 10 }, { invert: true }),
      { 'x-n': '11' },
      true,
    ],
    [
      '`host` is an alias of :authority (the request field, not a host header)',
      header('host', str(exact('host'))),
      { host: 'ignored' },
      true,
    ],
  ];
  for (const [name, h, headers, expected] of cases) {
    test(name, () => assert.equal(one(h, headers), expected));
  }

  test('pseudo headers read the request fields', () => {
    const m = match(prefix('/'), {
      headers: [
        header(':authority', str(exact('svc:80'))),
        header(':method', str(exact('POST'))),
        header(':path', str(exact('/p?q=1'))),
        header(':scheme', str(exact('https'))),
      ],
    });
    const req = request('svc:80', '/p?q=1', {}, { method: 'POST', scheme: 'https' });
    assert.equal(matches(m, req), true);
    assert.equal(matches(m, { ...req, method: 'GET' }), false);
  });

  test('every header matcher must match', () => {
    const m = match(prefix('/'), { headers: [header('a', str(exact('1'))), header('b', str(exact('2')))] });
    assert.equal(matches(m, withHeaders('/', { a: '1', b: '2' })), true);
    assert.equal(matches(m, withHeaders('/', { a: '1', b: '3' })), false);
  });

  test('header getter accepts undici header shapes', () => {
    const m = match(prefix('/'), { headers: [header('x-v', str(exact('a,b')))] });
    assert.equal(matches(m, { headers: headerGetter(['X-V', 'a', 'x-v', 'b']) }), true);
    assert.equal(
      matches(m, {
        headers: headerGetter([
          ['x-v', 'a'],
          ['X-v', 'b'],
        ]),
      }),
      true,
    );
    assert.equal(matches(m, { headers: headerGetter(new Map([['x-v', ['a', 'b']]])) }), true);
    assert.equal(matches(m, { headers: headerGetter([Buffer.from('x-v'), Buffer.from('a,b')]) }), true);
    assert.equal(matches(m, { headers: headerGetter(null) }), false);
  });
});

// ---------------------------------------------------------------------------- query parameters

describe('query parameter matching', () => {
  const q = (qp: QueryParameterMatcher, path: string) =>
    matches(match(prefix('/'), { queryParameters: [qp] }), { path });
  const cases: [string, QueryParameterMatcher, string, boolean][] = [
    ['exact', query('a', exact('1')), '/?a=1', true],
    ['exact mismatch', query('a', exact('1')), '/?a=2', false],
    ['the first value of a repeated key wins', query('a', exact('2')), '/?a=1&a=2', false],
    ['the first value of a repeated key wins (2)', query('a', exact('1')), '/?a=1&a=2', true],
    ['values are compared raw (not percent-decoded)', query('a', exact('x y')), '/?a=x%20y', false],
    ['values are compared raw (2)', query('a', exact('x%20y')), '/?a=x%20y', true],
    ['a key without "=" has the value ""', query('debug', exact('')), '/?debug', true],
    ['a longer key is another key', query('a', undefined), '/?ab=1', false],
    ['keys are case-sensitive', query('A', undefined), '/?a=1', false],
    ['present', query('a', undefined), '/?x=1&a', true],
    ['absent', query('a', undefined), '/?x=1', false],
    ['no query at all', query('a', undefined), '/a=1', false],
    ['present_match: false matches an absent parameter', query('a', undefined, false), '/?b=1', true],
    ['present_match: false rejects a present parameter', query('a', undefined, false), '/?a=1', false],
    ['the fragment belongs to the last value', query('a', exact('1#frag')), '/?a=1#frag', true],
    ['regex value', query('id', { kind: 'regex', regex: '[0-9]+' }), '/?id=123', true],
    ['regex value is a full match', query('id', { kind: 'regex', regex: '[0-9]+' }), '/?id=12a', false],
    ['ignore_case value', query('a', exact('ABC', true)), '/?a=abc', true],
  ];
  for (const [name, qp, path, expected] of cases) {
    test(`${name} (${path})`, () => assert.equal(q(qp, path), expected));
  }
});

// ---------------------------------------------------------------------------- runtime fraction, grpc

describe('runtime_fraction', () => {
  const half = match(prefix('/'), { runtimeFraction: { numerator: 50, denominator: 100 } });

  test('matches when random % denominator < numerator (strict)', () => {
    assert.equal(routeFor([route('r', half)], {}, {}, undefined, 49), 'r');
    assert.equal(routeFor([route('r', half)], {}, {}, undefined, 50), undefined);
    assert.equal(routeFor([route('r', half)], {}, {}, undefined, 149), 'r');
    assert.equal(routeFor([route('r', half)], {}, {}, undefined, 150), undefined);
    const never = match(prefix('/'), { runtimeFraction: { numerator: 0, denominator: 1_000_000 } });
    assert.equal(routeFor([route('r', never)], {}, {}, undefined, 0), undefined);
  });

  test('one random value per lookup, drawn only when a route needs it', () => {
    let draws = 0;
    const random = () => {
      draws++;
      return 60;
    };
    const routes = [route('a', half), route('b', half), route('c', match(prefix('/')))];
    assert.equal(routeFor(routes, {}, {}, { random }), 'c'); // 60 fails both fractions
    assert.equal(draws, 1);
    assert.equal(routeFor([route('plain', match(prefix('/')))], {}, {}, { random }), 'plain');
    assert.equal(draws, 1);
  });
});

describe('grpc match', () => {
  const g = match(prefix('/'), { grpc: true });
  const cases: [string | undefined, boolean][] = [
    ['application/grpc', true],
    ['application/grpc+proto', true],
    ['application/grpc-web', false],
    ['application/json', false],
    [undefined, false],
  ];
  for (const [ct, expected] of cases) {
    test(`content-type ${ct ?? '(none)'}`, () => {
      assert.equal(matches(g, withHeaders('/', ct === undefined ? {} : { 'content-type': ct })), expected);
    });
  }
});

// ---------------------------------------------------------------------------- compile errors

describe('compile errors name the vhost, route and field', () => {
  const expectError = (routes: Route[], routeIndex: number, field: string) => {
    assert.throws(
      () => compileRouteTable(config([vhost('ok', ['a']), vhost('bad', ['b'], routes)])),
      (err: unknown) => {
        assert.ok(err instanceof RouteCompileError);
        assert.equal(err.virtualHost, 'bad');
        assert.equal(err.routeIndex, routeIndex);
        assert.equal(err.field, field);
        assert.match(err.message, /invalid RE2 pattern/);
        return true;
      },
    );
  };
  const fine = route('fine', match(prefix('/')));

  test('path regex', () => expectError([fine, route('r', match(regexPath('/(')))], 1, 'match.path'));
  test('header regex', () =>
    expectError(
      [
        route(
          'r',
          match(prefix('/'), {
            headers: [header('a', str(exact('x'))), header('b', str({ kind: 'regex', regex: '[' }))],
          }),
        ),
      ],
      0,
      'match.headers[1]',
    ));
  test('query regex', () =>
    expectError(
      [route('r', match(prefix('/'), { queryParameters: [query('a', { kind: 'regex', regex: '*' })] }))],
      0,
      'match.queryParameters[0]',
    ));
  test('regex_rewrite', () =>
    expectError(
      [route('r', match(prefix('/')), forward('c', { regexRewrite: { regex: '(?P<', substitution: '' } }))],
      0,
      'action.regexRewrite',
    ));
  test('Perl lookahead is not RE2', () => expectError([route('r', match(regexPath('/a(?=b)')))], 0, 'match.path'));
});
