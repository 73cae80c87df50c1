// What the telemetry benchmarks share: the xDS resources the parent serves (reviews:9080 under
// Istio's default retry policy, its endpoints carrying istio workload metadata), the client's
// node and Xds, and the telemetry each client kind installs (spans through the SDK's
// BatchSpanProcessor into an exporter that counts them and lets them go, as a network exporter
// does once it sent them: keeping every span of a round alive would measure the garbage collector
// copying the benchmark's own retention).
import type { SnapshotMessages } from '@inboard/control-plane';
import type { OutboundMesh } from '@inboard/http';
import { HttpStats, IstioStats, installMeshTelemetry, ParentBasedRatioSampler } from '@inboard/telemetry';
import { parseBootstrap, Xds } from '@inboard/xds';
import { jsToStruct } from '@inboard/xds/codec';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { istioRetry, outboundHcm } from '../../../test/support/istio-shaped.ts';

export const NODE_ID = 'sidecar~127.0.0.1~productpage-v1-bench.default~default.svc.cluster.local';
export const NODE_METADATA = {
  GENERATOR: 'grpc',
  NAMESPACE: 'default',
  WORKLOAD_NAME: 'productpage-v1',
  LABELS: { app: 'productpage', version: 'v1' },
};
const CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';

/** The resources for reviews:9080 with one endpoint per port on 127.0.0.1, for Snapshot.fromMessages. */
export function benchResources(ports: readonly number[]): SnapshotMessages {
  const domains: string[] = [];
  for (const d of ['reviews.default.svc.cluster.local', 'reviews.default.svc', 'reviews.default', 'reviews'])
    domains.push(d, `${d}:9080`);
  return {
    version: '1',
    listeners: [{ name: 'reviews:9080', api_listener: { api_listener: outboundHcm('9080') } }],
    routes: [
      {
        name: '9080',
        virtual_hosts: [
          {
            name: 'reviews.default.svc.cluster.local:9080',
            domains,
            routes: [
              {
                name: 'default',
                match: { prefix: '/' },
                route: {
                  cluster: CLUSTER,
                  timeout: { seconds: 0, nanos: 0 },
                  retry_policy: istioRetry(),
                },
              },
            ],
          },
        ],
      },
    ],
    clusters: [
      {
        name: CLUSTER,
        type: 3,
        eds_cluster_config: { service_name: CLUSTER, eds_config: { ads: {} } },
        connect_timeout: { seconds: 10, nanos: 0 },
        lb_policy: 0,
      },
    ],
    endpoints: [
      {
        cluster_name: CLUSTER,
        endpoints: [
          {
            locality: { region: 'local', zone: 'a', sub_zone: '' },
            lb_endpoints: ports.map((port) => ({
              endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
              health_status: 1,
              metadata: {
                filter_metadata: { istio: jsToStruct({ workload: 'reviews-v1;default;reviews;v1;Kubernetes' }) },
              },
            })),
          },
        ],
      },
    ],
  };
}

/** The client's xDS client, against the parent's ADS server. */
export function benchXds(adsPort: string, nodeId: string): Xds {
  return new Xds({
    bootstrap: parseBootstrap(
      {
        xds_servers: [
          { server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
        ],
        node: { id: nodeId, metadata: NODE_METADATA },
      },
      'bench',
    ),
  });
}

export class CountingSpanExporter implements SpanExporter {
  count = 0;
  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.count += spans.length;
    done({ code: 0 }); // ExportResultCode.SUCCESS (@opentelemetry/core)
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

export interface BenchTelemetry {
  readonly spans: CountingSpanExporter;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The telemetry of a client kind: 'metrics' (Istio and HTTP metrics aggregated in-process and
 * exported through an SDK MeterProvider's reader as MetricProducers, no spans), 'telemetry'
 * (+ always-on native spans), 'sampled' (+ native spans sampled as Istio samples by default: 1% of
 * new traces), 'sdk-tracer' (+ spans by the SDK's Tracer), 'meter' (native spans, every metric
 * through the SDK meter).
 */
export function installBenchTelemetry(mesh: OutboundMesh, kind: string): BenchTelemetry {
  const istioStats = new IstioStats();
  const httpStats = new HttpStats();
  const prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: [istioStats, httpStats] });
  const meterProvider = new MeterProvider({ readers: [prometheus] });
  const spans = new CountingSpanExporter();
  // the SDK's default batch size; a queue deep enough that no span is dropped between exports
  const processor = new BatchSpanProcessor({
    exporter: spans,
    maxQueueSize: 8192,
    maxExportBatchSize: 512,
    scheduledDelayMillis: 200,
  });
  const resource = resourceFromAttributes({ 'service.name': 'productpage' });
  const tracerProvider = new TracerProvider({ resource, spanProcessors: [processor] });
  const telemetry = installMeshTelemetry({
    mesh,
    meterProvider,
    tracerProvider,
    istioMetrics: kind === 'meter' ? 'meter' : 'native',
    istioStats,
    httpMetrics: kind === 'meter' ? 'meter' : 'native',
    httpStats,
    // native spans into the same processor, except for the SDK Tracer's row; 'sampled': Istio's
    // default sampling (1% of new traces, what startMeshSdk's istioSampler() builds) instead of
    // every request
    tracing:
      kind === 'metrics'
        ? false
        : kind === 'sdk-tracer'
          ? true
          : {
              spanProcessors: [processor],
              resource,
              sampler: kind === 'sampled' ? new ParentBasedRatioSampler(0.01) : undefined,
            },
  });
  return {
    spans,
    flush: () => processor.forceFlush(),
    async shutdown() {
      telemetry.close();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}
