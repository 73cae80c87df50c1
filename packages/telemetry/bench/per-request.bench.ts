// What the mesh and its telemetry cost per request in the process itself: each mode of
// per-request-client.ts (stub upstream alone, mesh, + metrics, + native spans, + native spans
// sampled at Istio's default 1%, + SDK spans) in its
// own process, fed by this process's ADS server, dispatching to a stub upstream that answers from
// a microtask. No sockets and no undici: this is the library's own CPU per request, free of the
// loopback and scheduler effects that dominate the loaded benchmark (telemetry.bench.ts), and
// steady enough to compare changes of a few percent. (What undici costs to validate and write the
// headers telemetry adds is not in it: see the headers-only row of telemetry.bench.ts.)
// Paired rounds in alternating order, medians; the last line is `RESULT {...}`.
//
//   npm run bench:per-request -w @inboard/telemetry     (options: --quick, --from-source, --v8-defaults)
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { clientNodeFlags, describeClientFlags } from '../../../bench/support/client-flags.ts';
import { ensureSourceConditions, median, startLoadClient } from '../../../bench/support/load-clients.ts';

ensureSourceConditions(import.meta.url);

const { serveBenchResources } = await import('./bench-ads.ts');
const { NODE_ID } = await import('./bench-mesh.ts');
type PerRequestResult = import('./per-request-client.ts').PerRequestResult;

const QUICK = process.argv.includes('--quick');
const REQUESTS = QUICK ? 20_000 : 100_000;
const WARMUP = QUICK ? 50_000 : 300_000;
const ROUNDS = QUICK ? 3 : 9;

const { server, adsPort } = await serveBenchResources([1001, 1002, 1003]);

const MODES: [string, string][] = [
  ['stub upstream alone', 'stub'],
  ['inboard, no telemetry', 'mesh'],
  ['inboard + metrics', 'metrics'],
  ['inboard + metrics + tracing (native spans)', 'telemetry'],
  ['inboard + metrics + tracing sampled as Istio does by default (1%)', 'sampled'],
  ['inboard + metrics + tracing (spans by the SDK Tracer)', 'sdk-tracer'],
];
const clientFile = fileURLToPath(new URL('./per-request-client.ts', import.meta.url));
const clients: [string, ChildProcess][] = [];
for (const [name, mode] of MODES)
  clients.push([name, await startLoadClient(clientFile, [mode, String(adsPort), NODE_ID], clientNodeFlags())]);

async function measure(c: ChildProcess, total: number): Promise<PerRequestResult> {
  c.send({ total, concurrency: 32 });
  const [r] = (await once(c, 'message')) as [PerRequestResult];
  return r;
}

for (const [, c] of clients) await measure(c, WARMUP);
const ns: Record<string, number[]> = {};
const spans: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, c] of round % 2 === 0 ? clients : [...clients].reverse()) {
    const r = await measure(c, REQUESTS);
    (ns[name] ??= []).push(r.ns);
    (spans[name] ??= []).push(r.spans / REQUESTS);
  }
}
for (const [, c] of clients) {
  c.send('exit');
  await once(c, 'exit');
}
await server.stop({ graceMs: 100 });

const at = (mode: string) => median(ns[MODES.find(([, m]) => m === mode)![0]]!);
console.log(
  `\nCPU per request in one process, stub upstream; ${REQUESTS} requests per round, ${ROUNDS} rounds, medians;`,
);
console.log(`${describeClientFlags()}\n`);
console.log('| process | ns per request | added to the mesh alone | spans per request |');
console.log('|---|---:|---:|---:|');
for (const [name, mode] of MODES) {
  const v = at(mode);
  const added = mode === 'stub' || mode === 'mesh' ? '—' : (v - at('mesh')).toFixed(0);
  console.log(`| ${name} | ${v.toFixed(0)} | ${added} | ${median(spans[name]!).toFixed(2)} |`);
}
const result = {
  stub_ns: Math.round(at('stub')),
  mesh_ns: Math.round(at('mesh')),
  metrics_added_ns: Math.round(at('metrics') - at('mesh')),
  telemetry_added_ns: Math.round(at('telemetry') - at('mesh')),
  telemetry_sampled_added_ns: Math.round(at('sampled') - at('mesh')),
  telemetry_sdk_tracer_added_ns: Math.round(at('sdk-tracer') - at('mesh')),
};
console.log(`\nRESULT ${JSON.stringify(result)}`);
process.exit(0);
