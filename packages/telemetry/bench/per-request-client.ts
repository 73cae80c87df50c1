// One process of the per-request benchmark: the mesh dispatching to a stub upstream (a Dispatcher
// that answers every request with a 200 from a microtask: no socket, no undici), with one of
//   stub       the stub alone (what the loop itself costs)
//   mesh       the Inboard dispatcher, no telemetry
//   metrics    + Istio and HTTP metrics aggregated in-process ('native')
//   telemetry  + always-on tracing, the mesh's spans recorded natively into a BatchSpanProcessor
//   sampled    + tracing sampled as Istio samples by default (1% of new traces), natively
//   sdk-tracer + always-on tracing, the spans made by the SDK's Tracer
// (the telemetry benchmark's client kinds of the same names: bench-mesh.ts)
// The parent sends { total } over IPC; the answer is the CPU time per request in ns.
import { OutboundMesh } from '@inboard/http';
import { Dispatcher } from 'undici';
import { type LoadCommand, serveLoadCommands } from '../../../bench/support/closed-loop.ts';
import { type BenchTelemetry, benchXds, installBenchTelemetry } from './bench-mesh.ts';

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

const stub = new StubUpstream();
const xds = benchXds(adsPort, nodeId);
const mesh = new OutboundMesh({ xds, upstream: stub });
if ((await mesh.ready('reviews:9080')) === undefined) throw new Error('reviews:9080 did not resolve');

const telemetry: BenchTelemetry | undefined =
  mode === 'stub' || mode === 'mesh' ? undefined : installBenchTelemetry(mesh, mode);

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
    await telemetry?.flush();
    const spans = telemetry?.spans.count ?? 0;
    const ns = await run(cmd.total);
    await telemetry?.flush();
    return { ns, spans: (telemetry?.spans.count ?? 0) - spans };
  },
  async () => {
    await telemetry?.shutdown();
    await mesh.close();
    xds.close();
  },
);
