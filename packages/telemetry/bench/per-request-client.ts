// One process of the per-request benchmark: the mesh dispatching to a stub upstream (a Dispatcher
// that answers every request with a 200 from a microtask: no socket, no undici), with one of
//   stub       the stub alone (what the loop itself costs)
//   mesh       the Inboard dispatcher, no telemetry
//   metrics    + Istio and HTTP metrics aggregated in-process ('native')
//   telemetry  + always-on tracing, the mesh's spans recorded natively into a BatchSpanProcessor
//   sdk-tracer + always-on tracing, the spans made by the SDK's Tracer
// The parent sends { total } over IPC; the answer is the CPU time per request in ns.
import { OutboundMesh } from '@inboard/http';
import { HttpStats, IstioStats, installMeshTelemetry } from '@inboard/telemetry';
import { parseBootstrap, Xds } from '@inboard/xds';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { Dispatcher } from 'undici';
import { type LoadCommand, serveLoadCommands } from '../../../bench/support/closed-loop.ts';

export interface PerRequestResult {
  /** CPU time per request, ns */
  readonly ns: number;
  /** spans exported during the run */
  readonly spans: number;
}

const [mode, adsPort, nodeId] = process.argv.slice(2) as [string, string, string];

/** Answers every request with `200 ok` from a microtask, as an upstream connection would. */
class StubUpstream extends Dispatcher {
  override dispatch(_opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const controller = {
      abort() {},
      pause() {},
      resume() {},
      paused: false,
      aborted: false,
      reason: null,
      rawHeaders: [],
      rawTrailers: [],
    };
    handler.onRequestStart?.(controller as never, {});
    queueMicrotask(() => {
      handler.onResponseStart?.(
        controller as never,
        200,
        { 'content-type': 'text/plain', 'content-length': '2' },
        'OK',
      );
      handler.onResponseData?.(controller as never, Buffer.from('ok'));
      handler.onResponseEnd?.(controller as never, {});
    });
    return true;
  }
  override async close(): Promise<void> {}
  override async destroy(): Promise<void> {}
}

class CountingSpanExporter implements SpanExporter {
  count = 0;
  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.count += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

const stub = new StubUpstream();
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
const mesh = new OutboundMesh({ xds, upstream: stub });
if ((await mesh.ready('reviews:9080')) === undefined) throw new Error('reviews:9080 did not resolve');

const exporter = new CountingSpanExporter();
let flush = async () => {};
let shutdown = async () => {};
if (mode !== 'stub' && mode !== 'mesh') {
  const istioStats = new IstioStats();
  const httpStats = new HttpStats();
  const meterProvider = new MeterProvider();
  const processor = new BatchSpanProcessor({
    exporter,
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
    istioMetrics: 'native',
    istioStats,
    httpMetrics: 'native',
    httpStats,
    tracing: mode === 'metrics' ? false : mode === 'sdk-tracer' ? true : { spanProcessors: [processor], resource },
  });
  flush = () => processor.forceFlush();
  shutdown = async () => {
    telemetry.close();
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  };
}

const dispatcher: Dispatcher = mode === 'stub' ? stub : mesh.dispatcher;
const origin = mode === 'stub' ? 'http://127.0.0.1:1001' : 'http://reviews:9080';
let done = 0;
const handler: Dispatcher.DispatchHandler = {
  onResponseEnd() {
    done++;
  },
  onResponseError(_controller, err) {
    throw err;
  },
};

/** `total` requests, 32 dispatched per turn of the event loop; CPU ns per request. */
async function run(total: number): Promise<number> {
  const before = done;
  const cpu = process.cpuUsage();
  for (let i = 0; i < total; i++) {
    dispatcher.dispatch({ origin, path: '/reviews/1', method: 'GET' }, handler);
    if ((i & 31) === 31) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  const used = process.cpuUsage(cpu);
  if (done - before !== total) throw new Error(`${total - (done - before)} requests did not complete`);
  return ((used.user + used.system) * 1000) / total;
}

serveLoadCommands(
  async (cmd: LoadCommand): Promise<PerRequestResult> => {
    await flush();
    const spans = exporter.count;
    const ns = await run(cmd.total);
    await flush();
    return { ns, spans: exporter.count - spans };
  },
  async () => {
    await shutdown();
    await mesh.close();
    xds.close();
  },
);
