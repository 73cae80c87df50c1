// A fleet of real `Xds` clients (one per simulated pod of one workload), run in a worker thread so
// their decoding neither shares the control plane's event loop nor counts in its heap — as pods
// would be separate processes. The benchmark drives it by messages (FleetCommand) and gets back
// the time, on the shared wall clock (timeOrigin + now), at which the last client got there.
import { parentPort } from 'node:worker_threads';
import { credentials } from '@grpc/grpc-js';
import { type AdsTransport, createGrpcTransport, parseBootstrap, type TargetSnapshot, Xds } from '@inboard/xds';
import type { DiscoveryRequestIn } from '@inboard/xds/codec';

export type FleetCommand =
  | {
      readonly type: 'connect';
      readonly port: number;
      readonly clients: number;
      readonly targets: readonly string[];
      readonly mode: 'sotw' | 'delta';
      /** SotW only: send one request per type per tick (see coalescingTransport) */
      readonly coalesce?: boolean;
      /** distinguishes fleets (node ids), so a later fleet is new pods */
      readonly podPrefix: string;
    }
  /** Resolves once every client's snapshot of `target` splits its default route with `weights`. */
  | { readonly type: 'await-split'; readonly target: string; readonly weights: readonly number[] }
  | { readonly type: 'close' };

export type FleetReply =
  | { readonly type: 'ready'; readonly at: number; readonly snapshots: number; readonly clusters: number }
  /** await-split: every client watches the target now (the edit may be made) */
  | { readonly type: 'watching' }
  | { readonly type: 'applied'; readonly at: number }
  | { readonly type: 'closed' }
  | { readonly type: 'error'; readonly message: string };

const wallNow = () => performance.timeOrigin + performance.now();

/** The weights of the last (catch-all) route of the target's route config. */
export function splitOf(s: TargetSnapshot): number[] {
  const routes = s.routeConfig.virtualHosts[0]?.routes ?? [];
  const spec = routes.at(-1)?.action;
  if (spec?.kind !== 'route' || spec.clusterSpecifier.kind !== 'weighted_clusters') return [];
  return spec.clusterSpecifier.clusters.map((c) => c.weight);
}

let fleet: Xds[] = [];

/**
 * The gRPC transport, except that SotW requests of one type sent in the same tick leave as one:
 * the last (a SotW request carries the whole name list, so it supersedes the earlier ones). Our
 * XdsClient writes a request per new name, so a route config naming 40 clusters becomes 40 CDS
 * requests, each answered with every cluster subscribed so far. This shows what coalescing in
 * the client would save; NACKs are never dropped.
 */
async function coalescingTransport(target: string): Promise<AdsTransport> {
  const inner = await createGrpcTransport({ target, credentials: credentials.createInsecure() });
  return {
    server: inner.server,
    openSotw(handlers) {
      const stream = inner.openSotw(handlers);
      const pending = new Map<string, DiscoveryRequestIn>();
      const flush = () => {
        for (const req of pending.values()) stream.send(req);
        pending.clear();
      };
      return {
        send(req) {
          const type = req.type_url ?? '';
          const before = pending.get(type);
          if (before?.error_detail !== undefined) flush();
          // only the stream's first request carries the node
          const merged = before?.node !== undefined && req.node === undefined ? { ...req, node: before.node } : req;
          if (pending.size === 0) queueMicrotask(flush);
          pending.set(type, merged);
        },
        cancel() {
          pending.clear();
          stream.cancel();
        },
      };
    },
    openDelta: (handlers) => inner.openDelta(handlers),
    whenReady: (fn) => inner.whenReady(fn),
    close: () => inner.close(),
  };
}

function nodeId(prefix: string, i: number): string {
  return `sidecar~10.9.${i >> 8}.${i & 255}~${prefix}-${i}.default~default.svc.cluster.local`;
}

async function connect(cmd: Extract<FleetCommand, { type: 'connect' }>): Promise<FleetReply> {
  fleet = [];
  for (let i = 0; i < cmd.clients; i++) {
    const bootstrap = parseBootstrap(
      {
        xds_servers: [
          { server_uri: `127.0.0.1:${cmd.port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
        ],
        node: {
          id: nodeId(cmd.podPrefix, i),
          metadata: { GENERATOR: 'grpc', NAMESPACE: 'default', LABELS: { app: 'client' } },
        },
      },
      'bench',
    );
    const backoff = { initialMs: 50, maxMs: 500 };
    fleet.push(
      cmd.coalesce === true
        ? new Xds({ bootstrap, mode: cmd.mode, backoff, transport: await coalescingTransport(`127.0.0.1:${cmd.port}`) })
        : new Xds({ bootstrap, mode: cmd.mode, backoff }),
    );
  }
  const all = await Promise.all(fleet.flatMap((x) => cmd.targets.map((t) => x.resolve(t).ready())));
  const at = wallNow();
  return { type: 'ready', at, snapshots: all.length, clusters: all.reduce((n, s) => n + s.clusters.size, 0) };
}

async function awaitSplit(cmd: Extract<FleetCommand, { type: 'await-split' }>): Promise<FleetReply> {
  const want = cmd.weights.join('/');
  const applied = Promise.all(
    fleet.map(
      (x) =>
        new Promise<void>((resolve) => {
          const r = x.resolve(cmd.target);
          const now = r.current();
          if (now !== undefined && splitOf(now).join('/') === want) return resolve();
          const off = r.subscribe({
            onSnapshot: (s) => {
              if (splitOf(s).join('/') !== want) return;
              off();
              resolve();
            },
          });
        }),
    ),
  );
  parentPort?.postMessage({ type: 'watching' } satisfies FleetReply);
  await applied;
  return { type: 'applied', at: wallNow() };
}

async function handle(cmd: FleetCommand): Promise<FleetReply> {
  switch (cmd.type) {
    case 'connect':
      return connect(cmd);
    case 'await-split':
      return awaitSplit(cmd);
    case 'close':
      for (const x of fleet) x.close();
      fleet = [];
      return { type: 'closed' };
  }
}

parentPort?.on('message', (cmd: FleetCommand) => {
  handle(cmd).then(
    (reply) => parentPort?.postMessage(reply),
    (err: unknown) => parentPort?.postMessage({ type: 'error', message: String(err) } satisfies FleetReply),
  );
});
