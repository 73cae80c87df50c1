import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AnyIn, type HttpConnectionManagerIn, type ListenerIn, packAny } from '@inboard/xds/codec';
import { type DecodeContext, listenerType } from '../src/resources/index.ts';

const ctx: DecodeContext = { certificateProviders: new Set(['default']) };

function decode(l: ListenerIn, context = ctx) {
  return listenerType.decode(packAny('envoy.config.listener.v3.Listener', l), context);
}
function decodeOk(l: ListenerIn) {
  const r = decode(l);
  if (!r.ok) assert.fail(`expected a valid resource, got:\n${r.errors.join('\n')}`);
  return r.value;
}
function errorsOf(l: ListenerIn, context = ctx): readonly string[] {
  const r = decode(l, context);
  if (r.ok) assert.fail('expected validation errors');
  return r.errors;
}

const hcm = (m: HttpConnectionManagerIn): AnyIn =>
  packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', m);
const router = {
  name: 'envoy.filters.http.router',
  typed_config: packAny('envoy.extensions.filters.http.router.v3.Router', {}),
};
const emptyFault = {
  name: 'envoy.filters.http.fault',
  typed_config: packAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {}),
};

/** istiod grpcgen lds.go: an outbound API listener per host:port. */
const outbound: ListenerIn = {
  name: 'reviews.default.svc.cluster.local:9080',
  address: { socket_address: { address: '10.96.0.12', port_value: 9080 } },
  api_listener: {
    api_listener: hcm({
      rds: { route_config_name: 'outbound|9080||reviews.default.svc.cluster.local', config_source: { ads: {} } },
      http_filters: [emptyFault, router],
      common_http_protocol_options: { max_stream_duration: { seconds: 30 } },
    }),
  },
};

test('a client API listener (istiod grpcgen shape) decodes', () => {
  const l = decodeOk(outbound);
  assert.equal(l.name, 'reviews.default.svc.cluster.local:9080');
  assert.deepEqual(l.address, { address: '10.96.0.12', port: 9080 });
  assert.deepEqual(l.filterChains, []);
  assert.deepEqual(l.apiListener, {
    routeConfigName: 'outbound|9080||reviews.default.svc.cluster.local',
    routeConfig: undefined,
    httpFilters: [
      {
        name: 'envoy.filters.http.fault',
        disabled: false,
        config: {
          kind: 'fault',
          fault: {
            delay: undefined,
            abort: undefined,
            upstreamCluster: '',
            headers: [],
            downstreamNodes: [],
            maxActiveFaults: undefined,
          },
        },
      },
      { name: 'envoy.filters.http.router', disabled: false, config: { kind: 'router' } },
    ],
    maxStreamDuration: 30_000,
    streamIdleTimeout: undefined,
    generateRequestId: true,
  });
  assert.ok(listenerType.equals(l, decodeOk(outbound)));
});

const certs = {
  tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
  tls_certificate_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
  combined_validation_context: {
    default_validation_context: {
      ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
    },
    validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
  },
};

const rbac = (action: number, principal: string) =>
  packAny('envoy.extensions.filters.http.rbac.v3.RBAC', {
    rules: {
      action,
      policies: {
        'default-deny-bad-0': {
          permissions: [
            { and_rules: { rules: [{ or_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }] } }] } },
          ],
          principals: [
            { and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { exact: principal } } }] } }] } },
          ],
        },
        'default-allow-all-0': {
          permissions: [{ any: true }],
          principals: [
            { not_id: { remote_ip: { address_prefix: '10.0.0.0', prefix_len: { value: 8 } } } },
            { header: { name: ':method', exact_match: 'GET' } },
          ],
        },
      },
    },
  });

/** istiod grpcgen lds.go buildInboundListeners, STRICT mTLS. */
const inbound: ListenerIn = {
  name: 'xds.istio.io/grpc/lds/inbound/0.0.0.0:8080',
  address: { socket_address: { address: '0.0.0.0', port_value: 8080 } },
  filter_chains: [
    {
      name: 'inbound-mtls',
      filters: [
        {
          name: 'inbound-hcmmtls',
          typed_config: hcm({
            route_config: {
              name: 'inbound',
              virtual_hosts: [
                { name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] },
              ],
            },
            http_filters: [
              {
                name: 'envoy.filters.http.rbac.DENY',
                typed_config: rbac(1, 'spiffe://cluster.local/ns/default/sa/bad'),
              },
              { name: 'envoy.filters.http.rbac', typed_config: rbac(0, 'spiffe://cluster.local/ns/default/sa/good') },
              router,
            ],
          }),
        },
      ],
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: packAny('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', {
          common_tls_context: certs,
          require_client_certificate: { value: true },
        }),
      },
    },
  ],
};

test('a server (inbound) listener as istiod builds it decodes: HCM, RBAC DENY/ALLOW, mTLS', () => {
  const l = decodeOk(inbound);
  assert.equal(l.apiListener, undefined);
  assert.equal(l.filterChains.length, 1);
  const chain = l.filterChains[0]!;
  assert.equal(chain.name, 'inbound-mtls');
  assert.equal(chain.match, undefined);
  assert.deepEqual(chain.tls, {
    identityCertificate: { instanceName: 'default', certificateName: 'default' },
    rootCertificate: { instanceName: 'default', certificateName: 'ROOTCA' },
    tlsCertificate: undefined,
    trustedCa: undefined,
    systemRootCerts: false,
    crl: undefined,
    verifyPeer: true,
    matchSubjectAltNames: [],
    sni: undefined,
    autoSni: false,
    autoSanValidation: false,
    alpnProtocols: [],
    requireClientCertificate: true,
  });
  const route = chain.hcm.routeConfig?.virtualHosts[0]?.routes[0];
  assert.deepEqual(route?.action, { kind: 'non_forwarding' });
  assert.deepEqual(
    chain.hcm.httpFilters.map((f) => [
      f.name,
      f.config.kind,
      f.config.kind === 'rbac' ? f.config.rules?.action : undefined,
    ]),
    [
      ['envoy.filters.http.rbac.DENY', 'rbac', 'DENY'],
      ['envoy.filters.http.rbac', 'rbac', 'ALLOW'],
      ['envoy.filters.http.router', 'router', undefined],
    ],
  );
  const deny = chain.hcm.httpFilters[0]!.config;
  assert.ok(deny.kind === 'rbac' && deny.rules);
  // policies sorted by name
  assert.deepEqual(
    deny.rules.policies.map((p) => p.name),
    ['default-allow-all-0', 'default-deny-bad-0'],
  );
  assert.deepEqual(deny.rules.policies[1], {
    name: 'default-deny-bad-0',
    permissions: [
      {
        kind: 'and',
        rules: [
          {
            kind: 'or',
            rules: [{ kind: 'url_path', matcher: { kind: 'prefix', value: '/admin', ignoreCase: false } }],
          },
        ],
      },
    ],
    principals: [
      {
        kind: 'and',
        ids: [
          {
            kind: 'or',
            ids: [
              {
                kind: 'authenticated',
                matcher: { kind: 'exact', value: 'spiffe://cluster.local/ns/default/sa/bad', ignoreCase: false },
              },
            ],
          },
        ],
      },
    ],
  });
  assert.deepEqual(deny.rules.policies[0]!.principals, [
    { kind: 'not', id: { kind: 'remote_ip', cidr: { addressPrefix: '10.0.0.0', prefixLen: 8 } } },
    {
      kind: 'header',
      matcher: {
        name: ':method',
        match: { kind: 'string', matcher: { kind: 'exact', value: 'GET', ignoreCase: false } },
        invert: false,
        treatMissingHeaderAsEmpty: false,
      },
    },
  ]);
});

test('only the deprecated certificate provider fields (istiod < 1.29) are enough', () => {
  const l = decodeOk({
    ...inbound,
    filter_chains: [
      {
        ...inbound.filter_chains![0],
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: packAny('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', {
            common_tls_context: {
              tls_certificate_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
              combined_validation_context: {
                default_validation_context: {},
                validation_context_certificate_provider_instance: {
                  instance_name: 'default',
                  certificate_name: 'ROOTCA',
                },
              },
            },
            require_client_certificate: { value: true },
          }),
        },
      },
    ],
  });
  const tls = l.filterChains[0]!.tls!;
  assert.deepEqual(tls.identityCertificate, { instanceName: 'default', certificateName: 'default' });
  assert.deepEqual(tls.rootCertificate, { instanceName: 'default', certificateName: 'ROOTCA' });
});

test('plaintext inbound chain, filter chain match, default filter chain', () => {
  const plain = {
    name: 'inbound-plaintext',
    filters: [
      {
        name: 'inbound-hcmplaintext',
        typed_config: hcm({
          route_config: {
            name: 'inbound',
            virtual_hosts: [
              { name: 'i', domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] },
            ],
          },
          http_filters: [router],
        }),
      },
    ],
  };
  const l = decodeOk({
    name: 'in',
    filter_chains: [
      {
        ...plain,
        filter_chain_match: {
          destination_port: { value: 8080 },
          prefix_ranges: [{ address_prefix: '10.1.0.0', prefix_len: { value: 16 } }],
          transport_protocol: 'raw_buffer',
        },
      },
    ],
    default_filter_chain: plain,
  });
  assert.equal(l.filterChains[0]!.tls, undefined);
  assert.deepEqual(l.filterChains[0]!.match, {
    destinationPort: 8080,
    prefixRanges: [{ addressPrefix: '10.1.0.0', prefixLen: 16 }],
    transportProtocol: 'raw_buffer',
    applicationProtocols: [],
    sourcePrefixRanges: [],
  });
  assert.equal(l.defaultFilterChain?.name, 'inbound-plaintext');
});

test('HTTP filters: unknown optional → unsupported, TypedStruct reports the wrapped type, disabled flag kept', () => {
  const l = decodeOk({
    name: 'l',
    api_listener: {
      api_listener: hcm({
        rds: { route_config_name: 'r', config_source: { self: {} } },
        http_filters: [
          {
            name: 'istio.stats',
            is_optional: true,
            typed_config: packAny('xds.type.v3.TypedStruct', { type_url: 'type.googleapis.com/stats.PluginConfig' }),
          },
          { name: 'envoy.filters.http.cors', typed_config: packAny('envoy.extensions.filters.http.cors.v3.Cors', {}) },
          {
            name: 'other',
            is_optional: true,
            disabled: true,
            typed_config: { type_url: 'type.googleapis.com/x.Y', value: new Uint8Array(0) },
          },
          router,
        ],
      }),
    },
  });
  assert.deepEqual(l.apiListener?.httpFilters, [
    {
      name: 'istio.stats',
      disabled: false,
      config: { kind: 'unsupported', typeUrl: 'type.googleapis.com/stats.PluginConfig' },
    },
    { name: 'envoy.filters.http.cors', disabled: false, config: { kind: 'cors' } },
    { name: 'other', disabled: true, config: { kind: 'unsupported', typeUrl: 'type.googleapis.com/x.Y' } },
    { name: 'envoy.filters.http.router', disabled: false, config: { kind: 'router' } },
  ]);
});

test('every problem of an invalid client listener is reported', () => {
  const errors = errorsOf({
    name: 'bad',
    api_listener: {
      api_listener: hcm({
        rds: { route_config_name: 'r', config_source: { path: '/etc/routes.yaml' } },
        route_config: { name: 'inline' },
        http_filters: [
          router,
          {
            name: 'envoy.filters.http.fault',
            typed_config: packAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {
              delay: { percentage: { numerator: 1, denominator: 7 } },
            }),
          },
          {
            name: 'envoy.filters.http.fault',
            typed_config: { type_url: 'type.googleapis.com/x.Required', value: new Uint8Array(0) },
          },
        ],
      }),
    },
  });
  assert.deepEqual(errors, [
    'listener.api_listener.api_listener: exactly one of rds, route_config must be set',
    'listener.api_listener.api_listener.rds.config_source: must be ads or self (routes are only fetched over the ADS stream)',
    'listener.api_listener.api_listener.http_filters[0]: the router filter must be the last filter',
    'listener.api_listener.api_listener.http_filters[1].typed_config.delay: exactly one of fixed_delay, header_delay must be set',
    'listener.api_listener.api_listener.http_filters[1].typed_config.delay.percentage.denominator: unknown denominator 7 (expected HUNDRED, TEN_THOUSAND or MILLION)',
    'listener.api_listener.api_listener.http_filters[2].name: duplicate filter name "envoy.filters.http.fault"',
    'listener.api_listener.api_listener.http_filters[2].typed_config: unsupported HTTP filter type "type.googleapis.com/x.Required" (mark the filter is_optional to skip it)',
  ]);
  assert.deepEqual(
    errorsOf({
      name: 'norouter',
      api_listener: { api_listener: hcm({ rds: { route_config_name: 'r', config_source: { ads: {} } } }) },
    }),
    [
      'listener.api_listener.api_listener.http_filters: the router filter (envoy.extensions.filters.http.router.v3.Router) must be the last filter',
    ],
  );
  assert.deepEqual(errorsOf({ name: 'empty' }), ['listener: either api_listener or filter_chains must be set']);
  assert.deepEqual(
    errorsOf({ name: 'x', api_listener: { api_listener: packAny('envoy.config.route.v3.RouteConfiguration', {}) } }),
    [
      'listener.api_listener.api_listener: must be an HttpConnectionManager (got "type.googleapis.com/envoy.config.route.v3.RouteConfiguration")',
    ],
  );
});

test('every problem of an invalid server listener is reported', () => {
  const chain = inbound.filter_chains![0]!;
  const errors = errorsOf(
    {
      name: 'in',
      filter_chains: [
        {
          ...chain,
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: packAny('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', {
              common_tls_context: {
                tls_certificate_provider_instance: { instance_name: 'spire', certificate_name: 'x' },
              },
              require_client_certificate: { value: true },
            }),
          },
        },
        {
          name: 'second',
          filter_chain_match: { server_names: ['a.example'] },
          filters: [
            {
              name: 'envoy.filters.network.tcp_proxy',
              typed_config: {
                type_url: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
                value: new Uint8Array(0),
              },
            },
          ],
        },
        { ...chain, transport_socket: { name: 'envoy.transport_sockets.alts' } },
      ],
    },
    ctx,
  );
  assert.deepEqual(errors, [
    'listener.filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificate_provider_instance.instance_name: certificate provider instance "spire" is not in the bootstrap',
    'listener.filter_chains[0].transport_socket.typed_config.common_tls_context: require_client_certificate needs a validation context with a CA certificate provider instance',
    'listener.filter_chains[1].filters[0]: unsupported network filter "envoy.filters.network.tcp_proxy": only HttpConnectionManager is supported',
    'listener.filter_chains[1].filter_chain_match.server_names: is not supported',
    'listener.filter_chains[2].transport_socket: unsupported transport socket "envoy.transport_sockets.alts"',
    'listener.filter_chains[2].filter_chain_match: same match as filter_chains[0]',
  ]);
});

test('fault filter fields and RBAC corner cases', () => {
  const l = decodeOk({
    name: 'l',
    api_listener: {
      api_listener: hcm({
        rds: { route_config_name: 'r', config_source: { ads: {} } },
        http_filters: [
          {
            name: 'envoy.filters.http.fault',
            typed_config: packAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {
              delay: { header_delay: {}, percentage: { numerator: 100 } },
              abort: { header_abort: {}, percentage: { numerator: 3, denominator: 2 } },
              upstream_cluster: 'outbound|80||a',
              headers: [{ name: 'x-fault', present_match: true }],
              downstream_nodes: ['node-a'],
              max_active_faults: { value: 7 },
            }),
          },
          {
            name: 'envoy.filters.http.rbac',
            typed_config: packAny('envoy.extensions.filters.http.rbac.v3.RBAC', {
              rules: {
                action: 1,
                policies: {
                  p: {
                    permissions: [
                      { metadata: { filter: 'istio_authn' } },
                      { not_rule: { destination_port: 8080 } },
                      { destination_ip: { address_prefix: 'fd00::', prefix_len: { value: 64 } } },
                    ],
                    principals: [
                      { filter_state: { key: 'k' } },
                      { direct_remote_ip: { address_prefix: '192.168.0.1', prefix_len: { value: 32 } } },
                    ],
                  },
                },
              },
            }),
          },
          {
            name: 'envoy.filters.http.rbac.empty',
            typed_config: packAny('envoy.extensions.filters.http.rbac.v3.RBAC', {}),
          },
          router,
        ],
      }),
    },
  });
  const [fault, rbacFilter, empty] = l.apiListener!.httpFilters;
  assert.deepEqual(fault?.config, {
    kind: 'fault',
    fault: {
      delay: { fixedDelay: undefined, headerDelay: true, percentage: { numerator: 100, denominator: 100 } },
      abort: {
        httpStatus: undefined,
        grpcStatus: undefined,
        headerAbort: true,
        percentage: { numerator: 3, denominator: 1_000_000 },
      },
      upstreamCluster: 'outbound|80||a',
      headers: [
        { name: 'x-fault', match: { kind: 'present', present: true }, invert: false, treatMissingHeaderAsEmpty: false },
      ],
      downstreamNodes: ['node-a'],
      maxActiveFaults: 7,
    },
  });
  assert.deepEqual(rbacFilter?.config, {
    kind: 'rbac',
    rules: {
      action: 'DENY',
      policies: [
        {
          name: 'p',
          permissions: [
            { kind: 'unsupported', what: 'metadata' },
            { kind: 'not', rule: { kind: 'destination_port', port: 8080 } },
            { kind: 'destination_ip', cidr: { addressPrefix: 'fd00::', prefixLen: 64 } },
          ],
          principals: [
            { kind: 'unsupported', what: 'filter_state' },
            { kind: 'direct_remote_ip', cidr: { addressPrefix: '192.168.0.1', prefixLen: 32 } },
          ],
        },
      ],
    },
  });
  assert.deepEqual(empty?.config, { kind: 'rbac', rules: undefined }, 'RBAC without rules enforces nothing');
});

test('invalid RBAC policies are reported: CEL conditions, empty lists, bad CIDRs', () => {
  const errors = errorsOf({
    name: 'l',
    api_listener: {
      api_listener: hcm({
        rds: { route_config_name: 'r', config_source: { ads: {} } },
        http_filters: [
          {
            name: 'envoy.filters.http.rbac',
            typed_config: packAny('envoy.extensions.filters.http.rbac.v3.RBAC', {
              rules: {
                policies: {
                  cel: { permissions: [{ any: true }], principals: [{ any: true }], condition: { id: 1 } },
                  empty: {},
                  cidr: {
                    permissions: [{ destination_ip: { address_prefix: 'not-an-ip' } }],
                    principals: [{ remote_ip: { address_prefix: '10.0.0.0', prefix_len: { value: 33 } } }],
                  },
                },
              },
            }),
          },
          router,
        ],
      }),
    },
  });
  const at = 'listener.api_listener.api_listener.http_filters[0].typed_config.rules.policies';
  assert.deepEqual(errors, [
    `${at}["cel"]: CEL conditions are not supported`,
    `${at}["cidr"].permissions[0].destination_ip.address_prefix: "not-an-ip" is not an IP address`,
    `${at}["cidr"].principals[0].remote_ip.prefix_len: 33 is too long for an IPv4 address`,
    `${at}["empty"].permissions: at least one permission is required`,
    `${at}["empty"].principals: at least one principal is required`,
  ]);
});
