// One call productpage → reviews through the mesh on loopback, both sides with Inboard telemetry
// and real OpenTelemetry SDK objects (MeterProvider + PrometheusExporter scraped over HTTP from the
// admin server, TracerProvider + in-memory span exporter): both reporters are counted with
// consistent labels, the spans form one trace, denied and unrouted requests carry their codes and
// flags, and the admin endpoints answer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { nextInboundEvent } from '../../../test/support/inbound-engine.ts';
import { plainRequest } from '../../../test/support/plain-request.ts';
import { type AdminServer, installMeshTelemetry, type MeshTelemetry, startAdminServer } from '../src/index.ts';
import { httpGet, parsePrometheus, REVIEWS_CLUSTER, type Sample, SERVER_NODE, TwoServices } from './mesh-fixtures.ts';

// Istio's label set, written out here (not imported) so the test checks the code against the list
// in istio_stats.cc.
const ISTIO_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
  'response_code',
  'grpc_response_status',
].sort();
const ENVOY_BUCKETS = [
  '0.5',
  '1',
  '5',
  '10',
  '25',
  '50',
  '100',
  '250',
  '500',
  '1000',
  '2500',
  '5000',
  '10000',
  '30000',
  '60000',
  '300000',
  '600000',
  '1800000',
  '3600000',
  '+Inf',
];

const svc = new TwoServices();
const prometheus = new PrometheusExporter({
  preventServerStart: true,
  withoutScopeInfo: true,
  withoutTargetInfo: true,
});
const meterProvider = new MeterProvider({ readers: [prometheus] });
const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
let clientTelemetry: MeshTelemetry;
let serverTelemetry: MeshTelemetry;
let admin: AdminServer;

before(async () => {
  await svc.start();
  // one process plays both workloads: each telemetry watches its own side only
  clientTelemetry = installMeshTelemetry({ mesh: svc.mesh, inbound: false, meterProvider, tracerProvider });
  serverTelemetry = installMeshTelemetry({ xds: svc.serverXds, outbound: false, meterProvider, tracerProvider });
  admin = await startAdminServer({ mesh: svc.mesh, prometheus, port: 0 });
});

after(async () => {
  clientTelemetry?.close();
  serverTelemetry?.close();
  await admin?.close();
  await svc.stop();
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
});

async function scrape(): Promise<Sample[]> {
  const r = await httpGet(`${admin.url}/stats/prometheus`);
  assert.equal(r.status, 200);
  return parsePrometheus(r.body);
}

function only<T>(xs: readonly T[], what: string): T {
  assert.equal(xs.length, 1, `exactly one ${what}, got ${xs.length}`);
  return xs[0]!;
}

describe('one request productpage → reviews', () => {
  let samples: Sample[];
  before(async () => {
    spans.reset();
    const served = nextInboundEvent((e) => e.path === '/reviews/1');
    const res = await svc.mesh.fetch('http://reviews:9080/reviews/1');
    assert.equal(res.status, 200);
    await res.text();
    await served;
    samples = await scrape();
  });

  test('istio_requests_total is reported by both sides with Istio’s exact label set', () => {
    const reqs = samples.filter((s) => s.name === 'istio_requests_total' && s.labels.response_code === '200');
    assert.deepEqual(reqs.map((s) => s.labels.reporter).sort(), ['destination', 'source']);
    for (const s of reqs) {
      assert.deepEqual(Object.keys(s.labels).sort(), ISTIO_LABELS);
      assert.equal(s.value, 1);
    }
  });

  test('the source report names this workload, and the peer from EDS metadata and its metadata-exchange answer', () => {
    const s = only(
      samples.filter(
        (x) => x.name === 'istio_requests_total' && x.labels.reporter === 'source' && x.labels.response_code === '200',
      ),
      'source series',
    );
    assert.deepEqual(s.labels, {
      reporter: 'source',
      source_workload: 'productpage-v1',
      source_workload_namespace: 'default',
      source_principal: 'unknown',
      source_app: 'productpage',
      source_version: 'v1',
      source_canonical_service: 'productpage',
      source_canonical_revision: 'v1',
      source_cluster: 'Kubernetes',
      destination_workload: 'reviews-v1',
      destination_workload_namespace: 'default',
      destination_principal: 'unknown',
      // the server answered the metadata exchange (EDS metadata carries no app / version)
      destination_app: 'reviews',
      destination_version: 'v1',
      destination_service: 'reviews.default.svc.cluster.local',
      destination_service_name: 'reviews',
      destination_service_namespace: 'default',
      destination_canonical_service: 'reviews',
      destination_canonical_revision: 'v1',
      destination_cluster: 'Kubernetes',
      request_protocol: 'http',
      response_flags: '-',
      connection_security_policy: 'unknown',
      response_code: '200',
      grpc_response_status: '',
    });
  });

  test('the destination report agrees on the destination and the request', () => {
    const src = only(
      samples.filter(
        (x) => x.name === 'istio_requests_total' && x.labels.reporter === 'source' && x.labels.response_code === '200',
      ),
      'source series',
    );
    const dst = only(
      samples.filter(
        (x) =>
          x.name === 'istio_requests_total' && x.labels.reporter === 'destination' && x.labels.response_code === '200',
      ),
      'destination series',
    );
    for (const k of [
      // the caller told the server who it is (Istio's metadata exchange)
      'source_workload',
      'source_workload_namespace',
      'source_app',
      'source_version',
      'source_canonical_service',
      'source_canonical_revision',
      'source_cluster',
      'destination_workload',
      'destination_workload_namespace',
      'destination_service',
      'destination_service_name',
      'destination_service_namespace',
      'destination_canonical_service',
      'destination_canonical_revision',
      'destination_cluster',
      'request_protocol',
      'response_code',
      'response_flags',
    ]) {
      assert.equal(dst.labels[k], src.labels[k], k);
    }
    // the server knows its own app/version labels; plaintext: no principals, policy none
    assert.equal(dst.labels.destination_app, 'reviews');
    assert.equal(dst.labels.destination_version, 'v1');
    assert.equal(dst.labels.connection_security_policy, 'none');
    assert.equal(dst.labels.source_principal, 'unknown');
    assert.equal(dst.labels.source_workload, 'productpage-v1');
    assert.equal(dst.labels.source_app, 'productpage');
  });

  test('the histograms have Envoy’s default buckets and count the request', () => {
    for (const name of ['istio_request_duration_milliseconds', 'istio_request_bytes', 'istio_response_bytes']) {
      const buckets = samples.filter(
        (s) => s.name === `${name}_bucket` && s.labels.reporter === 'source' && s.labels.response_code === '200',
      );
      assert.deepEqual(
        buckets.map((b) => b.labels.le),
        ENVOY_BUCKETS,
        name,
      );
      assert.equal(buckets.at(-1)!.value, 1);
      const count = samples.find(
        (s) => s.name === `${name}_count` && s.labels.reporter === 'source' && s.labels.response_code === '200',
      );
      assert.equal(count?.value, 1);
    }
    const respBytes = samples.find(
      (s) =>
        s.name === 'istio_response_bytes_sum' && s.labels.reporter === 'source' && s.labels.response_code === '200',
    );
    assert.equal(respBytes?.value, Buffer.byteLength('{"reviews":[]}'));
  });

  test('the OpenTelemetry HTTP duration metrics carry the logical server and the semconv buckets', () => {
    const client = samples.filter(
      (s) => s.name === 'http_client_request_duration_bucket' && s.labels.http_response_status_code === '200',
    );
    assert.deepEqual(
      client.map((b) => b.labels.le),
      ['0.005', '0.01', '0.025', '0.05', '0.075', '0.1', '0.25', '0.5', '0.75', '1', '2.5', '5', '7.5', '10', '+Inf'],
    );
    assert.equal(client[0]!.labels.server_address, 'reviews');
    assert.equal(client[0]!.labels.server_port, '9080');
    assert.equal(client[0]!.labels.http_request_method, 'GET');
    const server = samples.find(
      (s) => s.name === 'http_server_request_duration_count' && s.labels.http_response_status_code === '200',
    );
    assert.equal(server?.value, 1);
    assert.equal(server?.labels.url_scheme, 'http');
  });

  test('client span, attempt span and server span share one trace', () => {
    const finished = spans.getFinishedSpans();
    const client = only(
      finished.filter((s) => s.kind === SpanKind.CLIENT && !isAttempt(s, finished)),
      'request span',
    );
    const attempt = only(
      finished.filter((s) => s.kind === SpanKind.CLIENT && s.parentSpanContext?.spanId === client.spanContext().spanId),
      'attempt span',
    );
    const server = only(
      finished.filter((s) => s.kind === SpanKind.SERVER),
      'server span',
    );
    const traceId = client.spanContext().traceId;
    assert.equal(attempt.spanContext().traceId, traceId);
    assert.equal(server.spanContext().traceId, traceId);
    assert.equal(
      server.parentSpanContext?.spanId,
      attempt.spanContext().spanId,
      'the server span is a child of the attempt',
    );
    assert.equal(client.attributes['server.address'], 'reviews');
    assert.equal(client.attributes['server.port'], 9080);
    assert.equal(client.attributes['url.full'], 'http://reviews:9080/reviews/1');
    assert.equal(client.attributes['http.response.status_code'], 200);
    assert.equal(client.attributes.upstream_cluster, REVIEWS_CLUSTER);
    assert.equal(attempt.attributes['network.peer.address'], '127.0.0.1');
    assert.equal(attempt.attributes['network.peer.port'], svc.port);
    assert.equal(attempt.attributes['http.request.resend_count'], undefined, 'a first attempt is no resend');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.attributes['url.path'], '/reviews/1');
  });

  test('the upstream received exactly one traceparent, the attempt’s', () => {
    const seen = svc.seen.at(-1)!;
    const values = [];
    for (let i = 0; i < seen.rawHeaders.length; i += 2)
      if (seen.rawHeaders[i]!.toLowerCase() === 'traceparent') values.push(seen.rawHeaders[i + 1]);
    assert.equal(values.length, 1);
    const attempt = spans.getFinishedSpans().find((s) => s.attributes['network.peer.port'] === svc.port)!;
    assert.equal(values[0], `00-${attempt.spanContext().traceId}-${attempt.spanContext().spanId}-01`);
  });

  test('the metadata exchange headers reach neither application', async () => {
    const res = await svc.mesh.fetch('http://reviews:9080/reviews/2');
    await res.text();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-envoy-peer-metadata'), null);
    assert.equal(res.headers.get('x-envoy-peer-metadata-id'), null);
    const seen = svc.seen.at(-1)!;
    assert.equal(seen.headers['x-envoy-peer-metadata'], undefined);
    assert.equal(seen.headers['x-envoy-peer-metadata-id'], undefined);
  });
});

test('a caller is answered with the exchange headers it sent, each on its own (as Istio’s filter)', async () => {
  const ask = (headers: Record<string, string>) => plainRequest({ port: svc.port, path: '/reviews/9', headers });
  const idOnly = await ask({ 'x-envoy-peer-metadata-id': 'sidecar~10.0.0.9~caller.default~default.svc.cluster.local' });
  assert.equal(idOnly.headers['x-envoy-peer-metadata-id'], SERVER_NODE);
  assert.equal(idOnly.headers['x-envoy-peer-metadata'], undefined);
  const both = await ask({ 'x-envoy-peer-metadata-id': 'caller', 'x-envoy-peer-metadata': 'Cg==' });
  assert.equal(both.headers['x-envoy-peer-metadata-id'], SERVER_NODE);
  assert.match(String(both.headers['x-envoy-peer-metadata']), /^[A-Za-z0-9+/]+=*$/);
  const none = await ask({});
  assert.equal(none.headers['x-envoy-peer-metadata-id'], undefined);
  assert.equal(none.headers['x-envoy-peer-metadata'], undefined);
});

/** A CLIENT span whose parent is another CLIENT span of the list is an attempt. */
function isAttempt(s: ReadableSpan, all: readonly ReadableSpan[]): boolean {
  return all.some((p) => p.kind === SpanKind.CLIENT && p.spanContext().spanId === s.parentSpanContext?.spanId);
}

describe('failures keep their codes and flags', () => {
  test('a request the server’s RBAC denies: 403 on both sides, no flag (as Envoy)', async () => {
    const denied = nextInboundEvent((e) => e.path === '/admin');
    const res = await svc.mesh.fetch('http://reviews:9080/admin');
    assert.equal(res.status, 403);
    await res.text();
    await denied;
    const samples = await scrape();
    const reqs = samples.filter((s) => s.name === 'istio_requests_total' && s.labels.response_code === '403');
    assert.deepEqual(reqs.map((s) => `${s.labels.reporter}:${s.labels.response_flags}:${s.value}`).sort(), [
      'destination:-:1',
      'source:-:1',
    ]);
    const span = spans
      .getFinishedSpans()
      .find((s) => s.kind === SpanKind.SERVER && s.attributes['url.path'] === '/admin');
    assert.equal(span?.attributes['inboard.rbac.matched_policy'], 'default-deny-admin-0');
  });

  test('a request no route matches: 404 NR, reported by the source only', async () => {
    const res = await svc.mesh.fetch('http://reviews:9080/nothing-here');
    assert.equal(res.status, 404);
    await res.text();
    const samples = await scrape();
    const nr = only(
      samples.filter((s) => s.name === 'istio_requests_total' && s.labels.response_flags === 'NR'),
      'NR series',
    );
    assert.equal(nr.labels.reporter, 'source');
    assert.equal(nr.labels.response_code, '404');
    assert.equal(
      nr.labels.destination_service,
      'reviews:9080',
      'no cluster: the Host header names the service, as in istio_stats',
    );
    assert.equal(nr.labels.destination_workload, 'unknown');
    assert.equal(nr.value, 1);
  });
});

describe('admin endpoints', () => {
  test('/ready is 200 LIVE once the subscriptions are answered', async () => {
    const r = await httpGet(`${admin.url}/ready`);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'LIVE\n');
  });

  test('/config_dump has Envoy’s sections with versions, update times and ACK status', async () => {
    const r = await httpGet(`${admin.url}/config_dump`);
    assert.equal(r.status, 200);
    const dump = JSON.parse(r.body) as { configs: Record<string, unknown>[] };
    const types = dump.configs.map((c) => c['@type']);
    for (const t of [
      'BootstrapConfigDump',
      'ClustersConfigDump',
      'EndpointsConfigDump',
      'ListenersConfigDump',
      'RoutesConfigDump',
    ]) {
      assert.ok(types.includes(`type.googleapis.com/envoy.admin.v3.${t}`), t);
    }
    const listeners = dump.configs.find(
      (c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
    ) as {
      dynamic_listeners: {
        name: string;
        client_status: string;
        active_state: { version_info: string; last_updated: string; listener: Record<string, unknown> };
      }[];
    };
    const l = listeners.dynamic_listeners.find((x) => x.name === 'reviews:9080')!;
    assert.equal(l.client_status, 'ACKED');
    assert.match(l.active_state.version_info, /^\d+$/);
    assert.ok(!Number.isNaN(Date.parse(l.active_state.last_updated)));
    assert.equal(l.active_state.listener['@type'], 'type.googleapis.com/envoy.config.listener.v3.Listener');
    const clusters = dump.configs.find(
      (c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
    ) as {
      dynamic_active_clusters: { cluster: { name: string } }[];
    };
    assert.deepEqual(
      clusters.dynamic_active_clusters.map((c) => c.cluster.name),
      [REVIEWS_CLUSTER],
    );
  });

  test('/clusters lists the endpoint with its health and active requests', async () => {
    const text = await httpGet(`${admin.url}/clusters`);
    const key = `${REVIEWS_CLUSTER}::127.0.0.1:${svc.port}`;
    assert.ok(text.body.includes(`${key}::health_flags::healthy\n`), text.body);
    assert.ok(text.body.includes(`${key}::rq_active::0\n`));
    assert.ok(text.body.includes(`${REVIEWS_CLUSTER}::default_priority::max_requests::1024\n`));
    const json = JSON.parse((await httpGet(`${admin.url}/clusters?format=json`)).body) as {
      cluster_statuses: {
        name: string;
        host_statuses: { address: { socket_address: { port_value: number } }; metadata: { istio_workload: string } }[];
      }[];
    };
    const c = only(json.cluster_statuses, 'cluster');
    assert.equal(c.name, REVIEWS_CLUSTER);
    assert.equal(c.host_statuses[0]!.address.socket_address.port_value, svc.port);
    assert.equal(c.host_statuses[0]!.metadata.istio_workload, 'reviews-v1;default;reviews;v1;Kubernetes');
  });

  test('/explain shows the route, cluster, policies and endpoint a request would take', async () => {
    const r = await httpGet(`${admin.url}/explain?method=GET&host=reviews:9080&path=/reviews/7&header=x-user:jason`);
    assert.equal(r.status, 200);
    // biome-ignore lint/suspicious/noExplicitAny: a JSON answer read field by field
    const x = JSON.parse(r.body) as Record<string, any>;
    assert.equal(x.outcome, 'forward');
    assert.equal(x.virtualHost.name, 'reviews.default.svc.cluster.local:9080');
    assert.equal(x.route.name, 'reviews-route');
    assert.equal(x.cluster.name, REVIEWS_CLUSTER);
    assert.equal(x.policies.retries.numRetries, 2);
    assert.equal(x.policies.timeoutSource, 'none (0 disables it)');
    assert.equal(x.endpoint.address, `127.0.0.1:${svc.port}`);
    assert.ok((x.why as string[]).some((w) => w.includes('reviews-route')));
    const nrBody = (await httpGet(`${admin.url}/explain?host=reviews:9080&path=/elsewhere`)).body;
    const nr = JSON.parse(nrBody) as { outcome: string; response: unknown };
    assert.equal(nr.outcome, 'route_not_found');
    assert.deepEqual(nr.response, { status: 404, flags: 'NR' });
    const bad = await httpGet(`${admin.url}/explain?path=/`);
    assert.equal(bad.status, 400);
  });
});
