// One benchmark client process: `raw` (an undici Pool on one listener), `mesh` (the Inboard
// dispatcher, configured from the parent's ADS server, calling reviews:9080), `mesh-undici` (the
// same, its HTTP/1.1 written by undici Pools instead of the mesh's own), `passthrough` (the
// same resident mesh, calling the listener's IP:port, which is outside the mesh: the cost of
// having the mesh and its config in the process, without the routing), or `shared`: the mesh and
// a raw undici Pool in one process, loaded in turns (command target 'raw' / 'mesh'), so both
// run with the same heap, garbage collector and JIT state. The parent sends load commands over
// IPC; the client answers with wall time, latency quantiles and its own CPU time.

import { OutboundMesh } from '@inboard/http';
import { parseBootstrap, Xds } from '@inboard/xds';
import { type Dispatcher, Pool } from 'undici';
import { closedLoop, serveLoadCommands } from '../../../bench/support/closed-loop.ts';

export type { LoadCommand, LoadResult } from '../../../bench/support/closed-loop.ts';

const [kind, portList, adsPort, nodeId] = process.argv.slice(2);
const ports = portList!.split(',').map(Number);
const PATH = '/reviews/1?sort=asc';

const rawOrigin = `http://127.0.0.1:${ports[0]}`;
let dispatcher: Dispatcher;
let origin: string;
let close: () => Promise<void>;
let raw: Pool | undefined;
if (kind === 'raw') {
  origin = rawOrigin;
  raw = new Pool(origin);
  dispatcher = raw;
  close = () => raw!.close();
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
  const mesh = new OutboundMesh({ xds, http1: kind === 'mesh-undici' ? 'undici' : 'inboard' });
  if ((await mesh.ready('reviews:9080')) === undefined) throw new Error('reviews:9080 did not resolve');
  origin = kind === 'passthrough' ? `http://127.0.0.1:${ports[0]}` : 'http://reviews:9080';
  dispatcher = mesh.dispatcher;
  if (kind === 'passthrough' && (await mesh.ready(`127.0.0.1:${ports[0]}`)) !== undefined)
    throw new Error('expected a host outside the mesh');
  if (kind === 'shared') raw = new Pool(rawOrigin);
  close = async () => {
    await raw?.close();
    await mesh.close();
    xds.close();
  };
}

// No forced gc() between rounds: a full GC discards optimized code, and every round would
// start by recompiling the hot path.
serveLoadCommands(
  (cmd) =>
    cmd.target === 'raw' && raw !== undefined
      ? closedLoop(raw, rawOrigin, PATH, cmd)
      : closedLoop(dispatcher, origin, PATH, cmd),
  () => close(),
);
