// The inbound side of Inboard.start: one InboundEngine per listening address (istiod sends one
// server listener per `ip:port`), created on first use and shared by every adapter on that port.
// `express()` finds the engine from the connection's local port, so it can be mounted before
// the app listens; `serve()` creates a server already wired to its engine, plaintext or mTLS as
// the policy says (tls-by-policy.ts).
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  createInboundEngine,
  type ExpressMiddleware,
  type InboundEngine,
  type ListenAddress,
  meshExpress,
  type RequestHandler,
  runInbound,
  runInboundUpgrade,
} from '@inboard/http';
import type { Xds } from '@inboard/xds';
import { transportByPolicy } from './tls-by-policy.ts';

export interface InboundOptions {
  /** the port the server listens on (default: the local port of each connection) */
  readonly port?: number;
  /** the listening address istiod names the listener after (default 0.0.0.0) */
  readonly ip?: string;
}

export interface ServeOptions {
  /** default 0: the OS picks a free port */
  readonly port?: number;
  /** default 0.0.0.0 */
  readonly host?: string;
}

/**
 * A server started by `mesh.serve()`: `server` listens and serves plaintext connections; under a
 * TLS policy (PeerAuthentication STRICT) connections are served with the workload certificate.
 */
export interface InboardServer {
  readonly server: Server;
  readonly port: number;
  /** `http(s)://<host>:<port>` (127.0.0.1 when listening on every address), as the current policy serves it */
  readonly url: string;
  readonly engine: InboundEngine;
  close(): Promise<void>;
}

const ANY = '0.0.0.0';

export class InboundServers {
  readonly #xds: Xds;
  readonly #engines = new Map<string, InboundEngine>();
  readonly #middlewares = new Map<InboundEngine, ExpressMiddleware>();
  readonly #servers = new Set<InboardServer>();
  #closed = false;

  constructor(xds: Xds) {
    this.#xds = xds;
  }

  /** The engine of a listening address (created and subscribed on first use). */
  engine(address: ListenAddress): InboundEngine {
    const key = `${address.ip}|${address.port}`;
    let e = this.#engines.get(key);
    if (e === undefined) {
      if (this.#closed) throw new Error('Inboard is closed');
      e = createInboundEngine({ xds: this.#xds, listenAddress: address });
      this.#engines.set(key, e);
    }
    return e;
  }

  express(options: InboundOptions = {}): ExpressMiddleware {
    const ip = options.ip ?? ANY;
    const fixed = options.port === undefined ? undefined : this.engine({ ip, port: options.port });
    return (req, res, next) => {
      const port = req.socket.localPort;
      if (fixed === undefined && port === undefined) {
        next(); // not a network socket (an in-memory request in a test harness): nothing to enforce
        return;
      }
      const engine = fixed ?? this.engine({ ip, port: port! });
      let mw = this.#middlewares.get(engine);
      if (mw === undefined) this.#middlewares.set(engine, (mw = meshExpress(engine)));
      mw(req, res, next);
    };
  }

  async serve(handler: RequestHandler, options: ServeOptions = {}): Promise<InboardServer> {
    if (this.#closed) throw new Error('Inboard is closed');
    const host = options.host ?? ANY;
    const server = createServer();
    let engine: InboundEngine | undefined;
    const ip = host === ANY || host === '::' || host === 'localhost' ? ANY : host;
    const engineOf = () => (engine ??= this.engine({ ip, port: (server.address() as AddressInfo).port }));
    const onRequest: RequestHandler = (req, res) => runInbound(engineOf(), req, res, () => handler(req, res));
    server.on('request', onRequest);
    // upgrade / connect listeners the application adds later (a WebSocket library) go through the
    // policy too (the TLS transport hands its upgrades to this server's emit)
    const emit = server.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;
    server.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
      if (event !== 'upgrade' && event !== 'connect') return emit.call(this, event, ...args);
      runInboundUpgrade(engineOf(), args[0] as IncomingMessage, args[1] as Duplex, args[2] as Buffer | undefined, () =>
        emit.call(this, event, ...args),
      );
      return this.listenerCount(event) > 0;
    } as Server['emit'];
    const transport = transportByPolicy(server, engineOf, onRequest);
    server.listen(options.port ?? 0, host);
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const served = engineOf();
    const shown = host === ANY || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    const entry: InboardServer = {
      server,
      port,
      get url() {
        return `${served.policy.tls === undefined ? 'http' : 'https'}://${shown}:${port}`;
      },
      engine: served,
      close: async () => {
        this.#servers.delete(entry);
        if (!server.listening) return;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        transport.close();
        await closed;
      },
    };
    this.#servers.add(entry);
    return entry;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#servers].map((s) => s.close()));
    for (const e of this.#engines.values()) e.close();
    this.#engines.clear();
    this.#middlewares.clear();
  }
}
