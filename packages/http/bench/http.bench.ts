// Outbound data plane benchmark, side by side in one run:
//   raw undici Pool → one listener of a loopback keep-alive node:http server (its own process)
//   Inboard dispatcher → the same server's three listeners, round robin, through a route table
//     of 1,000 virtual hosts × 10 routes (regex and header matches) with the target's virtual
//     host among them, Istio's default retry policy, the fault filter, outlier/breaker accounting
//   Inboard, host outside the mesh → the same resident mesh calling the listener's IP:port
//     (passthrough): what having the mesh and its config in the process costs, without routing.
//   Inboard, HTTP/1.1 through undici Pools (`http1: 'undici'`) → what the mesh's own HTTP/1.1
//     pools save.
// Each client runs in its own process (bench-client.ts) against the same server process, in
// rounds (order alternating); this process serves xDS and orchestrates. Reports
// throughput (fixed concurrency, bounded request count), the latency the mesh adds per request
// (sequential requests: the client-side cost a caller waits for), client CPU per request, and ns
// per route match for tables of 10, 1,000 and 10,000 routes. The last line is `RESULT {...}`.
//
//   npm run bench -w @inboard/http        (builds the packages; the clients run their dist)
//   options: --quick (fewer requests), --processes=N (raw and mesh client processes each, default
//   2), --from-source (clients on the TypeScript sources instead of the built dist),
//   --pin (server on CPU 1, clients on CPU 0),
//   --semi-space=MB (fixes every client's V8 semi-spaces at that size), --v8-defaults (see
//   bench/support/client-flags.ts: clients run without allocation-site pretenuring and the
//   memory reducer unless given);
//   BENCH_VHOSTS=n (route table size), BENCH_WARMUP=n (warm-up requests per client, default 50,000),
//   BENCH_CLIENT_FLAGS='--cpu-prof ...' (node flags for clients)
import { type ChildProcess, spawnSync } from 'node:child_process';
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
import { forward, route, routeConfiguration, match as routeMatch, virtualHost } from '../test/route-fixtures.ts';

ensureSourceConditions(import.meta.url);

const { AdsServer, Snapshot } = await import('@inboard/control-plane');
const { istioRetry, outboundHcm } = await import('../../../test/support/istio-shaped.ts');
const { compileRouteTable, headerGetter } = await import('../src/index.ts');
type RouteConfiguration = import('@inboard/xds').RouteConfiguration;
type Route = import('@inboard/xds').Route;

const QUICK = process.argv.includes('--quick');
const CONCURRENCY = 32;
const THROUGHPUT_REQUESTS = QUICK ? 5_000 : 20_000;
const LATENCY_REQUESTS = QUICK ? 2_000 : 5_000;
const ROUNDS = QUICK ? 3 : 9;
// Processes of the raw and the mesh client each: how fast a Node process runs the same code varies
// by a few percent from one process start to the next (memory layout, JIT decisions), so each
// round's ratio compares the mean throughput of several of each.
const PROCESSES = Number(process.argv.find((a) => a.startsWith('--processes='))?.slice('--processes='.length) ?? 2);
const VHOSTS = Number(process.env.BENCH_VHOSTS ?? 1_000);
const ROUTES_PER_VHOST = 10;
const TARGET_VHOST = Math.floor(VHOSTS / 2);
const NODE_ID = 'sidecar~127.0.0.1~bench-client.default~default.svc.cluster.local';

// ------------------------------------------------------------------ the upstream process

const { upstream: child, ports } = await forkUpstream(3);

// ------------------------------------------------------------------ xDS: 1,000 vhosts × 10 routes

function svc(i: number): string {
  return i === TARGET_VHOST ? 'reviews' : `svc-${i}`;
}

function protoRoutes(i: number, clusterName: string) {
  const routes = [];
  for (let j = 0; j < 4; j++) {
    routes.push({
      name: `tenant-${j}`,
      match: { prefix: '/', headers: [{ name: 'x-tenant', string_match: { exact: `tenant-${i}-${j}` } }] },
      route: { cluster: clusterName, timeout: { seconds: 0, nanos: 0 } },
    });
  }
  for (let j = 0; j < 4; j++) {
    routes.push({
      name: `api-v${j}`,
      match: { safe_regex: { regex: `/api/v${j}/items/[0-9]+` } },
      route: { cluster: clusterName, timeout: { seconds: 0, nanos: 0 } },
    });
  }
  routes.push({
    name: 'admin',
    match: { prefix: '/admin', headers: [{ name: 'x-user', string_match: { safe_regex: { regex: 'admin-[a-z]+' } } }] },
    route: { cluster: clusterName, timeout: { seconds: 0, nanos: 0 } },
  });
  routes.push({
    name: 'default',
    match: { prefix: '/' },
    route: {
      cluster: clusterName,
      timeout: { seconds: 0, nanos: 0 },
      retry_policy: istioRetry(),
    },
  });
  return routes;
}

const TARGET_CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';
const ROUTE_NAME = '9080';
const virtualHosts = [];
for (let i = 0; i < VHOSTS; i++) {
  const name = svc(i);
  const fqdn = `${name}.default.svc.cluster.local`;
  const domains: string[] = [];
  for (const d of [fqdn, `${name}.default.svc`, `${name}.default`, name]) domains.push(d, `${d}:9080`);
  const clusterName = i === TARGET_VHOST ? TARGET_CLUSTER : `outbound|9080||other-${i % 10}.default.svc.cluster.local`;
  // include_request_attempt_count: as istiod sets it on every sidecar virtual host
  virtualHosts.push({
    name: `${fqdn}:9080`,
    domains,
    routes: protoRoutes(i, clusterName),
    include_request_attempt_count: true,
  });
}
const hcm = outboundHcm(ROUTE_NAME);
const clusterNames = [
  TARGET_CLUSTER,
  ...Array.from({ length: 10 }, (_, k) => `outbound|9080||other-${k}.default.svc.cluster.local`),
];
const server = new AdsServer();
server.cache.setSnapshot(
  NODE_ID,
  Snapshot.fromMessages({
    version: '1',
    listeners: [{ name: 'reviews:9080', api_listener: { api_listener: hcm } }],
    routes: [{ name: ROUTE_NAME, virtual_hosts: virtualHosts }],
    clusters: clusterNames.map((name) => ({
      name,
      type: 3,
      eds_cluster_config: { service_name: name, eds_config: { ads: {} } },
      connect_timeout: { seconds: 10, nanos: 0 },
      lb_policy: 0, // ROUND_ROBIN
    })),
    endpoints: clusterNames.map((name) => ({
      cluster_name: name,
      endpoints: [
        {
          locality: { region: 'local', zone: 'a', sub_zone: '' },
          lb_endpoints: (name === TARGET_CLUSTER ? ports : [1]).map((port) => ({
            endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
            health_status: 1,
          })),
        },
      ],
    })),
  }),
);
const adsPort = await server.start();

// ------------------------------------------------------------------ the clients

const clientFile = fileURLToPath(new URL('./bench-client.ts', import.meta.url));
const semiSpace = process.argv.find((a) => a.startsWith('--semi-space='))?.slice('--semi-space='.length);
// given last, so it overrides the fixed size clientNodeFlags() sets
const clientArgs = [
  ...clientNodeFlags(),
  ...(semiSpace === undefined ? [] : [`--min-semi-space-size=${semiSpace}`, `--max-semi-space-size=${semiSpace}`]),
];

async function startClient(kind: 'raw' | 'mesh' | 'mesh-undici' | 'passthrough' | 'shared'): Promise<ChildProcess> {
  const c = await startLoadClient(clientFile, [kind, ports.join(','), String(adsPort), NODE_ID], clientArgs);
  if (process.argv.includes('--pin')) spawnSync('taskset', ['-a', '-p', '-c', '0', String(c.pid)]);
  return c;
}

const run = (c: ChildProcess, total: number, concurrency: number, target?: string) =>
  runLoad(c, { total, concurrency, target });

if (process.argv.includes('--pin')) spawnSync('taskset', ['-a', '-p', '-c', '1', String(child.pid)]);
const shared = await startClient('shared');
// [row, process, target within the process]
const clients: [string, ChildProcess, string | undefined][] = [];
const RAW: string[] = [];
const MESH: string[] = [];
for (let i = 1; i <= PROCESSES; i++) {
  const suffix = PROCESSES > 1 ? ` (process ${i})` : '';
  RAW.push(`raw undici Pool${suffix}`);
  MESH.push(`inboard dispatcher${suffix}`);
  clients.push(
    [RAW.at(-1)!, await startClient('raw'), undefined],
    [MESH.at(-1)!, await startClient('mesh'), undefined],
  );
}
const MESH_UNDICI = '(inboard dispatcher, HTTP/1.1 through undici Pools)';
const SHARED_RAW = 'raw undici Pool, in a process with the mesh';
const SHARED_MESH = 'inboard dispatcher, in that same process';
clients.push(
  ['inboard, host outside the mesh', await startClient('passthrough'), undefined],
  [MESH_UNDICI, await startClient('mesh-undici'), undefined],
  [SHARED_RAW, shared, 'raw'],
  [SHARED_MESH, shared, 'mesh'],
);
const last = (xs: Record<string, number[]>, names: readonly string[]) =>
  names.reduce((sum, n) => sum + xs[n]!.at(-1)!, 0) / names.length;

// Warm up (JIT, connections) to the steady state: 50,000 requests (about a second) per client. The
// mesh's longer request path takes more of them than raw undici before V8 has optimized all of it
// (with 10,000 the mesh processes still ran 3–5% slower than later on).
const WARMUP = Number(process.env.BENCH_WARMUP ?? (QUICK ? 3_000 : 50_000));
for (const [, c, target] of clients) await run(c, WARMUP, CONCURRENCY, target);

// Paired rounds: each round yields one throughput ratio and one latency difference; the reported
// values are their medians, which keeps background load from landing on one side only.
const rps: Record<string, number[]> = {};
const cpu: Record<string, number[]> = {};
const gc: Record<string, number[]> = {};
const p50: Record<string, number[]> = {};
const p99: Record<string, number[]> = {};
const loadedP50: Record<string, number[]> = {};
const ratios: number[] = [];
const undiciPoolRatios: number[] = [];
const sharedRatios: number[] = [];
const addedP50: number[] = [];
const addedP99: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? clients : [...clients].reverse();
  for (const [name, c, target] of order) {
    const t = await run(c, THROUGHPUT_REQUESTS, CONCURRENCY, target);
    (rps[name] ??= []).push((THROUGHPUT_REQUESTS / t.ms) * 1000);
    (cpu[name] ??= []).push(t.cpuUs);
    (gc[name] ??= []).push(t.gcUs);
    (loadedP50[name] ??= []).push(t.p50Us);
  }
  for (const [name, c, target] of order) {
    const t = await run(c, LATENCY_REQUESTS, 1, target);
    (p50[name] ??= []).push(t.p50Us);
    (p99[name] ??= []).push(t.p99Us);
  }
  ratios.push(last(rps, MESH) / last(rps, RAW));
  undiciPoolRatios.push(rps[MESH_UNDICI]!.at(-1)! / last(rps, RAW));
  sharedRatios.push(rps[SHARED_MESH]!.at(-1)! / rps[SHARED_RAW]!.at(-1)!);
  addedP50.push(last(p50, MESH) - last(p50, RAW));
  addedP99.push(last(p99, MESH) - last(p99, RAW));
}

console.log(`\nthroughput: concurrency ${CONCURRENCY}, ${THROUGHPUT_REQUESTS} requests per round; latency: sequential`);
console.log(
  `requests (concurrency 1), ${LATENCY_REQUESTS} per round; ${ROUNDS} paired rounds, medians; one process per row,`,
);
console.log(
  'except the last two rows: one process holding both (the mesh, its xDS client and config, and a raw Pool);',
);
console.log(`a round's ratio compares the mean of the ${PROCESSES} raw and ${PROCESSES} mesh processes`);
console.log(`route table: ${VHOSTS} virtual hosts × ${ROUTES_PER_VHOST} routes; cluster: 3 endpoints, round robin`);
console.log(
  `V8 young generation: ${semiSpace === undefined ? 'sized by V8' : `semi-spaces fixed at ${semiSpace} MB`} (all clients); ${describeClientFlags()}\n`,
);
console.log('| client | req/s | client CPU µs/req | of which GC | p50 µs (c=1) | p99 µs (c=1) | p50 µs (c=32) |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const [name] of clients) {
  console.log(
    `| ${name} | ${median(rps[name]!).toFixed(0)} | ${median(cpu[name]!).toFixed(1)} | ${median(gc[name]!).toFixed(2)} | ${median(p50[name]!).toFixed(1)} | ${median(p99[name]!).toFixed(1)} | ${median(loadedP50[name]!).toFixed(1)} |`,
  );
}
console.log(`\nper-round throughput ratios, separate processes: ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
console.log(`per-round throughput ratios, one process:        ${sharedRatios.map((r) => r.toFixed(3)).join(' ')}`);

for (const c of new Set(clients.map(([, p]) => p))) {
  c.send('exit');
  await once(c, 'exit');
}
await server.stop({ graceMs: 100 });
child.disconnect();

// ------------------------------------------------------------------ route matching

function modelRoute(name: string, over: Partial<Route['match']>): Route {
  return route(name, routeMatch({ kind: 'prefix', value: '/' }, over), forward('c', { timeout: 0 }));
}

function modelVhostRoutes(i: number): Route[] {
  const routes: Route[] = [];
  for (let j = 0; j < 4; j++) {
    routes.push(
      modelRoute(`tenant-${j}`, {
        headers: [
          {
            name: 'x-tenant',
            match: { kind: 'string', matcher: { kind: 'exact', value: `tenant-${i}-${j}`, ignoreCase: false } },
            invert: false,
            treatMissingHeaderAsEmpty: false,
          },
        ],
      }),
    );
  }
  for (let j = 0; j < 4; j++)
    routes.push(modelRoute(`api-v${j}`, { path: { kind: 'regex', regex: `/api/v${j}/items/[0-9]+` } }));
  routes.push(
    modelRoute('admin', {
      path: { kind: 'prefix', value: '/admin' },
      headers: [
        {
          name: 'x-user',
          match: { kind: 'string', matcher: { kind: 'regex', regex: 'admin-[a-z]+' } },
          invert: false,
          treatMissingHeaderAsEmpty: false,
        },
      ],
    }),
  );
  routes.push(modelRoute('default', {}));
  return routes;
}

function modelTable(vhosts: number): RouteConfiguration {
  const target = Math.floor(vhosts / 2);
  const virtualHosts = Array.from({ length: vhosts }, (_, i) => {
    const name = i === target ? 'reviews' : `svc-${i}`;
    const fqdn = `${name}.default.svc.cluster.local`;
    const domains: string[] = [];
    for (const d of [fqdn, `${name}.default.svc`, `${name}.default`, name]) domains.push(d, `${d}:9080`);
    return virtualHost(`${fqdn}:9080`, domains, modelVhostRoutes(i), { includeRequestAttemptCount: true });
  });
  return routeConfiguration(virtualHosts, { name: 'bench' });
}

const matchRequest = {
  method: 'GET',
  authority: 'reviews:9080',
  path: '/reviews/1?sort=asc',
  scheme: 'http',
  headers: headerGetter({ 'user-agent': 'bench', accept: '*/*', 'x-request-id': 'abc' }),
};

function nsPerMatch(routes: number): number {
  const table = compileRouteTable(modelTable(routes / ROUTES_PER_VHOST));
  const iterations = QUICK ? 200_000 : 1_000_000;
  let sink = 0;
  for (let i = 0; i < 50_000; i++) if (table.match(matchRequest, 1) !== undefined) sink++;
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (table.match(matchRequest, 1) !== undefined) sink++;
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  if (sink === 0) throw new Error('no match');
  return ns;
}

const match = { 10: nsPerMatch(10), 1000: nsPerMatch(1_000), 10000: nsPerMatch(10_000) };
console.log('\n| routes (virtual hosts × 10) | ns per match() |');
console.log('|---:|---:|');
for (const [n, ns] of Object.entries(match)) console.log(`| ${n} | ${ns.toFixed(0)} |`);

const result = {
  throughput_ratio: Number(median(ratios).toFixed(3)),
  throughput_ratio_same_process: Number(median(sharedRatios).toFixed(3)),
  throughput_ratio_undici_pools: Number(median(undiciPoolRatios).toFixed(3)),
  added_p50_us: Number(median(addedP50).toFixed(1)),
  added_p99_us: Number(median(addedP99).toFixed(1)),
  match_ns_10: Math.round(match[10]),
  match_ns_1k: Math.round(match[1000]),
  match_ns_10k: Math.round(match[10000]),
};
console.log(`\nRESULT ${JSON.stringify(result)}`);
process.exit(0);
