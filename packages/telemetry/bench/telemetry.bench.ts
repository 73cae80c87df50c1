// Telemetry overhead benchmark, side by side in one run against one loopback keep-alive node:http
// server (its own process):
//   raw undici Pool  |  Inboard, no telemetry  |  Inboard + metrics + always-on tracing
// (and, for reference: metrics without tracing, tracing sampled as Istio samples by default (1%),
// spans made by the SDK's Tracer instead of natively,
// Istio metrics recorded through the OTel SDK meter instead of in-process, and the headers the
// telemetry row sends upstream with nothing recorded, through the mesh and through a raw undici
// Pool: what undici and the wire cost for them; and the telemetry row with the mesh's HTTP/1.1
// written by undici Pools, `http1: 'undici'`, as before the mesh wrote it itself).
// Each client is its own process, fed by this process's ADS server; paired rounds with
// alternating order, medians reported. Throughput at fixed concurrency with a bounded request
// count; latency from sequential requests. The last line is `RESULT {...}`.
//
//   npm run bench -w @inboard/telemetry        (builds the packages; the clients run their dist)
//   options: --quick (fewer requests and rounds), --processes=N (processes each for raw undici,
//   the mesh and the mesh with telemetry; default 2), --from-source (clients on the TypeScript
//   sources instead of the built dist), --v8-defaults (see bench/support/client-flags.ts:
//   clients run without allocation-site pretenuring and the memory reducer unless given)
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { clientNodeFlags, describeClientFlags } from '../../../bench/support/client-flags.ts';
import {
  ensureSourceConditions,
  forkUpstream,
  median,
  runLoad,
  startLoadClient,
} from '../../../bench/support/load-clients.ts';

ensureSourceConditions(import.meta.url);

const { serveBenchResources } = await import('./bench-ads.ts');
const { NODE_ID } = await import('./bench-mesh.ts');
type LoadResult = import('./bench-client.ts').LoadResult;

const QUICK = process.argv.includes('--quick');
const CONCURRENCY = 32;
const THROUGHPUT_REQUESTS = QUICK ? 5_000 : 20_000;
const LATENCY_REQUESTS = QUICK ? 1_000 : 4_000;
const ROUNDS = QUICK ? 3 : 7;
const deadline = Date.now() + (QUICK ? 120_000 : 900_000);

const { upstream, port } = await forkUpstream();

const { server, adsPort } = await serveBenchResources([port]);

const clientFile = fileURLToPath(new URL('./bench-client.ts', import.meta.url));
const startClient = (kind: string) =>
  startLoadClient(clientFile, [kind, String(port), String(adsPort), NODE_ID], clientNodeFlags());
const run = (c: ChildProcess, total: number, concurrency: number) => runLoad<LoadResult>(c, { total, concurrency });

// Raw undici, the mesh and the mesh with telemetry run in PROCESSES processes each (a row is their
// mean): how fast one Node process runs the same code varies by a few percent from one start to
// the next.
const PROCESSES = Number(process.argv.find((a) => a.startsWith('--processes='))?.slice('--processes='.length) ?? 2);
const startClients = async (kind: string, n: number) => {
  const started: ChildProcess[] = [];
  for (let i = 0; i < n; i++) started.push(await startClient(kind));
  return started;
};
const clients: [string, ChildProcess[]][] = [
  ['raw undici Pool', await startClients('raw', PROCESSES)],
  ['inboard, no telemetry', await startClients('mesh', PROCESSES)],
  ['inboard + metrics + tracing', await startClients('telemetry', PROCESSES)],
  ['(inboard + metrics, no tracing)', await startClients('metrics', 1)],
  [
    '(inboard + metrics + tracing sampled as Istio does by default: 1% of new traces)',
    await startClients('sampled', 1),
  ],
  ['(inboard + metrics + tracing, spans by the SDK Tracer)', await startClients('sdk-tracer', 1)],
  ['(inboard + tracing + all metrics via the OTel SDK meter)', await startClients('meter', 1)],
  [
    '(inboard + the metadata exchange and traceparent headers only, nothing recorded)',
    await startClients('headers', 1),
  ],
  ['(raw undici Pool + those same headers)', await startClients('raw-headers', 1)],
  ['(inboard + metrics + tracing, HTTP/1.1 through undici Pools)', await startClients('telemetry-undici', 1)],
];
const [RAW, MESH, TEL, METRICS, SAMPLED, SDK_TRACER, METER, HEADERS, RAW_HEADERS, TEL_UNDICI] = clients.map(
  ([n]) => n,
) as [string, string, string, string, string, string, string, string, string, string];
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** One load on every process of a row; the row's figures are their means. */
async function runRow(ps: readonly ChildProcess[], total: number, concurrency: number): Promise<LoadResult> {
  const results: LoadResult[] = [];
  for (const c of ps) results.push(await run(c, total, concurrency));
  return {
    ms: mean(results.map((r) => r.ms)),
    cpuUs: mean(results.map((r) => r.cpuUs)),
    userUs: mean(results.map((r) => r.userUs)),
    sysUs: mean(results.map((r) => r.sysUs)),
    gcUs: mean(results.map((r) => r.gcUs)),
    p50Us: mean(results.map((r) => r.p50Us)),
    p99Us: mean(results.map((r) => r.p99Us)),
    spans: Math.min(...results.map((r) => r.spans)),
  };
}

// warm up to the steady state (50,000 requests, about a second, per client: see the http bench)
for (const [, ps] of clients)
  await runRow(ps, Number(process.env.BENCH_WARMUP ?? (QUICK ? 3_000 : 50_000)), CONCURRENCY);

const rps: Record<string, number[]> = {};
const cpu: Record<string, number[]> = {};
const gc: Record<string, number[]> = {};
const p50: Record<string, number[]> = {};
const p99: Record<string, number[]> = {};
const spanCounts: Record<string, number[]> = {};
const ratio: Record<string, number[]> = {};
const added: Record<string, number[]> = {};
let rounds = 0;
for (let round = 0; round < ROUNDS && Date.now() < deadline; round++) {
  const order = round % 2 === 0 ? clients : [...clients].reverse();
  for (const [name, ps] of order) {
    const t = await runRow(ps, THROUGHPUT_REQUESTS, CONCURRENCY);
    (rps[name] ??= []).push((THROUGHPUT_REQUESTS / t.ms) * 1000);
    (cpu[name] ??= []).push(t.cpuUs);
    (gc[name] ??= []).push(t.gcUs);
    (spanCounts[name] ??= []).push(t.spans);
  }
  for (const [name, ps] of order) {
    const t = await runRow(ps, LATENCY_REQUESTS, 1);
    (p50[name] ??= []).push(t.p50Us);
    (p99[name] ??= []).push(t.p99Us);
  }
  for (const [name] of clients.slice(1)) {
    (ratio[name] ??= []).push(rps[name]!.at(-1)! / rps[RAW]!.at(-1)!);
    (added[name] ??= []).push(p50[name]!.at(-1)! - p50[RAW]!.at(-1)!);
  }
  rounds++;
}

console.log(
  `\nthroughput: concurrency ${CONCURRENCY}, ${THROUGHPUT_REQUESTS} requests per round; latency: sequential requests,`,
);
console.log(
  `${LATENCY_REQUESTS} per round; ${rounds} paired rounds, medians; one upstream process; the first three rows are each the mean of ${PROCESSES} client processes, the others one;`,
);
console.log(`${describeClientFlags()}\n`);
console.log(
  '| client | req/s | × raw | client CPU µs/req | of it GC µs/req | p50 µs (c=1) | added p50 µs | p99 µs (c=1) | spans per request |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [name] of clients) {
  const r = name === RAW ? '1.000' : median(ratio[name]!).toFixed(3);
  const a = name === RAW ? '—' : median(added[name]!).toFixed(1);
  const s = median(spanCounts[name]!) / THROUGHPUT_REQUESTS;
  console.log(
    `| ${name} | ${median(rps[name]!).toFixed(0)} | ${r} | ${median(cpu[name]!).toFixed(1)} | ${median(gc[name]!).toFixed(2)} | ${median(p50[name]!).toFixed(1)} | ${a} | ${median(p99[name]!).toFixed(1)} | ${s.toFixed(2)} |`,
  );
}
for (const name of [TEL, SDK_TRACER, METER, TEL_UNDICI]) {
  // every request must have produced its request span and its attempt span: nothing dropped
  if (median(spanCounts[name]!) !== 2 * THROUGHPUT_REQUESTS)
    console.log(`\nWARNING: ${name} exported ${median(spanCounts[name]!)} spans for ${THROUGHPUT_REQUESTS} requests`);
}

for (const c of clients.flatMap(([, ps]) => ps)) {
  c.send('exit');
  await once(c, 'exit');
}
await server.stop({ graceMs: 100 });
upstream.disconnect();

const result = {
  throughput_ratio_no_telemetry: Number(median(ratio[MESH]!).toFixed(3)),
  throughput_ratio_telemetry: Number(median(ratio[TEL]!).toFixed(3)),
  added_p50_us_telemetry: Number(median(added[TEL]!).toFixed(1)),
  added_p50_us_no_telemetry: Number(median(added[MESH]!).toFixed(1)),
  throughput_ratio_metrics_only: Number(median(ratio[METRICS]!).toFixed(3)),
  throughput_ratio_telemetry_sampled: Number(median(ratio[SAMPLED]!).toFixed(3)),
  throughput_ratio_telemetry_sdk_tracer: Number(median(ratio[SDK_TRACER]!).toFixed(3)),
  throughput_ratio_telemetry_sdk_meter: Number(median(ratio[METER]!).toFixed(3)),
  throughput_ratio_headers_only: Number(median(ratio[HEADERS]!).toFixed(3)),
  throughput_ratio_raw_with_headers: Number(median(ratio[RAW_HEADERS]!).toFixed(3)),
  throughput_ratio_telemetry_undici_pools: Number(median(ratio[TEL_UNDICI]!).toFixed(3)),
  client_cpu_us_raw: Number(median(cpu[RAW]!).toFixed(1)),
  client_cpu_us_no_telemetry: Number(median(cpu[MESH]!).toFixed(1)),
  client_cpu_us_telemetry: Number(median(cpu[TEL]!).toFixed(1)),
};
console.log(`\nRESULT ${JSON.stringify(result)}`);
process.exit(0);
