// What a client's own work costs once it runs under load, on this machine: side by side in one
// run against one loopback keep-alive node:http server (its own process), a raw undici Pool, the
// same Pool doing a fixed amount of pure compute before every request (integer arithmetic,
// nothing allocated), and the same Pool allocating short-lived objects before every request
// (next to no compute). Each is its own process; paired rounds with alternating order, medians.
// The added client CPU per request, set against what the work costs in a tight loop here, says
// how much a nanosecond of compute and a kilobyte of garbage weigh in the telemetry benchmark's
// setting, and so how much of the telemetry row's cost is the work itself. The last line is
// `RESULT {...}`.
//
//   npm run bench:load-cost -w @inboard/telemetry        (options: --quick)
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

const QUICK = process.argv.includes('--quick');
const CONCURRENCY = 32;
const REQUESTS = QUICK ? 5_000 : 20_000;
const ROUNDS = QUICK ? 3 : 9;
const SPIN_STEPS = 500;
const ALLOC_OBJECTS = 150;

/** ns per step of the clients' spin loop, and bytes per object of their allocation, measured here. */
function calibrate(): { stepNs: number; objectBytes: number } {
  let x = 0;
  const steps = 50_000_000;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) x = (x * 1103515245 + 12345) | 0;
  const stepNs = ((performance.now() - t0) * 1e6) / steps;
  if (x === 0.5) console.log(x); // keeps the loop
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  const before = process.memoryUsage().heapUsed;
  let o: { a: number; b: number; next: unknown } | undefined;
  const n = 1_000_000;
  for (let i = 0; i < n; i++) o = { a: i, b: i + 1, next: o };
  gc();
  const objectBytes = (process.memoryUsage().heapUsed - before) / n;
  if (o === undefined) throw new Error('nothing allocated');
  return { stepNs, objectBytes };
}
const { stepNs, objectBytes } = calibrate();

const { upstream, port } = await forkUpstream();

const clientFile = fileURLToPath(new URL('./bench-client.ts', import.meta.url));
const kinds: [string, string][] = [
  ['raw undici Pool', 'raw'],
  [`+ ${SPIN_STEPS} steps of compute per request`, `raw-spin-${SPIN_STEPS}`],
  [`+ ${ALLOC_OBJECTS} short-lived objects per request`, `raw-alloc-${ALLOC_OBJECTS}`],
];
const clients: [string, ChildProcess][] = [];
for (const [name, kind] of kinds)
  clients.push([name, await startLoadClient(clientFile, [kind, String(port), '0', 'none'], clientNodeFlags())]);

for (const [, c] of clients) await runLoad(c, { total: QUICK ? 3_000 : 50_000, concurrency: CONCURRENCY });
const rps: Record<string, number[]> = {};
const cpu: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, c] of round % 2 === 0 ? clients : [...clients].reverse()) {
    const r = await runLoad(c, { total: REQUESTS, concurrency: CONCURRENCY });
    (rps[name] ??= []).push((REQUESTS / r.ms) * 1000);
    (cpu[name] ??= []).push(r.cpuUs);
  }
}
for (const [, c] of clients) {
  c.send('exit');
  await once(c, 'exit');
}
upstream.disconnect();

const [RAW, SPIN, ALLOC] = kinds.map(([n]) => n) as [string, string, string];
const spinUs = (SPIN_STEPS * stepNs) / 1000;
const allocKb = (ALLOC_OBJECTS * objectBytes) / 1024;
const addedCpu = (name: string) => median(cpu[name]!) - median(cpu[RAW]!);
const ratio = (name: string) => median(rps[name]!) / median(rps[RAW]!);
console.log(
  `\nconcurrency ${CONCURRENCY}, ${REQUESTS} requests per round, ${ROUNDS} paired rounds, medians; one upstream process;`,
);
console.log(
  `one spin step ${stepNs.toFixed(2)} ns, one object ${objectBytes.toFixed(0)} bytes here; ${describeClientFlags()}\n`,
);
console.log('| client | req/s | × raw | client CPU µs/req | added client CPU µs/req | the work in a tight loop |');
console.log('|---|---:|---:|---:|---:|---|');
for (const [name] of clients) {
  const work = name === SPIN ? `${spinUs.toFixed(2)} µs` : name === ALLOC ? `${allocKb.toFixed(1)} KiB` : '—';
  const add = name === RAW ? '—' : addedCpu(name).toFixed(2);
  console.log(
    `| ${name} | ${median(rps[name]!).toFixed(0)} | ${ratio(name).toFixed(3)} | ${median(cpu[name]!).toFixed(1)} | ${add} | ${work} |`,
  );
}
const result = {
  client_cpu_us_raw: Number(median(cpu[RAW]!).toFixed(2)),
  compute_us: Number(spinUs.toFixed(2)),
  compute_added_cpu_us: Number(addedCpu(SPIN).toFixed(2)),
  compute_added_cpu_per_us: Number((addedCpu(SPIN) / spinUs).toFixed(2)),
  compute_throughput_ratio: Number(ratio(SPIN).toFixed(3)),
  garbage_kib: Number(allocKb.toFixed(2)),
  garbage_added_cpu_us: Number(addedCpu(ALLOC).toFixed(2)),
  garbage_added_cpu_us_per_kib: Number((addedCpu(ALLOC) / allocKb).toFixed(2)),
  garbage_throughput_ratio: Number(ratio(ALLOC).toFixed(3)),
};
console.log(`\nRESULT ${JSON.stringify(result)}`);
process.exit(0);
