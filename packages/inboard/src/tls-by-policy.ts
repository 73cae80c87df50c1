// The transport of mesh.serve()'s servers follows the inbound policy, as the listener istiod
// sends decides whether Envoy terminates TLS on a port: each accepted connection goes to a plain
// HTTP server, or (when the policy's filter chain has a DownstreamTlsContext: PeerAuthentication
// STRICT) to an HTTPS server holding the workload certificate, which the engine keeps current as
// istio-agent rotates it. The policy is read per connection, so a mode pushed later applies to
// the connections that follow; a connection that arrives before the engine knows its policy waits
// for it (unread, so nothing is lost). Without usable certificate files a TLS policy refuses the
// connection, as Envoy has no listener it could build.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { InboundEngine } from '@inboard/http';
import { createLogger } from '@inboard/xds';

const log = createLogger('inboard');

export interface PolicyTransport {
  /** the HTTPS server TLS connections went to, if any did */
  readonly secure: HttpsServer | undefined;
  /** closes the HTTPS server: its connection checks stop, its idle connections end */
  close(): void;
}

export function transportByPolicy(
  server: Server,
  engineOf: () => InboundEngine,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
): PolicyTransport {
  let secure: HttpsServer | undefined;
  const emit = server.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;

  const dispatch = (socket: Socket): void => {
    const engine = engineOf();
    if (engine.policy.tls === undefined) {
      emit.call(server, 'connection', socket);
      return;
    }
    let options: ReturnType<InboundEngine['tlsServerOptions']>;
    try {
      options = engine.tlsServerOptions();
    } catch (err) {
      log.error('the inbound policy requires TLS but the certificate files cannot be used; refusing the connection', {
        listener: engine.listenerName,
        error: (err as Error).message,
      });
      socket.destroy();
      return;
    }
    if (options === undefined) {
      emit.call(server, 'connection', socket);
      return;
    }
    if (secure === undefined) {
      // HTTP/1.1 only: this server does not speak h2, so it does not offer it. An upgrade goes the
      // upgrade way only when the application listens for it on the plain server (else it is a
      // request, as on a plaintext connection; Node 24's shouldUpgradeCallback)
      secure = createHttpsServer(
        {
          ...options,
          ALPNProtocols: ['http/1.1'],
          shouldUpgradeCallback: () => server.listenerCount('upgrade') > 0,
        } as Parameters<typeof createHttpsServer>[0],
        onRequest,
      );
      // It never listens itself: 'listening' starts Node's tracking of its connections, which
      // enforces headersTimeout / requestTimeout and lets close() end its idle connections.
      const interval = (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval;
      if (interval !== undefined)
        (secure as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = interval;
      secure.emit('listening');
      engine.attachTls(secure);
      // Node before shouldUpgradeCallback (22.x) upgrades a request when the server has an
      // 'upgrade' listener, and this server always has the one below: it counts the
      // application's instead, so an upgrade it does not listen for stays a request there too.
      const ownCount = secure.listenerCount.bind(secure);
      secure.listenerCount = ((event: string | symbol, listener?: (...args: unknown[]) => void) =>
        event === 'upgrade'
          ? server.listenerCount('upgrade')
          : ownCount(event, listener)) as HttpsServer['listenerCount'];
      // the application's upgrade / connect listeners are on the plain server: hand them over
      for (const event of ['upgrade', 'connect'] as const) {
        secure.on(event, (req: IncomingMessage, socket: Socket, head: Buffer) => {
          if (server.listenerCount(event) === 0) socket.destroy();
          else server.emit(event, req, socket, head);
        });
      }
    }
    // STRICT and SIMPLE differ in these, which are the server's, not its certificates'
    const fields = secure as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
    fields.requestCert = options.requestCert;
    fields.rejectUnauthorized = options.rejectUnauthorized;
    // the timeouts the application set on the server it was given
    secure.headersTimeout = server.headersTimeout;
    secure.requestTimeout = server.requestTimeout;
    secure.keepAliveTimeout = server.keepAliveTimeout;
    secure.timeout = server.timeout;
    secure.emit('connection', socket);
  };

  server.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'connection') return emit.call(this, event, ...args);
    const socket = args[0] as Socket;
    const engine = engineOf();
    if (engine.isReady) {
      dispatch(socket);
    } else {
      // nobody watches the socket while it waits: a client's reset must not end the process
      socket.on('error', ignoreWhileWaiting);
      engine.ready().then(
        () => {
          socket.off('error', ignoreWhileWaiting);
          if (!socket.destroyed) dispatch(socket);
        },
        () => socket.destroy(),
      );
    }
    return true;
  } as Server['emit'];

  return {
    get secure() {
      return secure;
    },
    close() {
      // stops the connection checks and ends the idle connections (it never listened: the
      // not-running error is expected)
      secure?.close(() => {});
    },
  };
}

function ignoreWhileWaiting(): void {
  // the socket is destroyed with the error
}
