// An Istio ingress gateway on Inboard's data plane. Its node carries the labels a Gateway's
// selector picks (istio: ingressgateway). It watches every listener the control plane sends it
// (wildcard LDS, as Envoy gateways do); each istiod gateway listener `0.0.0.0_<port>` becomes a
// local HTTP(S) server, and each request is routed by that listener's RDS (`http.<port>`): the
// virtual hosts of the Gateway's hosts × the bound VirtualServices, matched on the incoming Host
// and path, then retries, faults, load balancing and outlier detection as for any mesh client.
// Servers open and close as Gateways come and go, without a restart.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  type Bootstrap,
  createLogger,
  type Listener,
  resourceTypes,
  WILDCARD,
  Xds,
  type XdsOptions,
} from '@inboard/xds';
import { type BootstrapSourceOptions, resolveBootstrap } from '../bootstrap-source.ts';
import type { InboardNodeOptions } from '../node-options.ts';
import { GatewayMesh, gatewayPortOf } from './gateway-mesh.ts';
import { type ProxyOutcome, proxyRequest } from './gateway-proxy.ts';

const log = createLogger('inboard.gateway');
const CLOSE_GRACE_MS = 1000;

/** The labels of Istio's default ingress gateway deployment. */
export const INGRESS_GATEWAY_LABELS: Readonly<Record<string, string>> = Object.freeze({
  istio: 'ingressgateway',
  app: 'istio-ingressgateway',
});

export interface GatewayTls {
  /** PEM certificate chain and private key (SIMPLE TLS termination) */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface IngressGatewayOptions extends Omit<BootstrapSourceOptions, 'node'> {
  /** the gateway's node identity; default name `ingressgateway`, namespace `istio-system`, labels INGRESS_GATEWAY_LABELS */
  readonly node?: InboardNodeOptions;
  /** address to listen on (default 0.0.0.0) */
  readonly host?: string;
  /**
   * Gateway port → local port. `default` applies to the first Gateway port the gateway sees
   * (0: the OS picks, for every unmapped port); unmapped ports listen on their own number.
   */
  readonly ports?: { readonly default?: number; readonly map?: ReadonlyMap<number, number> };
  /** terminate TLS on every gateway listener with this certificate */
  readonly tls?: GatewayTls;
  readonly xds?: Omit<XdsOptions, 'bootstrap'>;
  /** called once per finished request */
  readonly onRequest?: (entry: GatewayAccessEntry) => void;
  /** called when a listener opens, closes or cannot open */
  readonly onListener?: (event: GatewayListenerEvent) => void;
}

export interface GatewayAccessEntry extends ProxyOutcome {
  readonly gatewayPort: number;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly remoteAddress: string;
}

export type GatewayListenerEvent =
  | { readonly kind: 'listening'; readonly gatewayPort: number; readonly port: number; readonly url: string }
  | { readonly kind: 'closed'; readonly gatewayPort: number; readonly port: number }
  | { readonly kind: 'error'; readonly gatewayPort: number; readonly port: number; readonly error: Error };

export interface GatewayPort {
  /** the Gateway server's port (`port.number`) */
  readonly gatewayPort: number;
  /** the local port it is served on */
  readonly port: number;
  readonly url: string;
}

interface PortState {
  readonly gatewayPort: number;
  readonly server: Server;
  opened: Promise<void>;
  port: number;
  url: string;
  failed: boolean;
}

export class IngressGateway {
  readonly xds: Xds;
  readonly mesh: GatewayMesh;
  readonly #options: IngressGatewayOptions;
  readonly #ports = new Map<number, PortState>();
  /** the Gateway port `ports.default` went to (it keeps it across reconfigurations) */
  #defaultOwner: number | undefined;
  #cancelWatch: (() => void) | undefined;
  #offEvents: (() => void) | undefined;
  #ready: Promise<void>;
  #resolveReady: () => void = () => {};
  #closed = false;

  constructor(bootstrap: Bootstrap, options: IngressGatewayOptions = {}) {
    this.#options = options;
    this.xds = new Xds({ ...options.xds, bootstrap });
    this.mesh = new GatewayMesh({ xds: this.xds });
    this.#ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
    // Listener updates reach the watcher right after the ack event of their response: once the
    // first LDS response is applied, every port it names is being opened.
    this.#offEvents = this.xds.client.onEvent((e) => {
      if ((e.kind === 'ack' || e.kind === 'nack') && e.typeUrl === resourceTypes.listener.typeUrl) {
        queueMicrotask(() => void this.#settleReady());
      }
    });
    this.#cancelWatch = this.xds.client.watch(resourceTypes.listener, WILDCARD, {
      onResourceChanged: (l: Listener, name: string) => this.#onListener(name, l),
      onResourceDoesNotExist: (name: string) => this.#onListenerGone(name),
      onError: (err: Error, name: string) =>
        log.warn('listener error; the last good one stays', { name, error: err.message }),
    });
  }

  /** Builds the gateway's bootstrap (node: ingressgateway.istio-system, router, istio=ingressgateway) and starts it. */
  static async start(options: IngressGatewayOptions = {}): Promise<IngressGateway> {
    const node: InboardNodeOptions = {
      name: 'ingressgateway',
      namespace: 'istio-system',
      type: 'router',
      ...options.node,
      labels: { ...INGRESS_GATEWAY_LABELS, ...options.node?.labels },
    };
    const { bootstrap } = await resolveBootstrap({ ...options, node });
    return new IngressGateway(bootstrap, options);
  }

  /** Resolves once the control plane's first listener answer is applied and its ports are open (or failed). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** The ports being served. */
  ports(): GatewayPort[] {
    return [...this.#ports.values()]
      .filter((p) => !p.failed && p.port !== 0)
      .map(({ gatewayPort, port, url }) => ({ gatewayPort, port, url }))
      .sort((a, b) => a.gatewayPort - b.gatewayPort);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelWatch?.();
    this.#offEvents?.();
    await Promise.all([...this.#ports.values()].map((p) => this.#closePort(p)));
    this.#ports.clear();
    await this.mesh.close();
    this.xds.close();
    this.#resolveReady();
  }

  async #settleReady(): Promise<void> {
    await Promise.all([...this.#ports.values()].map((p) => p.opened));
    this.#resolveReady();
  }

  #localPortFor(gatewayPort: number): number {
    const mapped = this.#options.ports?.map?.get(gatewayPort);
    if (mapped !== undefined) return mapped;
    const d = this.#options.ports?.default;
    if (d === 0) return 0;
    if (d !== undefined && (this.#defaultOwner === undefined || this.#defaultOwner === gatewayPort)) {
      this.#defaultOwner = gatewayPort;
      return d;
    }
    return gatewayPort;
  }

  #onListener(name: string, _listener: Listener): void {
    const gatewayPort = gatewayPortOf(name);
    if (gatewayPort === undefined || this.#closed || this.#ports.has(gatewayPort)) return;
    this.#openPort(gatewayPort);
  }

  #onListenerGone(name: string): void {
    const gatewayPort = gatewayPortOf(name);
    const state = gatewayPort === undefined ? undefined : this.#ports.get(gatewayPort);
    if (state === undefined) return;
    this.#ports.delete(state.gatewayPort);
    void this.#closePort(state);
  }

  #openPort(gatewayPort: number): void {
    const tls = this.#options.tls;
    const scheme = tls === undefined ? 'http' : 'https';
    const ctx = { dispatcher: this.mesh.dispatcher, origin: this.mesh.listenerOrigin(gatewayPort), scheme } as const;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const authority = req.headers.host ?? '';
      const remoteAddress = req.socket.remoteAddress ?? '';
      void proxyRequest(ctx, req, res).then((outcome) => {
        this.#options.onRequest?.({ ...outcome, gatewayPort, method, path, authority, remoteAddress });
      });
    };
    const server =
      tls === undefined ? createHttpServer(handler) : createHttpsServer({ cert: tls.cert, key: tls.key }, handler);
    const localPort = this.#localPortFor(gatewayPort);
    const host = this.#options.host ?? '0.0.0.0';
    const state: PortState = {
      gatewayPort,
      server,
      port: localPort,
      url: '',
      failed: false,
      opened: Promise.resolve(),
    };
    state.opened = this.#listen(state, host, scheme);
    this.#ports.set(gatewayPort, state);
  }

  async #listen(state: PortState, host: string, scheme: 'http' | 'https'): Promise<void> {
    const { server, gatewayPort } = state;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(state.port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      state.failed = true;
      const error = err instanceof Error ? err : new Error(String(err));
      log.error('cannot listen', { gatewayPort, port: state.port, error: error.message });
      this.#options.onListener?.({ kind: 'error', gatewayPort, port: state.port, error });
      return;
    }
    state.port = (server.address() as AddressInfo).port;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    state.url = `${scheme}://${shown}:${state.port}`;
    this.#options.onListener?.({ kind: 'listening', gatewayPort, port: state.port, url: state.url });
  }

  async #closePort(state: PortState): Promise<void> {
    await state.opened;
    if (!state.server.listening) return;
    const closed = new Promise<void>((resolve) => state.server.close(() => resolve()));
    state.server.closeIdleConnections();
    // requests in flight get a moment to finish, as Envoy drains a removed listener
    const force = setTimeout(() => state.server.closeAllConnections(), CLOSE_GRACE_MS);
    force.unref();
    await closed;
    clearTimeout(force);
    this.#options.onListener?.({ kind: 'closed', gatewayPort: state.gatewayPort, port: state.port });
  }
}
