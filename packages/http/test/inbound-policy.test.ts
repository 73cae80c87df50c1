// The engine's decisions for listener shapes beyond istiod's default, driven through a scripted
// XdsClient: per-route RBAC overrides, direct responses, no route (NR), forwarding routes, RDS,
// X-Forwarded-For, and a listener that cannot be compiled (fail closed, then recovery).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Listener, RouteConfiguration, XdsClient } from '@inboard/xds';
import { resourceTypes } from '@inboard/xds';
import {
  type AnyIn,
  type HttpConnectionManagerIn,
  type ListenerIn,
  packAny,
  type RouteConfigurationIn,
} from '@inboard/xds/codec';
import { decodeListener, ScriptedClient } from '../../../test/support/inbound-engine.ts';
import { createInboundEngine, type InboundEngine, type InboundRequestInfo } from '../src/inbound/index.ts';
import { headerGetter } from '../src/route/index.ts';

function decodeRoutes(rc: RouteConfigurationIn): RouteConfiguration {
  const r = resourceTypes.routeConfiguration.decode(packAny('envoy.config.route.v3.RouteConfiguration', rc), {
    certificateProviders: undefined,
  });
  if (!r.ok) assert.fail(r.errors.join('\n'));
  return r.value;
}

const hcm = (m: HttpConnectionManagerIn): AnyIn =>
  packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', m);
const router = {
  name: 'envoy.filters.http.router',
  typed_config: packAny('envoy.extensions.filters.http.router.v3.Router', {}),
};
/** ALLOW with no policies: nothing gets through unless a route turns the filter off. */
const allowNothing = {
  name: 'envoy.filters.http.rbac',
  typed_config: packAny('envoy.extensions.filters.http.rbac.v3.RBAC', { rules: { action: 0, policies: {} } }),
};

function listenerWith(h: HttpConnectionManagerIn): ListenerIn {
  return {
    name: 'xds.istio.io/grpc/lds/inbound/0.0.0.0:8080',
    address: { socket_address: { address: '0.0.0.0', port_value: 8080 } },
    filter_chains: [{ name: 'inbound-plaintext', filters: [{ name: 'inbound-hcmplaintext', typed_config: hcm(h) }] }],
  };
}

function info(
  target: string,
  over: Partial<InboundRequestInfo> & { headers?: never } = {},
  headers: Record<string, string> = {},
): InboundRequestInfo {
  return {
    method: 'GET',
    target,
    authority: 'reviews:8080',
    scheme: 'http',
    headers: headerGetter(headers),
    sourceIp: '10.1.2.3',
    destinationIp: '10.4.5.6',
    destinationPort: 8080,
    security: { tls: false, peer: undefined, serverName: '', alpn: '' },
    ...over,
  };
}

function engineWith(client: ScriptedClient): InboundEngine {
  return createInboundEngine({ client: client as unknown as XdsClient, listenAddress: { ip: '0.0.0.0', port: 8080 } });
}
const NAME = 'xds.istio.io/grpc/lds/inbound/0.0.0.0:8080';

describe('routes of the inbound route configuration', () => {
  const client = new ScriptedClient();
  const engine = engineWith(client);
  client.deliver(
    resourceTypes.listener,
    NAME,
    decodeListener(
      listenerWith({
        route_config: {
          name: 'inbound',
          virtual_hosts: [
            {
              name: 'inbound',
              domains: ['*'],
              routes: [
                {
                  match: { prefix: '/healthz' },
                  non_forwarding_action: {},
                  // RBACPerRoute without rbac: the filter enforces nothing here
                  typed_per_filter_config: {
                    'envoy.filters.http.rbac': packAny('envoy.extensions.filters.http.rbac.v3.RBACPerRoute', {}),
                  },
                },
                {
                  match: { prefix: '/metrics' },
                  non_forwarding_action: {},
                  typed_per_filter_config: {
                    'envoy.filters.http.rbac': packAny('envoy.config.route.v3.FilterConfig', { disabled: true }),
                  },
                },
                {
                  match: { prefix: '/open/teapot' },
                  direct_response: { status: 418, body: { inline_string: "I'm a teapot" } },
                  typed_per_filter_config: {
                    'envoy.filters.http.rbac': packAny('envoy.config.route.v3.FilterConfig', { disabled: true }),
                  },
                },
                {
                  match: { prefix: '/open/created' },
                  direct_response: { status: 201 },
                  typed_per_filter_config: {
                    'envoy.filters.http.rbac': packAny('envoy.config.route.v3.FilterConfig', { disabled: true }),
                  },
                },
                {
                  match: { prefix: '/open/bytes' },
                  direct_response: { status: 200, body: { inline_bytes: new Uint8Array([0xff, 0x00, 0x80]) } },
                  typed_per_filter_config: {
                    'envoy.filters.http.rbac': packAny('envoy.config.route.v3.FilterConfig', { disabled: true }),
                  },
                },
                {
                  match: { prefix: '/open/forward' },
                  route: { cluster: 'outbound|9080||reviews.default.svc.cluster.local' },
                  typed_per_filter_config: {
                    'envoy.filters.http.rbac': packAny('envoy.config.route.v3.FilterConfig', { disabled: true }),
                  },
                },
                { match: { prefix: '/' }, non_forwarding_action: {} },
              ],
            },
          ],
        },
        http_filters: [allowNothing, router],
      }),
    ),
  );

  test('the HCM-level ALLOW filter with no policies denies the catch-all route', () => {
    const d = engine.handle(info('/reviews'));
    assert.equal(d.action, 'deny');
    assert.equal(d.action === 'deny' && d.status, 403);
  });

  test('RBACPerRoute without rules lifts RBAC for its route; so does a disabled FilterConfig', () => {
    assert.equal(engine.handle(info('/healthz')).action, 'allow');
    assert.equal(engine.handle(info('/metrics')).action, 'allow');
  });

  test('a direct_response route answers with its status and body', () => {
    const d = engine.handle(info('/open/teapot'));
    assert.ok(d.action === 'respond');
    assert.equal(d.status, 418);
    assert.equal(d.body, "I'm a teapot");
    assert.equal(d.responseCodeDetails, 'direct_response');
  });

  test("a 201 direct_response carries Location: the request's own URI, as Envoy's router adds", () => {
    const d = engine.handle(info('/open/created/7?x=1'));
    assert.ok(d.action === 'respond');
    assert.equal(d.status, 201);
    assert.equal(d.headers.location, 'http://reviews:8080/open/created/7?x=1');
    assert.equal(
      (engine.handle(info('/open/teapot')) as { headers: Record<string, string> }).headers.location,
      undefined,
    );
  });

  test('an inline_bytes direct response body is answered byte for byte', () => {
    const d = engine.handle(info('/open/bytes'));
    assert.ok(d.action === 'respond');
    assert.deepEqual([...Buffer.from(d.body)], [0xff, 0x00, 0x80]);
  });

  test('a forwarding route cannot be served in-process: 503, as gRPC servers fail it', () => {
    const d = engine.handle(info('/open/forward'));
    assert.ok(d.action === 'deny');
    assert.equal(d.status, 503);
    assert.equal(d.responseCodeDetails, 'inbound_route_not_non_forwarding');
  });
});

describe('no route and RDS', () => {
  test('no matching route: 404 with NR (after RBAC, which allowed)', () => {
    const client = new ScriptedClient();
    const engine = engineWith(client);
    client.deliver(
      resourceTypes.listener,
      NAME,
      decodeListener(
        listenerWith({
          route_config: {
            name: 'inbound',
            virtual_hosts: [
              {
                name: 'inbound',
                domains: ['reviews:8080'],
                routes: [{ match: { prefix: '/api' }, non_forwarding_action: {} }],
              },
            ],
          },
          http_filters: [router],
        }),
      ),
    );
    assert.equal(engine.handle(info('/api/x')).action, 'allow');
    for (const d of [engine.handle(info('/other')), engine.handle(info('/api', { authority: 'elsewhere' }))]) {
      assert.ok(d.action === 'deny');
      assert.equal(d.status, 404);
      assert.equal(d.responseFlags, 'NR');
      assert.equal(d.responseCodeDetails, 'route_not_found');
    }
  });

  test('routes from RDS: the policy waits for the route configuration, then follows it', async () => {
    const client = new ScriptedClient();
    const engine = engineWith(client);
    let readyNow = false;
    void engine.ready().then(() => {
      readyNow = true;
    });
    client.deliver(
      resourceTypes.listener,
      NAME,
      decodeListener(
        listenerWith({
          rds: { route_config_name: 'inbound-routes', config_source: { ads: {} } },
          http_filters: [allowNothing, router],
        }),
      ),
    );
    assert.ok(client.watching(resourceTypes.routeConfiguration, 'inbound-routes'));
    await Promise.resolve();
    assert.equal(engine.isReady, false, 'not ready before the route configuration arrives');
    client.deliver(
      resourceTypes.routeConfiguration,
      'inbound-routes',
      decodeRoutes({
        name: 'inbound-routes',
        virtual_hosts: [
          {
            name: 'inbound',
            domains: ['*'],
            routes: [
              {
                match: { prefix: '/public' },
                non_forwarding_action: {},
                typed_per_filter_config: {
                  'envoy.filters.http.rbac': packAny('envoy.config.route.v3.FilterConfig', { disabled: true }),
                },
              },
              { match: { prefix: '/' }, non_forwarding_action: {} },
            ],
          },
        ],
      }),
    );
    await engine.ready();
    assert.ok(readyNow);
    assert.equal(engine.handle(info('/public/a')).action, 'allow');
    assert.equal(engine.handle(info('/private')).action, 'deny');
    // the route configuration disappears: no route, so no per-route override either; the HCM's
    // RBAC filter runs first and denies (the router would otherwise answer NR)
    client.absent(resourceTypes.routeConfiguration, 'inbound-routes');
    const d = engine.handle(info('/public/a'));
    assert.ok(d.action === 'deny' && d.status === 403);
    engine.close();
    assert.equal(client.watchers.size, 0, 'close() releases every watch');
  });
});

describe('remote_ip and X-Forwarded-For', () => {
  test('remote_ip is the last X-Forwarded-For address (no trusted hops), source_ip the peer', () => {
    const client = new ScriptedClient();
    const engine = engineWith(client);
    const rbac = (principal: object) => ({
      name: 'envoy.filters.http.rbac',
      typed_config: packAny('envoy.extensions.filters.http.rbac.v3.RBAC', {
        rules: { action: 0, policies: { p: { permissions: [{ any: true }], principals: [principal] } } },
      }),
    });
    client.deliver(
      resourceTypes.listener,
      NAME,
      decodeListener(
        listenerWith({
          route_config: {
            name: 'inbound',
            virtual_hosts: [
              { name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] },
            ],
          },
          http_filters: [rbac({ remote_ip: { address_prefix: '192.168.0.0', prefix_len: { value: 16 } } }), router],
        }),
      ),
    );
    assert.equal(engine.handle(info('/', {}, { 'x-forwarded-for': '1.1.1.1, 192.168.1.1' })).action, 'allow');
    assert.equal(engine.handle(info('/', {}, { 'x-forwarded-for': '192.168.1.1, 1.1.1.1' })).action, 'deny');
    assert.equal(engine.handle(info('/')).action, 'deny', 'without XFF remote_ip is the peer (10.1.2.3)');
  });
});

describe('a listener that cannot be compiled', () => {
  test('with no previous policy requests are refused; a good listener recovers', () => {
    const client = new ScriptedClient();
    const engine = engineWith(client);
    const errors: Error[] = [];
    engine.onError((e) => errors.push(e));
    const good = decodeListener(
      listenerWith({
        route_config: {
          name: 'inbound',
          virtual_hosts: [
            { name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] },
          ],
        },
        http_filters: [allowNothing, router],
      }),
    );
    // an RBAC regex RE2 rejects (the decoder's cheap screen lets an unbalanced group through)
    const chain = good.filterChains[0]!;
    const bad: Listener = {
      ...good,
      filterChains: [
        {
          ...chain,
          hcm: {
            ...chain.hcm,
            httpFilters: [
              {
                name: 'envoy.filters.http.rbac',
                disabled: false,
                config: {
                  kind: 'rbac',
                  rules: {
                    action: 'ALLOW',
                    policies: [
                      {
                        name: 'broken',
                        permissions: [{ kind: 'url_path', matcher: { kind: 'regex', regex: '(a' } }],
                        principals: [{ kind: 'any' }],
                      },
                    ],
                  },
                },
              },
              ...chain.hcm.httpFilters.slice(1),
            ],
          },
        },
      ],
    };
    client.deliver(resourceTypes.listener, NAME, bad);
    assert.equal(engine.state, 'rejected');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /broken/);
    const refused = engine.handle(info('/'));
    assert.ok(refused.action === 'deny' && refused.status === 503);

    client.deliver(resourceTypes.listener, NAME, good);
    assert.equal(engine.state, 'mesh');
    const generation = engine.generation;
    // a later bad push keeps the good policy in force
    client.deliver(resourceTypes.listener, NAME, bad);
    assert.equal(engine.state, 'mesh');
    assert.equal(engine.generation, generation);
    const d = engine.handle(info('/'));
    assert.ok(d.action === 'deny' && d.status === 403, 'the good (allow-nothing) policy still decides');
  });
});
