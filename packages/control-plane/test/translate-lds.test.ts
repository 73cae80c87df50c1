// Golden tests: API listeners (every spelling a client may use), inbound server listeners with
// PeerAuthentication mTLS modes and AuthorizationPolicy RBAC, and gateway listeners
// (test/golden/lds.json).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type IstioObject, type MeshConfigSnapshot, translate } from '@inboard/control-plane';
import { TypeUrl } from '@inboard/xds/codec';
import { bookinfo, bookinfoGateway, GATEWAY_NODE, NS, PRODUCTPAGE_NODE } from './golden/bookinfo.ts';
import { at, expectGolden, type Json, resource } from './golden/golden.ts';

const INBOUND = 'xds.istio.io/grpc/lds/inbound/0.0.0.0:9080';

function listenerNames(config: MeshConfigSnapshot, node: { id: string; metadata: object }): string[] {
  return [
    ...translate(config, node as never)
      .resources(TypeUrl.Listener)
      .keys(),
  ];
}

function inbound(
  istio: readonly IstioObject[],
  node: { id: string; metadata: object } = PRODUCTPAGE_NODE,
  name = INBOUND,
): Json {
  return resource(translate(bookinfo(istio), node as never), TypeUrl.Listener, name);
}

function chain(l: Json): { name: Json | undefined; tls: boolean; filters: Json | undefined } {
  return {
    name: at(l, 'filter_chains', 0, 'name'),
    tls: at(l, 'filter_chains', 0, 'transport_socket') !== undefined,
    filters: at(l, 'filter_chains', 0, 'filters', 0, 'typed_config', 'http_filters'),
  };
}

const productpageLabels = { app: 'productpage', version: 'v1' };
const peer = (name: string, namespace: string, spec: object): IstioObject =>
  ({ kind: 'PeerAuthentication', metadata: { name, namespace }, spec }) as IstioObject;
const authz = (name: string, spec: object, namespace = NS, annotations?: Record<string, string>): IstioObject =>
  ({ kind: 'AuthorizationPolicy', metadata: { name, namespace, annotations }, spec }) as IstioObject;

describe('LDS: API listeners', () => {
  test('same namespace: FQDN, short name, name.ns, name.ns.svc; another namespace: FQDN only', () => {
    const same = listenerNames(bookinfo(), PRODUCTPAGE_NODE).filter((n) => n.startsWith('reviews'));
    assert.deepEqual(same, [
      'reviews.default.svc.cluster.local:9080',
      'reviews:9080',
      'reviews.default:9080',
      'reviews.default.svc:9080',
    ]);
    const other = listenerNames(bookinfo(), {
      id: 'sidecar~10.1.0.1~web-1.shop~shop.svc.cluster.local',
      metadata: { NAMESPACE: 'shop' },
    }).filter((n) => n.startsWith('reviews'));
    assert.deepEqual(other, ['reviews.default.svc.cluster.local:9080']);
  });

  test('listener: VIP address, HCM → RDS outbound|port||fqdn over ADS, fault then router', () => {
    expectGolden(
      'lds.json',
      'api-listener',
      resource(translate(bookinfo(), PRODUCTPAGE_NODE), TypeUrl.Listener, 'reviews:9080'),
    );
  });
});

describe('LDS: inbound listeners', () => {
  test('a node backing a service port gets inbound listeners for any address and its own IP', () => {
    const names = listenerNames(bookinfo(), PRODUCTPAGE_NODE).filter((n) => n.startsWith('xds.istio.io/'));
    assert.deepEqual(names, [
      'xds.istio.io/grpc/lds/inbound/0.0.0.0:9080',
      'xds.istio.io/grpc/lds/inbound/[::]:9080',
      'xds.istio.io/grpc/lds/inbound/10.0.0.10:9080',
    ]);
    // a node no service selects has none
    const none = listenerNames(bookinfo(), {
      id: 'sidecar~10.0.0.77~client-1.default~default.svc.cluster.local',
      metadata: { NAMESPACE: 'default', LABELS: { app: 'client' } },
    }).filter((n) => n.startsWith('xds.istio.io/'));
    assert.deepEqual(none, []);
  });

  test('no policies: plaintext chain with an inline non-forwarding route and the router', () => {
    expectGolden('lds.json', 'inbound-plaintext', inbound([]));
  });

  test('STRICT (mesh-wide): mTLS chain requiring a client certificate', () => {
    const l = inbound([peer('default', 'istio-system', { mtls: { mode: 'STRICT' } })]);
    expectGolden('lds.json', 'inbound-strict', at(l, 'filter_chains', 0));
  });

  test('PERMISSIVE → plaintext, unless the pod is labelled security.istio.io/tlsMode=istio (then STRICT)', () => {
    const permissive = [peer('default', 'istio-system', { mtls: { mode: 'PERMISSIVE' } })];
    assert.deepEqual(chain(inbound(permissive)).name, 'inbound-plaintext');
    const labelled = {
      ...PRODUCTPAGE_NODE,
      metadata: {
        ...PRODUCTPAGE_NODE.metadata,
        LABELS: { ...productpageLabels, 'security.istio.io/tlsMode': 'istio' },
      },
    };
    const c = chain(inbound(permissive, labelled));
    assert.deepEqual([c.name, c.tls], ['inbound-mtls', true]);
  });

  test('precedence: workload port level > workload > namespace > mesh; UNSET inherits', () => {
    const mesh = peer('mesh', 'istio-system', { mtls: { mode: 'STRICT' } });
    const ns = peer('ns', NS, { mtls: { mode: 'DISABLE' } });
    const wl = peer('wl', NS, { selector: { matchLabels: { app: 'productpage' } }, mtls: { mode: 'STRICT' } });
    const wlPortOff = peer('wl', NS, {
      selector: { matchLabels: { app: 'productpage' } },
      mtls: { mode: 'STRICT' },
      portLevelMtls: { '9080': { mode: 'DISABLE' } },
    });
    const wlUnset = peer('wl', NS, { selector: { matchLabels: { app: 'productpage' } }, mtls: { mode: 'UNSET' } });
    const modes = [[mesh], [mesh, ns], [mesh, ns, wl], [mesh, wlPortOff], [mesh, ns, wlUnset]].map(
      (p) => chain(inbound(p)).name,
    );
    assert.deepEqual(modes, [
      'inbound-mtls',
      'inbound-plaintext',
      'inbound-mtls',
      'inbound-plaintext',
      'inbound-plaintext',
    ]);
  });

  test('AuthorizationPolicy: DENY filter before ALLOW filter, policies keyed ns-name-ruleIndex', () => {
    const l = inbound([
      authz('deny-delete', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] }),
      authz('allow-reviews', {
        selector: { matchLabels: { app: 'productpage' } },
        rules: [
          {
            from: [
              { source: { principals: ['cluster.local/ns/default/sa/bookinfo-reviews'], namespaces: ['default'] } },
            ],
            to: [
              {
                operation: {
                  paths: ['/api/*', '/health'],
                  ports: ['9080'],
                  hosts: ['productpage*'],
                  notMethods: ['PUT'],
                },
              },
            ],
            when: [
              { key: 'request.headers[x-token]', values: ['secret'] },
              { key: 'source.ip', values: ['10.0.0.0/8'], notValues: ['10.9.0.1'] },
            ],
          },
          {},
        ],
      }),
      authz('other-workload', { selector: { matchLabels: { app: 'ratings' } }, rules: [{}] }),
      authz('audit', { action: 'AUDIT', rules: [{}] }),
      authz('dry', { action: 'DENY', rules: [{}] }, NS, { 'istio.io/dry-run': 'true' }),
      authz(
        'mesh-wide',
        { action: 'ALLOW', rules: [{ from: [{ source: { notPrincipals: ['*'] } }] }] },
        'istio-system',
      ),
    ]);
    expectGolden('lds.json', 'inbound-rbac', chain(l).filters ?? null);
  });

  test('an ALLOW policy with no rules denies everything; a DENY policy with no rules is not emitted', () => {
    const allowNothing = chain(inbound([authz('nothing', { action: 'ALLOW' })])).filters as Json[];
    assert.deepEqual(
      allowNothing.map((f) => [at(f, 'name'), at(f, 'typed_config', 'rules')]),
      [
        // action ALLOW (0) and no policies: nothing is allowed
        ['envoy.filters.http.rbac', { policies: {} }],
        ['envoy.filters.http.router', undefined],
      ],
    );
    const denyNothing = chain(inbound([authz('nothing', { action: 'DENY' })])).filters as Json[];
    assert.deepEqual(
      denyNothing.map((f) => at(f, 'name')),
      ['envoy.filters.http.router'],
    );
  });
});

describe('LDS: AuthorizationPolicy path templates', () => {
  test('{*} and {**} paths become uri_template permissions as istiod writes them', () => {
    const l = inbound([
      authz('deny-admin', {
        action: 'DENY',
        rules: [{ to: [{ operation: { paths: ['/admin/{**}', '/api/{*}/items', '/plain/*'] } }] }],
      }),
    ]);
    const rbac = (chain(l).filters as Json[])[0]!;
    const paths = at(
      rbac,
      'typed_config',
      'rules',
      'policies',
      'default-deny-admin-0',
      'permissions',
      0,
      'and_rules',
      'rules',
      0,
      'or_rules',
      'rules',
    );
    const template = (t: string) => ({
      uri_template: {
        name: 'uri-template',
        typed_config: {
          '@type': 'envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig',
          path_template: t,
        },
      },
    });
    assert.deepEqual(paths, [
      template('/admin/**'),
      template('/api/*/items'),
      { url_path: { path: { prefix: '/plain/' } } },
    ]);
  });
});

describe('LDS: gateways', () => {
  test('a gateway workload gets 0.0.0.0_<port> API listeners routed by http.<port>', () => {
    const snap = translate(bookinfo(bookinfoGateway), GATEWAY_NODE as never);
    expectGolden('lds.json', 'gateway-listener', resource(snap, TypeUrl.Listener, '0.0.0.0_8080'));
    const rc = resource(snap, TypeUrl.RouteConfiguration, 'http.8080');
    assert.deepEqual(at(rc, 'virtual_hosts', 0, 'name'), '*:8080');
    assert.equal((at(rc, 'virtual_hosts', 0, 'routes') as Json[]).length, 5);
    // a sidecar is not a gateway workload
    assert.equal(
      translate(bookinfo(bookinfoGateway), PRODUCTPAGE_NODE).resource(TypeUrl.Listener, '0.0.0.0_8080'),
      undefined,
    );
  });

  test('server hosts × VirtualService hosts make the virtual hosts; namespaces in server hosts restrict VirtualServices', () => {
    const istio: IstioObject[] = [
      {
        kind: 'Gateway',
        metadata: { name: 'gw', namespace: 'istio-system' },
        spec: {
          selector: { istio: 'ingressgateway' },
          servers: [
            { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['default/*.example.com', 'shop/*'] },
            {
              port: { number: 443, name: 'https', protocol: 'HTTPS' },
              hosts: ['*'],
              tls: { mode: 'SIMPLE', credentialName: 'cert' },
            },
          ],
        },
      },
      {
        kind: 'VirtualService',
        metadata: { name: 'shop-site', namespace: 'default' },
        spec: {
          hosts: ['shop.example.com', 'other.test'],
          gateways: ['istio-system/gw'],
          http: [{ name: 'to-productpage', route: [{ destination: { host: 'productpage' } }] }],
        },
      },
      {
        kind: 'VirtualService',
        metadata: { name: 'not-bound', namespace: 'default' },
        spec: { hosts: ['x.example.com'], http: [{ route: [{ destination: { host: 'details' } }] }] },
      },
    ];
    const snap = translate(bookinfo(istio), GATEWAY_NODE as never);
    const rc = resource(snap, TypeUrl.RouteConfiguration, 'http.80');
    assert.deepEqual(
      (at(rc, 'virtual_hosts') as Json[]).map((v) => [
        at(v, 'name'),
        at(v, 'domains'),
        at(v, 'routes', 0, 'route', 'cluster'),
      ]),
      [
        [
          'shop.example.com:80',
          ['shop.example.com', 'shop.example.com:80'],
          'outbound|9080||productpage.default.svc.cluster.local',
        ],
      ],
    );
    // TLS-terminating servers are not served to proxyless gateways
    assert.equal(snap.resource(TypeUrl.Listener, '0.0.0.0_443'), undefined);
  });
});
