// The one-line entry into the mesh:
//
//   const mesh = await Inboard.start();
//   const res = await mesh.fetch('http://reviews:9080/reviews/0');   // routed, balanced, retried
//   app.use(mesh.express());                                          // inbound policy
//   await mesh.close();
//
// One Xds (one ADS stream) per process, shared by the outbound mesh and every inbound engine,
// as istio-agent keeps one stream per pod.
import {
  type ExpressMiddleware,
  type InboundEngine,
  type ListenAddress,
  type MeshDispatcher,
  OutboundMesh,
  type OutboundMeshOptions,
  type RequestHandler,
} from '@inboard/http';
import { type Bootstrap, createLogger, type TargetSnapshot, Xds, type XdsOptions } from '@inboard/xds';
import { type BootstrapSourceKind, type BootstrapSourceOptions, resolveBootstrap } from './bootstrap-source.ts';
import { type InboardServer, type InboundOptions, InboundServers, type ServeOptions } from './inbound-servers.ts';

const log = createLogger('inboard');

export interface InboardOptions extends BootstrapSourceOptions {
  /** options of the process's Xds (ADS mode, backoff, clock...) */
  readonly xds?: Omit<XdsOptions, 'bootstrap'>;
  /** options of the outbound data plane (unknown hosts, buffer limit, resolve timeout...) */
  readonly outbound?: Omit<OutboundMeshOptions, 'xds' | 'bootstrap'>;
  /** make the mesh undici's global dispatcher, so Node's own fetch goes through it (default false) */
  readonly installGlobalDispatcher?: boolean;
}

type FetchArgs = Parameters<OutboundMesh['fetch']>;

export class Inboard {
  readonly xds: Xds;
  readonly outbound: OutboundMesh;
  /** where the bootstrap came from */
  readonly bootstrapSource: BootstrapSourceKind;
  readonly #inbound: InboundServers;
  #restoreGlobal: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  /** Use Inboard.start(). */
  constructor(xds: Xds, source: BootstrapSourceKind, outbound?: InboardOptions['outbound']) {
    this.xds = xds;
    this.bootstrapSource = source;
    this.outbound = new OutboundMesh({ ...outbound, xds });
    this.#inbound = new InboundServers(xds);
  }

  static async start(options: InboardOptions = {}): Promise<Inboard> {
    const { bootstrap, source } = await resolveBootstrap(options);
    const mesh = new Inboard(new Xds({ ...options.xds, bootstrap }), source, options.outbound);
    if (options.installGlobalDispatcher === true) mesh.installGlobalDispatcher();
    log.info('started', { node: bootstrap.node.id, server: bootstrap.xdsServers[0]?.serverUri, source });
    return mesh;
  }

  get bootstrap(): Bootstrap {
    return this.xds.bootstrap;
  }

  /** The node id the control plane sees (`sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`). */
  get nodeId(): string {
    return this.xds.bootstrap.node.id;
  }

  /** undici Dispatcher: `fetch(url, { dispatcher: mesh.dispatcher })`, `undici.request(url, { dispatcher })`. */
  get dispatcher(): MeshDispatcher {
    return this.outbound.dispatcher;
  }

  /** fetch through the mesh (bound: `const { fetch } = mesh` works). */
  readonly fetch = (input: FetchArgs[0], init?: FetchArgs[1]): ReturnType<OutboundMesh['fetch']> =>
    this.outbound.fetch(input, init);

  /** Makes the mesh the global dispatcher (Node's fetch uses it). Returns the undo function. */
  installGlobalDispatcher(): () => void {
    if (this.#restoreGlobal === undefined) {
      const restore = this.outbound.installGlobalDispatcher();
      this.#restoreGlobal = () => {
        this.#restoreGlobal = undefined;
        restore();
      };
    }
    return this.#restoreGlobal;
  }

  /**
   * Express middleware enforcing the inbound policy istiod sends for this server (RBAC from
   * AuthorizationPolicy, mTLS mode from PeerAuthentication). Mount it first.
   */
  express(options?: InboundOptions): ExpressMiddleware {
    return this.#inbound.express(options);
  }

  /** A node:http server on `port` (0: the OS picks) whose requests go through the inbound policy. */
  serve(handler: RequestHandler, options?: ServeOptions): Promise<InboardServer> {
    return this.#inbound.serve(handler, options);
  }

  /** The inbound engine of a listening address, for the node:http / fastify adapters of @inboard/http. */
  inbound(address: ListenAddress): InboundEngine {
    return this.#inbound.engine(address);
  }

  /** Resolves once a `host:port` target is resolved (or known to be outside the mesh). */
  async ready(target: string): Promise<boolean> {
    return (await this.outbound.ready(target)) !== undefined;
  }

  /** The xDS snapshot a `host:port` target is routed with right now (undefined until resolved). */
  snapshot(target: string): TargetSnapshot | undefined {
    return this.outbound.target(target).compiled?.snapshot;
  }

  /** Closes servers started by serve(), inbound engines, the outbound mesh and the xDS stream. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#restoreGlobal?.();
      await this.#inbound.close();
      await this.outbound.close();
      this.xds.close();
    })();
    return this.#closing;
  }
}
