// `inboard gateway`: an Istio ingress gateway process on Inboard's data plane.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Env } from '@inboard/xds';
import { InboardOptionError } from '../errors.ts';
import { parseLabels } from '../node-options.ts';
import { type GatewayAccessEntry, type GatewayTls, IngressGateway } from './ingress-gateway.ts';

export interface GatewayCliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Env;
  /** stops the gateway (SIGINT / SIGTERM when run as a program) */
  readonly signal?: AbortSignal | undefined;
  /** called once the gateway is ready (tests) */
  readonly onReady?: (gateway: IngressGateway) => void;
}

export const GATEWAY_USAGE = `usage: inboard gateway [--control-plane HOST:PORT] [options]

An Istio ingress gateway: serves the Gateways whose selector matches its labels
(istio=ingressgateway) with the routes of their bound VirtualServices.

  --control-plane HOST:PORT  the embedded control plane (default: GRPC_XDS_BOOTSTRAP, else
                             INBOARD_CONTROL_PLANE)
  --port N                   listen on N for the Gateway's first port (0: the OS picks, for every port)
  --port P=N                 listen on N for Gateway port P (repeatable); other ports use their number
  --host H                   address to listen on (default 0.0.0.0)
  --name NAME                pod name of the gateway node (default ingressgateway)
  --namespace NS             its namespace (default istio-system)
  --label K=V                more node labels (repeatable; istio=ingressgateway is always set)
  --tls-cert FILE            terminate TLS (SIMPLE) with this PEM certificate chain...
  --tls-key FILE             ...and this PEM private key
  --access-log               print one line per request
  --admin-port N             serve Istio's metrics (reporter=source) at /stats/prometheus and the
                             admin endpoints (/config_dump, /clusters, /ready, /explain) on
                             127.0.0.1:N (0: the OS picks; Envoy's is 15000); off when not given
`;

class UsageError extends Error {}

function parsePorts(values: readonly string[]): { default?: number; map: Map<number, number> } {
  const map = new Map<number, number>();
  let def: number | undefined;
  const port = (text: string, allowZero: boolean): number => {
    const n = Number(text);
    if (!/^\d{1,5}$/.test(text) || n > 65535 || (n === 0 && !allowZero)) throw new UsageError(`invalid port "${text}"`);
    return n;
  };
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 0) {
      if (def !== undefined) throw new UsageError('--port N may be given once (use --port P=N for more ports)');
      def = port(v, true);
    } else map.set(port(v.slice(0, eq), false), port(v.slice(eq + 1), true));
  }
  return def === undefined ? { map } : { default: def, map };
}

function accessLine(e: GatewayAccessEntry): string {
  const time = new Date().toISOString();
  return `[${time}] "${e.method} ${e.path}" ${e.status} ${e.flags} ${e.bytesSent} ${Math.round(e.durationMs)}ms "${e.authority}" ${e.remoteAddress} port=${e.gatewayPort}\n`;
}

export async function runGatewayCli(argv: readonly string[], io: GatewayCliIo): Promise<number> {
  let gateway: IngressGateway | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'control-plane': { type: 'string' },
        port: { type: 'string', multiple: true },
        host: { type: 'string' },
        name: { type: 'string' },
        namespace: { type: 'string' },
        label: { type: 'string', multiple: true },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'access-log': { type: 'boolean', default: false },
        'admin-port': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout.write(GATEWAY_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const ports = parsePorts(values.port ?? []);
    if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
      throw new UsageError('--tls-cert and --tls-key go together');
    }
    let tls: GatewayTls | undefined;
    if (values['tls-cert'] !== undefined && values['tls-key'] !== undefined) {
      tls = { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) };
    }
    const labels: Record<string, string> = {};
    for (const l of values.label ?? []) Object.assign(labels, parseLabels(l, '--label'));

    gateway = await IngressGateway.start({
      env: io.env,
      ...(values['control-plane'] === undefined ? {} : { controlPlane: values['control-plane'] }),
      node: {
        ...(values.name === undefined ? {} : { name: values.name }),
        ...(values.namespace === undefined ? {} : { namespace: values.namespace }),
        labels,
      },
      host: values.host,
      ports,
      tls,
      onRequest: values['access-log'] ? (e) => io.stdout.write(accessLine(e)) : undefined,
      onListener: (e) => {
        if (e.kind === 'listening') io.stdout.write(`gateway port ${e.gatewayPort} → listening on ${e.url}\n`);
        else if (e.kind === 'closed') io.stdout.write(`gateway port ${e.gatewayPort} → closed (port ${e.port})\n`);
        else {
          const hint = (e.error as { code?: string }).code === 'EACCES' ? ' (use --port to pick another port)' : '';
          io.stderr.write(`gateway port ${e.gatewayPort}: cannot listen on ${e.port}: ${e.error.message}${hint}\n`);
        }
      },
    });
    const node = gateway.xds.bootstrap.node;
    const server = gateway.xds.bootstrap.xdsServers[0]?.serverUri ?? '?';
    io.stdout.write(`ingress gateway ${node.id} → control plane ${server}\n`);
    let stopAdmin: (() => Promise<void>) | undefined;
    if (values['admin-port'] !== undefined) {
      const port = Number(values['admin-port']);
      if (!/^\d{1,5}$/.test(values['admin-port']) || port > 65535) {
        throw new UsageError(`invalid --admin-port "${values['admin-port']}"`);
      }
      const { installMeshTelemetry, startAdminServer } = await import('@inboard/telemetry');
      // the gateway is the client side of every call it proxies: reporter=source, as Istio's gateways report
      const telemetry = installMeshTelemetry({ mesh: gateway.mesh, istioMetrics: 'native', tracing: false });
      const admin = await startAdminServer({ mesh: gateway.mesh, istioStats: telemetry.istioStats, port });
      io.stdout.write(`admin ${admin.url} · prometheus ${admin.url}/stats/prometheus\n`);
      stopAdmin = async () => {
        telemetry.close();
        await admin.close();
      };
    }

    // Until a listener opens nothing else holds the event loop (the xDS channel's timers do not).
    const keepAlive = setInterval(() => {}, 1 << 30);
    const stopped = new Promise<void>((resolve) => {
      if (io.signal === undefined) return; // runs until the process ends
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([gateway.ready(), stopped]);
    if (io.signal?.aborted !== true) {
      if (gateway.ports().length === 0) {
        io.stderr.write('no Gateway selects this node yet (labels istio=ingressgateway); waiting for one\n');
      }
      io.stdout.write('gateway ready\n');
      io.onReady?.(gateway);
    }
    await stopped;
    clearInterval(keepAlive);
    await stopAdmin?.();
    await gateway.close();
    io.stderr.write('gateway stopped\n');
    return 0;
  } catch (err) {
    await gateway?.close();
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      io.stderr.write(`inboard gateway: ${(err as Error).message}\n\n${GATEWAY_USAGE}`);
      return 2;
    }
    if (err instanceof InboardOptionError) {
      io.stderr.write(`inboard gateway: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`inboard gateway: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
