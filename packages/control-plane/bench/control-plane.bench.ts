// Benchmark of @inboard/control-plane (the embedded istiod), phases side by side in one run, on a
// mesh of 1,000 services, each with a VirtualService (a header match, then an 80/20 split) and a
// DestinationRule with two subsets, written as real YAML files:
//  1. load: ConfigStore reading the files (cold, then a reload with nothing changed)
//  2. translate + encode for one node after refresh(), its phases (index, translate, encode), and
//     a second pod of the same workload (shares the encoded view)
//  3. push: 50 real Xds clients (50 pods of one workload, in a worker thread) on loopback, each
//     resolving the same 20 targets, from the clients' start until every client has a complete
//     snapshot of every target (SotW, the istiod default)
//  4. edit → applied: the ConfigStore watches the files (100 ms debounce), one VirtualService file
//     is rewritten (80/20 → 50/50), time until all 50 clients published the new split
//  5. heap retained by the server side (generator, cache, streams) after the push
//  and, next to the push: Delta clients, SotW clients that send one request per type per tick,
//  and a reconnect with the views already translated.
// Last line: RESULT {json}. Run: npm run build && npm run bench -w @inboard/control-plane.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  AdsServer,
  ConfigStore,
  type ConfigWatch,
  createIstioSnapshotGenerator,
  formatProblem,
  type IstioSnapshotGenerator,
  type MeshConfigSnapshot,
  MeshIndex,
  parseProxyNode,
  Snapshot,
  translateMessages,
} from '@inboard/control-plane';
import { jsToStruct, type Node, TypeUrl } from '@inboard/xds/codec';
import type { FleetCommand, FleetReply } from './client-fleet.ts';
import { PORT, serviceFile, serviceName, serviceYaml, writeMesh } from './mesh-files.ts';

const SERVICES = 1000;
const CLIENTS = 50;
const TARGETS = 20;
const EDITS = 5;
const DEADLINE_MS = 180_000;

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const heapMb = () => process.memoryUsage().heapUsed / 1048576;
const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'inboard-cp-bench-'));
const cleanups: (() => unknown)[] = [() => rmSync(dir, { recursive: true, force: true })];

// The benchmark must end by itself, whatever happens to the sockets.
const deadline = setTimeout(() => {
  console.error(`control-plane bench: no result after ${DEADLINE_MS / 1000} s, giving up`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

function clientNode(pod: number): Node {
  return {
    id: `sidecar~10.8.0.${pod}~client-${pod}.default~default.svc.cluster.local`,
    metadata: jsToStruct({ GENERATOR: 'grpc', NAMESPACE: 'default', LABELS: { app: 'client' } }),
  } as Node;
}

function checkCounts(snap: Snapshot | undefined): void {
  const counts = [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment].map(
    (t) => snap?.resources(t).size,
  );
  const want = [4 * SERVICES, SERVICES, 3 * SERVICES, 3 * SERVICES];
  if (counts.join() !== want.join())
    throw new Error(`unexpected resource counts ${counts.join()} (want ${want.join()})`);
}

/** The client fleet in a worker thread: commands go out, replies come back in order. */
class Fleet {
  readonly #worker = new Worker(new URL('./client-fleet.ts', import.meta.url));
  readonly #replies: FleetReply[] = [];
  readonly #waiters: ((reply: FleetReply) => void)[] = [];
  constructor() {
    this.#worker.unref();
    this.#worker.on('message', (reply: FleetReply) => {
      const w = this.#waiters.shift();
      if (w !== undefined) w(reply);
      else this.#replies.push(reply);
    });
  }
  post(cmd: FleetCommand): void {
    this.#worker.postMessage(cmd);
  }
  /** The next reply, which must be of type `type`. */
  async expect<K extends FleetReply['type']>(type: K, timeoutMs = 60_000): Promise<Extract<FleetReply, { type: K }>> {
    let timer: NodeJS.Timeout | undefined;
    const reply = await Promise.race([
      this.#replies.length > 0
        ? Promise.resolve(this.#replies.shift()!)
        : new Promise<FleetReply>((resolve) => this.#waiters.push(resolve)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`fleet: no ${type} in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (reply.type === 'error') throw new Error(`fleet: ${reply.message}`);
    if (reply.type !== type) throw new Error(`fleet: expected ${type}, got ${reply.type}`);
    return reply as Extract<FleetReply, { type: K }>;
  }
  send<K extends FleetReply['type']>(cmd: FleetCommand, type: K): Promise<Extract<FleetReply, { type: K }>> {
    this.post(cmd);
    return this.expect(type);
  }
  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }
}

type Rows = [string, string, string][];
const row = (rows: Rows, label: string, ms: number, note = '') => rows.push([label, `${ms.toFixed(1)} ms`, note]);

/** Phases 1 and 2, in a function of their own so that what they built is garbage afterwards. */
async function loadAndTranslate(rows: Rows): Promise<{ paths: string[]; translateMs: number }> {
  // ---------------------------------------------------------------- 1. load
  const paths = writeMesh(dir, SERVICES);
  const loader = new ConfigStore({ cwd: dir });
  let t = performance.now();
  const loaded = await loader.load(paths);
  const loadMs = performance.now() - t;
  if (loaded.problems.length > 0) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  t = performance.now();
  await loader.load(paths);
  const reloadMs = performance.now() - t;
  const objects = loaded.snapshot.istio.length + loaded.snapshot.services.length;
  row(rows, `load ${loaded.files.length} files (${objects} objects), cold`, loadMs);
  row(rows, '  reload, nothing changed', reloadMs);

  // ---------------------------------------------------------------- 2. translate
  const config = loaded.snapshot;
  const gen = createIstioSnapshotGenerator(() => config);
  const colds: number[] = [];
  const seconds: number[] = [];
  for (let run = 0; run < 6; run++) {
    gen.refresh();
    t = performance.now();
    const snap = gen.generate(clientNode(1), 'pod-1');
    colds.push(performance.now() - t);
    checkCounts(snap);
    t = performance.now();
    checkCounts(gen.generate(clientNode(2), 'pod-2'));
    seconds.push(performance.now() - t);
  }
  const translateMs = median(colds.slice(1));
  row(rows, `translate + encode ${SERVICES} services for one node, first in process`, colds[0]!);
  row(rows, '  same, cold after refresh() (median of 5)', translateMs);
  row(rows, '  second pod of the workload, shared view (median of 5)', median(seconds.slice(1)));
  const phases = { index: [] as number[], messages: [] as number[], encode: [] as number[] };
  for (let run = 0; run < 5; run++) {
    t = performance.now();
    const index = new MeshIndex(config);
    phases.index.push(performance.now() - t);
    t = performance.now();
    const messages = translateMessages(index, parseProxyNode(clientNode(1)));
    phases.messages.push(performance.now() - t);
    t = performance.now();
    Snapshot.fromMessages(messages);
    phases.encode.push(performance.now() - t);
  }
  row(rows, '  phase: index the config (MeshIndex)', median(phases.index));
  row(rows, '  phase: translate to messages (nested Any packed)', median(phases.messages));
  row(rows, '  phase: encode + hash (Snapshot.fromMessages)', median(phases.encode));
  return { paths, translateMs };
}

async function main(): Promise<Record<string, number>> {
  const rows: Rows = [];
  const { paths, translateMs } = await loadAndTranslate(rows);

  // ---------------------------------------------------------------- 3. push
  // A watching store serves phases 3 and 4, as in `control-plane --config`.
  let current: MeshConfigSnapshot | undefined;
  let served: IstioSnapshotGenerator | undefined;
  let lastReload = { at: 0, refreshMs: 0 };
  const store = new ConfigStore({ cwd: dir });
  const watch: ConfigWatch = await store.watch(paths, (event) => {
    if (!event.changed || served === undefined) return;
    const at = wallNow();
    current = event.snapshot;
    const t0 = performance.now();
    served.refresh(); // every connected node's view is rebuilt and pushed from here
    lastReload = { at, refreshMs: performance.now() - t0 };
  });
  cleanups.push(() => watch.close());
  current = watch.initial.snapshot;

  gc();
  const heapBefore = heapMb();
  served = createIstioSnapshotGenerator(() => current!);
  const server = new AdsServer({ cache: served.createCache(), authenticate: served.authenticate() });
  cleanups.push(() => server.stop({ graceMs: 1000 }));
  let nacks = 0;
  server.on('nack', () => nacks++);
  const fleet = new Fleet();
  cleanups.push(() => fleet.terminate());
  const targets = Array.from({ length: TARGETS }, (_, i) => `${serviceName(i * (SERVICES / TARGETS))}:${PORT}`);
  const port = await server.start({ host: '127.0.0.1', port: 0 });

  const push = async (mode: 'sotw' | 'delta', podPrefix: string, coalesce = false): Promise<number> => {
    const before = server.counters;
    const start = wallNow();
    const r = await fleet.send(
      { type: 'connect', port, clients: CLIENTS, targets, mode, podPrefix, coalesce },
      'ready',
    );
    if (r.snapshots !== CLIENTS * TARGETS || r.clusters !== CLIENTS * TARGETS * 2)
      throw new Error(`fleet: ${r.snapshots} snapshots with ${r.clusters} clusters`);
    const after = server.counters;
    pushTraffic = `${after.requests - before.requests} requests, ${after.responses - before.responses} responses`;
    return r.at - start;
  };
  let pushTraffic = '';
  const pushMs = await push('sotw', 'sotw');
  row(
    rows,
    `push to ${CLIENTS} SotW clients × ${TARGETS} targets, cold (from the clients' start)`,
    pushMs,
    pushTraffic,
  );
  await sleep(200); // let the last ACKs in before measuring what stays
  gc();
  const serverHeapMb = heapMb() - heapBefore;
  const totalHeapMb = heapMb();

  // ---------------------------------------------------------------- 4. edit → applied
  const edits: number[] = [];
  const reloads: number[] = [];
  const refreshes: number[] = [];
  for (let e = 0; e < EDITS; e++) {
    const svc = (e % TARGETS) * (SERVICES / TARGETS);
    const weights: [number, number] = [50, 50];
    fleet.post({ type: 'await-split', target: `${serviceName(svc)}:${PORT}`, weights });
    await fleet.expect('watching');
    const start = wallNow();
    writeFileSync(serviceFile(dir, svc), serviceYaml(svc, weights));
    const r = await fleet.expect('applied');
    edits.push(r.at - start);
    reloads.push(lastReload.at - start);
    refreshes.push(lastReload.refreshMs);
    await sleep(300); // quiet, so edits do not share a debounce window
  }
  const editMs = median(edits);
  row(
    rows,
    `one VirtualService edit → all ${CLIENTS} clients applied (median of ${EDITS})`,
    editMs,
    edits.map((x) => x.toFixed(0)).join(', '),
  );
  row(rows, '  of which: write → config reloaded (100 ms debounce + reload)', median(reloads));
  row(rows, '  of which: refresh() (translate + every node re-diffed, pushes queued)', median(refreshes));

  // ---------------------------------------------------------------- alternatives
  const alternative = async (
    label: string,
    mode: 'sotw' | 'delta',
    podPrefix: string,
    coalesce: boolean,
    cold: boolean,
  ) => {
    await fleet.send({ type: 'close' }, 'closed');
    if (cold) served!.refresh();
    row(rows, label, await push(mode, podPrefix, coalesce), pushTraffic);
  };
  await alternative(`  alternative: ${CLIENTS} Delta clients, cold`, 'delta', 'delta', false, true);
  await alternative(
    `  alternative: ${CLIENTS} SotW clients sending one request per type per tick, cold`,
    'sotw',
    'coalesced',
    true,
    true,
  );
  await alternative(
    `  alternative: the SotW clients reconnect, views cached (protocol + clients only)`,
    'sotw',
    'sotw',
    false,
    false,
  );
  await fleet.send({ type: 'close' }, 'closed');
  if (nacks > 0) throw new Error(`${nacks} NACKs`);

  rows.push([
    'server-side heap retained after the push (generator, cache, streams)',
    `${serverHeapMb.toFixed(1)} MB`,
    '',
  ]);
  rows.push(['  whole heap of the control-plane thread (config store included)', `${totalHeapMb.toFixed(1)} MB`, '']);

  const w = Math.max(...rows.map((r) => r[0].length));
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  console.log(
    `\n@inboard/control-plane benchmark — node ${process.version}, ${SERVICES} services, ${CLIENTS} clients, ` +
      `${availableParallelism()} CPUs, load average ${load}\n`,
  );
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w)}  ${b.padStart(10)}  ${c}`);
  console.log('\ntargets: translate ≤ 500 ms, push ≤ 1000 ms, edit → applied ≤ 300 ms');
  return {
    translate_1k_ms: +translateMs.toFixed(1),
    push_50_clients_ms: +pushMs.toFixed(1),
    edit_to_applied_ms: +editMs.toFixed(1),
    heap_mb: +serverHeapMb.toFixed(1),
  };
}

let result: Record<string, number> | undefined;
try {
  result = await main();
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (err) {
      console.error(`cleanup: ${String(err)}`);
    }
  }
}
console.log(`\nRESULT ${JSON.stringify(result)}`);
