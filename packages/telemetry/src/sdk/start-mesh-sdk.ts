// startMeshSdk: an OpenTelemetry NodeSDK started with a service mesh's defaults, and the mesh's
// telemetry installed into it (the `@inboard/telemetry/sdk` subpath; needs the optional peer
// @opentelemetry/sdk-node).
//
//   const telemetry = await startMeshSdk({ mesh });   // OTLP traces (OTEL_* env), Prometheus on :9464
//   ...
//   await telemetry.shutdown();
//
// - The Resource is this workload as the xDS node names it (mesh-resource.ts), shared by the
//   application's spans, the mesh's spans and the metrics.
// - One set of span processors (one BatchSpanProcessor over the trace exporter) goes to NodeSDK and
//   to installMeshTelemetry, so the mesh's natively recorded spans and the application's spans
//   leave through the same exporter with the same Resource.
// - Sampling is Istio's default, 1% of new traces, callers' decisions followed (mesh-sampler.ts).
// - Istio's standard metrics and the HTTP duration metrics aggregate in-process (IstioStats,
//   HttpStats) and reach a PrometheusExporter served on :9464/metrics and every metric reader given.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OutboundMesh } from '@inboard/http';
import { type BootstrapNode, createLogger, type Xds } from '@inboard/xds';
import type { Attributes, ContextManager, TextMapPropagator } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource, ResourceDetector } from '@opentelemetry/resources';
import type {
  CollectionResult,
  IMetricReader,
  MetricCollectOptions,
  MetricProducer,
  ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type IdGenerator,
  type Sampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanLimits,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { AccessLogOptions } from '../access-log.ts';
import { HttpStats } from '../http-stats.ts';
import { installMeshTelemetry, type MeshTelemetry, type TracingOptions } from '../install-mesh-telemetry.ts';
import { IstioStats } from '../istio-stats.ts';
import type { PropagationMode } from '../outbound-tracing.ts';
import { TelemetryOptionsError } from '../telemetry-errors.ts';
import { detectorsFromEnv, meshResource, meshResourceAttributes } from './mesh-resource.ts';
import {
  chooseSampler,
  type Env,
  ISTIO_DEFAULT_SAMPLING_PERCENT,
  istioSampler,
  samplerFromEnv,
} from './mesh-sampler.ts';

export { ISTIO_DEFAULT_SAMPLING_PERCENT, istioSampler, meshResourceAttributes, samplerFromEnv, TelemetryOptionsError };

const log = createLogger('telemetry.sdk');

/** The Prometheus exporter's registered port (prometheus/prometheus wiki, default port allocations). */
export const DEFAULT_PROMETHEUS_PORT = 9464;

export interface MeshSdkPrometheusOptions {
  /** default 9464; 0 picks a free port */
  readonly port?: number;
  /** default: every interface (Prometheus scrapes the pod's IP) */
  readonly host?: string;
  /** default `/metrics` */
  readonly endpoint?: string;
  /** default true: Istio's series carry exactly Istio's labels (no otel_scope_* labels) */
  readonly withoutScopeInfo?: boolean;
  /** default false: `target_info` carries the Resource */
  readonly withoutTargetInfo?: boolean;
  /** resource attributes to copy onto every series as labels */
  readonly withResourceConstantLabels?: RegExp;
  readonly prefix?: string;
}

export interface MeshSdkTracingOptions {
  /** how the mesh writes trace context on its requests (installMeshTelemetry's; default 'auto') */
  readonly propagation?: PropagationMode;
  /** also B3 multi headers (default: true when OTEL_PROPAGATORS names b3multi) */
  readonly b3?: boolean;
}

export interface MeshSdkOptions {
  /** the outbound mesh: its requests are observed, its node names this workload */
  readonly mesh?: OutboundMesh;
  /** where the node comes from without a mesh (inbound-only servers) */
  readonly xds?: Xds;
  /** the node, when neither mesh nor xds is given */
  readonly node?: BootstrapNode;
  /** observe outbound / inbound requests (installMeshTelemetry's; default true / true) */
  readonly outbound?: boolean;
  readonly inbound?: boolean;
  /** installMeshTelemetry's; `logs: true` emits the records through this SDK's LoggerProvider */
  readonly accessLog?: AccessLogOptions;
  readonly metadataExchange?: boolean;
  readonly trustDomain?: string;
  /** the mesh's spans and propagation; false: no mesh spans (the application still traces) */
  readonly tracing?: boolean | MeshSdkTracingOptions;
  /** where spans go, through one BatchSpanProcessor (default: OTEL_TRACES_EXPORTER, else OTLP http/protobuf) */
  readonly traceExporter?: SpanExporter;
  /** more span processors (with traceExporter), or instead of it; [] alone: no tracing */
  readonly spanProcessors?: readonly SpanProcessor[];
  /** default: OTEL_TRACES_SAMPLER, else Istio's ParentBased(TraceIdRatioBased(0.01)) */
  readonly sampler?: Sampler;
  readonly idGenerator?: IdGenerator;
  readonly spanLimits?: SpanLimits;
  /** more metric readers: each also reads IstioStats and HttpStats */
  readonly metricReaders?: readonly IMetricReader[];
  readonly views?: readonly ViewOptions[];
  /** the scrape endpoint (default port 9464, /metrics); false: none */
  readonly prometheus?: false | MeshSdkPrometheusOptions;
  /** the in-process aggregates to record into (new ones by default) */
  readonly istioStats?: IstioStats;
  readonly httpStats?: HttpStats;
  /** win over everything else in the Resource */
  readonly resourceAttributes?: Attributes;
  /** default: NodeSDK's (host, os, process, service instance id) or OTEL_NODE_RESOURCE_DETECTORS */
  readonly resourceDetectors?: readonly ResourceDetector[];
  readonly instrumentations?: NodeSDKConfiguration['instrumentations'];
  /** default: OTEL_PROPAGATORS, else W3C trace context + baggage (NodeSDK's); null: none */
  readonly textMapPropagator?: TextMapPropagator | null;
  /** default: AsyncLocalStorage (NodeSDK's) */
  readonly contextManager?: ContextManager;
  /** default: OTEL_LOGS_EXPORTER (NodeSDK's) */
  readonly logRecordProcessors?: NodeSDKConfiguration['logRecordProcessors'];
}

export interface MeshSdk {
  /** the started NodeSDK (it registered the global providers, propagator and context manager) */
  readonly sdk: NodeSDK;
  readonly telemetry: MeshTelemetry;
  /** the Resource of every span and metric */
  readonly resource: Resource;
  /** the sampler of the mesh's spans (the application's, unless OTEL_TRACES_SAMPLER names one only NodeSDK knows) */
  readonly sampler: Sampler;
  /** shared by the application's and the mesh's spans; empty when nothing traces */
  readonly spanProcessors: readonly SpanProcessor[];
  /** the Prometheus exporter (also usable with startAdminServer), undefined with prometheus: false */
  readonly prometheus: PrometheusExporter | undefined;
  /** where `prometheus` is served */
  readonly metricsServer: { readonly port: number; readonly url: string } | undefined;
  readonly istioStats: IstioStats;
  readonly httpStats: HttpStats;
  /** exports the spans recorded so far and flushes the metric readers */
  forceFlush(): Promise<void>;
  /** stops observing the mesh, closes the scrape endpoint, flushes and shuts the SDK down */
  shutdown(): Promise<void>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function hasMethods(v: unknown, ...names: string[]): boolean {
  return isObject(v) && names.every((n) => typeof v[n] === 'function');
}

function validate(o: MeshSdkOptions): void {
  const bad = (option: string, message: string) => new TelemetryOptionsError(option, message);
  if (o.traceExporter !== undefined && !hasMethods(o.traceExporter, 'export', 'shutdown'))
    throw bad('traceExporter', 'must be a SpanExporter');
  if (o.spanProcessors !== undefined) {
    if (!Array.isArray(o.spanProcessors)) throw bad('spanProcessors', 'must be an array');
    o.spanProcessors.forEach((p, i) => {
      if (!hasMethods(p, 'onStart', 'onEnd', 'forceFlush', 'shutdown'))
        throw bad(`spanProcessors[${i}]`, 'must be a SpanProcessor');
    });
  }
  if (o.sampler !== undefined && !hasMethods(o.sampler, 'shouldSample')) throw bad('sampler', 'must be a Sampler');
  if (o.metricReaders !== undefined) {
    if (!Array.isArray(o.metricReaders)) throw bad('metricReaders', 'must be an array');
    o.metricReaders.forEach((r, i) => {
      if (!hasMethods(r, 'setMetricProducer', 'collect', 'shutdown'))
        throw bad(`metricReaders[${i}]`, 'must be a MetricReader');
    });
  }
  if (o.resourceAttributes !== undefined && (!isObject(o.resourceAttributes) || Array.isArray(o.resourceAttributes)))
    throw bad('resourceAttributes', 'must be an object of attributes');
  const p = o.prometheus;
  if (p === undefined || p === false) return;
  if (!isObject(p)) throw bad('prometheus', 'must be false or { port?, host?, endpoint? }');
  const port: unknown = p.port;
  if (port !== undefined && !(typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535))
    throw bad('prometheus.port', `must be an integer port 0-65535, got ${String(port)}`);
  if (p.host !== undefined && (typeof p.host !== 'string' || p.host === ''))
    throw bad('prometheus.host', 'must be a non-empty string');
  if (p.endpoint !== undefined && (typeof p.endpoint !== 'string' || !p.endpoint.startsWith('/')))
    throw bad('prometheus.endpoint', 'must be a path starting with /');
}

function envList(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

// sdk-node: OTEL_BSP_* that are not positive numbers are ignored
function positiveFromEnv(env: Env, name: string): number | undefined {
  const raw = env[name]?.trim();
  const n = raw === undefined || raw === '' ? Number.NaN : Number(raw);
  return n > 0 ? n : undefined;
}

function batchProcessor(exporter: SpanExporter, env: Env): SpanProcessor {
  return new BatchSpanProcessor({
    exporter,
    maxQueueSize: positiveFromEnv(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
    scheduledDelayMillis: positiveFromEnv(env, 'OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: positiveFromEnv(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
    maxExportBatchSize: positiveFromEnv(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
  });
}

// The exporters NodeSDK builds from OTEL_TRACES_EXPORTER, loaded only when named: they are
// dependencies of @opentelemetry/sdk-node, not of this package.
const OTLP_EXPORTERS: Readonly<Record<string, readonly [string, () => Promise<SpanExporter>]>> = {
  'http/protobuf': [
    '@opentelemetry/exporter-trace-otlp-proto',
    async () => new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter(),
  ],
  'http/json': [
    '@opentelemetry/exporter-trace-otlp-http',
    async () => new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter(),
  ],
  grpc: [
    '@opentelemetry/exporter-trace-otlp-grpc',
    async () => new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter(),
  ],
};
const ZIPKIN_EXPORTER: readonly [string, () => Promise<SpanExporter>] = [
  '@opentelemetry/exporter-zipkin',
  async () => new (await import('@opentelemetry/exporter-zipkin')).ZipkinExporter(),
];

async function loadExporter([pkg, load]: readonly [string, () => Promise<SpanExporter>]): Promise<SpanExporter> {
  try {
    return await load();
  } catch (err) {
    throw new TelemetryOptionsError(
      'traceExporter',
      `OTEL_TRACES_EXPORTER needs ${pkg}, which cannot be loaded (${err instanceof Error ? err.message : String(err)}): install it or pass traceExporter`,
    );
  }
}

/** NodeSDK's span processors from OTEL_TRACES_EXPORTER (otlp by default; none: no tracing). */
async function spanProcessorsFromEnv(env: Env): Promise<SpanProcessor[]> {
  let names = [...new Set(envList(env, 'OTEL_TRACES_EXPORTER'))].filter((n) => n !== 'null');
  if (names[0] === 'none') return [];
  if (names.length === 0 || names.includes('none')) names = ['otlp'];
  const out: SpanProcessor[] = [];
  for (const name of names) {
    if (name === 'otlp') {
      const protocol =
        env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() || env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || 'http/protobuf';
      const otlp = OTLP_EXPORTERS[protocol];
      if (otlp === undefined) log.warn('unsupported OTLP traces protocol: http/protobuf', { protocol });
      out.push(batchProcessor(await loadExporter(otlp ?? OTLP_EXPORTERS['http/protobuf']!), env));
    } else if (name === 'zipkin') {
      out.push(batchProcessor(await loadExporter(ZIPKIN_EXPORTER), env));
    } else if (name === 'console') {
      // printed as each span ends, as NodeSDK does
      out.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
    } else {
      log.warn('unknown OTEL_TRACES_EXPORTER value ignored', { name });
    }
  }
  return out;
}

/**
 * A reader that also reads `producers`. A MetricReader takes extra producers only when it is
 * constructed; this one hands the reader, when the MeterProvider binds it, a producer that
 * collects the SDK's metrics and theirs (as MetricReader itself merges them).
 */
function readerWithProducers(reader: IMetricReader, producers: readonly MetricProducer[]): IMetricReader {
  return {
    setMetricProducer(sdk: MetricProducer) {
      reader.setMetricProducer({
        async collect(options?: MetricCollectOptions): Promise<CollectionResult> {
          const [own, ...more] = await Promise.all([sdk, ...producers].map((p) => p.collect(options)));
          return {
            resourceMetrics: {
              resource: own!.resourceMetrics.resource,
              scopeMetrics: [own!, ...more].flatMap((r) => r.resourceMetrics.scopeMetrics),
            },
            errors: [own!, ...more].flatMap((r) => r.errors),
          };
        },
      });
    },
    selectAggregation: (t) => reader.selectAggregation(t),
    selectAggregationTemporality: (t) => reader.selectAggregationTemporality(t),
    selectCardinalityLimit: (t) => reader.selectCardinalityLimit(t),
    collect: (options) => reader.collect(options),
    forceFlush: (options) => reader.forceFlush(options),
    shutdown: (options) => reader.shutdown(options),
  };
}

interface MetricsServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the exporter's scrape on our own server: the exporter's would not listen on port 0. */
async function serveMetrics(exporter: PrometheusExporter, options: MeshSdkPrometheusOptions): Promise<MetricsServer> {
  const endpoint = options.endpoint ?? '/metrics';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === endpoint && (req.method === 'GET' || req.method === 'HEAD')) {
      exporter.getMetricsRequestHandler(req, res);
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(options.port ?? DEFAULT_PROMETHEUS_PORT, options.host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? 'localhost';
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${endpoint}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sdkDisabled(env: Env): boolean {
  return env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
}

/**
 * Starts a NodeSDK whose Resource, sampler, span processors and metric readers fit a service mesh
 * workload, and installs the mesh's telemetry into it. Throws TelemetryOptionsError
 * (code TELEMETRY_OPTIONS) for options that cannot work, before anything starts.
 */
export async function startMeshSdk(options: MeshSdkOptions = {}): Promise<MeshSdk> {
  validate(options);
  const env: Env = process.env;
  const disabled = sdkDisabled(env);
  const node = options.node ?? options.mesh?.xds.bootstrap.node ?? options.xds?.bootstrap.node;
  const resource = await meshResource({
    node,
    detectors: options.resourceDetectors ?? detectorsFromEnv(env),
    attributes: options.resourceAttributes,
  });
  const sampling = chooseSampler(options.sampler, env);

  const spanProcessors: SpanProcessor[] = [];
  if (!disabled) {
    if (options.traceExporter !== undefined) spanProcessors.push(batchProcessor(options.traceExporter, env));
    if (options.spanProcessors !== undefined) spanProcessors.push(...options.spanProcessors);
    if (options.traceExporter === undefined && options.spanProcessors === undefined)
      spanProcessors.push(...(await spanProcessorsFromEnv(env)));
  }

  const istioStats = options.istioStats ?? new IstioStats();
  const httpStats = options.httpStats ?? new HttpStats();
  const producers: MetricProducer[] = [istioStats, httpStats];
  const prometheusOptions = options.prometheus === false || disabled ? undefined : (options.prometheus ?? {});
  const prometheus =
    prometheusOptions === undefined
      ? undefined
      : new PrometheusExporter({
          preventServerStart: true,
          metricProducers: producers,
          withoutScopeInfo: prometheusOptions.withoutScopeInfo ?? true,
          withoutTargetInfo: prometheusOptions.withoutTargetInfo ?? false,
          withResourceConstantLabels: prometheusOptions.withResourceConstantLabels,
          prefix: prometheusOptions.prefix,
        });
  // listen first: a port in use fails the start before any global is registered
  const metricsServer =
    prometheus === undefined || prometheusOptions === undefined
      ? undefined
      : await serveMetrics(prometheus, prometheusOptions);

  const metricReaders: IMetricReader[] = [];
  if (prometheus !== undefined) metricReaders.push(prometheus);
  if (!disabled) for (const r of options.metricReaders ?? []) metricReaders.push(readerWithProducers(r, producers));

  const config: Partial<NodeSDKConfiguration> = {
    resource,
    autoDetectResources: false,
    spanProcessors: [...spanProcessors],
    metricReaders,
  };
  if (sampling.sdk !== undefined) config.sampler = sampling.sdk;
  if (options.idGenerator !== undefined) config.idGenerator = options.idGenerator;
  if (options.spanLimits !== undefined) config.spanLimits = options.spanLimits;
  if (options.views !== undefined) config.views = [...options.views];
  if (options.instrumentations !== undefined) config.instrumentations = options.instrumentations;
  if (options.textMapPropagator !== undefined) config.textMapPropagator = options.textMapPropagator;
  if (options.contextManager !== undefined) config.contextManager = options.contextManager;
  if (options.logRecordProcessors !== undefined) config.logRecordProcessors = options.logRecordProcessors;
  const sdk = new NodeSDK(config);

  let telemetry: MeshTelemetry;
  try {
    sdk.start();
    const t = options.tracing;
    let tracing: false | TracingOptions = false;
    if (t !== false) {
      const given = t === true || t === undefined ? {} : t;
      tracing = {
        propagation: given.propagation,
        b3: given.b3 ?? envList(env, 'OTEL_PROPAGATORS').includes('b3multi'),
        // without processors nothing is recorded; the mesh still propagates through the API's tracer
        ...(spanProcessors.length > 0 ? { spanProcessors, resource, sampler: sampling.mesh } : {}),
      };
    }
    telemetry = installMeshTelemetry({
      mesh: options.mesh,
      xds: options.xds,
      node: options.node,
      outbound: options.outbound,
      inbound: options.inbound,
      accessLog: options.accessLog,
      metadataExchange: options.metadataExchange,
      trustDomain: options.trustDomain,
      istioMetrics: 'native',
      istioStats,
      httpMetrics: 'native',
      httpStats,
      tracing,
    });
  } catch (err) {
    await metricsServer?.close();
    await sdk.shutdown().catch(() => {});
    throw err;
  }
  log.info('OpenTelemetry SDK started', {
    serviceName: resource.attributes['service.name'],
    sampler: sampling.mesh.toString(),
    samplerSource: sampling.source,
    spanProcessors: spanProcessors.length,
    metrics: metricsServer?.url,
    disabled,
  });

  let shutdown: Promise<void> | undefined;
  return {
    sdk,
    telemetry,
    resource,
    sampler: sampling.mesh,
    spanProcessors,
    prometheus,
    metricsServer: metricsServer === undefined ? undefined : { port: metricsServer.port, url: metricsServer.url },
    istioStats,
    httpStats,
    async forceFlush() {
      await Promise.all([
        ...spanProcessors.map((p) => p.forceFlush()),
        ...(options.metricReaders ?? []).map((r) => r.forceFlush()),
      ]);
    },
    shutdown() {
      shutdown ??= (async () => {
        // stop recording first: NodeSDK's shutdown flushes and shuts the shared processors down
        telemetry.close();
        await metricsServer?.close();
        await sdk.shutdown();
      })();
      return shutdown;
    },
  };
}
