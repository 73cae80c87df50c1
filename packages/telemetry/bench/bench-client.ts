// One benchmark client process:
//   raw        an undici Pool straight to the upstream
//   mesh       the Inboard dispatcher (xDS from the parent's ADS server), no telemetry
//   telemetry  the Inboard dispatcher with installMeshTelemetry: Istio metrics and the OTel HTTP
//              client metric aggregated in-process ('native', exported through an SDK
//              MeterProvider's reader as MetricProducers), and always-on tracing (request +
//              attempt spans, traceparent per attempt) recorded natively (tracing.spanProcessors)
//              into the SDK's BatchSpanProcessor and an in-memory exporter that counts the spans
//              (bench-mesh.ts)
//   sampled    like telemetry, but the spans sampled as Istio samples by default (1% of new
//              traces; every request still sends its traceparent)
//   sdk-tracer like telemetry, but the spans made by the SDK's Tracer (TracerProvider)
//   metrics    the Inboard dispatcher with metrics only ('native', as above)
//   meter      like telemetry, but every metric recorded through the OTel SDK meter ('meter')
//   headers    the Inboard dispatcher sending what the telemetry row adds on the wire and nothing
//              else: Istio's two metadata exchange headers and a traceparent per attempt (one
//              fixed value), no metric, no span: the floor the headers alone set
//   raw-headers  the raw undici Pool sending those same headers (the same values on every
//              request, added by a dispatch interceptor): what they cost without the mesh
//   raw-spin-N   the raw undici Pool doing N steps of integer arithmetic per request before it
//              dispatches (compute that allocates nothing; load-cost.bench.ts)
//   raw-alloc-N  the raw undici Pool allocating N small objects per request, dead by the next
//              request (allocation with next to no compute; load-cost.bench.ts)
//   telemetry-undici  like telemetry, its HTTP/1.1 written by undici Pools (`http1: 'undici'`)
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
import { type Dispatcher, Pool } from 'undici';
import {
  type LoadResult as BaseLoadResult,
  closedLoop,
  type LoadCommand,
  serveLoadCommands,
} from '../../../bench/support/closed-loop.ts';
import { peerMetadataHeaders } from '../src/peer-metadata.ts';
import { type BenchTelemetry, benchXds, installBenchTelemetry, NODE_METADATA } from './bench-mesh.ts';

export type { LoadCommand } from '../../../bench/support/closed-loop.ts';

export interface LoadResult extends BaseLoadResult {
  /** spans exported during the run (tracing clients) */
  readonly spans: number;
}

const [kind, port, adsPort, nodeId] = process.argv.slice(2) as [string, string, string, string];
const PATH = '/reviews/1';
/** the headers-only rows' traceparent: one fixed value (what undici checks and writes is the same) */
const FIXED_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** This client's metadata exchange headers, as installMeshTelemetry sends them. */
function benchPeerMetadata(id: string) {
  const mx = peerMetadataHeaders({ id, metadata: NODE_METADATA } as never);
  if (mx === undefined) throw new Error('the bench node has metadata to exchange');
  return mx;
}

/** A dispatch interceptor that does `work()` before every request. */
function before(work: () => void): Parameters<Pool['compose']>[0] {
  return (dispatch) => (opts, handler) => {
    work();
    return dispatch(opts, handler);
  };
}

let sink = 0;
/** N steps of a linear congruential generator: compute only, nothing allocated. */
function spin(n: number): void {
  let x = sink;
  for (let i = 0; i < n; i++) x = (x * 1103515245 + 12345) | 0;
  sink = x;
}

interface Link {
  readonly a: number;
  readonly b: number;
  readonly next: Link | undefined;
}
/** N objects of three fields each, linked, held until the next request replaces them. */
function allocate(n: number): void {
  let o: Link | undefined;
  for (let i = 0; i < n; i++) o = { a: i, b: i + 1, next: o };
  held.last = o;
}
const held: { last: Link | undefined } = { last: undefined };

let dispatcher: Dispatcher;
let origin: string;
let close: () => Promise<void>;
let telemetry: BenchTelemetry | undefined;
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
} else if (kind.startsWith('raw-spin-') || kind.startsWith('raw-alloc-')) {
  origin = `http://127.0.0.1:${port}`;
  const pool = new Pool(origin);
  const n = Number(kind.slice(kind.lastIndexOf('-') + 1));
  dispatcher = pool.compose(before(kind.startsWith('raw-spin-') ? () => spin(n) : () => allocate(n)));
  close = () => pool.close();
} else {
  const xds = benchXds(adsPort, nodeId);
  const undiciPools = kind.endsWith('-undici');
  const mesh = new OutboundMesh({ xds, http1: undiciPools ? 'undici' : 'inboard' });
  if ((await mesh.ready('reviews:9080')) === undefined) throw new Error('reviews:9080 did not resolve');
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
  } else if (kind !== 'mesh') {
    telemetry = installBenchTelemetry(mesh, undiciPools ? kind.slice(0, -'-undici'.length) : kind);
  }
  origin = 'http://reviews:9080';
  dispatcher = mesh.dispatcher;
  close = async () => {
    await telemetry?.shutdown();
    await mesh.close();
    xds.close();
  };
}

// No forced gc() between rounds: a full GC discards optimized code, and every round would start
// by recompiling the hot path.
async function load(cmd: LoadCommand): Promise<LoadResult> {
  await telemetry?.flush();
  const before = telemetry?.spans.count ?? 0;
  const result = await closedLoop(dispatcher, origin, PATH, cmd);
  await telemetry?.flush();
  return { ...result, spans: (telemetry?.spans.count ?? 0) - before };
}

serveLoadCommands(load, () => close());
