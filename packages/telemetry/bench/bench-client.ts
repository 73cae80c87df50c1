// One benchmark client process:
//   raw        an undici Pool straight to the upstream
//   mesh       the Inboard dispatcher (xDS from the parent's ADS server), no telemetry
//   telemetry  the Inboard dispatcher with installMeshTelemetry: Istio metrics ('native'), the
//              OTel HTTP client metric on an SDK MeterProvider, and always-on tracing (request +
//              attempt spans, traceparent per attempt) into an in-memory exporter
//   metrics    the Inboard dispatcher with metrics only (Istio 'native' + the OTel HTTP metric)
//   meter      like telemetry, but Istio metrics recorded through the OTel SDK ('meter')
// Each runs in its own process so no path's JIT state slows another. The parent sends load
// commands over IPC; the client answers with wall time, latency quantiles and its CPU time.
import { OutboundMesh } from '@inboard/http';
import { parseBootstrap, Xds } from '@inboard/xds';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { type Dispatcher, Pool } from 'undici';
import { IstioStats, installMeshTelemetry } from '../src/index.ts';

export interface LoadCommand {
  readonly total: number;
  readonly concurrency: number;
}

export interface LoadResult {
  readonly ms: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** client CPU (user + system) per request, µs */
  readonly cpuUs: number;
  /** spans exported during the run (tracing clients) */
  readonly spans: number;
}

const [kind, port, adsPort, nodeId] = process.argv.slice(2) as [string, string, string, string];
const PATH = '/reviews/1';

let dispatcher: Dispatcher;
let origin: string;
let close: () => Promise<void>;
let spans: InMemorySpanExporter | undefined;
let flush: () => Promise<void> = async () => {};
if (kind === 'raw') {
  origin = `http://127.0.0.1:${port}`;
  const pool = new Pool(origin);
  dispatcher = pool;
  close = () => pool.close();
} else {
  const xds = new Xds({
    bootstrap: parseBootstrap(
      {
        xds_servers: [
          { server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
        ],
        node: {
          id: nodeId,
          metadata: {
            GENERATOR: 'grpc',
            NAMESPACE: 'default',
            WORKLOAD_NAME: 'productpage-v1',
            LABELS: { app: 'productpage', version: 'v1' },
          },
        },
      },
      'bench',
    ),
  });
  const mesh = new OutboundMesh({ xds });
  if ((await mesh.ready('reviews:9080')) === undefined) throw new Error('reviews:9080 did not resolve');
  let shutdown = async () => {};
  if (kind === 'telemetry' || kind === 'meter' || kind === 'metrics') {
    const istioStats = new IstioStats();
    const prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: [istioStats] });
    const meterProvider = new MeterProvider({ readers: [prometheus] });
    spans = new InMemorySpanExporter();
    // a queue big enough that no span is dropped between exports
    const processor = new BatchSpanProcessor({
      exporter: spans,
      maxQueueSize: 1 << 17,
      maxExportBatchSize: 4096,
      scheduledDelayMillis: 50,
    });
    const tracerProvider = new TracerProvider({ spanProcessors: [processor] });
    const telemetry = installMeshTelemetry({
      mesh,
      meterProvider,
      tracerProvider,
      istioMetrics: kind === 'meter' ? 'meter' : 'native',
      istioStats,
      tracing: kind !== 'metrics',
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

async function load(total: number, concurrency: number): Promise<LoadResult> {
  const lat = new Float64Array(total);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const t0 = performance.now();
      const r = await dispatcher.request({ origin, path: PATH, method: 'GET' });
      await r.body.text();
      lat[i] = performance.now() - t0;
      if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
    }
  };
  spans?.reset();
  globalThis.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await flush();
  const exported = spans?.getFinishedSpans().length ?? 0;
  spans?.reset();
  lat.sort();
  return {
    ms,
    p50Us: lat[Math.floor(total * 0.5)]! * 1000,
    p99Us: lat[Math.min(total - 1, Math.floor(total * 0.99))]! * 1000,
    cpuUs: (cpu.user + cpu.system) / total,
    spans: exported,
  };
}

process.on('message', (m: LoadCommand | 'exit') => {
  if (m === 'exit') {
    close().then(() => process.exit(0));
    return;
  }
  load(m.total, m.concurrency).then(
    (r) => process.send!(r),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
process.send!('ready');
