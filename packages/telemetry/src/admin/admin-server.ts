// An Envoy-style admin server for an Inboard process (opt-in; Envoy's port 15000 by default,
// loopback only unless told otherwise):
//   /stats/prometheus   metrics in Prometheus text: a given PrometheusExporter's output (which
//                       includes IstioStats when the exporter was built with it as a metric
//                       producer), else the in-process Istio metrics
//   /config_dump        the xDS resources the client holds, in Envoy's ConfigDump shape
//   /clusters           upstream clusters and endpoints: health, ejections, active requests
//                       (?format=json for ClusterStatuses JSON)
//   /ready              200 LIVE once every xDS subscription has been answered, else 503
//   /explain            ?method=&host=&path=&header=k:v…: how a request would be routed, and why
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OUTLIER_CHANNEL, type OutboundMesh, type OutlierChannelEvent } from '@inboard/http';
import { createLogger, type Xds } from '@inboard/xds';
import type { IstioStats } from '../istio-stats.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../prometheus-text.ts';
import { clusterStatuses, clustersJson, clustersText, OutlierLog } from './clusters-status.ts';
import { buildConfigDump } from './config-dump.ts';
import { explain, explainRequestOf } from './explain.ts';
import { jsonText } from './json-value.ts';
import { readiness } from './readiness.ts';

const log = createLogger('telemetry.admin');

export const DEFAULT_ADMIN_PORT = 15000;

/** What /stats/prometheus needs of @opentelemetry/exporter-prometheus' PrometheusExporter. */
export interface PrometheusRequestHandler {
  getMetricsRequestHandler(req: IncomingMessage, res: ServerResponse): void;
}

/** Something that can say whether it is ready (an InboundEngine, for instance). */
export interface ReadinessSource {
  readonly isReady: boolean;
}

export interface AdminServerOptions {
  readonly mesh?: OutboundMesh;
  /** the Xds to dump and check, when there is no mesh (default: mesh.xds) */
  readonly xds?: Xds;
  /** a PrometheusExporter created with preventServerStart: true */
  readonly prometheus?: PrometheusRequestHandler;
  /** in-process Istio metrics served when no exporter is given (telemetry.istioStats) */
  readonly istioStats?: IstioStats;
  /** more things /ready waits for (inbound engines) */
  readonly readiness?: readonly ReadinessSource[];
  /** default 15000; 0 picks a free port */
  readonly port?: number;
  /** default 127.0.0.1 (Envoy's admin is not for the network) */
  readonly host?: string;
}

export interface AdminServer {
  readonly server: Server;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  close(): Promise<void>;
}

const INDEX = `Inboard admin
  /stats/prometheus   metrics (Prometheus text)
  /config_dump        xDS resources (Envoy ConfigDump)
  /clusters           upstream clusters and endpoints (?format=json)
  /ready              readiness: 200 once xDS subscriptions are answered
  /explain            ?method=GET&host=reviews:9080&path=/&header=name:value  how a request would be routed
`;

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache, max-age=0',
  });
  res.end(body);
}

export async function startAdminServer(options: AdminServerOptions = {}): Promise<AdminServer> {
  const mesh = options.mesh;
  const xds = options.xds ?? mesh?.xds;
  const outliers = new OutlierLog();
  const onOutlier = (msg: unknown) => outliers.record(msg as OutlierChannelEvent);
  if (mesh !== undefined) subscribe(OUTLIER_CHANNEL, onOutlier);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n');
      return;
    }
    switch (url.pathname) {
      case '/':
        send(res, 200, INDEX);
        return;
      case '/stats/prometheus': {
        if (options.prometheus !== undefined) {
          options.prometheus.getMetricsRequestHandler(req, res);
          return;
        }
        if (options.istioStats !== undefined) {
          send(res, 200, options.istioStats.prometheusText(), PROMETHEUS_CONTENT_TYPE);
          return;
        }
        send(
          res,
          404,
          'no metrics source: pass `prometheus` (a PrometheusExporter) or `istioStats` to startAdminServer\n',
        );
        return;
      }
      case '/config_dump':
        if (xds === undefined) return send(res, 404, 'no xDS client\n');
        send(res, 200, jsonText(buildConfigDump(xds.client, xds.bootstrap)), 'application/json');
        return;
      case '/clusters': {
        if (mesh === undefined) return send(res, 404, 'no outbound mesh\n');
        const statuses = clusterStatuses(mesh, outliers);
        if (url.searchParams.get('format') === 'json')
          send(res, 200, jsonText(clustersJson(statuses)), 'application/json');
        else send(res, 200, clustersText(statuses));
        return;
      }
      case '/ready': {
        const r = readiness(xds?.client, options.readiness ?? []);
        send(
          res,
          r.ready ? 200 : 503,
          r.ready ? 'LIVE\n' : `INITIALIZING\n${r.pending.map((p) => `waiting for ${p}\n`).join('')}`,
        );
        return;
      }
      case '/explain': {
        if (mesh === undefined) return send(res, 404, 'no outbound mesh\n');
        const r = explainRequestOf(url.searchParams);
        if ('error' in r) return send(res, 400, `${r.error}\n`);
        send(res, 200, jsonText(await explain(mesh, r)), 'application/json');
        return;
      }
      default:
        send(res, 404, `unknown admin path ${url.pathname}\n${INDEX}`);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error('admin request failed', { path: req.url, error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) send(res, 500, `${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  server.listen(options.port ?? DEFAULT_ADMIN_PORT, host);
  try {
    await once(server, 'listening');
  } catch (err) {
    if (mesh !== undefined) unsubscribe(OUTLIER_CHANNEL, onOutlier);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      if (mesh !== undefined) unsubscribe(OUTLIER_CHANNEL, onOutlier);
      server.closeAllConnections();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
