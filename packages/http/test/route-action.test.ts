// Route actions: cluster choice, rewrites, redirects, direct responses, header mutations and
// the policies a matched route inherits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  Action,
  ClusterWeight,
  FilterOverrides,
  HeaderFormatPart,
  HeaderMutations,
  HeaderValueOption,
  HttpFault,
  RedirectAction,
  RetryPolicy,
  Route,
  RouteAction,
  RouteConfiguration,
  RouteMatch,
  VirtualHost,
} from '@inboard/xds';
import { MutationLevel } from '../src/route/header-mutation.ts';
import {
  chooseCluster,
  compileRouteTable,
  directResponse,
  type HeaderRecord,
  headerGetter,
  RouteCompileError,
  type RouteEntry,
  type RouteRequest,
  redirectResponse,
  rewriteHost,
  rewritePath,
} from '../src/route/index.ts';
import { route as fixtureRoute, forward, match, mutations, routeConfiguration, virtualHost } from './route-fixtures.ts';

// ---------------------------------------------------------------------------- model builders

function redirect(over: Partial<RedirectAction> = {}): RedirectAction {
  return {
    kind: 'redirect',
    schemeRedirect: undefined,
    hostRedirect: undefined,
    portRedirect: undefined,
    pathRedirect: undefined,
    prefixRewrite: undefined,
    regexRewrite: undefined,
    responseCode: 301,
    stripQuery: false,
    ...over,
  };
}

function route(m: RouteMatch, action: Action, over: Partial<Route> = {}): Route {
  return fixtureRoute('r', m, action, over);
}

function vhost(routes: Route[], over: Partial<VirtualHost> = {}): VirtualHost {
  return virtualHost('vh', ['*'], routes, over);
}

function config(vh: VirtualHost, over: Partial<RouteConfiguration> = {}): RouteConfiguration {
  return routeConfiguration([vh], over);
}

function request(
  path: string,
  over: Partial<RouteRequest> = {},
  headers: Record<string, string | string[]> = {},
): RouteRequest {
  return { method: 'GET', authority: 'svc', path, scheme: 'http', headers: headerGetter(headers), ...over };
}

/** Compiles a one-route table and returns the entry `req` matches (asserting it does). */
function entryFor(
  r: Route,
  req: RouteRequest,
  vhOver: Partial<VirtualHost> = {},
  rcOver: Partial<RouteConfiguration> = {},
): RouteEntry {
  const entry = compileRouteTable(config(vhost([r], vhOver), rcOver)).match(req);
  assert.ok(entry, 'route should match');
  return entry;
}

function weight(name: string, w: number, over: Partial<ClusterWeight> = {}): ClusterWeight {
  return { name, weight: w, headerMutations: mutations(), hostRewriteLiteral: undefined, filterOverrides: {}, ...over };
}

function add(
  name: string,
  value: string,
  action: HeaderValueOption['action'] = 'APPEND_IF_EXISTS_OR_ADD',
  keepEmptyValue = false,
): HeaderValueOption {
  return { name, value, action, keepEmptyValue };
}

// ---------------------------------------------------------------------------- cluster choice

describe('cluster choice', () => {
  const weighted = forward('unused', {
    clusterSpecifier: {
      kind: 'weighted_clusters',
      clusters: [weight('a', 1), weight('b', 2), weight('zero', 0), weight('d', 3)],
      headerName: undefined,
      totalWeight: 100, // deprecated: the sum of the weights (6) is what counts
    },
  });
  const entry = entryFor(route(match({ kind: 'prefix', value: '/' }), weighted), request('/'));

  test('weighted: begin <= r % sum < end over the running sum', () => {
    const picks = [0, 1, 2, 3, 4, 5, 6, 7, 6_000_000_003].map((r) => chooseCluster(entry, request('/'), r)?.name);
    assert.deepEqual(picks, ['a', 'b', 'b', 'd', 'd', 'd', 'a', 'b', 'd']);
  });

  test("header_name: the header's uint64 value replaces the random value; otherwise the random value", () => {
    const spec = { ...weighted.clusterSpecifier, headerName: 'x-split' } as const;
    const e = entryFor(
      route(match({ kind: 'prefix', value: '/' }), forward('unused', { clusterSpecifier: spec })),
      request('/'),
    );
    const pick = (h: string | string[]) => chooseCluster(e, request('/', {}, { 'x-split': h }), 0)?.name;
    // 3 % 6 = 3 → d; ' +7 ' (SimpleAtoi trims and takes a '+') → 1 → b; 2^64-1 % 6 = 3 → d
    assert.deepEqual([pick('3'), pick(' +7 '), pick('18446744073709551615')], ['d', 'b', 'd']);
    // unparsable, negative, beyond uint64, or repeated: the random value (0 → a)
    for (const bad of ['x', '-1', '1.5', '18446744073709551616', '', ['3', '3']]) assert.equal(pick(bad), 'a');
    assert.equal(chooseCluster(e, request('/'), 1)?.name, 'b');
  });

  test('a zero weight is never picked', () => {
    for (let r = 0; r < 60; r++) assert.notEqual(chooseCluster(entry, request('/'), r)?.name, 'zero');
  });

  test('plain cluster', () => {
    const e = entryFor(route(match({ kind: 'prefix', value: '/' }), forward('reviews')), request('/'));
    assert.equal(chooseCluster(e, request('/'), 0)?.name, 'reviews');
    assert.equal(chooseCluster(e, request('/'), 0)?.weight, undefined);
  });

  test('cluster_header: first value; missing or empty names no cluster (NC)', () => {
    const e = entryFor(
      route(
        match({ kind: 'prefix', value: '/' }),
        forward('x', { clusterSpecifier: { kind: 'cluster_header', header: 'x-cluster' } }),
      ),
      request('/'),
    );
    assert.equal(chooseCluster(e, request('/', {}, { 'x-cluster': ['one', 'two'] }), 0)?.name, 'one');
    assert.equal(chooseCluster(e, request('/'), 0), undefined);
    assert.equal(chooseCluster(e, request('/', {}, { 'x-cluster': '' }), 0), undefined);
  });

  test('non-forwarding routes choose nothing', () => {
    const e = entryFor(
      route(match({ kind: 'prefix', value: '/' }), { kind: 'direct_response', status: 200, body: 'ok' }),
      request('/'),
    );
    assert.equal(chooseCluster(e, request('/'), 0), undefined);
  });

  test('weights summing to zero fail the table', () => {
    const zero = forward('x', {
      clusterSpecifier: {
        kind: 'weighted_clusters',
        clusters: [weight('a', 0)],
        totalWeight: 0,
        headerName: undefined,
      },
    });
    assert.throws(
      () => compileRouteTable(config(vhost([route(match({ kind: 'prefix', value: '/' }), zero)]))),
      (e: unknown) => e instanceof RouteCompileError && e.field === 'action.clusterSpecifier' && e.routeIndex === 0,
    );
  });
});

// ---------------------------------------------------------------------------- path rewrite

describe('path rewrite', () => {
  const rewrite = (m: RouteMatch, action: RouteAction, path: string) =>
    rewritePath(entryFor(route(m, action), request(path)), path);

  test('prefix_rewrite replaces the matched prefix and keeps the rest, query included', () => {
    assert.equal(
      rewrite(match({ kind: 'prefix', value: '/v1/' }), forward('c', { prefixRewrite: '/v2/' }), '/v1/items?x=1'),
      '/v2/items?x=1',
    );
    assert.equal(
      rewrite(match({ kind: 'prefix', value: '/prefix' }), forward('c', { prefixRewrite: '/' }), '/prefix/a'),
      '//a',
    );
    assert.equal(
      rewrite(match({ kind: 'prefix', value: '/prefix/' }), forward('c', { prefixRewrite: '/' }), '/prefix/a'),
      '/a',
    );
  });

  test('prefix_rewrite replaces as many characters as a case-insensitive prefix matched', () => {
    const m = match({ kind: 'prefix', value: '/API/' }, { caseSensitive: false });
    assert.equal(rewrite(m, forward('c', { prefixRewrite: '/v2/' }), '/api/x'), '/v2/x');
  });

  test('prefix_rewrite on an exact path or a regex match replaces the whole path, not the query', () => {
    assert.equal(
      rewrite(match({ kind: 'path', value: '/old' }), forward('c', { prefixRewrite: '/new' }), '/old?q=1'),
      '/new?q=1',
    );
    assert.equal(
      rewrite(match({ kind: 'regex', regex: '/item/[0-9]+' }), forward('c', { prefixRewrite: '/x' }), '/item/42?q'),
      '/x?q',
    );
    assert.equal(
      rewrite(
        match({ kind: 'path_separated_prefix', value: '/api' }),
        forward('c', { prefixRewrite: '/v1' }),
        '/api/x',
      ),
      '/v1/x',
    );
  });

  test('regex_rewrite replaces every match in the path, never in the query', () => {
    const a = forward('c', { regexRewrite: { regex: 'o', substitution: '0' } });
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), a, '/foo/boo?o=o'), '/f00/b00?o=o');
  });

  test('regex_rewrite capture groups use \\1 syntax; \\\\ is a backslash', () => {
    const a = forward('c', { regexRewrite: { regex: '^/service/([^/]+)(/.*)$', substitution: '\\2/instance/\\1' } });
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), a, '/service/foo/v1/api?x'), '/v1/api/instance/foo?x');
    const b = forward('c', { regexRewrite: { regex: '/(a)', substitution: '/\\\\\\1\\0' } });
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), b, '/a/a'), '/\\a/a/\\a/a');
    const dollar = forward('c', { regexRewrite: { regex: 'x', substitution: '$1$&' } });
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), dollar, '/x'), '/$1$&'); // `$` is literal in RE2 rewrites
  });

  test('regex_rewrite edge cases follow RE2::GlobalReplace', () => {
    const empty = forward('c', { regexRewrite: { regex: '.*', substitution: '' } });
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), empty, '/abc'), undefined); // empty result: no rewrite
    const missingGroup = forward('c', { regexRewrite: { regex: '(a)', substitution: '\\2' } });
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), missingGroup, '/a'), '/a'); // unknown group: untouched
    const emptyMatches = forward('c', { regexRewrite: { regex: 'x*', substitution: '-' } });
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), emptyMatches, '/ab'), '-/-a-b-');
    const badEscape = forward('c', { regexRewrite: { regex: 'b', substitution: 'X\\qY' } });
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), badEscape, '/abc'), '/aXc'); // RE2 stops at the bad escape
  });

  test('regex_rewrite: an empty match right after a match is not replaced (RE2, not Java replaceAll)', () => {
    const trailing = forward('c', { regexRewrite: { regex: '/*$', substitution: '/' } });
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), trailing, '/foo//?q'), '/foo/?q');
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), trailing, '/foo'), '/foo/');
    const star = forward('c', { regexRewrite: { regex: 'a*', substitution: 'X' } });
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), star, '/baaac'), 'X/XbXcX');
    const slashes = forward('c', { regexRewrite: { regex: '/*', substitution: '/' } });
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), slashes, '//a///b'), '/a/b/');
    // the same substitution serves a redirect's regex_rewrite
    const r = redirect({ regexRewrite: { regex: '/*$', substitution: '/' } });
    const req = request('/foo//');
    const entry = entryFor(route(match({ kind: 'prefix', value: '/' }), r), req);
    assert.equal(redirectResponse(entry, req)?.location, 'http://svc/foo/');
  });

  test('no rewrite configured: undefined (nothing to put in x-envoy-original-path)', () => {
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), forward('c'), '/a'), undefined);
    assert.equal(rewrite(match({ kind: 'prefix', value: '/' }), forward('c', { prefixRewrite: '' }), '/a'), undefined);
  });
});

// ---------------------------------------------------------------------------- host rewrite

describe('host rewrite', () => {
  const weighted = (routeOver: Partial<RouteAction>, cw: ClusterWeight) =>
    forward('x', {
      ...routeOver,
      clusterSpecifier: { kind: 'weighted_clusters', clusters: [cw], totalWeight: 1, headerName: undefined },
    });

  test('literal', () => {
    const e = entryFor(
      route(match({ kind: 'prefix', value: '/' }), forward('c', { hostRewriteLiteral: 'new.host' })),
      request('/'),
    );
    assert.equal(rewriteHost(e, chooseCluster(e, request('/'), 0), {}), 'new.host');
  });

  test('from a header: first value, empty ignored', () => {
    const e = entryFor(
      route(match({ kind: 'prefix', value: '/' }), forward('c', { hostRewriteHeader: 'X-Host' })),
      request('/'),
    );
    assert.equal(rewriteHost(e, undefined, { 'x-host': ['h1', 'h2'] }), 'h1');
    assert.equal(rewriteHost(e, undefined, { 'x-host': '' }), undefined);
    assert.equal(rewriteHost(e, undefined, {}), undefined);
  });

  test("a weighted cluster's literal applies unless the route rewrites too", () => {
    const cw = weight('a', 1, { hostRewriteLiteral: 'cluster.host' });
    const e1 = entryFor(route(match({ kind: 'prefix', value: '/' }), weighted({}, cw)), request('/'));
    assert.equal(rewriteHost(e1, chooseCluster(e1, request('/'), 0), {}), 'cluster.host');
    const e2 = entryFor(
      route(match({ kind: 'prefix', value: '/' }), weighted({ hostRewriteLiteral: 'route.host' }, cw)),
      request('/'),
    );
    assert.equal(rewriteHost(e2, chooseCluster(e2, request('/'), 0), {}), 'route.host');
  });

  test('append_x_forwarded_host: a route rewrite appends the Host it replaces, once', () => {
    const e = entryFor(
      route(
        match({ kind: 'prefix', value: '/' }),
        forward('x', { hostRewriteLiteral: 'new', appendXForwardedHost: true }),
      ),
      request('/'),
    );
    const headers: Record<string, string | string[]> = { 'x-forwarded-host': 'a' };
    assert.equal(rewriteHost(e, undefined, headers, 'svc'), 'new');
    assert.equal(headers['x-forwarded-host'], 'a,svc');
    rewriteHost(e, undefined, headers, 'svc');
    assert.equal(headers['x-forwarded-host'], 'a,svc', "Envoy's append is idempotent for the last value");
    // a weighted cluster's literal is set first: that is the Host the route's rewrite replaces
    const cw = weighted(
      { hostRewriteLiteral: 'route.host', appendXForwardedHost: true },
      weight('a', 1, { hostRewriteLiteral: 'cluster.host' }),
    );
    const e2 = entryFor(route(match({ kind: 'prefix', value: '/' }), cw), request('/'));
    const h2: Record<string, string | string[]> = {};
    assert.equal(rewriteHost(e2, chooseCluster(e2, request('/'), 0), h2, 'svc'), 'route.host');
    assert.equal(h2['x-forwarded-host'], 'cluster.host');
  });
});

// ---------------------------------------------------------------------------- redirects

describe('redirect', () => {
  const loc = (action: RedirectAction, req: RouteRequest, m: RouteMatch = match({ kind: 'prefix', value: '/' })) =>
    redirectResponse(entryFor(route(m, action), req), req);

  const cases: [string, RedirectAction, RouteRequest, string][] = [
    [
      'https redirect drops the old default port',
      redirect({ schemeRedirect: 'https' }),
      request('/p?q', { authority: 'h:80' }),
      'https://h/p?q',
    ],
    [
      'https redirect keeps a non-default port',
      redirect({ schemeRedirect: 'https' }),
      request('/p', { authority: 'h:8080' }),
      'https://h:8080/p',
    ],
    [
      'http redirect drops :443 of https',
      redirect({ schemeRedirect: 'http' }),
      request('/p', { authority: 'h:443', scheme: 'https' }),
      'http://h/p',
    ],
    [
      'same scheme keeps the port',
      redirect({ pathRedirect: '/n' }),
      request('/p', { authority: 'h:80' }),
      'http://h:80/n',
    ],
    [
      'port_redirect replaces the port',
      redirect({ portRedirect: 9000 }),
      request('/p', { authority: 'h:80' }),
      'http://h:9000/p',
    ],
    [
      'port_redirect adds a port',
      redirect({ portRedirect: 9000 }),
      request('/p', { authority: 'h' }),
      'http://h:9000/p',
    ],
    ['host_redirect', redirect({ hostRedirect: 'other' }), request('/p?q', { authority: 'h:80' }), 'http://other/p?q'],
    [
      'host_redirect + port_redirect',
      redirect({ hostRedirect: 'o', portRedirect: 1 }),
      request('/', { authority: 'h:2' }),
      'http://o:1/',
    ],
    [
      'IPv6 host port',
      redirect({ schemeRedirect: 'https' }),
      request('/', { authority: '[::1]:80' }),
      'https://[::1]/',
    ],
    [
      'path_redirect keeps the request query',
      redirect({ pathRedirect: '/new' }),
      request('/old?a=1'),
      'http://svc/new?a=1',
    ],
    [
      'a query in path_redirect replaces the request query',
      redirect({ pathRedirect: '/new?b=2' }),
      request('/old?a=1'),
      'http://svc/new?b=2',
    ],
    [
      'strip_query does not touch a query in path_redirect',
      redirect({ pathRedirect: '/new?b=2', stripQuery: true }),
      request('/old?a=1'),
      'http://svc/new?b=2',
    ],
    ['strip_query', redirect({ pathRedirect: '/new', stripQuery: true }), request('/old?a=1'), 'http://svc/new'],
    [
      'strip_query without path_redirect',
      redirect({ hostRedirect: 'o', stripQuery: true }),
      request('/p?a=1'),
      'http://o/p',
    ],
    ['a path without "/" gets one', redirect({ pathRedirect: 'rel' }), request('/x'), 'http://svc/rel'],
  ];
  for (const [name, action, req, location] of cases) {
    test(name, () => assert.deepEqual(loc(action, req), { status: 301, location }));
  }

  test('prefix_rewrite replaces the matched prefix', () => {
    const m = match({ kind: 'prefix', value: '/old/' });
    assert.equal(loc(redirect({ prefixRewrite: '/new/' }), request('/old/x?q'), m)?.location, 'http://svc/new/x?q');
  });

  test('regex_rewrite rewrites the path', () => {
    const a = redirect({ regexRewrite: { regex: '^/v1/(.*)$', substitution: '/v2/\\1' }, responseCode: 308 });
    assert.deepEqual(loc(a, request('/v1/a/b?q=1')), { status: 308, location: 'http://svc/v2/a/b?q=1' });
  });

  test('response code', () => {
    assert.equal(loc(redirect({ pathRedirect: '/x', responseCode: 307 }), request('/'))?.status, 307);
  });

  test('forwarding routes are not redirects', () => {
    const e = entryFor(route(match({ kind: 'prefix', value: '/' }), forward('c')), request('/'));
    assert.equal(redirectResponse(e, request('/')), undefined);
  });
});

describe('direct response', () => {
  test('status and body', () => {
    const e = entryFor(
      route(match({ kind: 'prefix', value: '/' }), { kind: 'direct_response', status: 418, body: 'teapot' }),
      request('/'),
    );
    assert.deepEqual(directResponse(e), { status: 418, body: 'teapot' });
    const f = entryFor(route(match({ kind: 'prefix', value: '/' }), forward('c')), request('/'));
    assert.equal(directResponse(f), undefined);
  });
});

// ---------------------------------------------------------------------------- header mutations

describe('header mutations', () => {
  /** Builds cluster/route/vhost/config levels that each add and overwrite, then runs the chain. */
  function chain(mostSpecificHeaderMutationsWins: boolean, headers: HeaderRecord = {}): HeaderRecord {
    const level = (who: string) =>
      mutations({
        requestHeadersToAdd: [add('x-set', who, 'OVERWRITE_IF_EXISTS_OR_ADD'), add('x-append', who)],
        responseHeadersToAdd: [add('x-resp', who)],
      });
    const action = forward('x', {
      clusterSpecifier: {
        kind: 'weighted_clusters',
        clusters: [weight('a', 1, { headerMutations: level('cluster') })],
        totalWeight: 1,
        headerName: undefined,
      },
    });
    const e = entryFor(
      route(match({ kind: 'prefix', value: '/' }), action, { headerMutations: level('route') }),
      request('/'),
      { headerMutations: level('vhost') },
      { headerMutations: level('config'), mostSpecificHeaderMutationsWins },
    );
    const choice = chooseCluster(e, request('/'), 0)!;
    choice.requestHeaders(headers);
    choice.responseHeaders(headers);
    return headers;
  }

  test('default order: weighted cluster, route, vhost, route config (the least specific overwrite wins)', () => {
    assert.deepEqual(chain(false), {
      'x-set': 'config',
      'x-append': ['cluster', 'route', 'vhost', 'config'],
      'x-resp': ['cluster', 'route', 'vhost', 'config'],
    });
  });

  test('most_specific_header_mutations_wins: the weighted cluster first, then config, vhost, route', () => {
    assert.deepEqual(chain(true), {
      'x-set': 'route',
      'x-append': ['cluster', 'config', 'vhost', 'route'],
      'x-resp': ['cluster', 'config', 'vhost', 'route'],
    });
  });

  test('appends go after the headers already there', () => {
    assert.deepEqual(chain(false, { 'x-append': 'orig' })['x-append'], ['orig', 'cluster', 'route', 'vhost', 'config']);
  });

  /** One route-level mutation list applied to `headers`. */
  function apply(hm: Partial<HeaderMutations>, headers: HeaderRecord): HeaderRecord {
    const e = entryFor(
      route(match({ kind: 'prefix', value: '/' }), forward('c'), { headerMutations: mutations(hm) }),
      request('/'),
    );
    e.requestHeaders(headers);
    return headers;
  }

  test('append_action table', () => {
    const adds = [
      add('h-append', 'n', 'APPEND_IF_EXISTS_OR_ADD'),
      add('h-add-if-absent', 'n', 'ADD_IF_ABSENT'),
      add('h-overwrite-or-add', 'n', 'OVERWRITE_IF_EXISTS_OR_ADD'),
      add('h-overwrite-if-exists', 'n', 'OVERWRITE_IF_EXISTS'),
    ];
    const present = {
      'h-append': 'o',
      'h-add-if-absent': 'o',
      'h-overwrite-or-add': 'o',
      'h-overwrite-if-exists': 'o',
    };
    assert.deepEqual(apply({ requestHeadersToAdd: adds }, { ...present }), {
      'h-append': ['o', 'n'],
      'h-add-if-absent': 'o',
      'h-overwrite-or-add': 'n',
      'h-overwrite-if-exists': 'n',
    });
    assert.deepEqual(apply({ requestHeadersToAdd: adds }, {}), {
      'h-append': 'n',
      'h-add-if-absent': 'n',
      'h-overwrite-or-add': 'n',
    });
  });

  test('within a level: remove first, then decide against those headers, overwrite, append', () => {
    const out = apply(
      {
        requestHeadersToRemove: ['X-Gone'],
        requestHeadersToAdd: [
          add('x-gone', 'again', 'ADD_IF_ABSENT'), // absent after the removal: added
          add('x-new', 'a', 'APPEND_IF_EXISTS_OR_ADD'),
          add('x-new', 'b', 'OVERWRITE_IF_EXISTS'), // x-new was absent when decisions were taken: skipped
          add('x-kept', 'appended', 'APPEND_IF_EXISTS_OR_ADD'),
          add('x-kept', 'set', 'OVERWRITE_IF_EXISTS_OR_ADD'), // overwrites run before appends
        ],
      },
      { 'x-gone': 'old', 'x-kept': 'old' },
    );
    assert.deepEqual(out, { 'x-gone': 'again', 'x-new': 'a', 'x-kept': ['set', 'appended'] });
  });

  test('empty values are skipped unless keep_empty_value', () => {
    const out = apply(
      { requestHeadersToAdd: [add('x-empty', ''), add('x-kept', '', 'APPEND_IF_EXISTS_OR_ADD', true)] },
      {},
    );
    assert.deepEqual(out, { 'x-kept': '' });
  });

  test('%% in a value is a literal %', () => {
    assert.deepEqual(apply({ requestHeadersToAdd: [add('x-p', '100%%')] }, {}), { 'x-p': '100%' });
  });

  test('pseudo headers and host cannot be mutated: the table fails', () => {
    for (const hm of [
      { requestHeadersToAdd: [add(':path', '/x')] },
      { requestHeadersToRemove: ['Host'] },
      { responseHeadersToAdd: [add('ok', '1'), add(':status', '200')] },
    ]) {
      assert.throws(
        () => apply(hm, {}),
        (e: unknown) => e instanceof RouteCompileError && e.routeIndex === 0 && e.field.startsWith('headerMutations.'),
      );
    }
  });
});

// ---------------------------------------------------------------------------- inherited policies

describe('policies a route inherits', () => {
  const retry = (numRetries: number): RetryPolicy => ({
    retryOn: ['5xx'],
    numRetries,
    perTryTimeout: undefined,
    perTryIdleTimeout: undefined,
    retriableStatusCodes: [],
    retriableHeaders: [],
    retriableRequestHeaders: [],
    backOff: undefined,
    hostPredicates: [],
    hostSelectionRetryMaxAttempts: 1,
    retryPriority: undefined,
  });

  test("the route's retry policy replaces the vhost's entirely", () => {
    const m = match({ kind: 'prefix', value: '/' });
    assert.equal(
      entryFor(route(m, forward('c', { retryPolicy: retry(5) })), request('/'), { retryPolicy: retry(1) }).retryPolicy
        ?.numRetries,
      5,
    );
    assert.equal(entryFor(route(m, forward('c')), request('/'), { retryPolicy: retry(1) }).retryPolicy?.numRetries, 1);
    assert.equal(entryFor(route(m, forward('c')), request('/')).retryPolicy, undefined);
  });

  test('mirror policies: the most specific non-empty list', () => {
    const mirror = (cluster: string) => ({
      cluster,
      runtimeFraction: undefined,
      traceSampled: undefined,
      disableShadowHostSuffixAppend: false,
    });
    const m = match({ kind: 'prefix', value: '/' });
    const names = (e: RouteEntry) => e.requestMirrorPolicies.map((p) => p.cluster);
    const rcOver = { requestMirrorPolicies: [mirror('rc')] };
    assert.deepEqual(
      names(
        entryFor(
          route(m, forward('c', { requestMirrorPolicies: [mirror('r')] })),
          request('/'),
          { requestMirrorPolicies: [mirror('v')] },
          rcOver,
        ),
      ),
      ['r'],
    );
    assert.deepEqual(
      names(entryFor(route(m, forward('c')), request('/'), { requestMirrorPolicies: [mirror('v')] }, rcOver)),
      ['v'],
    );
    assert.deepEqual(names(entryFor(route(m, forward('c')), request('/'), {}, rcOver)), ['rc']);
  });

  test('typed_per_filter_config: weighted cluster > route > vhost > route config', () => {
    const fault = (upstreamCluster: string): HttpFault => ({
      delay: undefined,
      abort: undefined,
      upstreamCluster,
      headers: [],
      downstreamNodes: [],
      maxActiveFaults: undefined,
    });
    const F = 'envoy.filters.http.fault';
    const R = 'envoy.filters.http.rbac';
    const C = 'envoy.filters.http.cors';
    const cors = (allowMethods: string) => ({
      kind: 'cors' as const,
      cors: {
        allowOriginStringMatch: [],
        allowMethods,
        allowHeaders: '',
        exposeHeaders: '',
        maxAge: '',
        allowCredentials: undefined,
        filterEnabled: undefined,
      },
    });
    const rcFilters: FilterOverrides = {
      [F]: { kind: 'fault', fault: fault('rc') },
      [R]: { kind: 'disabled' },
      [C]: cors('rc'),
    };
    const vhFilters: FilterOverrides = { [F]: { kind: 'fault', fault: fault('vh') }, [R]: { kind: 'enabled' } };
    const routeFilters: FilterOverrides = { [C]: cors('route') };
    const cwFilters: FilterOverrides = { [F]: { kind: 'fault', fault: fault('cw') }, [R]: { kind: 'disabled' } };
    const action = forward('x', {
      clusterSpecifier: {
        kind: 'weighted_clusters',
        clusters: [weight('a', 1, { filterOverrides: cwFilters })],
        totalWeight: 1,
        headerName: undefined,
      },
    });
    const e = entryFor(
      route(match({ kind: 'prefix', value: '/' }), action, { filterOverrides: routeFilters }),
      request('/'),
      { filterOverrides: vhFilters },
      { filterOverrides: rcFilters },
    );
    assert.equal(e.filters.fault(F)?.fault.upstreamCluster, 'vh');
    assert.equal(e.filters.disabled(R), false); // the vhost's `enabled` beats the route config's `disabled`
    assert.deepEqual(
      e.filters.all(C).map((o) => (o.kind === 'cors' ? o.cors.allowMethods : o.kind)),
      ['route', 'rc'],
    );
    const choice = chooseCluster(e, request('/'), 0)!;
    assert.equal(choice.filters.fault(F)?.fault.upstreamCluster, 'cw');
    assert.equal(choice.filters.get(R)?.kind, 'disabled');
    assert.equal(choice.filters.disabled(R), true); // the weighted cluster's entry is asked first
    assert.equal(choice.filters.get('unknown'), undefined);
  });

  test('a fault override with a bad regex fails the table', () => {
    const bad: HttpFault = {
      delay: undefined,
      abort: undefined,
      upstreamCluster: '',
      headers: [
        {
          name: 'x',
          match: { kind: 'string', matcher: { kind: 'regex', regex: '(' } },
          invert: false,
          treatMissingHeaderAsEmpty: false,
        },
      ],
      downstreamNodes: [],
      maxActiveFaults: undefined,
    };
    assert.throws(
      () =>
        compileRouteTable(
          config(
            vhost([
              route(match({ kind: 'prefix', value: '/' }), forward('c'), {
                filterOverrides: { f: { kind: 'fault', fault: bad } },
              }),
            ]),
          ),
        ),
      (e: unknown) => e instanceof RouteCompileError && e.routeIndex === 0 && e.field === 'filterOverrides["f"]',
    );
  });
});

// ---------------------------------------------------------------------------- header value commands

describe('header value commands', () => {
  // the parts @inboard/xds decodes a value into: text and `%COMMAND(SUBCOMMAND)%`s
  const cmd = (command: string, subcommand = ''): HeaderFormatPart => ({ command, subcommand, maxLength: undefined });
  // 2026-11-26T07:05:09.042Z: %START_TIME% is the stream's start the context carries, not the clock
  const START = Date.UTC(2026, 10, 26, 7, 5, 9, 42);
  const value = (format: HeaderFormatPart[], keepEmptyValue = false) => {
    const option: HeaderValueOption = {
      name: 'x-v',
      value: '(unused)',
      format,
      action: 'OVERWRITE_IF_EXISTS_OR_ADD',
      keepEmptyValue,
    };
    const level = MutationLevel.compile([option], [])!;
    const headers: Record<string, string | string[]> = {};
    level.apply(headers, {
      method: 'GET',
      authority: 'svc:80',
      path: '/p',
      scheme: 'http',
      record: headers,
      entry: undefined,
      choice: undefined,
      host: undefined,
      status: 0,
      startTime: START,
    });
    return headers['x-v'];
  };

  test('START_TIME with a format: absl/strftime specifiers in UTC, Envoy fractional seconds', () => {
    const v = String(value([cmd('START_TIME', '%s|%Y-%m-%dT%H:%M:%S|%3f|%E6S|%z %Z|%%')]));
    assert.equal(v, `${Math.floor(START / 1000)}|2026-11-26T07:05:09|042|09.042000|+0000 UTC|%`);
    assert.equal(value([cmd('START_TIME')]), '2026-11-26T07:05:09.042Z');
  });

  test('an empty result is not added, unless keep_empty_value', () => {
    assert.equal(value([cmd('REQ', 'x-none')]), undefined);
    assert.equal(value([cmd('REQ', 'x-none')], true), '');
    assert.equal(value([cmd('REQ', ':authority'), '|', cmd('DOWNSTREAM_LOCAL_PORT')]), 'svc:80|80');
  });
});
