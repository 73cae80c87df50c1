// Shared pieces of the data-plane end-to-end tests: real loopback upstreams (node:http on port
// 0), xDS resources shaped like istiod's (listener `host:port` with an api_listener HCM carrying
// the fault and router filters, one route configuration per service, EDS clusters per subset),
// a real ADS server from @inboard/control-plane, and an OutboundMesh wired to it.
import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdsServer, Snapshot, type SnapshotMessages } from '@inboard/control-plane';
import { type Bootstrap, parseBootstrap, type TargetSnapshot, Xds } from '@inboard/xds';
import type { envoy } from '@inboard/xds/codec';
import { packAny } from '@inboard/xds/codec';
import { istioRetry, outboundHcm } from '../../../test/support/istio-shaped.ts';
import { snapshotWhere } from '../../../test/support/snapshots.ts';
import { OutboundMesh, type OutboundMeshOptions } from '../src/index.ts';

export type RouteIn = envoy.config_route_v3_Route$In;
export type RouteActionIn = envoy.config_route_v3_RouteAction$In;
export type { RetryPolicyIn } from '../../../test/support/istio-shaped.ts';
export { istioRetry };
export type ClusterIn = envoy.config_cluster_v3_Cluster$In;
export type HttpFaultIn = envoy.extensions_filters_http_fault_v3_HTTPFault$In;

export const NODE_ID = 'sidecar~127.0.0.1~productpage-v1-abc.default~default.svc.cluster.local';
export const FAULT_FILTER = 'envoy.filters.http.fault';

// ------------------------------------------------------------------ upstreams

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: string, n: number) => void;

/** A real HTTP/1.1 server on 127.0.0.1:0 that records what it receives. */
export class Upstream {
  readonly name: string;
  readonly server: Server;
  readonly seen: SeenRequest[] = [];
  handler: UpstreamHandler;
  #waiters: { n: number; resolve: () => void }[] = [];

  constructor(name: string, handler?: UpstreamHandler) {
    this.name = name;
    this.handler = handler ?? ((_req, res) => respond(res, 200, name));
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const n = this.seen.length;
        this.handler(req, res, body, n);
        this.#waiters = this.#waiters.filter((w) => {
          if (this.seen.length < w.n) return true;
          w.resolve();
          return false;
        });
      });
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  /** Resolves once the upstream has received `n` requests in total. */
  received(n: number): Promise<void> {
    if (this.seen.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function respond(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** A 127.0.0.1 port nothing listens on (connections are refused). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

// ------------------------------------------------------------------ xDS resources

export interface Endpoint {
  readonly address?: string;
  readonly port: number;
  /** EDS health_status (default 1, HEALTHY) */
  readonly health?: number;
}

export interface ServiceConfig {
  /** short name: the listener is `<name>:<port>`, domains include it */
  readonly name: string;
  readonly port: number;
  readonly routes: readonly RouteIn[];
  /** extra virtual hosts of the route configuration */
  readonly extraVirtualHosts?: readonly envoy.config_route_v3_VirtualHost$In[];
  readonly vhostExtra?: Partial<envoy.config_route_v3_VirtualHost$In>;
  /** extra HttpConnectionManager fields (common_http_protocol_options...) */
  readonly hcmExtra?: Partial<envoy.extensions_filters_network_http_connection_manager_v3_HttpConnectionManager$In>;
}

export interface ClusterConfig {
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  /** extra Cluster fields (outlier_detection, circuit_breakers, lb_policy...) */
  readonly extra?: Partial<ClusterIn>;
}

export function fqdn(name: string): string {
  return `${name}.default.svc.cluster.local`;
}

export function cluster(service: string, port: number, subset = ''): string {
  return `outbound|${port}|${subset}|${fqdn(service)}`;
}

/** A forwarding action the way istiod writes it: timeout 0 (none) and the default retry policy. */
export function forward(clusterName: string, extra: Partial<RouteActionIn> = {}): RouteActionIn {
  return { cluster: clusterName, timeout: { seconds: 0, nanos: 0 }, retry_policy: istioRetry(), ...extra };
}

export function ms(n: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(n / 1000), nanos: (n % 1000) * 1_000_000 };
}

/** typed_per_filter_config with a per-route fault (what Istio emits for VirtualService `fault`). */
export function faultOverride(fault: HttpFaultIn): Record<string, envoy.google_protobuf_Any$In> {
  return { [FAULT_FILTER]: packAny('envoy.extensions.filters.http.fault.v3.HTTPFault', fault) };
}

export function meshMessages(
  services: readonly ServiceConfig[],
  clusters: readonly ClusterConfig[],
  version: string,
): SnapshotMessages {
  const listeners = [];
  const routes: envoy.config_route_v3_RouteConfiguration$In[] = [];
  for (const s of services) {
    const routeName = `outbound|${s.port}||${fqdn(s.name)}`;
    for (const host of [s.name, `${s.name}.default`, fqdn(s.name)]) {
      listeners.push({ name: `${host}:${s.port}`, api_listener: { api_listener: outboundHcm(routeName, s.hcmExtra) } });
    }
    const domains: string[] = [];
    for (const d of [fqdn(s.name), `${s.name}.default.svc`, `${s.name}.default`, s.name])
      domains.push(d, `${d}:${s.port}`);
    routes.push({
      name: routeName,
      virtual_hosts: [
        // include_request_attempt_count as istiod sets it on every sidecar virtual host
        {
          name: `${fqdn(s.name)}:${s.port}`,
          domains,
          routes: [...s.routes],
          include_request_attempt_count: true,
          ...s.vhostExtra,
        },
        ...(s.extraVirtualHosts ?? []),
      ],
    });
  }
  return {
    version,
    listeners,
    routes,
    clusters: clusters.map((c) => ({
      name: c.name,
      type: 3, // EDS
      eds_cluster_config: { service_name: c.name, eds_config: { ads: {} } },
      connect_timeout: { seconds: 10, nanos: 0 },
      ...c.extra,
    })),
    endpoints: clusters.map((c) => ({
      cluster_name: c.name,
      endpoints: [
        {
          locality: { region: 'local', zone: 'a', sub_zone: '' },
          lb_endpoints: c.endpoints.map((e) => ({
            endpoint: { address: { socket_address: { address: e.address ?? '127.0.0.1', port_value: e.port } } },
            health_status: e.health ?? 1, // HEALTHY
            load_balancing_weight: { value: 1 },
          })),
        },
      ],
    })),
  };
}

// ------------------------------------------------------------------ control plane + mesh

export function bootstrapFor(port: number): Bootstrap {
  return parseBootstrap(
    {
      xds_servers: [
        { server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
      ],
      node: { id: NODE_ID, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
    },
    'test',
  );
}

/** A real ADS server plus an Xds client connected to it. */
export class ControlPlane {
  readonly server = new AdsServer();
  xds!: Xds;
  #version = 0;

  async start(services: readonly ServiceConfig[], clusters: readonly ClusterConfig[]): Promise<this> {
    this.set(services, clusters);
    const port = await this.server.start();
    this.xds = new Xds({ bootstrap: bootstrapFor(port), backoff: { initialMs: 20, maxMs: 100 } });
    return this;
  }

  /** Pushes a new snapshot. */
  set(services: readonly ServiceConfig[], clusters: readonly ClusterConfig[]): void {
    this.#version++;
    this.server.cache.setSnapshot(
      NODE_ID,
      Snapshot.fromMessages(meshMessages(services, clusters, String(this.#version))),
    );
  }

  /** Resolves when `target` has a snapshot satisfying `pred`. */
  snapshotWhere(target: string, pred: (s: TargetSnapshot) => boolean): Promise<TargetSnapshot> {
    return snapshotWhere(this.xds.resolve(target), pred);
  }

  mesh(options: Omit<OutboundMeshOptions, 'xds' | 'bootstrap'> = {}): OutboundMesh {
    return new OutboundMesh({ ...options, xds: this.xds });
  }

  async stop(): Promise<void> {
    this.xds?.close();
    await this.server.stop({ graceMs: 100 });
  }
}

/** Awaits `pred` over event-loop turns (no timers): for state that changes on I/O callbacks. */
/**
 * Watches a response body as it streams: the chunks so far, the first one's arrival, and how it
 * ended (undefined when it ended, else its error).
 */
export function watchBody(body: NodeJS.ReadableStream): {
  readonly chunks: Buffer[];
  readonly first: Promise<void>;
  readonly ended: Promise<{ code?: string; details?: string } | undefined>;
} {
  const chunks: Buffer[] = [];
  const first = new Promise<void>((resolve) => body.once('data', () => resolve()));
  body.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<{ code?: string; details?: string } | undefined>((resolve) => {
    body.on('error', resolve);
    body.on('end', () => resolve(undefined));
  });
  return { chunks, first, ended };
}

export async function until(pred: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (pred()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('condition not reached');
}
