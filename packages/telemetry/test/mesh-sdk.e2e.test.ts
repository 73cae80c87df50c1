// startMeshSdk (@inboard/telemetry/sdk) end to end: productpage calls reviews through the mesh on
// loopback with a real NodeSDK started by the helper. The Resource names the workload from its xDS
// node; istio_requests_total is scraped over HTTP from the helper's Prometheus endpoint (and read by
// a reader the application passed); the application's span and the mesh's spans leave through the
// same exporter in one trace with one Resource; sampling is Istio's 1% unless OTEL_TRACES_SAMPLER
// says otherwise; OTEL_TRACES_EXPORTER decides the default exporter; bad options fail early.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type MeshSdk, type MeshSdkOptions, samplerFromEnv, startMeshSdk } from '@inboard/telemetry/sdk';
import type { BootstrapNode } from '@inboard/xds';
import { context, logs, metrics, propagation, ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  BatchSpanProcessor,
  type IdGenerator,
  InMemorySpanExporter,
  RandomIdGenerator,
  SamplingDecision,
} from '@opentelemetry/sdk-trace';
import { TELEMETRY_SCOPE } from '../src/index.ts';
import { CLIENT_NODE, httpGet, parsePrometheus, type Sample, TwoServices } from './mesh-fixtures.ts';

// TraceIdRatioBased(0.01) keeps a trace id whose four 32-bit words XOR below 0.01 × 2^32
const LOW_TRACE = `00000001${'0'.repeat(24)}`; // kept at 1%
const LOW_TRACE_2 = `00000002${'0'.repeat(24)}`; // kept at 1%
const HIGH_TRACE = `ffffffff${'0'.repeat(24)}`; // dropped at 1%

/** Random ids, except the trace id a test asks for next. */
class ScriptedIds implements IdGenerator {
  readonly #random = new RandomIdGenerator();
  next: string | undefined;
  generateTraceId(): string {
    const id = this.next ?? this.#random.generateTraceId();
    this.next = undefined;
    return id;
  }
  generateSpanId(): string {
    return this.#random.generateSpanId();
  }
}

const OTEL_ENV = [
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_TRACES_EXPORTER',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_PROPAGATORS',
  'OTEL_SDK_DISABLED',
  'OTEL_NODE_RESOURCE_DETECTORS',
];

/** Sets (or, for undefined, removes) OTEL_* variables — all of OTEL_ENV are cleared — and returns the undo. */
function withEnv(vars: Readonly<Record<string, string>>): () => void {
  const saved = OTEL_ENV.map((k) => [k, process.env[k]] as const);
  for (const k of OTEL_ENV) delete process.env[k];
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** NodeSDK registers global providers; each start here gets fresh globals. */
function resetGlobals(): void {
  trace.disable();
  metrics.disable();
  logs.disable();
  propagation.disable();
  context.disable();
}

const svc = new TwoServices();

before(async () => {
  await svc.start();
});

after(async () => {
  await svc.stop();
});

/**
 * The describe block's mesh SDK: started before its tests with `env` as the only OTEL_* variables
 * (this process also plays reviews, so no inbound side), shut down after them with fresh globals.
 */
function suiteMeshSdk(env: Readonly<Record<string, string>>, options: MeshSdkOptions): () => MeshSdk {
  let restoreEnv: () => void = () => {};
  let meshSdk: MeshSdk | undefined;
  before(async () => {
    restoreEnv = withEnv(env);
    meshSdk = await startMeshSdk({ mesh: svc.mesh, inbound: false, resourceDetectors: [], ...options });
  });
  after(async () => {
    await meshSdk?.shutdown();
    resetGlobals();
    restoreEnv();
  });
  return () => meshSdk!;
}

async function callReviews(): Promise<void> {
  const res = await svc.mesh.fetch('http://reviews:9080/reviews/1');
  assert.equal(res.status, 200);
  await res.text();
}

function sourceRequests(samples: readonly Sample[]): Sample[] {
  return samples.filter(
    (s) => s.name === 'istio_requests_total' && s.labels.reporter === 'source' && s.labels.response_code === '200',
  );
}

describe('a workload started with startMeshSdk’s defaults', () => {
  const spans = new InMemorySpanExporter();
  const ids = new ScriptedIds();
  // the application's own reader: it reads the mesh's metrics too
  const appReader = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  const meshSdk = suiteMeshSdk(
    {},
    {
      traceExporter: spans,
      idGenerator: ids,
      metricReaders: [appReader],
      prometheus: { port: 0, host: '127.0.0.1' },
    },
  );

  test('the Resource names the workload as its xDS node does', () => {
    const a = meshSdk().resource.attributes;
    assert.equal(a['service.name'], 'productpage'); // canonical service, from the app label
    assert.equal(a['service.version'], 'v1'); // canonical revision
    assert.equal(a['service.namespace'], 'default');
    assert.equal(a['k8s.namespace.name'], 'default');
    assert.equal(a['k8s.pod.name'], 'productpage-v1-7d4f8'); // from the node id
    assert.equal(a['k8s.pod.ip'], '127.0.0.1');
    assert.equal(a['telemetry.sdk.language'], 'nodejs'); // the SDK's defaults stay
    assert.ok(CLIENT_NODE.includes('productpage-v1-7d4f8.default'));
  });

  test('sampling is Istio’s default: 1% of new traces, a caller’s decision followed', () => {
    const s = meshSdk().sampler;
    assert.match(s.toString(), /^ParentBased\{root=TraceIdRatioBased\{0\.01\}/);
    const decide = (ctx: typeof ROOT_CONTEXT, traceId: string) =>
      s.shouldSample(ctx, traceId, 'GET', SpanKind.CLIENT, {}, []).decision;
    assert.equal(decide(ROOT_CONTEXT, HIGH_TRACE), SamplingDecision.NOT_RECORD);
    assert.equal(decide(ROOT_CONTEXT, LOW_TRACE), SamplingDecision.RECORD_AND_SAMPLED);
    const sampledCaller = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: HIGH_TRACE,
      spanId: '1'.repeat(16),
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    assert.equal(decide(sampledCaller, HIGH_TRACE), SamplingDecision.RECORD_AND_SAMPLED);

    // the application's spans are sampled by the same rule
    const tracer = trace.getTracer('productpage');
    ids.next = HIGH_TRACE;
    const dropped = tracer.startSpan('dropped');
    assert.equal(dropped.isRecording(), false);
    dropped.end();
    ids.next = LOW_TRACE_2;
    const kept = tracer.startSpan('kept');
    assert.equal(kept.isRecording(), true);
    kept.end();
  });

  describe('one request productpage → reviews inside an application span', () => {
    let render: { traceId: string; spanId: string };

    before(async () => {
      spans.reset();
      ids.next = LOW_TRACE;
      await trace.getTracer('productpage').startActiveSpan('render', async (span) => {
        render = span.spanContext();
        await callReviews();
        span.end();
      });
    });

    test('istio_requests_total is served on the Prometheus endpoint, with the Resource in target_info', async () => {
      const url = meshSdk().metricsServer?.url;
      assert.equal(url, `http://127.0.0.1:${meshSdk().metricsServer?.port}/metrics`);
      const r = await httpGet(url!);
      assert.equal(r.status, 200);
      const samples = parsePrometheus(r.body);
      const [req] = sourceRequests(samples);
      assert.ok(req, 'a source istio_requests_total series with response_code 200');
      assert.equal(req.value, 1);
      assert.equal(req.labels.source_canonical_service, 'productpage');
      assert.equal(req.labels.destination_service, 'reviews.default.svc.cluster.local');
      assert.equal(req.labels.otel_scope_name, undefined, 'Istio’s label set, no scope labels');
      const target = samples.find((s) => s.name === 'target_info');
      assert.equal(target?.labels.service_name, 'productpage');
      assert.equal(target?.labels.k8s_pod_name, 'productpage-v1-7d4f8');
      const httpCount = samples.find(
        (s) => s.name === 'http_client_request_duration_count' && s.labels.http_response_status_code === '200',
      );
      assert.equal(httpCount?.value, 1);
      assert.equal((await httpGet(url!.replace('/metrics', '/other'))).status, 404);
    });

    test('a metric reader the application passed reads the mesh’s metrics too', async () => {
      const { resourceMetrics } = await appReader.collect();
      const samples = parsePrometheus(new PrometheusSerializer().serialize(resourceMetrics));
      assert.equal(sourceRequests(samples)[0]?.value, 1);
      assert.equal(resourceMetrics.resource.attributes['service.name'], 'productpage');
    });

    test('the application’s span and the mesh’s spans leave through the one exporter: one trace, one Resource', async () => {
      await meshSdk().forceFlush();
      const got = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === render.traceId);
      const app = got.find((s) => s.name === 'render');
      const mesh = got.filter((s) => s.instrumentationScope.name === TELEMETRY_SCOPE);
      assert.ok(app, 'the application span');
      // the request span and its attempt span
      assert.equal(mesh.length, 2, `mesh spans: ${got.map((s) => `${s.name}/${s.instrumentationScope.name}`)}`);
      for (const s of mesh) assert.equal(s.kind, SpanKind.CLIENT);
      const request = mesh.find((s) => s.parentSpanContext?.spanId === render.spanId);
      assert.ok(request, 'the mesh’s request span is a child of the application span');
      for (const s of [app, ...mesh]) assert.deepEqual(s.resource.attributes, meshSdk().resource.attributes);
      assert.equal(meshSdk().spanProcessors.length, 1);
      assert.ok(meshSdk().spanProcessors[0] instanceof BatchSpanProcessor);
    });
  });
});

describe('access logs as log records through the SDK’s LoggerProvider (accessLog.logs: true)', () => {
  const records = new InMemoryLogRecordExporter();
  const meshSdk = suiteMeshSdk(
    { OTEL_TRACES_EXPORTER: 'none' },
    {
      prometheus: false,
      logRecordProcessors: [new SimpleLogRecordProcessor({ exporter: records })],
      accessLog: { logs: true },
    },
  );

  test('one record per request, Istio’s text line as its body, the workload’s Resource', async () => {
    const res = await svc.mesh.fetch('http://reviews:9080/reviews/41');
    await res.text();
    const out = records.getFinishedLogRecords();
    assert.equal(out.length, 1);
    assert.match(String(out[0]!.body), /^\[[^\]]+\] "GET \/reviews\/41 HTTP\/1\.1" 200 - via_upstream /);
    assert.equal(out[0]!.resource.attributes['service.name'], meshSdk().resource.attributes['service.name']);
  });
});

describe('OTEL_TRACES_SAMPLER=always_on', () => {
  const spans = new InMemorySpanExporter();
  const ids = new ScriptedIds();
  const meshSdk = suiteMeshSdk(
    { OTEL_TRACES_SAMPLER: 'always_on' },
    { traceExporter: spans, idGenerator: ids, prometheus: false },
  );

  test('wins over Istio’s default for the application’s spans and the mesh’s', async () => {
    assert.equal(meshSdk().sampler.toString(), 'AlwaysOnSampler');
    ids.next = HIGH_TRACE;
    const span = trace.getTracer('productpage').startSpan('root');
    assert.equal(span.isRecording(), true);
    span.end();
    assert.equal(meshSdk().prometheus, undefined);
    assert.equal(meshSdk().metricsServer, undefined);

    // a request with no application span around it: the mesh's root is kept too
    spans.reset();
    await callReviews();
    await meshSdk().forceFlush();
    const mesh = spans.getFinishedSpans().filter((s) => s.instrumentationScope.name === TELEMETRY_SCOPE);
    assert.equal(mesh.length, 2);
    assert.equal(mesh.find((s) => s.parentSpanContext === undefined)?.kind, SpanKind.CLIENT);
  });
});

test('the other OTEL_TRACES_SAMPLER values give the mesh what NodeSDK builds', () => {
  const s = (OTEL_TRACES_SAMPLER: string, OTEL_TRACES_SAMPLER_ARG?: string) =>
    samplerFromEnv({ OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG })?.toString();
  assert.equal(s('always_off'), 'AlwaysOffSampler');
  assert.equal(s('traceidratio', '0.25'), 'TraceIdRatioBased{0.25}');
  assert.equal(s('traceidratio'), 'TraceIdRatioBased{1}'); // sdk-node: a missing ratio is 1
  assert.equal(s('traceidratio', '2'), 'TraceIdRatioBased{1}');
  assert.match(s('parentbased_traceidratio', '0.5') ?? '', /^ParentBased\{root=TraceIdRatioBased\{0\.5\}/);
  assert.match(s('parentbased_always_off') ?? '', /^ParentBased\{root=AlwaysOffSampler/);
  assert.match(s('parentbased_always_on') ?? '', /^ParentBased\{root=AlwaysOnSampler/);
  assert.equal(s('jaeger_remote'), undefined);
});

describe('the Resource, the exporter and the environment', () => {
  const node: BootstrapNode = {
    id: 'sidecar~10.1.2.3~ratings-v2-6b8f9.bookinfo~bookinfo.svc.cluster.local',
    cluster: '',
    userAgentName: 'inboard',
    userAgentVersion: '0',
    clientFeatures: [],
    metadata: {
      NAMESPACE: 'bookinfo',
      NAME: 'ratings-v2-6b8f9',
      WORKLOAD_NAME: 'ratings-v2',
      OWNER: 'kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/ratings-v2',
      NODE_NAME: 'node-7',
      INSTANCE_IPS: '10.1.2.3,fd00::3',
      LABELS: { app: 'ratings', version: 'v2' },
    },
  };

  async function started(env: Record<string, string>, options: Parameters<typeof startMeshSdk>[0]) {
    const restore = withEnv(env);
    try {
      return await startMeshSdk({ node, resourceDetectors: [], prometheus: false, ...options });
    } finally {
      restore();
    }
  }

  async function stop(meshSdk: MeshSdk): Promise<void> {
    await meshSdk.shutdown();
    resetGlobals();
  }

  test('node metadata fills the Kubernetes attributes; OTEL_SERVICE_NAME and resourceAttributes win', async () => {
    const meshSdk = await started(
      { OTEL_SERVICE_NAME: 'ratings-svc', OTEL_RESOURCE_ATTRIBUTES: 'service.version=from-env,team=a' },
      { traceExporter: new InMemorySpanExporter(), resourceAttributes: { team: 'b' } },
    );
    try {
      const a = meshSdk.resource.attributes;
      assert.equal(a['service.name'], 'ratings-svc');
      assert.equal(a['service.version'], 'from-env');
      assert.equal(a.team, 'b');
      assert.equal(a['service.namespace'], 'bookinfo');
      assert.equal(a['k8s.pod.name'], 'ratings-v2-6b8f9');
      assert.equal(a['k8s.pod.ip'], '10.1.2.3');
      assert.equal(a['k8s.node.name'], 'node-7');
      assert.equal(a['k8s.deployment.name'], 'ratings-v2');
    } finally {
      await stop(meshSdk);
    }
  });

  test('OTEL_TRACES_EXPORTER=none and no exporter given: nothing traces', async () => {
    const meshSdk = await started({ OTEL_TRACES_EXPORTER: 'none', OTEL_TRACES_SAMPLER: 'always_on' }, {});
    try {
      assert.deepEqual(meshSdk.spanProcessors, []);
      assert.equal(trace.getTracer('x').startSpan('y').isRecording(), false);
    } finally {
      await stop(meshSdk);
    }
  });

  test('no exporter configured anywhere: one BatchSpanProcessor, as NodeSDK’s OTLP default', async () => {
    const meshSdk = await started({}, {});
    try {
      assert.equal(meshSdk.spanProcessors.length, 1);
      assert.ok(meshSdk.spanProcessors[0] instanceof BatchSpanProcessor);
    } finally {
      await stop(meshSdk);
    }
  });
});

describe('options that cannot work', () => {
  test('fail with TELEMETRY_OPTIONS naming the option, before anything starts', async () => {
    await assert.rejects(startMeshSdk({ prometheus: { port: 70_000 } }), {
      code: 'TELEMETRY_OPTIONS',
      option: 'prometheus.port',
    });
    await assert.rejects(startMeshSdk({ traceExporter: {} as never }), {
      code: 'TELEMETRY_OPTIONS',
      option: 'traceExporter',
    });
    await assert.rejects(startMeshSdk({ metricReaders: [{}] as never }), {
      code: 'TELEMETRY_OPTIONS',
      option: 'metricReaders[0]',
    });
    assert.equal(trace.getTracer('x').startSpan('y').isRecording(), false);
  });

  test('a Prometheus port in use fails the start and leaves no SDK registered', async () => {
    const busy = createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const port = (busy.address() as AddressInfo).port;
    const restore = withEnv({ OTEL_TRACES_SAMPLER: 'always_on' });
    try {
      await assert.rejects(
        startMeshSdk({
          mesh: svc.mesh,
          traceExporter: new InMemorySpanExporter(),
          prometheus: { port, host: '127.0.0.1' },
        }),
        { code: 'EADDRINUSE' },
      );
      assert.equal(trace.getTracer('x').startSpan('y').isRecording(), false);
    } finally {
      restore();
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });
});
