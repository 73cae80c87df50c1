import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ClusterIn, type envoy, jsToStruct, packAny } from '@inboard/xds/codec';
import { clusterType, type DecodeContext } from '../src/resources/index.ts';

const ctx: DecodeContext = { certificateProviders: new Set(['default']) };

function decode(c: ClusterIn, context = ctx) {
  return clusterType.decode(packAny('envoy.config.cluster.v3.Cluster', c), context);
}
function decodeOk(c: ClusterIn, context = ctx) {
  const r = decode(c, context);
  if (!r.ok) assert.fail(`expected a valid resource, got:\n${r.errors.join('\n')}`);
  return r.value;
}
function errorsOf(c: ClusterIn, context = ctx): readonly string[] {
  const r = decode(c, context);
  if (r.ok) assert.fail('expected validation errors');
  return r.errors;
}

const NAME = 'outbound|9080|v2|reviews.default.svc.cluster.local';

/** istiod grpcgen cds.go with DestinationRule ISTIO_MUTUAL + consistent hash + http2MaxRequests. */
const istioMutual: ClusterIn = {
  name: NAME,
  alt_stat_name: 'outbound_9080_v2_reviews.default.svc.cluster.local',
  type: 3,
  eds_cluster_config: { service_name: NAME, eds_config: { ads: {} } },
  lb_policy: 2,
  ring_hash_lb_config: { minimum_ring_size: { value: 2048 } },
  circuit_breakers: { thresholds: [{ max_requests: { value: 100 } }] },
  transport_socket: {
    name: 'envoy.transport_sockets.tls',
    typed_config: packAny('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
      common_tls_context: {
        tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
        tls_certificate_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
        combined_validation_context: {
          default_validation_context: {
            match_subject_alt_names: [{ exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews' }],
            ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
          },
          validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
        },
      },
    }),
  },
  metadata: {
    filter_metadata: {
      istio: jsToStruct({
        services: [{ host: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' }],
        subset: 'v2',
      }),
    },
  },
};

test('an istiod EDS cluster with ISTIO_MUTUAL, ring hash and a request limit decodes with defaults', () => {
  const c = decodeOk(istioMutual);
  assert.equal(c.name, NAME);
  assert.equal(c.type, 'EDS');
  assert.equal(c.edsServiceName, NAME);
  assert.equal(c.altStatName, 'outbound_9080_v2_reviews.default.svc.cluster.local');
  assert.equal(c.lbPolicy, 'RING_HASH');
  assert.deepEqual(c.ringHash, { minimumRingSize: 2048, maximumRingSize: 8 * 1024 * 1024 });
  assert.equal(c.connectTimeout, 5000);
  assert.deepEqual(c.circuitBreakers, [
    { priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 100, maxRetries: 3 },
    { priority: 'HIGH', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
  ]);
  assert.equal(c.outlierDetection, undefined);
  assert.equal(c.healthyPanicThreshold, 50);
  assert.equal(c.localityWeightedLb, false);
  assert.equal(c.http2, false);
  assert.deepEqual(c.tls, {
    identityCertificate: { instanceName: 'default', certificateName: 'default' },
    rootCertificate: { instanceName: 'default', certificateName: 'ROOTCA' },
    tlsCertificate: undefined,
    trustedCa: undefined,
    systemRootCerts: false,
    crl: undefined,
    verifyPeer: true,
    matchSubjectAltNames: [
      { kind: 'exact', value: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews', ignoreCase: false },
    ],
    sni: undefined,
    autoSni: false,
    autoSanValidation: false,
    alpnProtocols: [],
    requireClientCertificate: false,
  });
  assert.deepEqual(c.istioMetadata, {
    services: [{ host: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' }],
    subset: 'v2',
  });
  assert.ok(clusterType.equals(c, decodeOk(istioMutual)));
  assert.ok(!clusterType.equals(c, decodeOk({ ...istioMutual, alt_stat_name: 'other' })));
});

test('istiod < 1.29 sends only the deprecated certificate provider fields: still mTLS', () => {
  const c = decodeOk({
    name: 'c',
    type: 3,
    eds_cluster_config: { eds_config: { ads: {} } },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: packAny('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
        sni: 'outbound_.9080_._.reviews.default.svc.cluster.local',
        common_tls_context: {
          tls_certificate_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
          combined_validation_context: {
            default_validation_context: { match_subject_alt_names: [{ prefix: 'spiffe://cluster.local/' }] },
            validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
          },
          alpn_protocols: ['istio-h2', 'istio'],
        },
      }),
    },
  });
  assert.equal(c.edsServiceName, 'c', 'without service_name the EDS name is the cluster name');
  assert.deepEqual(c.tls?.identityCertificate, { instanceName: 'default', certificateName: 'default' });
  assert.deepEqual(c.tls?.rootCertificate, { instanceName: 'default', certificateName: 'ROOTCA' });
  assert.equal(c.tls?.sni, 'outbound_.9080_._.reviews.default.svc.cluster.local');
  assert.deepEqual(c.tls?.alpnProtocols, ['istio-h2', 'istio']);
});

test('outlier detection gets every Envoy default', () => {
  const c = decodeOk({ name: 'c', type: 3, eds_cluster_config: { eds_config: { ads: {} } }, outlier_detection: {} });
  assert.deepEqual(c.outlierDetection, {
    consecutive5xx: 5,
    consecutiveGatewayFailure: 5,
    consecutiveLocalOriginFailure: 5,
    enforcingConsecutiveLocalOriginFailure: 100,
    enforcingLocalOriginSuccessRate: 100,
    enforcingFailurePercentageLocalOrigin: 0,
    interval: 10_000,
    baseEjectionTime: 30_000,
    maxEjectionTime: 300_000,
    maxEjectionTimeJitter: 0,
    maxEjectionPercent: 10,
    alwaysEjectOneHost: false,
    enforcingConsecutive5xx: 100,
    enforcingConsecutiveGatewayFailure: 0,
    enforcingSuccessRate: 100,
    successRateMinimumHosts: 5,
    successRateRequestVolume: 100,
    successRateStdevFactor: 1900,
    failurePercentageThreshold: 85,
    enforcingFailurePercentage: 0,
    failurePercentageMinimumHosts: 5,
    failurePercentageRequestVolume: 50,
    splitExternalLocalOriginErrors: false,
  });
  const big = decodeOk({
    name: 'c',
    type: 3,
    eds_cluster_config: { eds_config: { ads: {} } },
    outlier_detection: {
      base_ejection_time: { seconds: 600 },
      consecutive_5xx: { value: 0 },
      interval: { seconds: 1 },
    },
    common_lb_config: { healthy_panic_threshold: { value: 0 }, locality_weighted_lb_config: {} },
  });
  assert.equal(
    big.outlierDetection?.maxEjectionTime,
    600_000,
    'max_ejection_time defaults to the base when that is larger',
  );
  assert.equal(big.outlierDetection?.consecutive5xx, 0);
  assert.equal(big.outlierDetection?.interval, 1000);
  assert.equal(big.healthyPanicThreshold, 0);
  assert.equal(big.localityWeightedLb, true);
});

test('static, DNS and aggregate clusters; LB policies; HTTP/2 protocol options', () => {
  const s = decodeOk({
    name: 'static',
    type: 0,
    connect_timeout: { nanos: 250_000_000 },
    lb_policy: 1,
    least_request_lb_config: { choice_count: { value: 3 } },
    load_assignment: {
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 8080 } } } }] },
      ],
    },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': packAny(
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        {
          explicit_http_config: { http2_protocol_options: {} },
          common_http_protocol_options: { max_requests_per_connection: { value: 100 } },
        },
      ),
    },
  });
  assert.equal(s.type, 'STATIC');
  assert.equal(s.connectTimeout, 250);
  assert.equal(s.lbPolicy, 'LEAST_REQUEST');
  assert.equal(s.leastRequestChoiceCount, 3);
  assert.equal(s.http2, true);
  assert.equal(s.maxRequestsPerConnection, 100);
  assert.equal(s.loadAssignment?.clusterName, 'static', 'the inline assignment is named after the cluster');
  assert.deepEqual(s.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.address, { address: '127.0.0.1', port: 8080 });

  const dns = decodeOk({
    name: 'dns',
    type: 2,
    lb_policy: 5,
    http2_protocol_options: {},
    load_assignment: {
      cluster_name: 'dns',
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'example.com', port_value: 443 } } } }] },
      ],
    },
  });
  assert.equal(dns.type, 'LOGICAL_DNS');
  assert.equal(dns.lbPolicy, 'MAGLEV');
  assert.equal(dns.maglevTableSize, 65537);
  assert.equal(dns.http2, true, 'the deprecated http2_protocol_options still means h2');

  const agg = decodeOk({
    name: 'agg',
    lb_policy: 6,
    cluster_type: {
      name: 'envoy.clusters.aggregate',
      typed_config: packAny('envoy.extensions.clusters.aggregate.v3.ClusterConfig', {
        clusters: ['primary', 'secondary'],
      }),
    },
  });
  assert.equal(agg.type, 'AGGREGATE');
  assert.deepEqual(agg.aggregateClusters, ['primary', 'secondary']);
  assert.equal(agg.edsServiceName, undefined);

  const typed = decodeOk({
    name: 'typed',
    type: 3,
    eds_cluster_config: { eds_config: { self: {} } },
    load_balancing_policy: {
      policies: [
        {
          typed_extension_config: {
            name: 'x',
            typed_config: { type_url: 'type.googleapis.com/some.Custom', value: new Uint8Array(0) },
          },
        },
        {
          typed_extension_config: {
            name: 'rh',
            typed_config: packAny('envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash', {
              maximum_ring_size: { value: 4096 },
            }),
          },
        },
      ],
    },
  });
  assert.equal(typed.lbPolicy, 'RING_HASH', 'the first supported policy wins');
  assert.deepEqual(typed.ringHash, { minimumRingSize: 1024, maximumRingSize: 4096 });
});

test('every problem of an invalid cluster is reported', () => {
  const errors = errorsOf(
    {
      name: 'bad',
      type: 3,
      eds_cluster_config: { eds_config: { path: '/x' } },
      lb_policy: 5,
      maglev_lb_config: { table_size: { value: 65536 } },
      connect_timeout: { seconds: -1 },
      outlier_detection: { max_ejection_percent: { value: 101 }, max_ejection_time: { seconds: 1 } },
      common_lb_config: { healthy_panic_threshold: { value: 150 } },
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: packAny('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
          common_tls_context: {
            tls_certificate_provider_instance: { instance_name: 'unknown', certificate_name: 'default' },
            validation_context: { trusted_ca: { filename: '/nonexistent/ca.pem' } },
          },
        }),
      },
    },
    ctx,
  );
  assert.deepEqual(errors, [
    'cluster.eds_cluster_config.eds_config: must be ads or self (endpoints are only fetched over the ADS stream)',
    'cluster.maglev_lb_config.table_size: 65536 is not a prime number',
    'cluster.common_lb_config.healthy_panic_threshold: 150 is not a percentage in [0, 100]',
    'cluster.connect_timeout: invalid duration (seconds -1, nanos 0): must be non-negative and in range',
    'cluster.outlier_detection.max_ejection_time: must not be smaller than base_ejection_time',
    'cluster.outlier_detection.max_ejection_percent: 101 is not a percentage in [0, 100]',
    'cluster.transport_socket.typed_config.common_tls_context.tls_certificate_provider_instance.instance_name: certificate provider instance "unknown" is not in the bootstrap',
    'cluster.transport_socket.typed_config.common_tls_context.validation_context.trusted_ca.filename: cannot read "/nonexistent/ca.pem": ENOENT: no such file or directory, open \'/nonexistent/ca.pem\'',
    'cluster.transport_socket.typed_config.common_tls_context: an identity certificate provider instance needs a CA certificate provider instance (validation_context.ca_certificate_provider_instance) to verify servers with',
  ]);
  assert.deepEqual(errorsOf({ name: '', type: 4, lb_policy: 4 }), [
    'cluster.name: must not be empty',
    'cluster.type: ORIGINAL_DST clusters are not supported',
    'cluster.lb_policy: unsupported lb_policy 4 (supported: ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV)',
  ]);
  assert.deepEqual(
    errorsOf({
      name: 'rh',
      type: 1,
      lb_policy: 2,
      ring_hash_lb_config: { minimum_ring_size: { value: 4096 }, maximum_ring_size: { value: 1024 } },
    }),
    [
      'cluster.load_assignment: is required for STRICT_DNS clusters',
      'cluster.ring_hash_lb_config: minimum_ring_size must not exceed maximum_ring_size',
    ],
  );
  assert.deepEqual(
    errorsOf({
      name: 'agg',
      cluster_type: {
        name: 'envoy.clusters.aggregate',
        typed_config: packAny('envoy.extensions.clusters.aggregate.v3.ClusterConfig', {}),
      },
      lb_policy: 6,
    }),
    ['cluster.cluster_type.typed_config.clusters: at least one cluster is required'],
  );
  assert.deepEqual(errorsOf({ name: 'redis', cluster_type: { name: 'envoy.clusters.redis' } }), [
    'cluster.cluster_type: unsupported custom cluster type "envoy.clusters.redis"',
  ]);
});

test('without bootstrap certificate providers any instance name is accepted', () => {
  const c = decodeOk(istioMutual, { certificateProviders: undefined });
  assert.equal(c.tls?.identityCertificate?.instanceName, 'default');
  assert.deepEqual(errorsOf(istioMutual, { certificateProviders: new Set(['spiffe']) }), [
    'cluster.transport_socket.typed_config.common_tls_context.tls_certificate_provider_instance.instance_name: certificate provider instance "default" is not in the bootstrap',
    'cluster.transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context.ca_certificate_provider_instance.instance_name: certificate provider instance "default" is not in the bootstrap',
  ]);
});

test('LB settings that would pick other hosts than Envoy are rejected; active_request_bias is read', () => {
  const eds = { type: 3, eds_cluster_config: { service_name: 'c', eds_config: { ads: {} } } } as const;
  assert.deepEqual(errorsOf({ name: 'c', ...eds, lb_policy: 2, ring_hash_lb_config: { hash_function: 1 } }), [
    'cluster.ring_hash_lb_config.hash_function: hash function MURMUR_HASH_2 is not supported (only XX_HASH)',
  ]);
  assert.deepEqual(
    errorsOf({
      name: 'c',
      ...eds,
      lb_policy: 5,
      common_lb_config: {
        consistent_hashing_lb_config: { use_hostname_for_hashing: true, hash_balance_factor: { value: 150 } },
      },
    }),
    [
      'cluster.common_lb_config.consistent_hashing_lb_config.use_hostname_for_hashing: is not supported: hosts are hashed by address:port',
      'cluster.common_lb_config.consistent_hashing_lb_config.hash_balance_factor: is not supported (bounded-load consistent hashing)',
    ],
  );
  const typed = (typedConfig: ReturnType<typeof packAny>): ClusterIn => ({
    name: 'c',
    ...eds,
    load_balancing_policy: { policies: [{ typed_extension_config: { name: 'lb', typed_config: typedConfig } }] },
  });
  assert.deepEqual(
    errorsOf(
      typed(
        packAny('envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash', {
          hash_function: 1,
          consistent_hashing_lb_config: { use_hostname_for_hashing: true },
        }),
      ),
    ),
    [
      'cluster.load_balancing_policy.policies[0].typed_extension_config.typed_config.hash_function: hash function MURMUR_HASH_2 is not supported (only XX_HASH)',
      'cluster.load_balancing_policy.policies[0].typed_extension_config.typed_config.consistent_hashing_lb_config.use_hostname_for_hashing: is not supported: hosts are hashed by address:port',
    ],
  );
  // an empty consistent_hashing_lb_config, or one on a policy that does not hash, changes nothing
  decodeOk({ name: 'c', ...eds, lb_policy: 2, common_lb_config: { consistent_hashing_lb_config: {} } });
  decodeOk({
    name: 'c',
    ...eds,
    lb_policy: 0,
    common_lb_config: { consistent_hashing_lb_config: { use_hostname_for_hashing: true } },
  });
  const lr = decodeOk({
    name: 'c',
    ...eds,
    lb_policy: 1,
    least_request_lb_config: { active_request_bias: { default_value: 0.5, runtime_key: 'k' } },
  });
  assert.equal(lr.leastRequestActiveRequestBias, 0.5);
  const typedLr = decodeOk(
    typed(
      packAny('envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest', {
        active_request_bias: { default_value: 0, runtime_key: 'k' },
      }),
    ),
  );
  assert.equal(typedLr.leastRequestActiveRequestBias, 0);
  assert.equal(decodeOk({ name: 'c', ...eds, lb_policy: 1 }).leastRequestActiveRequestBias, 1);
});

test('slow_start_config is read with Envoy defaults for round robin and least request; bad values are rejected', () => {
  const eds = { type: 3, eds_cluster_config: { service_name: 'c', eds_config: { ads: {} } } } as const;
  // istiod's warmupDurationSecs form: only the window
  const rr = decodeOk({
    name: 'c',
    ...eds,
    round_robin_lb_config: { slow_start_config: { slow_start_window: { seconds: 30, nanos: 0 } } },
  });
  assert.deepEqual(rr.slowStart, { windowMs: 30_000, aggression: 1, minWeightFraction: 0.1 });
  // istiod's warmup form: aggression with the runtime key "(" (not read) and min_weight_percent
  const lr = decodeOk({
    name: 'c',
    ...eds,
    lb_policy: 1,
    least_request_lb_config: {
      slow_start_config: {
        slow_start_window: { seconds: 1, nanos: 500_999_999 },
        aggression: { default_value: 2, runtime_key: '(' },
        min_weight_percent: { value: 25 },
      },
    },
  });
  assert.deepEqual(lr.slowStart, { windowMs: 1500, aggression: 2, minWeightFraction: 0.25 });
  // typed policies carry the common SlowStartConfig
  const typed = (name: string, config: object): ClusterIn => ({
    name: 'c',
    ...eds,
    load_balancing_policy: {
      policies: [{ typed_extension_config: { name: 'lb', typed_config: packAny(name as never, config as never) } }],
    },
  });
  assert.deepEqual(
    decodeOk(
      typed('envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin', {
        slow_start_config: {
          slow_start_window: { seconds: 10, nanos: 0 },
          aggression: { default_value: 0, runtime_key: 'k' },
        },
      }),
    ).slowStart,
    // an aggression that is not > 0 is 1.0, as Envoy falls back at runtime
    { windowMs: 10_000, aggression: 1, minWeightFraction: 0.1 },
  );
  assert.deepEqual(
    decodeOk(
      typed('envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest', {
        slow_start_config: { slow_start_window: { seconds: 5, nanos: 0 }, min_weight_percent: { value: 0 } },
      }),
    ).slowStart,
    { windowMs: 5000, aggression: 1, minWeightFraction: 0 },
  );
  // no window (or less than 1 ms) disables slow start, as Envoy's slow_start_window of 0 does
  assert.equal(decodeOk({ name: 'c', ...eds, round_robin_lb_config: { slow_start_config: {} } }).slowStart, undefined);
  assert.equal(
    decodeOk({
      name: 'c',
      ...eds,
      round_robin_lb_config: { slow_start_config: { slow_start_window: { seconds: 0, nanos: 999_999 } } },
    }).slowStart,
    undefined,
  );
  // a round robin config on a least request cluster is not that policy's: ignored, as Envoy does
  assert.equal(
    decodeOk({
      name: 'c',
      ...eds,
      lb_policy: 1,
      round_robin_lb_config: { slow_start_config: { slow_start_window: { seconds: 30, nanos: 0 } } },
    }).slowStart,
    undefined,
  );
  assert.equal(decodeOk({ name: 'c', ...eds }).slowStart, undefined);
  assert.deepEqual(
    errorsOf({
      name: 'c',
      ...eds,
      round_robin_lb_config: {
        slow_start_config: { slow_start_window: { seconds: -1, nanos: 0 }, min_weight_percent: { value: 101 } },
      },
    }),
    [
      'cluster.round_robin_lb_config.slow_start_config.slow_start_window: invalid duration (seconds -1, nanos 0): must be non-negative and in range',
      'cluster.round_robin_lb_config.slow_start_config.min_weight_percent: 101 is not a percentage in [0, 100]',
    ],
  );
  assert.deepEqual(
    errorsOf(
      typed('envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest', {
        slow_start_config: { slow_start_window: { seconds: 5, nanos: 0 }, min_weight_percent: { value: -5 } },
      }),
    ),
    [
      'cluster.load_balancing_policy.policies[0].typed_extension_config.typed_config.slow_start_config.min_weight_percent: -5 is not a percentage in [0, 100]',
    ],
  );
});

// ------------------------------------------------------------------ TLS origination (DataSources)

const ORIGINATION = fileURLToPath(new URL('../../http/test/fixtures/', import.meta.url));
const originationFile = (name: string) => join(ORIGINATION, `${name}.pem`);

/** The UpstreamTlsContext the control plane builds for a DestinationRule tls SIMPLE / MUTUAL. */
function originationCluster(
  common: envoy.extensions_transport_sockets_tls_v3_CommonTlsContext$In,
  extra: Partial<ClusterIn> = {},
  sni?: string,
): ClusterIn {
  return {
    name: 'outbound|443||api.example.com',
    type: 1,
    load_assignment: {
      cluster_name: 'outbound|443||api.example.com',
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: 'api.example.com', port_value: 443 } } } },
          ],
        },
      ],
    },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: packAny('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
        common_tls_context: common,
        ...(sni === undefined ? {} : { sni }),
      }),
    },
    ...extra,
  };
}

test('TLS origination: trusted_ca and tls_certificates files are read when the cluster is decoded', () => {
  const c = decodeOk(
    originationCluster(
      {
        tls_certificates: [
          {
            certificate_chain: { filename: originationFile('egress-client-cert') },
            private_key: { filename: originationFile('egress-client-key') },
          },
        ],
        validation_context: {
          trusted_ca: { filename: originationFile('external-ca-cert') },
          match_subject_alt_names: [{ exact: 'api.example.com' }],
        },
      },
      {},
      'api.example.com',
    ),
  );
  const tls = c.tls!;
  assert.equal(tls.identityCertificate, undefined);
  assert.equal(tls.rootCertificate, undefined);
  assert.deepEqual(tls.trustedCa, {
    source: originationFile('external-ca-cert'),
    pem: readFileSync(originationFile('external-ca-cert'), 'utf8'),
  });
  assert.equal(tls.tlsCertificate?.certificateChain.source, originationFile('egress-client-cert'));
  assert.equal(tls.tlsCertificate?.privateKey.pem, readFileSync(originationFile('egress-client-key'), 'utf8'));
  assert.equal(tls.verifyPeer, true);
  assert.equal(tls.systemRootCerts, false);
  assert.equal(tls.sni, 'api.example.com');
  assert.deepEqual(tls.matchSubjectAltNames, [{ kind: 'exact', value: 'api.example.com', ignoreCase: false }]);
  assert.equal(tls.autoSni, false);
});

test('TLS origination: inline CA, system roots, an empty validation context, auto SNI', () => {
  const ca = readFileSync(originationFile('external-ca-cert'));
  const inline = decodeOk(originationCluster({ validation_context: { trusted_ca: { inline_bytes: ca } } }));
  assert.deepEqual(inline.tls?.trustedCa, { source: 'inline', pem: ca.toString('utf8') });
  const text = decodeOk(originationCluster({ validation_context: { trusted_ca: { inline_string: ca.toString() } } }));
  assert.equal(text.tls?.trustedCa?.pem, ca.toString('utf8'));

  const httpOptions = {
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': packAny(
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        { upstream_http_protocol_options: { auto_sni: true, auto_san_validation: true } },
      ),
    },
  };
  const system = decodeOk(originationCluster({ validation_context: { system_root_certs: {} } }, httpOptions));
  assert.equal(system.tls?.systemRootCerts, true);
  assert.equal(system.tls?.trustedCa, undefined);
  assert.equal(system.tls?.verifyPeer, true);
  assert.equal(system.tls?.autoSni, true);
  assert.equal(system.tls?.autoSanValidation, true);

  // istiod's insecureSkipVerify: a validation context naming no trust verifies nothing (as Envoy)
  const insecure = decodeOk(originationCluster({ validation_context: {} }));
  assert.equal(insecure.tls?.verifyPeer, false);
  // auto SNI on a plaintext cluster means nothing
  assert.equal(decodeOk({ ...originationCluster({}), transport_socket: undefined, ...httpOptions }).tls, undefined);
});

test('TLS origination: unreadable files, bad PEM and what Inboard cannot honour are NACKed with the reason', () => {
  const at = 'cluster.transport_socket.typed_config.common_tls_context';
  const missing = join(ORIGINATION, 'no-such-ca.pem');
  assert.deepEqual(errorsOf(originationCluster({ validation_context: { trusted_ca: { filename: missing } } })), [
    `${at}.validation_context.trusted_ca.filename: cannot read ${JSON.stringify(missing)}: ENOENT: no such file or directory, open '${missing}'`,
  ]);
  assert.deepEqual(
    errorsOf(originationCluster({ validation_context: { trusted_ca: { inline_string: 'not a certificate' } } })),
    [`${at}.validation_context.trusted_ca: failed to load trusted CA certificates from inline: no PEM certificate`],
  );
  const key = originationFile('egress-client-key');
  const wrongCert = originationFile('api-example-cert');
  const mismatch = errorsOf(
    originationCluster({
      tls_certificates: [{ certificate_chain: { filename: wrongCert }, private_key: { filename: key } }],
      validation_context: { system_root_certs: {} },
    }),
  );
  assert.equal(mismatch.length, 1);
  assert.match(
    mismatch[0]!,
    new RegExp(
      `^${at}\\.tls_certificates\\[0\\]: failed to load certificate chain from .*api-example-cert\\.pem and private key from .*egress-client-key\\.pem: .*key values mismatch`,
    ),
  );
  assert.deepEqual(
    errorsOf(
      originationCluster({
        tls_certificates: [
          { certificate_chain: { filename: wrongCert }, password: { inline_string: 'x' } },
          { certificate_chain: { filename: wrongCert } },
        ],
        validation_context: { match_subject_alt_names: [{ exact: 'api.example.com' }], crl: { inline_string: 'x' } },
      }),
    ),
    [
      `${at}.tls_certificates: only one certificate is supported`,
      `${at}: SAN-based verification of peer certificates without a trusted CA is insecure and not allowed`,
      `${at}: a CRL without a trusted CA is not allowed`,
    ].toSpliced(1, 0, `${at}.validation_context.crl: failed to load CRL from inline: Failed to parse CRL`),
  );
  assert.deepEqual(
    errorsOf(
      originationCluster({
        validation_context: {
          system_root_certs: {},
          trusted_ca: { filename: originationFile('external-ca-cert') },
          allow_expired_certificate: true,
        },
        tls_certificate_sds_secret_configs: [{ name: 'file-cert:/a~/b' }],
      }),
    ),
    [
      `${at}.tls_certificate_sds_secret_configs: SDS is not supported`,
      `${at}.validation_context.allow_expired_certificate: is not supported`,
      `${at}: only one of trusted_ca, system_root_certs and a CA certificate provider instance may be set`,
    ],
  );
  assert.deepEqual(errorsOf(originationCluster({})), [
    `${at}: a validation context (trusted_ca, system_root_certs or a CA certificate provider instance) is required`,
  ]);
});

test('certificate provider instances and DataSources are not mixed in one context: NACKed with the reason', () => {
  const at = 'cluster.transport_socket.typed_config.common_tls_context';
  const mix = (what: string) =>
    `${at}: ${what} cannot be combined with a certificate provider instance: the certificates come either from certificate provider instances or from the context's DataSources`;
  const identity = { tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' } };
  const root = { ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' } };
  const ca = { filename: originationFile('external-ca-cert') };
  // the identity from a provider, the CA inline: every connection would fail for want of a CA
  assert.deepEqual(errorsOf(originationCluster({ ...identity, validation_context: { trusted_ca: ca } })), [
    mix('trusted_ca'),
  ]);
  assert.deepEqual(errorsOf(originationCluster({ ...identity, validation_context: { system_root_certs: {} } })), [
    mix('system_root_certs'),
  ]);
  // the CA from a provider, the client certificate inline: it would never be presented
  const pair = {
    certificate_chain: { filename: originationFile('egress-client-cert') },
    private_key: { filename: originationFile('egress-client-key') },
  };
  assert.deepEqual(errorsOf(originationCluster({ tls_certificates: [pair], validation_context: root })), [
    mix('tls_certificates'),
  ]);
  // a CRL DataSource next to provider certificates would not be applied
  const crl = { filename: originationFile('external-ca-cert') };
  assert.ok(errorsOf(originationCluster({ ...identity, validation_context: { ...root, crl } })).includes(mix('crl')));
  // an identity provider and no CA at all (an empty validation context): nothing to verify with
  assert.deepEqual(errorsOf(originationCluster({ ...identity, validation_context: {} })), [
    `${at}: an identity certificate provider instance needs a CA certificate provider instance (validation_context.ca_certificate_provider_instance) to verify servers with`,
  ]);
  // the Istio mTLS form is fine
  assert.equal(
    decodeOk(originationCluster({ ...identity, validation_context: root })).tls?.rootCertificate?.instanceName,
    'default',
  );
});
