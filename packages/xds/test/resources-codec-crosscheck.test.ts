// Cross-checks the generated codec against an independent protobuf implementation (protobufjs
// loading the Envoy .proto files): what one encodes, the other must decode to the same fields.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { before, test } from 'node:test';
import {
  type ClusterIn,
  decodeMessage,
  encodeMessage,
  hasCodec,
  jsToStruct,
  type MessageName,
  messageNameOf,
  packAny,
  type RouteConfigurationIn,
} from '@inboard/xds/codec';

const require = createRequire(import.meta.url);
const pb = require('protobufjs') as typeof import('protobufjs');
type PbType = InstanceType<typeof pb.Type>;
type PbField = InstanceType<typeof pb.Field>;

let root: InstanceType<typeof pb.Root>;

before(() => {
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const includeDirs = [
    join(deps, 'envoy-api'),
    join(deps, 'xds'),
    join(deps, 'googleapis'),
    join(deps, 'protoc-gen-validate'),
    dirname(require.resolve('protobufjs/package.json')),
  ];
  root = new pb.Root();
  root.resolvePath = (_origin: string, target: string) => {
    for (const dir of includeDirs) {
      const p = join(dir, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  root.loadSync(
    [
      'envoy/config/route/v3/route.proto',
      'envoy/config/cluster/v3/cluster.proto',
      'envoy/extensions/filters/http/fault/v3/fault.proto',
      'envoy/extensions/transport_sockets/tls/v3/tls.proto',
      'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
    ],
    { keepCase: true },
  );
  root.resolveAll();
});

const TO_OBJECT = {
  longs: Number,
  enums: Number,
  defaults: false,
  arrays: false,
  objects: false,
  oneofs: false,
} as const;

/** protobufjs defines google.protobuf.* with camelCase names; our codec uses the proto names. */
function ourName(f: PbField): string {
  const parent = (f.parent as PbType).fullName;
  return parent.startsWith('.google.protobuf.') ? f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : f.name;
}

/** protobufjs' toObject output is untyped; the assertions below read it by known field paths. */
// biome-ignore lint/suspicious/noExplicitAny: untyped protobufjs output
type Untyped = any;

const SCALAR_DEFAULT: Record<string, unknown> = { string: '', bool: false };

function sameBytes(a: unknown, b: unknown): boolean {
  const x = (a ?? new Uint8Array(0)) as Uint8Array;
  const y = (b ?? new Uint8Array(0)) as Uint8Array;
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Walks both decoded objects along the protobufjs schema and returns every difference.
 * `ours` is our codec's decoded shape; `theirs` is protobufjs `toObject` output.
 * google.protobuf.Any payloads with a codec on both sides are decoded and compared too.
 */
function differences(
  type: PbType,
  ours: Record<string, unknown>,
  theirs: Record<string, unknown>,
  path: string,
  out: string[],
): void {
  if (type.fullName === '.google.protobuf.Any' && typeof ours.type_url === 'string' && ours.type_url !== '') {
    const name = messageNameOf(ours.type_url);
    if (ours.type_url !== theirs.type_url)
      out.push(`${path}.type_url: ${String(ours.type_url)} ≠ ${String(theirs.type_url)}`);
    if (!sameBytes(ours.value, theirs.value)) out.push(`${path}.value: bytes differ`);
    const nested = root.lookup(name);
    if (hasCodec(name) && nested instanceof pb.Type) {
      const bytes = ours.value as Uint8Array;
      differences(
        nested,
        decodeMessage(name, bytes) as Record<string, unknown>,
        nested.toObject(nested.decode(bytes), TO_OBJECT),
        `${path}<${name}>`,
        out,
      );
    }
    return;
  }
  if (type.fullName === '.google.protobuf.Struct') {
    // ours is the JSON object itself; protobufjs has Struct/Value messages
    const json = JSON.stringify(ours);
    const expected = JSON.stringify(pbStructToJson(theirs));
    if (json !== expected) out.push(`${path}: ${json} ≠ ${expected}`);
    return;
  }
  for (const f of type.fieldsArray) {
    const at = `${path}.${f.name}`;
    const ov = ours[ourName(f)];
    const tv = theirs[f.name];
    const rt = f.resolvedType;
    if (f instanceof pb.MapField || f.map) {
      const o = (ov ?? {}) as Record<string, unknown>;
      const t = (tv ?? {}) as Record<string, unknown>;
      const keys = new Set([...Object.keys(o), ...Object.keys(t)]);
      for (const k of keys) {
        if (rt instanceof pb.Type)
          differences(
            rt,
            (o[k] ?? {}) as Record<string, unknown>,
            (t[k] ?? {}) as Record<string, unknown>,
            `${at}[${k}]`,
            out,
          );
        else if (o[k] !== t[k]) out.push(`${at}[${k}]: ${String(o[k])} ≠ ${String(t[k])}`);
      }
      continue;
    }
    if (f.repeated) {
      const o = (ov ?? []) as unknown[];
      const t = (tv ?? []) as unknown[];
      if (o.length !== t.length) {
        out.push(`${at}: ${o.length} elements ≠ ${t.length}`);
        continue;
      }
      for (let i = 0; i < o.length; i++) {
        if (rt instanceof pb.Type)
          differences(rt, o[i] as Record<string, unknown>, t[i] as Record<string, unknown>, `${at}[${i}]`, out);
        else if (f.type === 'bytes' ? !sameBytes(o[i], t[i]) : o[i] !== t[i])
          out.push(`${at}[${i}]: ${String(o[i])} ≠ ${String(t[i])}`);
      }
      continue;
    }
    if (rt instanceof pb.Type) {
      if ((ov === undefined) !== (tv === undefined || tv === null)) {
        out.push(`${at}: presence ${ov !== undefined} ≠ ${tv !== undefined}`);
      } else if (ov !== undefined) {
        differences(rt, ov as Record<string, unknown>, tv as Record<string, unknown>, at, out);
      }
      continue;
    }
    if (f.partOf !== null && (ov === undefined) !== (tv === undefined)) {
      out.push(`${at}: oneof presence ${ov !== undefined} ≠ ${tv !== undefined}`);
      continue;
    }
    if (f.type === 'bytes') {
      if (!sameBytes(ov, tv)) out.push(`${at}: bytes differ`);
      continue;
    }
    const expected = tv ?? (f.partOf !== null ? undefined : (SCALAR_DEFAULT[f.type] ?? 0));
    if (ov !== expected) out.push(`${at}: ${String(ov)} ≠ ${String(expected)}`);
  }
}

function pbStructToJson(s: Record<string, unknown>): unknown {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((s.fields ?? {}) as Record<string, Record<string, unknown>>))
    out[k] = pbValueToJson(v);
  return out;
}
function pbValueToJson(v: Record<string, unknown>): unknown {
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.numberValue !== undefined && v.numberValue !== null) return v.numberValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.structValue) return pbStructToJson(v.structValue as Record<string, unknown>);
  if (v.listValue) return ((v.listValue as { values?: Record<string, unknown>[] }).values ?? []).map(pbValueToJson);
  return null;
}

function crossCheck<N extends MessageName>(
  name: N,
  message: Parameters<typeof encodeMessage<N>>[1],
): Record<string, unknown> {
  const type = root.lookupType(name);
  // our encoder → protobufjs decoder
  const ourBytes = encodeMessage(name, message);
  const theirs = type.toObject(type.decode(ourBytes), TO_OBJECT);
  const ours = decodeMessage(name, ourBytes) as Record<string, unknown>;
  const diffs: string[] = [];
  differences(type, ours, theirs, name, diffs);
  assert.deepEqual(diffs, [], 'protobufjs decodes what our codec encoded to the same fields');
  // protobufjs encoder → our decoder
  const theirBytes = type.encode(type.fromObject(theirs)).finish();
  const back = decodeMessage(name, theirBytes) as Record<string, unknown>;
  const diffsBack: string[] = [];
  differences(type, back, theirs, name, diffsBack);
  assert.deepEqual(diffsBack, [], 'our codec decodes what protobufjs encoded to the same fields');
  return theirs;
}

const routeConfig: RouteConfigurationIn = {
  name: 'outbound|9080||reviews.default.svc.cluster.local',
  max_direct_response_body_size_bytes: { value: 1 << 20 },
  request_headers_to_add: [{ header: { key: 'x-route', value: 'ü-utf8 ✓' }, append_action: 2 }],
  virtual_hosts: [
    {
      name: 'reviews.default.svc.cluster.local:9080',
      domains: ['reviews', 'reviews:9080', 'reviews.default.svc.cluster.local'],
      routes: [
        {
          name: 'canary',
          match: {
            prefix: '',
            case_sensitive: { value: false },
            headers: [
              { name: 'end-user', string_match: { exact: 'jason', ignore_case: true } },
              { name: 'x-range', range_match: { start: -5, end: 2 ** 40 }, invert_match: true },
              { name: 'x-present', present_match: false },
            ],
            query_parameters: [{ name: 'v', string_match: { safe_regex: { regex: '^[0-9]+$' } } }],
            runtime_fraction: { default_value: { numerator: 1, denominator: 2 } },
          },
          route: {
            weighted_clusters: {
              clusters: [
                { name: 'outbound|9080|v1|reviews.default.svc.cluster.local', weight: { value: 75 } },
                { name: 'outbound|9080|v2|reviews.default.svc.cluster.local', weight: { value: 25 } },
              ],
            },
            timeout: { seconds: 3, nanos: 500_000_000 },
            retry_policy: {
              retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
              num_retries: { value: 2 },
              retriable_status_codes: [503, 502, 1 << 20],
              host_selection_retry_max_attempts: 5,
              retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
            },
            hash_policy: [{ header: { header_name: 'x-user' }, terminal: true }],
            max_grpc_timeout: {},
          },
          metadata: {
            filter_metadata: {
              istio: jsToStruct({
                config: '/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews',
                n: 1.5,
              }),
            },
          },
          typed_per_filter_config: {
            'envoy.filters.http.fault': packAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {
              delay: { fixed_delay: { seconds: 1 }, percentage: { numerator: 10 } },
              abort: { http_status: 503, percentage: { numerator: 5, denominator: 1 } },
            }),
          },
        },
        {
          match: { path: '/health' },
          direct_response: { status: 200, body: { inline_bytes: new Uint8Array([0, 255, 128, 1]) } },
        },
      ],
    },
  ],
};

const cluster: ClusterIn = {
  name: 'outbound|9080|v2|reviews.default.svc.cluster.local',
  type: 3,
  eds_cluster_config: {
    service_name: 'outbound|9080|v2|reviews.default.svc.cluster.local',
    eds_config: { ads: {}, resource_api_version: 2 },
  },
  connect_timeout: { seconds: 10 },
  lb_policy: 1,
  least_request_lb_config: { choice_count: { value: 3 } },
  circuit_breakers: { thresholds: [{ priority: 1, max_requests: { value: 0xffff_ffff } }] },
  outlier_detection: {
    consecutive_5xx: { value: 7 },
    base_ejection_time: { seconds: 30 },
    max_ejection_percent: { value: 100 },
  },
  common_lb_config: { healthy_panic_threshold: { value: 12.5 } },
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': packAny(
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      {
        explicit_http_config: { http2_protocol_options: {} },
      },
    ),
  },
  transport_socket: {
    name: 'envoy.transport_sockets.tls',
    typed_config: packAny('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
      sni: 'outbound_.9080_.v2_.reviews.default.svc.cluster.local',
      common_tls_context: {
        tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
        combined_validation_context: {
          default_validation_context: {
            match_subject_alt_names: [{ exact: 'spiffe://cluster.local/ns/default/sa/reviews' }],
          },
          validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
        },
        alpn_protocols: ['istio-h2', 'istio'],
      },
    }),
  },
  load_assignment: {
    cluster_name: 'x',
    endpoints: [
      {
        locality: { region: 'r', zone: 'z' },
        priority: 3,
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 9080 } } }, health_status: 5 },
        ],
      },
    ],
  },
};

test('a realistic RouteConfiguration survives our codec ↔ protobufjs in both directions', () => {
  const theirs = crossCheck('envoy.config.route.v3.RouteConfiguration', routeConfig) as Untyped;
  // a few fields read straight from protobufjs' view, so the walker above is not the only judge
  const route = theirs.virtual_hosts[0].routes[0];
  assert.equal(route.route.timeout.seconds, 3);
  assert.equal(route.route.timeout.nanos, 500_000_000);
  assert.equal(route.match.headers[1].range_match.start, -5);
  assert.equal(route.match.headers[1].range_match.end, 2 ** 40);
  assert.deepEqual(route.route.retry_policy.retriable_status_codes, [503, 502, 1 << 20]);
  assert.equal(route.route.weighted_clusters.clusters[1].weight.value, 25);
  assert.equal(route.metadata.filter_metadata.istio.fields.n.numberValue, 1.5);
  assert.equal(theirs.request_headers_to_add[0].header.value, 'ü-utf8 ✓');
  assert.deepEqual([...theirs.virtual_hosts[0].routes[1].direct_response.body.inline_bytes], [0, 255, 128, 1]);
});

test('a realistic Cluster survives our codec ↔ protobufjs in both directions', () => {
  const theirs = crossCheck('envoy.config.cluster.v3.Cluster', cluster) as Untyped;
  assert.equal(theirs.type, 3);
  assert.equal(theirs.circuit_breakers.thresholds[0].max_requests.value, 0xffff_ffff);
  assert.equal(theirs.common_lb_config.healthy_panic_threshold.value, 12.5);
  assert.equal(theirs.load_assignment.endpoints[0].priority, 3);
  const tls = root.lookupType('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
  const ctx = tls.toObject(tls.decode(theirs.transport_socket.typed_config.value), TO_OBJECT) as Untyped;
  assert.equal(
    ctx.common_tls_context.combined_validation_context.validation_context_certificate_provider_instance
      .certificate_name,
    'ROOTCA',
  );
});

test('the cross-check notices a difference', () => {
  const type = root.lookupType('envoy.config.cluster.v3.Cluster');
  const bytes = encodeMessage('envoy.config.cluster.v3.Cluster', cluster);
  const theirs = type.toObject(type.decode(bytes), TO_OBJECT);
  const ours = decodeMessage('envoy.config.cluster.v3.Cluster', bytes) as Untyped;
  ours.connect_timeout.seconds = 11;
  ours.load_assignment.endpoints[0].lb_endpoints.pop();
  const diffs: string[] = [];
  differences(type, ours, theirs, 'Cluster', diffs);
  assert.deepEqual(diffs, [
    'Cluster.connect_timeout.seconds: 11 ≠ 10',
    'Cluster.load_assignment.endpoints[0].lb_endpoints: 0 elements ≠ 1',
  ]);
});
