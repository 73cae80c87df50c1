// Routing through the mesh dispatcher against real loopback upstreams and a real ADS server:
// matches (header, query, exact path, regex) to subsets, weighted splits, redirects, direct
// responses, path and host rewrites, header mutations, mirroring, no-route, and hosts outside
// the mesh.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { seededRandom } from '../src/cluster/index.ts';
import { type HttpRequestEvent, type OutboundMesh, REQUEST_CHANNEL } from '../src/index.ts';
import { ControlPlane, cluster, forward, type RouteIn, respond, Upstream } from './e2e-fixtures.ts';

const v1 = new Upstream('v1');
const v2 = new Upstream('v2');
const v3 = new Upstream('v3');
const shadow = new Upstream('shadow');
const outside = new Upstream('outside');
const cp = new ControlPlane();
let mesh: OutboundMesh;

const C = (subset: string) => cluster('reviews', 9080, subset);

const routes: RouteIn[] = [
  {
    name: 'by-tags',
    match: {
      prefix: '/tagged',
      query_parameters: [
        { name: 'tag', string_match: { exact: 'x' } },
        // Envoy matches the raw (still percent-encoded) value
        { name: 'q', string_match: { exact: "it's%20a%20b" } },
      ],
    },
    route: forward(C('v2')),
  },
  {
    name: 'by-host-header',
    match: { prefix: '/hostmatch', headers: [{ name: 'host', string_match: { exact: 'reviews:9080' } }] },
    route: forward(C('v2')),
  },
  {
    name: 'by-empty-exact',
    match: { prefix: '/anyvalue', headers: [{ name: 'x-any', exact_match: '' }] },
    route: forward(C('v2')),
  },
  {
    name: 'by-header',
    match: { prefix: '/reviews', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] },
    route: forward(C('v2')),
  },
  {
    name: 'by-query',
    match: { prefix: '/reviews', query_parameters: [{ name: 'version', string_match: { exact: 'v3' } }] },
    route: forward(C('v3')),
  },
  { name: 'reviews', match: { prefix: '/reviews' }, route: forward(C('v1')) },
  { name: 'exact', match: { path: '/exact' }, route: forward(C('v3')) },
  {
    name: 'regex',
    match: { safe_regex: { regex: '/items/[0-9]+' } },
    route: forward(C('v2')),
  },
  {
    name: 'split',
    match: { prefix: '/split' },
    route: {
      ...forward(''),
      cluster: undefined,
      weighted_clusters: {
        clusters: [
          { name: C('v1'), weight: { value: 80 } },
          { name: C('v2'), weight: { value: 20 } },
        ],
      },
    },
  },
  {
    name: 'header-split',
    match: { prefix: '/hdrsplit' },
    route: {
      ...forward(''),
      cluster: undefined,
      weighted_clusters: {
        header_name: 'x-split',
        clusters: [
          { name: C('v1'), weight: { value: 50 } },
          { name: C('v2'), weight: { value: 50 } },
        ],
      },
    },
  },
  { name: 'created', match: { prefix: '/created' }, direct_response: { status: 201, body: { inline_string: 'made' } } },
  { name: 'found', match: { prefix: '/found' }, direct_response: { status: 302 } },
  {
    name: 'binary',
    match: { prefix: '/favicon' },
    direct_response: { status: 200, body: { inline_bytes: new Uint8Array([0x89, 0x50, 0xff, 0x00, 0x80]) } },
  },
  {
    name: 'redirect',
    match: { prefix: '/old' },
    redirect: { host_redirect: 'ratings:9080', path_redirect: '/moved', response_code: 1 /* FOUND */ },
  },
  {
    name: 'direct',
    match: { prefix: '/teapot' },
    direct_response: { status: 418, body: { inline_string: 'short and stout' } },
  },
  { name: 'prefix-rewrite', match: { prefix: '/legacy/' }, route: forward(C('v1'), { prefix_rewrite: '/api/' }) },
  {
    name: 'regex-rewrite',
    match: { prefix: '/swap/' },
    route: forward(C('v1'), {
      regex_rewrite: { pattern: { regex: '^/swap/(\\w+)/(\\w+)$' }, substitution: '/\\2/\\1' },
    }),
  },
  {
    name: 'host-rewrite',
    match: { prefix: '/host' },
    route: forward(C('v1'), { host_rewrite_literal: 'www.example.org' }),
  },
  {
    name: 'host-rewrite-xfh',
    match: { prefix: '/xfh' },
    route: forward(C('v1'), { host_rewrite_literal: 'www.example.org', append_x_forwarded_host: true }),
  },
  {
    name: 'headers',
    match: { prefix: '/headers' },
    route: forward(C('v1')),
    request_headers_to_add: [
      { header: { key: 'x-added', value: 'yes' }, append_action: 2 /* OVERWRITE_IF_EXISTS_OR_ADD */ },
    ],
    request_headers_to_remove: ['x-drop-me'],
    response_headers_to_add: [{ header: { key: 'x-resp', value: 'added' } }],
    response_headers_to_remove: ['x-upstream-secret'],
  },
  {
    name: 'formatted-headers',
    match: { prefix: '/fmt' },
    route: forward(C('v1')),
    request_headers_to_add: [
      { header: { key: 'x-copied', value: '%REQ(x-user)%' } },
      { header: { key: 'x-alt', value: '%REQ(x-none?x-user):3%' } },
      { header: { key: 'x-where', value: '%REQ(:method)% %REQ(:authority)%%REQ(:path)%' } },
      { header: { key: 'x-client', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' } },
      { header: { key: 'x-dest', value: '%DOWNSTREAM_LOCAL_ADDRESS%' } },
      { header: { key: 'x-proto', value: '%PROTOCOL%' } },
      { header: { key: 'x-start', value: '%START_TIME%' } },
      { header: { key: 'x-env', value: '%ENVIRONMENT(INBOARD_E2E_ROUTING_ENV)%/%ENVIRONMENT(INBOARD_E2E_UNSET)%' } },
      { header: { key: 'x-cluster', value: '%UPSTREAM_CLUSTER%' } },
      { header: { key: 'x-upstream', value: '%UPSTREAM_REMOTE_ADDRESS%' } },
      { header: { key: 'x-literal', value: '100%% sure' } },
    ],
    response_headers_to_add: [
      { header: { key: 'x-served-by', value: '%UPSTREAM_REMOTE_ADDRESS%' } },
      { header: { key: 'x-code', value: '%RESPONSE_CODE%' } },
      { header: { key: 'x-user-echo', value: '%REQ(x-user)%' } },
      { header: { key: 'x-start', value: '%START_TIME%' } },
    ],
  },
  {
    name: 'mirror',
    match: { prefix: '/mirror' },
    route: forward(C('v1'), {
      request_mirror_policies: [
        { cluster: 'shadow-cluster', runtime_fraction: { default_value: { numerator: 100, denominator: 0 } } },
      ],
    }),
  },
  {
    name: 'missing-cluster',
    match: { prefix: '/nowhere' },
    route: forward('outbound|9080|gone|reviews.default.svc.cluster.local'),
  },
];

// read when the route table compiles, as Envoy reads ENVIRONMENT at configuration time
process.env.INBOARD_E2E_ROUTING_ENV = 'from-env';

const events: HttpRequestEvent[] = [];
const onEvent = (e: unknown) => events.push(e as HttpRequestEvent);

before(async () => {
  for (const u of [v1, v2, v3, shadow, outside]) await u.start();
  v1.handler = (req, res) => {
    const secret: Record<string, string> = req.url === '/headers' ? { 'x-upstream-secret': 'hide me' } : {};
    respond(res, 200, 'v1', secret);
  };
  await cp.start(
    [
      {
        name: 'reviews',
        port: 9080,
        routes,
        // Envoy reads only a domain's first and last character as wildcards
        extraVirtualHosts: [
          {
            name: 'odd-domains',
            domains: ['foo.*.com', '*.foo.*'],
            routes: [{ match: { prefix: '/' }, route: forward(C('v3')) }],
          },
        ],
      },
      // a virtual host that asks for the attempt count downstream instead of upstream
      {
        name: 'details',
        port: 9080,
        routes: [{ name: 'all', match: { prefix: '/' }, route: forward(C('v1')) }],
        vhostExtra: { include_request_attempt_count: false, include_attempt_count_in_response: true },
      },
    ],
    [
      { name: C('v1'), endpoints: [{ port: v1.port }] },
      { name: C('v2'), endpoints: [{ port: v2.port }] },
      { name: C('v3'), endpoints: [{ port: v3.port }] },
      { name: 'shadow-cluster', endpoints: [{ port: shadow.port }] },
    ],
  );
  mesh = cp.mesh({ random: seededRandom(7) });
  diagnosticsChannel.subscribe(REQUEST_CHANNEL, onEvent);
});

after(async () => {
  diagnosticsChannel.unsubscribe(REQUEST_CHANNEL, onEvent);
  await mesh.close();
  await cp.stop();
  for (const u of [v1, v2, v3, shadow, outside]) await u.stop();
});

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await request(url, { dispatcher: mesh.dispatcher, headers });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

describe('matching', () => {
  test('a header match sends the request to its subset', async () => {
    assert.equal((await get('http://reviews:9080/reviews/1', { 'end-user': 'jason' })).body, 'v2');
    assert.equal((await get('http://reviews:9080/reviews/1', { 'end-user': 'someone' })).body, 'v1');
  });

  test('a query parameter match sends the request to its subset', async () => {
    assert.equal((await get('http://reviews:9080/reviews/1?version=v3')).body, 'v3');
    assert.equal((await get('http://reviews:9080/reviews/1?version=v2')).body, 'v1');
  });

  test("undici's query option routes and reaches the upstream as undici alone would send it", async () => {
    const before = v2.seen.length;
    const query = { tag: ['x', 'y'], q: "it's a b" };
    const r = await request('http://reviews:9080/tagged', { dispatcher: mesh.dispatcher, query });
    assert.equal(await r.body.text(), 'v2');
    // node:querystring, as undici's serializePathWithQuery: repeated keys, %20 for a space
    assert.equal(v2.seen[before]!.url, "/tagged?tag=x&tag=y&q=it's%20a%20b");
    // a path that already has a query: undici's own error, before anything is sent
    await assert.rejects(
      request('http://reviews:9080/tagged?tag=x', { dispatcher: mesh.dispatcher, query: { q: 'a' } }),
      /Query params cannot be passed when url already contains "\?" or "#"/,
    );
    assert.equal(v2.seen.length, before + 1);
  });

  test('a header matcher named host matches the authority without an explicit Host header', async () => {
    assert.equal((await get('http://reviews:9080/hostmatch')).body, 'v2');
    assert.equal((await get('http://reviews:9080/hostmatch', { host: 'reviews:9080' })).body, 'v2');
    assert.equal((await get('http://reviews.default:9080/hostmatch')).body, 'v1');
  });

  test('the deprecated exact_match "" matches any value of a present header', async () => {
    assert.equal((await get('http://reviews:9080/anyvalue', { 'x-any': 'whatever' })).body, 'v2');
    assert.equal((await get('http://reviews:9080/anyvalue')).status, 404, 'the header must be present');
  });

  test("a '*' inside a domain: exact unless first (suffix wildcard) or last; the config is accepted", async () => {
    assert.equal((await get('http://reviews:9080/x', { host: 'foo.*.com' })).body, 'v3');
    assert.equal((await get('http://reviews:9080/x', { host: 'foo.bar.com' })).status, 404);
    assert.equal((await get('http://reviews:9080/x', { host: 'a.foo.*' })).body, 'v3');
  });

  test('an exact path and a regex path route to their clusters', async () => {
    assert.equal((await get('http://reviews:9080/exact')).body, 'v3');
    assert.equal((await get('http://reviews:9080/exact/more')).status, 404);
    assert.equal((await get('http://reviews:9080/items/42')).body, 'v2');
    assert.equal((await get('http://reviews:9080/items/4x')).status, 404);
  });

  test('the upstream sees the logical Host and the attempt count, not the endpoint address', async () => {
    const before = v1.seen.length;
    await get('http://reviews:9080/reviews/host-check');
    const seen = v1.seen[before]!;
    assert.equal(seen.headers.host, 'reviews:9080');
    assert.equal(seen.headers['x-envoy-attempt-count'], '1');
  });

  test("the virtual host decides where x-envoy-attempt-count goes (Envoy's include_*attempt_count*)", async () => {
    const before = v1.seen.length;
    const r = await request('http://details:9080/count', { dispatcher: mesh.dispatcher });
    await r.body.text();
    assert.equal(r.headers['x-envoy-attempt-count'], '1');
    assert.equal(v1.seen[before]!.headers['x-envoy-attempt-count'], undefined);
    // reviews' virtual host sets include_request_attempt_count only: upstream, not downstream
    const r2 = await request('http://reviews:9080/reviews/count', { dispatcher: mesh.dispatcher });
    await r2.body.text();
    assert.equal(r2.headers['x-envoy-attempt-count'], undefined);
    assert.equal(v1.seen.at(-1)!.headers['x-envoy-attempt-count'], '1');
  });

  test('every alias of the service routes (short name, namespace, FQDN)', async () => {
    assert.equal((await get('http://reviews.default:9080/reviews/1')).body, 'v1');
    assert.equal((await get('http://reviews.default.svc.cluster.local:9080/reviews/1')).body, 'v1');
  });
});

describe('weighted clusters', () => {
  test('an 80/20 split holds within tolerance', async () => {
    const counts: Record<string, number> = { v1: 0, v2: 0 };
    const n = 400;
    for (let i = 0; i < n; i++) {
      const { body } = await get('http://reviews:9080/split');
      counts[body] = (counts[body] ?? 0) + 1;
    }
    const share = counts.v1! / n;
    assert.ok(Math.abs(share - 0.8) < 0.06, `v1 got ${(share * 100).toFixed(1)}% (want 80% ± 6)`);
    assert.equal(counts.v1! + counts.v2!, n);
  });

  test("header_name: the header's value modulo the total weight picks the cluster", async () => {
    const picks = async (value: string) => {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) seen.add((await get('http://reviews:9080/hdrsplit', { 'x-split': value })).body);
      return [...seen].sort();
    };
    assert.deepEqual(await picks('0'), ['v1']);
    assert.deepEqual(await picks('1050'), ['v2']); // 1050 % 100 = 50: the second cluster's range
    assert.deepEqual(await picks('x'), ['v1', 'v2']); // unparsable: the random value
  });
});

describe('local replies', () => {
  test('a redirect route answers with Location and its status', async () => {
    const r = await get('http://reviews:9080/old/page?x=1');
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'http://ratings:9080/moved?x=1');
  });

  test('a direct response route answers with its status and body', async () => {
    const r = await get('http://reviews:9080/teapot');
    assert.equal(r.status, 418);
    assert.equal(r.body, 'short and stout');
  });

  test("a 201 or 3xx direct response carries Location: the request's URI (Envoy's router)", async () => {
    const created = await get('http://reviews:9080/created/x?q=1');
    assert.equal(created.status, 201);
    assert.equal(created.body, 'made');
    assert.equal(created.headers.location, 'http://reviews:9080/created/x?q=1');
    const found = await get('http://reviews:9080/found');
    assert.equal(found.status, 302);
    assert.equal(found.headers.location, 'http://reviews:9080/found');
    assert.equal((await get('http://reviews:9080/teapot')).headers.location, undefined);
  });

  test('an inline_bytes direct response body arrives byte for byte', async () => {
    const r = await request('http://reviews:9080/favicon', { dispatcher: mesh.dispatcher });
    assert.equal(r.statusCode, 200);
    assert.deepEqual([...Buffer.from(await r.body.arrayBuffer())], [0x89, 0x50, 0xff, 0x00, 0x80]);
    assert.equal(r.headers['content-length'], '5');
  });

  test("a caller writing into a direct response's body chunk does not change the next response", async () => {
    const handler = {
      chunks: [] as Buffer[],
      onResponseData(_c: unknown, chunk: Buffer) {
        chunk.fill(0x5a); // the caller's to keep, and to scribble on
      },
    };
    await new Promise<void>((resolve, reject) =>
      mesh.dispatcher.dispatch({ origin: 'http://reviews:9080', path: '/favicon', method: 'GET' }, {
        ...handler,
        onResponseEnd: () => resolve(),
        onResponseError: (_c: unknown, e: Error) => reject(e),
      } as never),
    );
    const r = await request('http://reviews:9080/favicon', { dispatcher: mesh.dispatcher });
    assert.deepEqual([...Buffer.from(await r.body.arrayBuffer())], [0x89, 0x50, 0xff, 0x00, 0x80]);
  });

  test('no route: 404 with flag NR, for an unmatched path and for an unknown Host', async () => {
    const r = await get('http://reviews:9080/no/such/route');
    assert.equal(r.status, 404);
    assert.equal(r.headers['x-inboard-response-flags'], 'NR');
    const h = await get('http://reviews:9080/reviews/1', { host: 'somewhere.else' });
    assert.equal(h.status, 404);
    assert.equal(h.headers['x-inboard-response-flags'], 'NR');
  });

  test('a route to a cluster that does not exist: 503 NC', async () => {
    const r = await get('http://reviews:9080/nowhere');
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-inboard-response-flags'], 'NC');
  });
});

describe('rewrites and header mutations', () => {
  test('prefix_rewrite replaces the matched prefix and keeps the original path', async () => {
    const before = v1.seen.length;
    await get('http://reviews:9080/legacy/users?id=7');
    const seen = v1.seen[before]!;
    assert.equal(seen.url, '/api/users?id=7');
    assert.equal(seen.headers['x-envoy-original-path'], '/legacy/users?id=7');
  });

  test('regex_rewrite substitutes capture groups', async () => {
    const before = v1.seen.length;
    await get('http://reviews:9080/swap/first/second');
    assert.equal(v1.seen[before]!.url, '/second/first');
  });

  test('host_rewrite_literal changes the Host the upstream sees', async () => {
    const before = v1.seen.length;
    await get('http://reviews:9080/host');
    const seen = v1.seen[before]!;
    assert.equal(seen.headers.host, 'www.example.org');
    assert.equal(seen.headers['x-envoy-original-host'], 'reviews:9080');
  });

  test('append_x_forwarded_host: a host rewrite appends the original Host to x-forwarded-host', async () => {
    const before = v1.seen.length;
    await get('http://reviews:9080/xfh');
    await get('http://reviews:9080/xfh', { 'x-forwarded-host': 'edge.example' });
    await get('http://reviews:9080/host', { 'x-forwarded-host': 'edge.example' });
    assert.equal(v1.seen[before]!.headers.host, 'www.example.org');
    assert.equal(v1.seen[before]!.headers['x-forwarded-host'], 'reviews:9080');
    assert.equal(v1.seen[before + 1]!.headers['x-forwarded-host'], 'edge.example,reviews:9080');
    assert.equal(v1.seen[before + 2]!.headers['x-forwarded-host'], 'edge.example', 'not without the flag');
  });

  test('header values with Envoy commands are evaluated per request', async () => {
    const before = v1.seen.length;
    const r = await get('http://reviews:9080/fmt/a?q=1', { 'x-user': 'jason' });
    const seen = v1.seen[before]!.headers;
    assert.equal(seen['x-copied'], 'jason');
    assert.equal(seen['x-alt'], 'jas'); // the alternative header, truncated to 3
    assert.equal(seen['x-where'], 'GET reviews:9080/fmt/a?q=1');
    assert.equal(seen['x-client'], '127.0.0.1'); // the node's IP: the downstream is this process
    assert.equal(seen['x-dest'], 'reviews:9080');
    assert.equal(seen['x-proto'], 'HTTP/1.1');
    assert.match(String(seen['x-start']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(seen['x-env'], 'from-env/-');
    assert.equal(seen['x-cluster'], C('v1'));
    assert.equal(seen['x-upstream'], undefined, 'no endpoint is chosen yet: empty, so not added');
    assert.equal(seen['x-literal'], '100% sure');
    assert.equal(r.headers['x-served-by'], `127.0.0.1:${v1.port}`);
    assert.equal(r.headers['x-code'], '200');
    assert.equal(r.headers['x-user-echo'], 'jason');
    assert.equal(r.headers['x-start'], seen['x-start'], "the response's START_TIME is the request's start too");
    // a missing header gives an empty value: the header is not added at all
    await get('http://reviews:9080/fmt/b');
    assert.equal(v1.seen[before + 1]!.headers['x-copied'], undefined);
  });

  test('request and response headers are added and removed', async () => {
    const before = v1.seen.length;
    const r = await get('http://reviews:9080/headers', { 'x-drop-me': '1', 'x-added': 'caller' });
    const seen = v1.seen[before]!;
    assert.equal(seen.headers['x-added'], 'yes');
    assert.equal(seen.headers['x-drop-me'], undefined);
    assert.equal(r.headers['x-resp'], 'added');
    assert.equal(r.headers['x-upstream-secret'], undefined);
    assert.equal(r.body, 'v1');
  });
});

describe('mirroring', () => {
  test('the mirror cluster receives a shadow copy with -shadow in its Host', async () => {
    const mirrored = shadow.received(shadow.seen.length + 1);
    const r = await request('http://reviews:9080/mirror/a', {
      dispatcher: mesh.dispatcher,
      method: 'POST',
      body: 'payload',
    });
    assert.equal(r.statusCode, 200);
    assert.equal(await r.body.text(), 'v1');
    await mirrored;
    const copy = shadow.seen.at(-1)!;
    assert.equal(copy.headers.host, 'reviews-shadow:9080');
    assert.equal(copy.url, '/mirror/a');
    assert.equal(copy.body, 'payload');
    assert.equal(copy.method, 'POST');
  });
});

describe('hosts outside the mesh', () => {
  test('pass through untouched by default', async () => {
    const before = outside.seen.length;
    const r = await get(`http://127.0.0.1:${outside.port}/plain`);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'outside');
    const seen = outside.seen[before]!;
    assert.equal(seen.headers.host, `127.0.0.1:${outside.port}`);
    assert.equal(seen.headers['x-envoy-attempt-count'], undefined);
  });

  test("get 502 with unknownHosts: 'reject'", async () => {
    const strict = cp.mesh({ unknownHosts: 'reject' });
    try {
      const before = outside.seen.length;
      const r = await request(`http://127.0.0.1:${outside.port}/plain`, { dispatcher: strict.dispatcher });
      assert.equal(r.statusCode, 502);
      await r.body.text();
      assert.equal(outside.seen.length, before, 'nothing reached the host');
      const ok = await request('http://reviews:9080/reviews/1', { dispatcher: strict.dispatcher });
      assert.equal(await ok.body.text(), 'v1');
    } finally {
      await strict.close();
    }
  });
});

describe('telemetry', () => {
  test('each request publishes one event with route, cluster, endpoint and status', async () => {
    events.length = 0;
    await get('http://reviews:9080/reviews/telemetry', { 'end-user': 'jason' });
    const e = events.find((x) => x.path === '/reviews/telemetry');
    assert.ok(e);
    assert.equal(e.kind, 'request');
    assert.equal(e.target, 'reviews:9080');
    assert.equal(e.route, 'by-header');
    assert.equal(e.cluster, C('v2'));
    assert.equal(e.endpoint, `127.0.0.1:${v2.port}`);
    assert.equal(e.status, 200);
    assert.equal(e.attempts, 1);
    assert.deepEqual(e.flags, []);
    assert.equal(e.bytes.received, 2);
    assert.ok(e.durations.totalMs >= (e.durations.responseStartMs ?? 0));
  });
});
