// Benchmark of @inboard/xds, alternatives side by side in one run:
//  1. import cost: @inboard/xds vs @grpc/grpc-js-xds (fresh child processes, median of 5)
//  2. one SotW push of 1,000 listeners, 1,000 route configs, 1,000 clusters and 10,000 endpoints,
//     from wire bytes to watchers notified, through the real XdsClient (decode + validate + cache),
//     next to protobufjs reflection decode + toObject of the same bytes (what grpc-js-xds does,
//     before any validation)
//  3. one EDS update of a 100-endpoint cluster
// Last line: RESULT {json}. Run: npm run bench -w @inboard/xds (after npm run build).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AdsStreamHandlers,
  type AdsTransport,
  ManualClock,
  resourceTypes,
  WILDCARD,
  XdsClient,
} from '@inboard/xds';
import {
  type Any,
  type DiscoveryResponse,
  decodeMessage,
  encodeMessage,
  jsToStruct,
  packAny,
  TypeUrl,
} from '@inboard/xds/codec';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, '..');
const require = createRequire(import.meta.url);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ------------------------------------------------------------------ 1. import cost

function importCost(code: string): { ms: number; heapMb: number } {
  const runs: { ms: number; heapMb: number }[] = [];
  for (let i = 0; i < 5; i++) {
    const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], {
      cwd: pkgDir,
      encoding: 'utf8',
    });
    runs.push(JSON.parse(out.trim().split('\n').at(-1)!));
  }
  return { ms: median(runs.map((r) => r.ms)), heapMb: median(runs.map((r) => r.heapMb)) };
}
const measure = (load: string) => `
gc(); const h0 = process.memoryUsage().heapUsed; const t0 = performance.now();
${load}
const ms = performance.now() - t0; gc();
console.log(JSON.stringify({ ms, heapMb: (process.memoryUsage().heapUsed - h0) / 1048576 }));`;
const ours = importCost(measure(`await import('@inboard/xds');`));
const oursWithGrpc = importCost(measure(`await import('@inboard/xds'); await import('@grpc/grpc-js');`));
const theirs = importCost(
  measure(`const { createRequire } = await import('node:module'); createRequire(process.cwd() + '/').call ? 0 : 0;
const req = createRequire(${JSON.stringify(require.resolve('@grpc/grpc-js-xds'))}); req('@grpc/grpc-js-xds');`),
);

// ------------------------------------------------------------------ 2. the push

const N = 1000;
const ENDPOINTS_PER_CLUSTER = 10;

function listener(i: number): Any {
  const host = `svc${i}.ns${i % 20}.svc.cluster.local`;
  return packAny('envoy.config.listener.v3.Listener', {
    name: `${host}:8080`,
    address: { socket_address: { address: `10.96.${i >> 8}.${i & 255}`, port_value: 8080 } },
    api_listener: {
      api_listener: packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
        rds: { route_config_name: `outbound|8080||${host}`, config_source: { ads: {} } },
        http_filters: [
          {
            name: 'envoy.filters.http.fault',
            typed_config: packAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {}),
          },
          {
            name: 'envoy.filters.http.router',
            typed_config: packAny('envoy.extensions.filters.http.router.v3.Router', {}),
          },
        ],
      }),
    },
  });
}

function routeConfig(i: number): Any {
  const ns = `ns${i % 20}`;
  const short = `svc${i}`;
  const host = `${short}.${ns}.svc.cluster.local`;
  const domains: string[] = [];
  for (const d of [host, `${host}.`, short, `${short}.${ns}.svc`, `${short}.${ns}`, `10.96.${i >> 8}.${i & 255}`]) {
    domains.push(d, `${d}:8080`);
  }
  const retry = {
    retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
    num_retries: { value: 2 },
    retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
    host_selection_retry_max_attempts: 5,
  };
  return packAny('envoy.config.route.v3.RouteConfiguration', {
    name: `outbound|8080||${host}`,
    virtual_hosts: [
      {
        name: `${host}:8080`,
        domains,
        routes: [
          {
            name: 'canary',
            match: { prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] },
            route: {
              weighted_clusters: {
                clusters: [
                  { name: `outbound|8080|v1|${host}`, weight: { value: 90 } },
                  { name: `outbound|8080|v2|${host}`, weight: { value: 10 } },
                ],
              },
              timeout: { seconds: 5, nanos: 0 },
              retry_policy: retry,
            },
            metadata: {
              filter_metadata: {
                istio: jsToStruct({ config: `/apis/networking.istio.io/v1/namespaces/${ns}/virtual-service/${short}` }),
              },
            },
          },
          {
            name: 'default',
            match: { prefix: '/' },
            route: { cluster: `outbound|8080||${host}`, timeout: {}, retry_policy: retry },
          },
        ],
      },
    ],
  });
}

function cluster(i: number): Any {
  const host = `svc${i}.ns${i % 20}.svc.cluster.local`;
  const name = `outbound|8080||${host}`;
  return packAny('envoy.config.cluster.v3.Cluster', {
    name,
    type: 3,
    eds_cluster_config: { service_name: name, eds_config: { ads: {} } },
    lb_policy: 1,
    connect_timeout: { seconds: 10, nanos: 0 },
    circuit_breakers: { thresholds: [{ max_requests: { value: 100 } }] },
    outlier_detection: { consecutive_5xx: { value: 5 }, interval: { seconds: 10, nanos: 0 } },
  });
}

function endpoints(i: number, count: number, seed = 0): Any {
  const host = `svc${i}.ns${i % 20}.svc.cluster.local`;
  const lbEndpoints = [];
  for (let j = 0; j < count; j++) {
    lbEndpoints.push({
      endpoint: {
        address: {
          socket_address: { address: `10.${(i >> 8) & 255}.${i & 255}.${(j + seed) & 255}`, port_value: 8080 },
        },
      },
      health_status: 1,
      load_balancing_weight: { value: 1 },
      metadata: {
        filter_metadata: {
          'envoy.transport_socket_match': jsToStruct({ tlsMode: 'istio' }),
          istio: jsToStruct({ workload: `svc${i}-v1;ns;svc${i};v1;Kubernetes` }),
        },
      },
    });
  }
  return packAny('envoy.config.endpoint.v3.ClusterLoadAssignment', {
    cluster_name: `outbound|8080||${host}`,
    endpoints: [
      {
        locality: { region: 'r', zone: 'z', sub_zone: '' },
        lb_endpoints: lbEndpoints,
        load_balancing_weight: { value: count },
      },
    ],
  });
}

function responseBytes(typeUrl: string, version: string, resources: Any[]): Buffer {
  return Buffer.from(
    encodeMessage('envoy.service.discovery.v3.DiscoveryResponse', {
      type_url: typeUrl,
      version_info: version,
      nonce: `${version}-n`,
      resources,
    }),
  );
}

const pushBytes = [
  responseBytes(
    TypeUrl.Listener,
    '1',
    Array.from({ length: N }, (_, i) => listener(i)),
  ),
  responseBytes(
    TypeUrl.RouteConfiguration,
    '1',
    Array.from({ length: N }, (_, i) => routeConfig(i)),
  ),
  responseBytes(
    TypeUrl.Cluster,
    '1',
    Array.from({ length: N }, (_, i) => cluster(i)),
  ),
  responseBytes(
    TypeUrl.ClusterLoadAssignment,
    '1',
    Array.from({ length: N }, (_, i) => endpoints(i, ENDPOINTS_PER_CLUSTER)),
  ),
];
const pushSizeMb = pushBytes.reduce((s, b) => s + b.length, 0) / 1048576;

/** A transport whose single stream is fed by the benchmark. */
class BenchTransport implements AdsTransport {
  readonly server = 'bench';
  handlers: AdsStreamHandlers<DiscoveryResponse> | undefined;
  openSotw(h: AdsStreamHandlers<DiscoveryResponse>) {
    this.handlers = h;
    return { send: () => {}, cancel: () => {} };
  }
  openDelta(): never {
    throw new Error('not used');
  }
  whenReady() {
    return () => {};
  }
  close() {}
}

function newClient(): { client: XdsClient; transport: BenchTransport; notified: () => number } {
  const transport = new BenchTransport();
  const client = new XdsClient({
    transport,
    node: { id: 'sidecar~10.0.0.1~bench.default~default.svc.cluster.local' },
    resourceTypes: Object.values(resourceTypes),
    clock: new ManualClock(),
  });
  let count = 0;
  const watcher = { onResourceChanged: () => void count++, onError: () => {}, onResourceDoesNotExist: () => {} };
  client.watch(resourceTypes.listener, WILDCARD, watcher);
  client.watch(resourceTypes.cluster, WILDCARD, watcher);
  for (let i = 0; i < N; i++) {
    const host = `svc${i}.ns${i % 20}.svc.cluster.local`;
    client.watch(resourceTypes.routeConfiguration, `outbound|8080||${host}`, watcher);
    client.watch(resourceTypes.clusterLoadAssignment, `outbound|8080||${host}`, watcher);
  }
  return { client, transport, notified: () => count };
}

async function push(): Promise<{ ms: number; heapMb: number; client: XdsClient }> {
  const c = newClient();
  await new Promise((r) => setImmediate(r)); // let the transport promise settle
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (const bytes of pushBytes)
    c.transport.handlers!.onResponse(decodeMessage('envoy.service.discovery.v3.DiscoveryResponse', bytes));
  const ms = performance.now() - t0;
  if (c.notified() !== 4 * N) throw new Error(`expected ${4 * N} notifications, got ${c.notified()}`);
  gc();
  const heapMb = (process.memoryUsage().heapUsed - h0) / 1048576;
  return { ms, heapMb, client: c.client };
}

const pushRuns: { ms: number; heapMb: number }[] = [];
for (let i = 0; i < 6; i++) {
  const r = await push();
  pushRuns.push({ ms: r.ms, heapMb: r.heapMb });
  r.client.close();
}
const pushCold = pushRuns[0]!;
const pushWarm = pushRuns.slice(1);

// the alternative: protobufjs reflection decode + toObject, as grpc-js-xds does (no validation)
const pb = require('protobufjs') as typeof import('protobufjs');
const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const includeDirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
includeDirs.push(dirname(require.resolve('protobufjs/package.json')));
const root = new pb.Root();
root.resolvePath = (_o: string, target: string) => {
  for (const dir of includeDirs) {
    const p = join(dir, target);
    try {
      require('node:fs').accessSync(p);
      return p;
    } catch {}
  }
  return target;
};
root.loadSync(
  [
    'envoy/service/discovery/v3/discovery.proto',
    'envoy/config/listener/v3/listener.proto',
    'envoy/config/route/v3/route.proto',
    'envoy/config/cluster/v3/cluster.proto',
    'envoy/config/endpoint/v3/endpoint.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  ],
  { keepCase: true },
);
const pbResponse = root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
const pbTypes = new Map<string, InstanceType<typeof pb.Type>>(
  [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment].map((u) => [
    u,
    root.lookupType(u.slice(u.indexOf('/') + 1)),
  ]),
);
const pbHcm = root.lookupType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
function protobufjsPush(): number {
  const t0 = performance.now();
  for (const bytes of pushBytes) {
    const res = pbResponse.decode(bytes) as unknown as { type_url: string; resources: { value: Uint8Array }[] };
    const t = pbTypes.get(res.type_url)!;
    for (const any of res.resources) {
      const obj = t.toObject(t.decode(any.value), { longs: String, enums: String, defaults: true, oneofs: true }) as {
        api_listener?: { api_listener?: { value: Uint8Array } };
      };
      const inner = obj.api_listener?.api_listener?.value;
      if (inner !== undefined) pbHcm.toObject(pbHcm.decode(inner), { defaults: true, oneofs: true });
    }
  }
  return performance.now() - t0;
}
const pbRuns = Array.from({ length: 6 }, () => protobufjsPush());

// ------------------------------------------------------------------ 3. one EDS update

const edsA = responseBytes(TypeUrl.ClusterLoadAssignment, 'a', [endpoints(7, 100, 0)]);
const edsB = responseBytes(TypeUrl.ClusterLoadAssignment, 'b', [endpoints(7, 100, 1)]);
const eds = newClient();
await new Promise((r) => setImmediate(r));
const edsTimes: number[] = [];
for (let i = 0; i < 400; i++) {
  const bytes = i % 2 === 0 ? edsA : edsB;
  const before = eds.notified();
  const t0 = performance.now();
  eds.transport.handlers!.onResponse(decodeMessage('envoy.service.discovery.v3.DiscoveryResponse', bytes));
  const ms = performance.now() - t0;
  if (eds.notified() !== before + 1) throw new Error('EDS update not delivered');
  if (i >= 100) edsTimes.push(ms); // after warm-up
}
eds.client.close();
const edsMs = median(edsTimes);

// ------------------------------------------------------------------ report

const f = (n: number, d = 1) => n.toFixed(d);
const rows: [string, string, string][] = [
  ['import @inboard/xds', `${f(ours.ms)} ms`, `${f(ours.heapMb)} MB heap`],
  [
    'import @inboard/xds + @grpc/grpc-js (first connect)',
    `${f(oursWithGrpc.ms)} ms`,
    `${f(oursWithGrpc.heapMb)} MB heap`,
  ],
  ['require @grpc/grpc-js-xds', `${f(theirs.ms)} ms`, `${f(theirs.heapMb)} MB heap`],
  [
    `push ${N} LDS + ${N} RDS + ${N} CDS + ${N * ENDPOINTS_PER_CLUSTER} endpoints (${f(pushSizeMb)} MB), XdsClient, cold`,
    `${f(pushCold.ms)} ms`,
    `${f(pushCold.heapMb)} MB retained`,
  ],
  [
    '  same, warm (median of 5 fresh clients)',
    `${f(median(pushWarm.map((r) => r.ms)))} ms`,
    `${f(median(pushWarm.map((r) => r.heapMb)))} MB retained`,
  ],
  ['  protobufjs decode + toObject only (grpc-js-xds style), cold', `${f(pbRuns[0]!)} ms`, ''],
  ['  same, warm (median of 5)', `${f(median(pbRuns.slice(1)))} ms`, ''],
  ['one EDS update, 100 endpoints (median)', `${f(edsMs, 3)} ms`, ''],
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`\n@inboard/xds benchmark — node ${process.version}\n`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w)}  ${b.padStart(10)}  ${c}`);
const result = {
  import_ms: +f(ours.ms),
  import_heap_mb: +f(ours.heapMb),
  import_with_grpc_ms: +f(oursWithGrpc.ms),
  grpc_js_xds_import_ms: +f(theirs.ms),
  grpc_js_xds_import_heap_mb: +f(theirs.heapMb),
  push_apply_ms: +f(pushCold.ms),
  push_apply_warm_ms: +f(median(pushWarm.map((r) => r.ms))),
  push_heap_mb: +f(pushCold.heapMb),
  protobufjs_decode_ms: +f(pbRuns[0]!),
  eds_update_ms: +f(edsMs, 3),
  import_ratio_vs_grpc_js_xds: +(ours.ms / theirs.ms).toFixed(3),
};
console.log(`\nRESULT ${JSON.stringify(result)}`);
