// Golden tests: DestinationRule traffic policy → clusters (test/golden/cds.json) and the registry /
// ServiceEntry / WorkloadEntry endpoints → ClusterLoadAssignments (test/golden/eds.json).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type DestinationRule,
  type IstioObject,
  type LoadBalancerSettings,
  type MeshConfigSnapshot,
  type RegistryServiceEndpoints,
  type TrafficPolicy,
  translate,
} from '@inboard/control-plane';
import { TypeUrl } from '@inboard/xds/codec';
import { bookinfo, bookinfoEndpoints, NS, PRODUCTPAGE_NODE, SERVICES } from './golden/bookinfo.ts';
import { at, expectGolden, type Json, resource } from './golden/golden.ts';

const HOST = 'reviews.default.svc.cluster.local';
const name = (subset = '', port = 9080, host = HOST) => `outbound|${port}|${subset}|${host}`;

function reviewsDr(
  trafficPolicy: TrafficPolicy | undefined,
  subsets: DestinationRule['spec']['subsets'] = [],
): DestinationRule {
  return {
    kind: 'DestinationRule',
    metadata: { name: 'reviews', namespace: NS },
    spec: { host: 'reviews', trafficPolicy, subsets },
  };
}

/** bookinfo without its DestinationRules, plus `istio`. */
function mesh(istio: readonly IstioObject[], endpoints?: RegistryServiceEndpoints[]): MeshConfigSnapshot {
  return { istio, services: SERVICES, endpoints: endpoints ?? bookinfoEndpoints() };
}

function cds(config: MeshConfigSnapshot, cluster: string, node = PRODUCTPAGE_NODE): Json {
  return resource(translate(config, node), TypeUrl.Cluster, cluster);
}

function eds(
  config: MeshConfigSnapshot,
  cluster: string,
  node: { id: string; metadata: object; locality?: object } = PRODUCTPAGE_NODE,
): Json {
  return resource(translate(config, node as never), TypeUrl.ClusterLoadAssignment, cluster);
}

describe('CDS', () => {
  test('default and subset clusters: EDS over ADS, service_name = cluster name, alt_stat_name', () => {
    const snap = translate(bookinfo(), PRODUCTPAGE_NODE);
    const names = [...snap.resources(TypeUrl.Cluster).keys()].filter((n) => n.endsWith(HOST));
    assert.deepEqual(names, [name(), name('v1'), name('v2'), name('v3')]);
    expectGolden('cds.json', 'eds-cluster', resource(snap, TypeUrl.Cluster, name('v2')));
  });

  test('loadBalancer simple: LEAST_REQUEST, RANDOM (sent, unlike istiod), ROUND_ROBIN unset', () => {
    const out = (['LEAST_REQUEST', 'RANDOM', 'ROUND_ROBIN'] as const).map(
      (simple) => at(cds(mesh([reviewsDr({ loadBalancer: { simple } })]), name()), 'lb_policy') ?? null,
    );
    assert.deepEqual(out, [1, 3, null]);
  });

  test('warmupDurationSecs / warmup → slow_start_config of round robin and least request, as istiod sets it', () => {
    const lb = (loadBalancer: LoadBalancerSettings) => {
      const c = cds(mesh([reviewsDr({ loadBalancer })]), name());
      return {
        lb_policy: at(c, 'lb_policy') ?? null,
        round_robin: at(c, 'round_robin_lb_config') ?? null,
        least_request: at(c, 'least_request_lb_config') ?? null,
      };
    };
    // the deprecated field: only the window
    assert.deepEqual(lb({ simple: 'ROUND_ROBIN', warmupDurationSecs: '60s' }), {
      lb_policy: null,
      round_robin: { slow_start_config: { slow_start_window: { seconds: 60 } } },
      least_request: null,
    });
    // warmup: aggression 1.0 (runtime key "(") and 10 % filled in; it wins over warmupDurationSecs
    assert.deepEqual(lb({ simple: 'LEAST_REQUEST', warmupDurationSecs: '60s', warmup: { duration: '90s' } }), {
      lb_policy: 1,
      round_robin: null,
      least_request: {
        slow_start_config: {
          slow_start_window: { seconds: 90 },
          aggression: { default_value: 1, runtime_key: '(' },
          min_weight_percent: { value: 10 },
        },
      },
    });
    assert.deepEqual(lb({ warmup: { duration: '1.5s', minimumPercent: 25, aggression: 2 } }), {
      lb_policy: null,
      round_robin: {
        slow_start_config: {
          slow_start_window: { seconds: 1, nanos: 500_000_000 },
          aggression: { default_value: 2, runtime_key: '(' },
          min_weight_percent: { value: 25 },
        },
      },
      least_request: null,
    });
    // policies without slow start in Envoy: no config
    for (const loadBalancer of [
      { simple: 'RANDOM', warmupDurationSecs: '60s' },
      { simple: 'PASSTHROUGH', warmupDurationSecs: '60s' },
      { consistentHash: { httpHeaderName: 'x-user' }, warmupDurationSecs: '60s' },
    ] as const) {
      const out = lb(loadBalancer);
      assert.equal(out.round_robin, null, JSON.stringify(loadBalancer));
      assert.equal(out.least_request, null, JSON.stringify(loadBalancer));
    }
  });

  test('consistentHash: ring hash (default and explicit size), maglev', () => {
    const pick = (c: Json) => ({
      lb_policy: at(c, 'lb_policy') ?? null,
      ring: at(c, 'ring_hash_lb_config') ?? null,
      maglev: at(c, 'maglev_lb_config') ?? null,
    });
    expectGolden('cds.json', 'consistent-hash', [
      pick(cds(mesh([reviewsDr({ loadBalancer: { consistentHash: { httpHeaderName: 'x-user' } } })]), name())),
      pick(
        cds(
          mesh([
            reviewsDr({ loadBalancer: { consistentHash: { useSourceIp: true, ringHash: { minimumRingSize: 2048 } } } }),
          ]),
          name(),
        ),
      ),
      pick(
        cds(
          mesh([
            reviewsDr({
              loadBalancer: { consistentHash: { httpCookie: { name: 'c' }, maglev: { tableSize: 65537 } } },
            }),
          ]),
          name(),
        ),
      ),
    ]);
  });

  test('merging: subset over port level over top level; a port-level entry does not inherit', () => {
    const dr = reviewsDr(
      {
        loadBalancer: { simple: 'LEAST_REQUEST' },
        connectionPool: { http: { http2MaxRequests: 100 } },
        portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: 'RANDOM' } }],
      },
      [
        { name: 'v1', labels: { version: 'v1' } },
        {
          name: 'v2',
          labels: { version: 'v2' },
          trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' }, connectionPool: { tcp: { maxConnections: 7 } } },
        },
      ],
    );
    const config = mesh([dr]);
    const pick = (c: Json) => ({
      lb_policy: at(c, 'lb_policy') ?? null,
      circuit_breakers: at(c, 'circuit_breakers') ?? null,
    });
    expectGolden('cds.json', 'merge', {
      default: pick(cds(config, name())),
      v1: pick(cds(config, name('v1'))),
      v2: pick(cds(config, name('v2'))),
    });
  });

  test('connectionPool → circuit breaker thresholds and connect_timeout', () => {
    const c = cds(
      mesh([
        reviewsDr({
          connectionPool: {
            http: { http2MaxRequests: 1000, http1MaxPendingRequests: 50, maxRetries: 4, maxRequestsPerConnection: 10 },
            tcp: { maxConnections: 100, connectTimeout: '250ms' },
          },
        }),
      ]),
      name(),
    );
    expectGolden('cds.json', 'connection-pool', {
      circuit_breakers: at(c, 'circuit_breakers') ?? null,
      connect_timeout: at(c, 'connect_timeout') ?? null,
      max_requests_per_connection: at(c, 'max_requests_per_connection') ?? null,
    });
  });

  test('outlierDetection → outlier_detection and healthy_panic_threshold (sent, unlike istiod proxyless)', () => {
    const c = cds(
      mesh([
        reviewsDr({
          outlierDetection: {
            consecutive5xxErrors: 3,
            consecutiveGatewayErrors: 2,
            interval: '5s',
            baseEjectionTime: '30s',
            maxEjectionPercent: 50,
            minHealthPercent: 20,
          },
        }),
      ]),
      name(),
    );
    expectGolden('cds.json', 'outlier-detection', {
      outlier_detection: at(c, 'outlier_detection') ?? null,
      common_lb_config: at(c, 'common_lb_config') ?? null,
    });
  });

  test('tls ISTIO_MUTUAL → UpstreamTlsContext with certificate providers and the service accounts as SANs; DISABLE → none', () => {
    const mutual = cds(mesh([reviewsDr({ tls: { mode: 'ISTIO_MUTUAL' } })]), name());
    expectGolden('cds.json', 'istio-mutual', at(mutual, 'transport_socket'));
    assert.equal(at(cds(mesh([reviewsDr({ tls: { mode: 'DISABLE' } })]), name()), 'transport_socket'), undefined);
  });

  describe('TLS origination (DestinationRule tls SIMPLE / MUTUAL, the form istiod builds for Envoy sidecars)', () => {
    const UPSTREAM = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
    const PROTOCOL = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
    const apiSe = (subjectAltNames?: string[]): IstioObject => ({
      kind: 'ServiceEntry',
      metadata: { name: 'api', namespace: NS },
      spec: {
        hosts: ['api.example.com'],
        ports: [
          { number: 80, name: 'http', protocol: 'HTTP' },
          { number: 443, name: 'https', protocol: 'HTTP' },
        ],
        resolution: 'DNS',
        location: 'MESH_EXTERNAL',
        ...(subjectAltNames === undefined ? {} : { subjectAltNames }),
      },
    });
    const apiDr = (trafficPolicy: TrafficPolicy): IstioObject => ({
      kind: 'DestinationRule',
      metadata: { name: 'api', namespace: NS },
      spec: { host: 'api.example.com', trafficPolicy },
    });
    const API = (port: number) => `outbound|${port}||api.example.com`;

    test('SIMPLE with caCertificates: trusted_ca file, no SNI given → auto_sni and auto_san_validation', () => {
      const c = cds(mesh([apiSe(), apiDr({ tls: { mode: 'SIMPLE', caCertificates: '/etc/certs/ca.pem' } })]), API(443));
      assert.deepEqual(at(c, 'transport_socket'), {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': UPSTREAM,
          common_tls_context: { validation_context: { trusted_ca: { filename: '/etc/certs/ca.pem' } } },
        },
      });
      assert.deepEqual(at(c, 'typed_extension_protocol_options'), {
        [PROTOCOL]: {
          '@type': PROTOCOL,
          explicit_http_config: { http_protocol_options: {} },
          upstream_http_protocol_options: { auto_sni: true, auto_san_validation: true },
        },
      });
    });

    test('MUTUAL with sni, subjectAltNames and caCrl: client certificate files, exact SAN matchers, no auto SNI', () => {
      const tls = {
        mode: 'MUTUAL' as const,
        clientCertificate: '/etc/certs/client.pem',
        privateKey: '/etc/certs/client-key.pem',
        caCertificates: '/etc/certs/ca.pem',
        caCrl: '/etc/certs/crl.pem',
        sni: 'api.example.com',
        subjectAltNames: ['api.example.com', 'spiffe://example.com/api'],
      };
      const c = cds(mesh([apiSe(), apiDr({ tls })]), API(443));
      assert.deepEqual(at(c, 'transport_socket', 'typed_config'), {
        '@type': UPSTREAM,
        common_tls_context: {
          tls_certificates: [
            {
              certificate_chain: { filename: '/etc/certs/client.pem' },
              private_key: { filename: '/etc/certs/client-key.pem' },
            },
          ],
          validation_context: {
            trusted_ca: { filename: '/etc/certs/ca.pem' },
            match_subject_alt_names: [{ exact: 'api.example.com' }, { exact: 'spiffe://example.com/api' }],
            crl: { filename: '/etc/certs/crl.pem' },
          },
        },
        sni: 'api.example.com',
      });
      assert.equal(at(c, 'typed_extension_protocol_options'), undefined);
    });

    test('no caCertificates → system roots (ServiceEntry SANs as matchers); insecureSkipVerify → an empty validation context', () => {
      const system = cds(mesh([apiSe(['api.example.com']), apiDr({ tls: { mode: 'SIMPLE' } })]), API(443));
      assert.deepEqual(at(system, 'transport_socket', 'typed_config', 'common_tls_context'), {
        validation_context: { system_root_certs: {}, match_subject_alt_names: [{ exact: 'api.example.com' }] },
      });
      const insecure = cds(mesh([apiSe(), apiDr({ tls: { mode: 'SIMPLE', insecureSkipVerify: true } })]), API(443));
      assert.deepEqual(at(insecure, 'transport_socket', 'typed_config', 'common_tls_context'), {
        validation_context: {},
      });
      assert.deepEqual(at(insecure, 'typed_extension_protocol_options', PROTOCOL, 'upstream_http_protocol_options'), {
        auto_sni: true,
      });
    });

    test('a subset tls overrides the top level: SIMPLE on the subset cluster only', () => {
      const dr = reviewsDr(undefined, [
        { name: 'v1', labels: { version: 'v1' } },
        {
          name: 'v2',
          labels: { version: 'v2' },
          trafficPolicy: { tls: { mode: 'SIMPLE', sni: 'reviews.example.com' } },
        },
      ]);
      const config = mesh([dr]);
      assert.equal(at(cds(config, name('v1')), 'transport_socket'), undefined);
      assert.deepEqual(at(cds(config, name('v2')), 'transport_socket', 'typed_config'), {
        '@type': UPSTREAM,
        common_tls_context: { validation_context: { system_root_certs: {} } },
        sni: 'reviews.example.com',
      });
    });

    test('portLevelSettings: TLS on 443 only (the Egress TLS Origination task); credentialName → no TLS context', () => {
      const dr = apiDr({ portLevelSettings: [{ port: { number: 443 }, tls: { mode: 'SIMPLE' } }] });
      const config = mesh([apiSe(), dr]);
      assert.equal(at(cds(config, API(80)), 'transport_socket'), undefined);
      assert.notEqual(at(cds(config, API(443)), 'transport_socket'), undefined);
      const secret = apiDr({ tls: { mode: 'SIMPLE', credentialName: 'api-ca' } });
      assert.equal(at(cds(mesh([apiSe(), secret]), API(443)), 'transport_socket'), undefined);
    });
  });

  test('localityLbSetting.distribute → locality weighted LB on the cluster', () => {
    const c = cds(
      mesh([
        reviewsDr({ loadBalancer: { localityLbSetting: { distribute: [{ from: '*', to: { 'us-east1/*': 100 } }] } } }),
      ]),
      name(),
    );
    assert.deepEqual(at(c, 'common_lb_config'), { locality_weighted_lb_config: {} });
  });

  test('a DNS ServiceEntry → STRICT_DNS cluster with an inline load assignment', () => {
    const se: IstioObject = {
      kind: 'ServiceEntry',
      metadata: { name: 'httpbin', namespace: NS },
      spec: {
        hosts: ['httpbin.org'],
        ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
        resolution: 'DNS',
        location: 'MESH_EXTERNAL',
      },
    };
    expectGolden('cds.json', 'dns-service-entry', cds(mesh([se]), 'outbound|80||httpbin.org'));
  });
});

describe('EDS', () => {
  test('endpoints grouped by locality with weights, health and istio metadata; subsets filtered by labels', () => {
    const endpoints: RegistryServiceEndpoints[] = [
      ...bookinfoEndpoints().filter((e) => e.service !== 'reviews'),
      {
        service: 'reviews',
        namespace: NS,
        endpoints: [
          {
            address: '10.0.0.21',
            labels: { app: 'reviews', version: 'v1', 'security.istio.io/tlsMode': 'istio' },
            workloadName: 'reviews-v1',
            locality: 'us-east1/us-east1-b',
            serviceAccount: 'bookinfo-reviews',
          },
          {
            address: '10.0.0.24',
            labels: { app: 'reviews', version: 'v1' },
            workloadName: 'reviews-v1',
            locality: 'us-west1/us-west1-a',
            weight: 3,
          },
          {
            address: '10.0.0.22',
            labels: { app: 'reviews', version: 'v2' },
            workloadName: 'reviews-v2',
            locality: 'us-east1/us-east1-b',
            ports: { http: 19080 },
          },
          {
            address: '10.0.0.25',
            labels: { app: 'reviews', version: 'v1' },
            workloadName: 'reviews-v1',
            health: 'UNHEALTHY',
          },
        ],
      },
    ];
    const config = mesh(
      [
        reviewsDr(undefined, [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ]),
      ],
      endpoints,
    );
    expectGolden('eds.json', 'default', eds(config, name()));
    const v2 = eds(config, name('v2'));
    assert.deepEqual(at(v2, 'endpoints', 0, 'lb_endpoints', 0, 'endpoint'), {
      address: { socket_address: { address: '10.0.0.22', port_value: 19080 } },
    });
    assert.equal(
      (at(eds(config, name('v1')), 'endpoints') as Json[]).length,
      2,
      'v1 has two localities (the unhealthy endpoint is left out)',
    );
  });

  test('locality failover priorities when the DestinationRule has outlier detection', () => {
    const endpoints: RegistryServiceEndpoints[] = [
      {
        service: 'reviews',
        namespace: NS,
        endpoints: [
          { address: '10.0.1.1', locality: 'us-east1/us-east1-b/s1', labels: { app: 'reviews' } },
          { address: '10.0.1.2', locality: 'us-east1/us-east1-b/s2', labels: { app: 'reviews' } },
          { address: '10.0.1.3', locality: 'us-east1/us-east1-c', labels: { app: 'reviews' } },
          { address: '10.0.1.4', locality: 'us-west1/us-west1-a', labels: { app: 'reviews' } },
          { address: '10.0.1.5', locality: 'eu-west1/eu-west1-a', labels: { app: 'reviews' } },
        ],
      },
    ];
    const node = { ...PRODUCTPAGE_NODE, locality: { region: 'us-east1', zone: 'us-east1-b', sub_zone: 's1' } };
    const prio = (config: MeshConfigSnapshot) =>
      (at(eds(config, name(), node), 'endpoints') as Json[]).map((g) => [
        at(g, 'locality', 'sub_zone') ?? at(g, 'locality', 'zone'),
        at(g, 'priority') ?? 0,
      ]);
    // no outlier detection: every locality at priority 0
    assert.ok(prio(mesh([], endpoints)).every(([, p]) => p === 0));
    const withOutlier = mesh([reviewsDr({ outlierDetection: { consecutive5xxErrors: 5 } })], endpoints);
    assert.deepEqual(prio(withOutlier), [
      ['eu-west1-a', 3],
      ['s1', 0],
      ['s2', 1],
      ['us-east1-c', 2],
      ['us-west1-a', 3],
    ]);
    // failover from us-east1 to eu-west1 puts eu-west1 before us-west1
    const failover = mesh(
      [
        reviewsDr({
          outlierDetection: { consecutive5xxErrors: 5 },
          loadBalancer: { localityLbSetting: { failover: [{ from: 'us-east1', to: 'eu-west1' }] } },
        }),
      ],
      endpoints,
    );
    assert.deepEqual(prio(failover), [
      ['eu-west1-a', 3],
      ['s1', 0],
      ['s2', 1],
      ['us-east1-c', 2],
      ['us-west1-a', 4],
    ]);
  });

  test('localityLbSetting.distribute rewrites locality weights and empties unlisted localities', () => {
    const endpoints: RegistryServiceEndpoints[] = [
      {
        service: 'reviews',
        namespace: NS,
        endpoints: [
          { address: '10.0.1.1', locality: 'us-east1/a' },
          { address: '10.0.1.2', locality: 'us-east1/b' },
          { address: '10.0.1.3', locality: 'us-west1/a' },
        ],
      },
    ];
    const config = mesh(
      [
        reviewsDr({
          loadBalancer: {
            localityLbSetting: { distribute: [{ from: 'us-east1/*', to: { 'us-east1/a': 80, 'us-east1/b': 20 } }] },
          },
        }),
      ],
      endpoints,
    );
    const node = { ...PRODUCTPAGE_NODE, locality: { region: 'us-east1', zone: 'a' } };
    const groups = at(eds(config, name(), node), 'endpoints') as Json[];
    assert.deepEqual(
      groups.map((g) => [
        at(g, 'locality', 'region'),
        at(g, 'locality', 'zone'),
        at(g, 'load_balancing_weight', 'value'),
        (at(g, 'lb_endpoints') as Json[] | undefined)?.length ?? 0,
      ]),
      [
        ['us-east1', 'a', 80, 1],
        ['us-east1', 'b', 20, 1],
        ['us-west1', 'a', 1, 0],
      ],
    );
  });

  test('tlsMode metadata is withheld when the endpoint workload has PeerAuthentication DISABLE', () => {
    const pa: IstioObject = {
      kind: 'PeerAuthentication',
      metadata: { name: 'off', namespace: NS },
      spec: { selector: { matchLabels: { app: 'reviews', version: 'v2' } }, mtls: { mode: 'DISABLE' } },
    };
    const config = mesh([pa]);
    const eps = (at(eds(config, name()), 'endpoints', 0, 'lb_endpoints') as Json[]).map((e) => [
      at(e, 'endpoint', 'address', 'socket_address', 'address'),
      at(e, 'metadata', 'filter_metadata', 'envoy.transport_socket_match', 'tlsMode') ?? null,
    ]);
    assert.deepEqual(eps, [
      ['10.0.0.21', 'istio'],
      ['10.0.0.22', null],
      ['10.0.0.23', 'istio'],
    ]);
  });

  test('a STATIC ServiceEntry with inline endpoints and one selecting WorkloadEntries', () => {
    const istio: IstioObject[] = [
      {
        kind: 'ServiceEntry',
        metadata: { name: 'legacy', namespace: NS },
        spec: {
          hosts: ['legacy.example.com'],
          ports: [{ number: 8080, name: 'http', protocol: 'HTTP', targetPort: 18080 }],
          resolution: 'STATIC',
          location: 'MESH_INTERNAL',
          endpoints: [
            { address: '192.168.0.1', labels: { version: 'a' } },
            { address: '192.168.0.2', ports: { http: 28080 }, locality: 'dc1/r1' },
          ],
        },
      },
      {
        kind: 'ServiceEntry',
        metadata: { name: 'vms', namespace: NS },
        spec: {
          hosts: ['vm.example.com'],
          ports: [{ number: 80, name: 'http' }],
          resolution: 'STATIC',
          workloadSelector: { labels: { app: 'vm' } },
        },
      },
      {
        kind: 'WorkloadEntry',
        metadata: { name: 'vm-1', namespace: NS },
        spec: { address: '172.16.0.1', labels: { app: 'vm' }, serviceAccount: 'vm-sa' },
      },
      {
        kind: 'WorkloadEntry',
        metadata: { name: 'other', namespace: NS },
        spec: { address: '172.16.0.2', labels: { app: 'db' } },
      },
    ];
    const config = mesh(istio);
    expectGolden('eds.json', 'service-entry-static', eds(config, 'outbound|8080||legacy.example.com'));
    expectGolden('eds.json', 'workload-entry', eds(config, 'outbound|80||vm.example.com'));
  });
});
