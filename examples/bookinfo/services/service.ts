// What every bookinfo service shares: join the mesh with Inboard.start(), put the inbound policy
// in front of an Express app with mesh.express(), listen, and stop cleanly on SIGINT / SIGTERM.
//
// Environment (the demo sets these per instance; on Kubernetes they come from the pod):
//   INBOARD_CONTROL_PLANE  host:port of the embedded control plane (or GRPC_XDS_BOOTSTRAP)
//   INBOARD_APP / INBOARD_VERSION / INBOARD_NAME   labels app/version and the pod name
//   PORT (default 9080), HOST (default 0.0.0.0)
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request } from 'express';
import { Inboard } from 'inboard';

export interface ServiceContext {
  readonly app: Express;
  readonly mesh: Inboard;
  /** `<app>-<version>`: which instance answered, shown in every response */
  readonly instance: string;
  readonly version: string;
}

/** Headers bookinfo passes on to the services it calls (the user, and the trace). */
const PROPAGATED = [
  'end-user',
  'x-request-id',
  'traceparent',
  'tracestate',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'x-ot-span-context',
];

export function propagatedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PROPAGATED) {
    const v = headers[name];
    if (typeof v === 'string' && v !== '') out[name] = v;
  }
  return out;
}

/** Calls another service through the mesh; never throws (a failure is part of the answer). */
export async function callService(
  mesh: Inboard,
  url: string,
  req: Request,
  extraHeaders: Record<string, string> = {},
): Promise<{ ok: boolean; status: number; flags: string; ms: number; body: unknown }> {
  const start = performance.now();
  try {
    const res = await mesh.fetch(url, {
      headers: { ...propagatedHeaders(req.headers), ...extraHeaders },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // a local reply of the mesh (e.g. "fault filter abort") is plain text
    }
    return {
      ok: res.ok,
      status: res.status,
      flags: res.headers.get('x-inboard-response-flags') ?? '-',
      ms: Math.round(performance.now() - start),
      body,
    };
  } catch (err) {
    return { ok: false, status: 0, flags: 'UF', ms: Math.round(performance.now() - start), body: String(err) };
  }
}

/**
 * Istio's standard metrics and an Envoy-style admin server (/stats/prometheus, /config_dump,
 * /clusters, /explain) on a free port, when @inboard/telemetry provides them. Optional: the
 * service runs the same without (BOOKINFO_TELEMETRY=off turns it off).
 */
async function startTelemetry(mesh: Inboard): Promise<(() => Promise<void>) | undefined> {
  if (process.env['BOOKINFO_TELEMETRY'] === 'off') return undefined;
  let telemetry: Record<string, unknown>;
  try {
    telemetry = await import('@inboard/telemetry');
  } catch {
    return undefined;
  }
  const { installMeshTelemetry, startAdminServer } = telemetry as Partial<typeof import('@inboard/telemetry')>;
  if (typeof installMeshTelemetry !== 'function' || typeof startAdminServer !== 'function') return undefined;
  const installed = installMeshTelemetry({ mesh: mesh.outbound, istioMetrics: 'native', tracing: false });
  const admin = await startAdminServer({
    mesh: mesh.outbound,
    istioStats: installed.istioStats,
    port: Number(process.env['ADMIN_PORT'] ?? 0),
    host: '127.0.0.1',
  });
  process.stdout.write(`admin ${admin.url} · prometheus ${admin.url}/stats/prometheus\n`);
  return async () => {
    installed.close();
    await admin.close();
  };
}

export async function startService(app: string, routes: (ctx: ServiceContext) => void): Promise<void> {
  const version = process.env['INBOARD_VERSION'] ?? 'v1';
  const instance = process.env['INBOARD_NAME'] ?? `${app}-${version}`;
  const mesh = await Inboard.start({ node: { app, version } });
  const stopTelemetry = await startTelemetry(mesh);

  const web = express();
  web.disable('x-powered-by');
  web.use(mesh.express());
  // How many requests this instance served (the demo reads it to show retries and ejections).
  const stats = { requests: 0, failures: 0 };
  web.use((req, res, next) => {
    if (req.path === '/stats' || req.path === '/health') return next();
    stats.requests++;
    res.on('finish', () => {
      if (res.statusCode >= 500) stats.failures++;
    });
    next();
  });
  web.get('/health', (_req, res) => {
    res.json({ status: 'ok', instance });
  });
  web.get('/stats', (_req, res) => {
    res.json({ instance, ...stats });
  });
  routes({ app: web, mesh, instance, version });

  const port = Number(process.env['PORT'] ?? 9080);
  const host = process.env['HOST'] ?? '0.0.0.0';
  const server: Server = web.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const bound = (server.address() as AddressInfo).port;
  process.stdout.write(`${instance} listening on http://${host}:${bound} (pid ${process.pid}, node ${mesh.nodeId})\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    void Promise.allSettled([stopTelemetry?.(), mesh.close()]).finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
