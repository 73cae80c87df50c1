// One benchmark client process: `raw` (an undici Pool on one listener), `mesh` (the Inboard
// dispatcher, configured from the parent's ADS server, calling reviews:9080) or `passthrough`
// (the same resident mesh, calling the listener's IP:port, which is outside the mesh: the cost of
// having the mesh and its config in the process, without the routing). Each client runs in its own process so
// neither path's JIT state (inline caches of undici's shared code) slows the other: an
// application runs one of them, not both. The parent sends load commands over IPC; the client
// answers with wall time, latency quantiles and its own CPU time.
import { parseBootstrap, Xds } from '@inboard/xds';
import { type Dispatcher, Pool } from 'undici';
import { OutboundMesh } from '../src/index.ts';

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
  readonly userUs: number;
  readonly sysUs: number;
}

const [kind, portList, adsPort, nodeId] = process.argv.slice(2);
const ports = portList!.split(',').map(Number);
const PATH = '/reviews/1?sort=asc';

let dispatcher: Dispatcher;
let origin: string;
let close: () => Promise<void>;
if (kind === 'raw') {
  origin = `http://127.0.0.1:${ports[0]}`;
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
        node: { id: nodeId, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
      },
      'bench',
    ),
  });
  const mesh = new OutboundMesh({ xds });
  if ((await mesh.ready('reviews:9080')) === undefined) throw new Error('reviews:9080 did not resolve');
  origin = kind === 'passthrough' ? `http://127.0.0.1:${ports[0]}` : 'http://reviews:9080';
  dispatcher = mesh.dispatcher;
  if (kind === 'passthrough' && (await mesh.ready(`127.0.0.1:${ports[0]}`)) !== undefined)
    throw new Error('expected a host outside the mesh');
  close = async () => {
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
  // No forced gc() between rounds: a full GC discards optimized code, and every round would
  // start by recompiling the hot path.
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  lat.sort();
  return {
    ms,
    p50Us: lat[Math.floor(total * 0.5)]! * 1000,
    p99Us: lat[Math.min(total - 1, Math.floor(total * 0.99))]! * 1000,
    cpuUs: (cpu.user + cpu.system) / total,
    userUs: cpu.user / total,
    sysUs: cpu.system / total,
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
