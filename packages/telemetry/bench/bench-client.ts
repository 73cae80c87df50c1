// One benchmark client process:
//   raw        an undici Pool straight to the upstream
//   mesh       the Inboard dispatcher (xDS from the parent's ADS server), no telemetry
//   telemetry  the Inboard dispatcher with installMeshTelemetry: Istio metrics and the OTel HTTP
//              client metric aggregated in-process ('native', exported through an SDK
//              MeterProvider's reader as MetricProducers), and always-on tracing (request +
//              attempt spans, traceparent per attempt) recorded natively (tracing.spanProcessors)
//              into the SDK's BatchSpanProcessor and an in-memory exporter that counts the spans and
//              lets them go once exported, as a network exporter does after sending (keeping every
//              span of a 20,000-request round alive would measure the garbage collector copying the
//              benchmark's own retention)
//   sdk-tracer like telemetry, but the spans made by the SDK's Tracer (TracerProvider)
//   metrics    the Inboard dispatcher with metrics only ('native', as above)
//   meter      like telemetry, but every metric recorded through the OTel SDK meter ('meter')
//   raw-headers  the raw undici Pool sending those same headers (the same values on every
//              request, added by a dispatch interceptor): what they cost without the mesh
//   headers    the Inboard dispatcher sending what the telemetry row adds on the wire and nothing
//              else: Istio's two metadata exchange headers and a traceparent per attempt (one
//              fixed value), no metric, no span: the floor the headers alone set
// Each runs in its own process so no path's JIT state slows another. The parent sends load
// commands over IPC; the client answers with wall time, latency quantiles and its CPU time.
import { subscribe } from 'node:diagnostics_channel';
import {
  ATTEMPT_START_CHANNEL,
  type AttemptEvent,
  OutboundMesh,
  PEER_METADATA_HEADER,
  PEER_METADATA_ID_HEADER,
  REQUEST_START_CHANNEL,
  type RequestStartEvent,
} from '@inboard/http';
import { HttpStats, IstioStats, installMeshTelemetry } from '@inboard/telemetry';
import { parseBootstrap, Xds } from '@inboard/xds';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { type Dispatcher, Pool } from 'undici';
import {
  type LoadResult as BaseLoadResult,
  closedLoop,
  type LoadCommand,
  serveLoadCommands,
} from '../../../bench/support/closed-loop.ts';
import { peerMetadataHeaders } from '../src/peer-metadata.ts';

export type { LoadCommand } from '../../../bench/support/closed-loop.ts';

export interface LoadResult extends BaseLoadResult {
  /** spans exported during the run (tracing clients) */
  readonly spans: number;
}

class CountingSpanExporter implements SpanExporter {
  count = 0;
  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.count += spans.length;
    done({ code: 0 }); // ExportResultCode.SUCCESS (@opentelemetry/core)
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

const [kind, port, adsPort, nodeId] = process.argv.slice(2) as [string, string, string, string];
const NODE_METADATA = {
  GENERATOR: 'grpc',
  NAMESPACE: 'default',
  WORKLOAD_NAME: 'productpage-v1',
  LABELS: { app: 'productpage', version: 'v1' },
};
/** the headers-only rows' traceparent: one fixed value (what undici checks and writes is the same) */
const FIXED_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** This client's metadata exchange headers, as installMeshTelemetry sends them. */
function benchPeerMetadata(id: string) {
  const mx = peerMetadataHeaders({ id, metadata: NODE_METADATA } as never);
  if (mx === undefined) throw new Error('the bench node has metadata to exchange');
  return mx;
}
const PATH = '/reviews/1';

let dispatcher: Dispatcher;
let origin: string;
let close: () => Promise<void>;
let spans: CountingSpanExporter | undefined;
let flush: () => Promise<void> = async () => {};
if (kind === 'raw' || kind === 'raw-headers') {
  origin = `http://127.0.0.1:${port}`;
  const pool = new Pool(origin);
  dispatcher = pool;
  if (kind === 'raw-headers') {
    const headers = {
      [PEER_METADATA_ID_HEADER]: nodeId,
      [PEER_METADATA_HEADER]: benchPeerMetadata(nodeId).metadata,
      traceparent: FIXED_TRACEPARENT,
    };
    dispatcher = pool.compose((dispatch) => (opts, handler) => dispatch({ ...opts, headers }, handler));
  }
  close = () => pool.close();
} else {
  const xds = new Xds({
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
  const mesh = new OutboundMesh({ xds });
  if ((await mesh.ready('reviews:9080')) === undefined) throw new Error('reviews:9080 did not resolve');
  let shutdown = async () => {};
  if (kind === 'headers') {
    const mx = benchPeerMetadata(nodeId);
    subscribe(REQUEST_START_CHANNEL, (m) => {
      const e = m as RequestStartEvent;
      e.headers[PEER_METADATA_ID_HEADER] = mx.id;
      e.headers[PEER_METADATA_HEADER] = mx.metadata;
    });
    subscribe(ATTEMPT_START_CHANNEL, (m) => {
      (m as AttemptEvent).headers.traceparent = FIXED_TRACEPARENT;
    });
  }
  if (kind === 'telemetry' || kind === 'meter' || kind === 'metrics' || kind === 'sdk-tracer') {
    const istioStats = new IstioStats();
    const httpStats = new HttpStats();
    const prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: [istioStats, httpStats] });
    const meterProvider = new MeterProvider({ readers: [prometheus] });
    spans = new CountingSpanExporter();
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
      // native spans into the same processor, except for the SDK Tracer's row
      tracing: kind === 'metrics' ? false : kind === 'sdk-tracer' ? true : { spanProcessors: [processor], resource },
    });
    flush = () => processor.forceFlush();
    shutdown = async () => {
      telemetry.close();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    };
  }
  origin = 'http://reviews:9080';
  dispatcher = mesh.dispatcher;
  close = async () => {
    await shutdown();
    await mesh.close();
    xds.close();
  };
}

// No forced gc() between rounds: a full GC discards optimized code, and every round would start
// by recompiling the hot path.
async function load(cmd: LoadCommand): Promise<LoadResult> {
  await flush();
  const before = spans?.count ?? 0;
  const result = await closedLoop(dispatcher, origin, PATH, cmd);
  await flush();
  return { ...result, spans: (spans?.count ?? 0) - before };
}

serveLoadCommands(load, () => close());
