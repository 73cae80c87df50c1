// One client kind of the telemetry benchmark (bench-client.ts) under steady load, for a profiler
// to watch: the upstream process, this process's ADS server and one client, which runs ROUNDS
// rounds of 20,000 requests at concurrency 32 after one round of warm-up. Prints the client's
// and the upstream's pids (to pick their samples out of a system-wide profile) and the client's
// req/s. Not a benchmark: it compares nothing. For example:
//
//   BENCH_CLIENT_FLAGS=--perf-basic-prof perf record -e cpu-clock -F 1999 -a -g -- \
//     node --conditions=inboard-source packages/telemetry/bench/load-one.ts telemetry 25 --from-source
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { clientNodeFlags } from '../../../bench/support/client-flags.ts';
import { forkUpstream, runLoad, startLoadClient } from '../../../bench/support/load-clients.ts';
import { serveBenchResources } from './bench-ads.ts';
import { NODE_ID } from './bench-mesh.ts';

const kind = process.argv[2] ?? 'telemetry';
const rounds = Number(process.argv[3] ?? 20);
const REQUESTS = 20_000;

const { upstream, port } = await forkUpstream();
const { server, adsPort } = await serveBenchResources([port]);
const client = await startLoadClient(
  fileURLToPath(new URL('./bench-client.ts', import.meta.url)),
  [kind, String(port), String(adsPort), NODE_ID],
  clientNodeFlags(),
);
await runLoad(client, { total: REQUESTS, concurrency: 32 });
console.log(`pids: client ${client.pid}, upstream ${upstream.pid}`);
const started = performance.now();
for (let i = 0; i < rounds; i++) await runLoad(client, { total: REQUESTS, concurrency: 32 });
const seconds = (performance.now() - started) / 1000;
console.log(`${kind}: ${Math.round((rounds * REQUESTS) / seconds)} req/s`);
client.send('exit');
await once(client, 'exit');
await server.stop({ graceMs: 100 });
upstream.disconnect();
process.exit(0);
