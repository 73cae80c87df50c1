// Two workloads of one mesh for telemetry tests, each with its own xDS client against one real
// ADS server (@inboard/control-plane): `productpage-v1` calls `reviews` through an OutboundMesh,
// and `reviews-v1` serves it from a node:http server behind the inbound engine. The resources are
// shaped like istiod's: the client gets listeners `reviews:9080` (+ aliases) with the fault and
// router filters, a route configuration, an EDS cluster whose endpoint carries the istio workload
// metadata and tlsMode; the server gets its inbound listener with an RBAC DENY policy on /admin.
import { once } from 'node:events';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdsServer, Snapshot } from '@inboard/control-plane';
import {
  attachInbound,
  createInboundEngine,
  type InboundEngine,
  OutboundMesh,
  type OutboundMeshOptions,
} from '@inboard/http';
import { type Bootstrap, parseBootstrap, Xds } from '@inboard/xds';
import { type envoy, jsToStruct, packAny } from '@inboard/xds/codec';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { plaintextInboundListener } from '../../../test/support/inbound-engine.ts';
import { outboundHcm, ROUTER_FILTER } from '../../../test/support/istio-shaped.ts';
import { type PlainReply, plainRequest } from '../../../test/support/plain-request.ts';
import { installMeshTelemetry, type MeshTelemetry, type TracingOptions } from '../src/index.ts';

export const CLIENT_NODE = 'sidecar~127.0.0.1~productpage-v1-7d4f8.default~default.svc.cluster.local';
export const SERVER_NODE = 'sidecar~127.0.0.1~reviews-v1-5c9b7.default~default.svc.cluster.local';
export const REVIEWS_CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';
export const REVIEWS_WORKLOAD = 'reviews-v1;default;reviews;v1;Kubernetes';

type RouteIn = envoy.config_route_v3_Route$In;

function bootstrap(adsPort: number, id: string, metadata: Record<string, unknown>): Bootstrap {
  return parseBootstrap(
    {
      xds_servers: [
        { server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
      ],
      node: { id, metadata: { GENERATOR: 'grpc', ...metadata } },
      server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
    },
    'test',
  );
}

const retryPolicy = (numRetries: number) => ({
  num_retries: { value: numRetries },
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  retriable_status_codes: [503],
  host_selection_retry_max_attempts: 5,
});

/** Another reviews endpoint in EDS: its port on 127.0.0.1 and its istio workload metadata. */
export interface ExtraEndpoint {
  readonly port: number;
  readonly workload: string;
}

function reviewsEndpoint(port: number, workload: string) {
  return {
    endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
    health_status: 1,
    metadata: {
      filter_metadata: {
        'envoy.transport_socket_match': jsToStruct({ tlsMode: 'istio' }),
        istio: jsToStruct({ workload }),
      },
    },
  };
}

function clientResources(
  version: string,
  serverPort: number,
  extraRoutes: readonly RouteIn[],
  workload: string,
  extraEndpoints: readonly ExtraEndpoint[],
) {
  const routeName = 'outbound|9080||reviews.default.svc.cluster.local';
  const hcm = outboundHcm(routeName);
  const fqdn = 'reviews.default.svc.cluster.local';
  const domains: string[] = [];
  for (const d of [fqdn, 'reviews.default.svc', 'reviews.default', 'reviews']) domains.push(d, `${d}:9080`);
  return {
    version,
    listeners: ['reviews', 'reviews.default', fqdn].map((h) => ({
      name: `${h}:9080`,
      api_listener: { api_listener: hcm },
    })),
    routes: [
      {
        name: routeName,
        virtual_hosts: [
          {
            name: `${fqdn}:9080`,
            domains,
            routes: [
              ...extraRoutes,
              {
                name: 'reviews-route',
                match: { prefix: '/reviews' },
                route: { cluster: REVIEWS_CLUSTER, timeout: { seconds: 0, nanos: 0 }, retry_policy: retryPolicy(2) },
              },
              {
                name: 'admin-route',
                match: { prefix: '/admin' },
                route: { cluster: REVIEWS_CLUSTER, timeout: { seconds: 0, nanos: 0 } },
              },
            ],
          },
        ],
      },
    ],
    clusters: [
      {
        name: REVIEWS_CLUSTER,
        type: 3, // EDS
        eds_cluster_config: { service_name: REVIEWS_CLUSTER, eds_config: { ads: {} } },
        connect_timeout: { seconds: 10, nanos: 0 },
      },
    ],
    endpoints: [
      {
        cluster_name: REVIEWS_CLUSTER,
        endpoints: [
          {
            locality: { region: 'local', zone: 'a', sub_zone: '' },
            lb_endpoints: [
              reviewsEndpoint(serverPort, workload),
              ...extraEndpoints.map((e) => reviewsEndpoint(e.port, e.workload)),
            ],
          },
        ],
      },
    ],
  };
}

const anyPrincipal = { and_ids: { ids: [{ any: true }] } };
const pathPrefix = (prefix: string) => ({
  and_rules: { rules: [{ or_rules: { rules: [{ url_path: { path: { prefix } } }] } }] },
});

function serverResources(version: string, port: number) {
  const httpFilters = [
    {
      name: 'envoy.filters.http.rbac.DENY',
      typed_config: packAny('envoy.extensions.filters.http.rbac.v3.RBAC', {
        rules: {
          action: 1,
          policies: {
            'default-deny-admin-0': { permissions: [pathPrefix('/admin')], principals: [anyPrincipal] },
          } as never,
        },
      }),
    },
    ROUTER_FILTER,
  ];
  return { version, listeners: [plaintextInboundListener('127.0.0.1', port, httpFilters)] };
}

export type AppHandler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

export interface SeenRequest {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** the raw header lines (repeated headers stay separate) */
  readonly rawHeaders: readonly string[];
}

/** The two workloads, the ADS server, and the reviews application. */
export class TwoServices {
  readonly ads = new AdsServer();
  clientXds!: Xds;
  serverXds!: Xds;
  mesh!: OutboundMesh;
  engine!: InboundEngine;
  readonly server: Server;
  readonly seen: SeenRequest[] = [];
  handler: AppHandler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"reviews":[]}');
  };
  #version = 0;
  #extraRoutes: readonly RouteIn[] = [];
  /** the istio workload metadata of the reviews endpoint in EDS */
  endpointWorkload = REVIEWS_WORKLOAD;
  /** more reviews endpoints in EDS, after the server's own */
  extraEndpoints: readonly ExtraEndpoint[] = [];
  /** options of the client's OutboundMesh (set before start) */
  meshOptions: Omit<OutboundMeshOptions, 'xds' | 'bootstrap'> = {};

  constructor() {
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.seen.push({ url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
        this.handler(req, res, this.seen.length);
      });
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.push();
    const adsPort = await this.ads.start();
    this.clientXds = new Xds({
      bootstrap: bootstrap(adsPort, CLIENT_NODE, {
        NAMESPACE: 'default',
        WORKLOAD_NAME: 'productpage-v1',
        CLUSTER_ID: 'Kubernetes',
        SERVICE_ACCOUNT: 'bookinfo-productpage',
        LABELS: { app: 'productpage', version: 'v1' },
      }),
      backoff: { initialMs: 20, maxMs: 100 },
    });
    this.serverXds = new Xds({
      bootstrap: bootstrap(adsPort, SERVER_NODE, {
        NAMESPACE: 'default',
        WORKLOAD_NAME: 'reviews-v1',
        CLUSTER_ID: 'Kubernetes',
        SERVICE_ACCOUNT: 'bookinfo-reviews',
        LABELS: {
          app: 'reviews',
          version: 'v1',
          'service.istio.io/canonical-name': 'reviews',
          'service.istio.io/canonical-revision': 'v1',
        },
      }),
      backoff: { initialMs: 20, maxMs: 100 },
    });
    this.mesh = new OutboundMesh({ ...this.meshOptions, xds: this.clientXds });
    this.engine = createInboundEngine({ xds: this.serverXds, listenAddress: { ip: '127.0.0.1', port: this.port } });
    attachInbound(this.server, this.engine);
    await this.engine.ready();
    if ((await this.mesh.ready('reviews:9080')) === undefined) throw new Error('reviews:9080 did not resolve');
    return this;
  }

  /** Adds routes in front of the default ones (pushes a new client snapshot). */
  setExtraRoutes(routes: readonly RouteIn[]): void {
    this.#extraRoutes = routes;
    this.push();
  }

  push(): void {
    const v = String(++this.#version);
    this.ads.cache.setSnapshot(
      CLIENT_NODE,
      Snapshot.fromMessages(
        clientResources(v, this.port, this.#extraRoutes, this.endpointWorkload, this.extraEndpoints),
      ),
    );
    this.ads.cache.setSnapshot(SERVER_NODE, Snapshot.fromMessages(serverResources(v, this.port)));
  }

  async stop(): Promise<void> {
    await this.mesh?.close();
    this.engine?.close();
    this.clientXds?.close();
    this.serverXds?.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.ads.stop({ graceMs: 100 });
  }
}

/** Parses Prometheus text into samples. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (m === null) throw new Error(`unparsable Prometheus line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;
    let lm: RegExpExecArray | null;
    let consumed = 0;
    while ((lm = re.exec(body)) !== null) {
      labels[lm[1]!] = lm[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      consumed = re.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`unparsable labels: ${body}`);
    const v = m[4]!;
    out.push({ name: m[1]!, labels, value: v === '+Inf' ? Number.POSITIVE_INFINITY : Number(v) });
  }
  return out;
}

export function httpGet(url: string): Promise<PlainReply> {
  const u = new URL(url);
  return plainRequest({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}` });
}

/**
 * The mesh's tracing options in the tracing tests: its spans made by the SDK TracerProvider the
 * test passes (default), or recorded natively into the test's span processor when
 * INBOARD_MESH_SPANS=native (the *.native.e2e.test.ts files run the same cases that way).
 */
/**
 * A span processor that keeps every span that ends in `into`, sampled or not (the SDK's
 * processors pass sampled ones only to their exporters).
 */
export function collectingProcessor(into: ReadableSpan[]): SpanProcessor {
  return {
    onStart() {},
    onEnd: (s) => into.push(s),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
}

export function meshTracing(processor: SpanProcessor, extra: TracingOptions = {}): TracingOptions {
  if (process.env.INBOARD_MESH_SPANS !== 'native') return extra;
  return { ...extra, spanProcessors: [processor], resource: resourceFromAttributes({ 'service.name': 'productpage' }) };
}

/** The mesh's spans only (no metrics), made as meshTracing says, for the tracing tests. */
export function installMeshSpans(
  mesh: OutboundMesh,
  tracerProvider: TracerProvider,
  processor: SpanProcessor,
): MeshTelemetry {
  return installMeshTelemetry({
    mesh,
    istioMetrics: false,
    httpMetrics: false,
    tracerProvider,
    tracing: meshTracing(processor),
  });
}
