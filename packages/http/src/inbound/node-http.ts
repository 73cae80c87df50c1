// node:http (and https) adapters. Either wrap the request handler:
//
//   http.createServer(meshRequestListener(engine, (req, res) => { ... req.mesh.peerPrincipal ... }))
//
// or attach to an existing server, ahead of every 'request' listener however it was added:
//
//   const detach = attachInbound(server, engine);
//
// Requests that arrive before the engine knows its policy wait for it (bounded by the xDS
// client's does-not-exist timeout).
//
// Upgrades (WebSocket) and CONNECT go through the same policy: Node emits them as 'upgrade' /
// 'connect' with the raw socket instead of 'request' when the server listens for them, and
// Envoy's connection manager runs them through the whole filter chain, RBAC included.
// attachInbound covers them; with meshRequestListener, wrap the server's 'upgrade' / 'connect'
// listeners in meshUpgradeListener.
import { type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { type ExchangeOptions, type MeshRequestInfo, sendLocalReply, startInbound } from './exchange.ts';
import type { InboundEngine } from './inbound-engine.ts';

/** An IncomingMessage that went through an Inboard adapter. */
export interface MeshIncomingMessage extends IncomingMessage {
  mesh?: MeshRequestInfo;
}

export type RequestHandler = (req: MeshIncomingMessage, res: ServerResponse) => void;

/** A server's 'upgrade' / 'connect' listener. */
export type UpgradeHandler = (req: MeshIncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Runs the inbound policy for one request; calls `next` when the application should handle it
 * (inside the registered inbound scopes), otherwise answers (or closes) itself. `next` is not
 * called when the policy answered.
 */
export function runInbound(
  engine: InboundEngine,
  req: MeshIncomingMessage,
  res: ServerResponse,
  next: () => void,
  options?: ExchangeOptions,
): void {
  if (waitForPolicy(engine, options, (o) => runInbound(engine, req, res, next, o), res)) return;
  engine.adoptTlsServer((req.socket as { server?: unknown } | null)?.server);
  const ex = startInbound(engine, req, res, options);
  const d = ex.decision;
  if (d.action !== 'allow') {
    sendLocalReply(res, d);
    return;
  }
  ex.applyPath();
  req.mesh = ex.info;
  ex.run(next);
}

/**
 * Runs the inbound policy for an upgrade or CONNECT request, which Node hands over with the raw
 * socket (and `head`, the bytes read past the request) and no response: `next` is called (inside
 * the inbound scopes) when the application should take the socket, as Node handed it over (while
 * the inbound channel has subscribers, the first chunk written to it is read for the status);
 * otherwise the policy's answer is written to the socket as an HTTP/1.1 response and the socket
 * is closed, as Envoy answers a refused upgrade.
 */
export function runInboundUpgrade(
  engine: InboundEngine,
  req: MeshIncomingMessage,
  socket: Duplex,
  head: Buffer | undefined,
  next: () => void,
  options?: ExchangeOptions,
): void {
  // Node stops listening for the socket's errors before it emits 'upgrade': while the mesh holds
  // it (waiting for the policy, answering a refusal) a client's reset must not become an
  // unhandled 'error' that ends the process. The application gets the socket without it.
  if (options?.waited !== true) socket.on('error', ignoreSocketError);
  if (waitForPolicy(engine, options, (o) => runInboundUpgrade(engine, req, socket, head, next, o), socket)) return;
  engine.adoptTlsServer((req.socket as { server?: unknown } | null)?.server);
  // The response the policy may answer with: it owns the socket only if it is used, so the
  // application gets the socket exactly as Node handed it over otherwise.
  const res = new ServerResponse(req);
  const ex = startInbound(engine, req, res, options);
  const d = ex.decision;
  if (d.action !== 'allow') {
    res.shouldKeepAlive = false;
    res.assignSocket(socket as ServerResponse['socket'] & object);
    // Node's server closes a finished response's socket only for the responses it created
    res.once('finish', () => {
      res.detachSocket(socket as ServerResponse['socket'] & object);
      socket.end();
    });
    sendLocalReply(res, d);
    return;
  }
  socket.off('error', ignoreSocketError);
  ex.applyPath();
  req.mesh = ex.info;
  ex.measureUpgrade(socket, head?.length ?? 0);
  ex.run(next);
}

function ignoreSocketError(): void {
  // the socket is destroyed with the error; nothing to answer
}

/**
 * Holds a request that arrived before the engine knew its policy: true when `resume` will be
 * called (once, after the engine's ready timeout at the latest, when handle() refuses).
 */
function waitForPolicy(
  engine: InboundEngine,
  options: ExchangeOptions | undefined,
  resume: (options: ExchangeOptions) => void,
  stream: { destroy(err?: Error): unknown },
): boolean {
  if (engine.isReady || options?.waited === true) return false;
  const arrivedAt = options?.arrivedAt ?? { monotonic: performance.now(), wallClock: Date.now() };
  engine.ready().then(
    () => resume({ ...options, arrivedAt, waited: true }),
    (err: unknown) => stream.destroy(err instanceof Error ? err : undefined),
  );
  return true;
}

export function meshRequestListener(engine: InboundEngine, handler: RequestHandler): RequestHandler {
  return (req, res) => runInbound(engine, req, res, () => handler(req, res));
}

/** Wraps a server's 'upgrade' or 'connect' listener: `server.on('upgrade', meshUpgradeListener(engine, onUpgrade))`. */
export function meshUpgradeListener(engine: InboundEngine, handler: UpgradeHandler): UpgradeHandler {
  return (req, socket, head) => runInboundUpgrade(engine, req, socket, head, () => handler(req, socket, head));
}

const INTERCEPTED = new Set(['request', 'checkContinue', 'checkExpectation', 'upgrade', 'connect']);

/**
 * Puts the inbound policy in front of a server's request listeners (present and future) by
 * intercepting its 'request' (and 'checkContinue' / 'checkExpectation') events, and its
 * 'upgrade' and 'connect' events (WebSocket, CONNECT). Returns a function that removes it.
 */
export function attachInbound(server: Server | HttpsServer, engine: InboundEngine): () => void {
  const emit = server.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;
  const patched = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (typeof event !== 'string' || !INTERCEPTED.has(event)) return emit.call(this, event, ...args);
    const req = args[0] as MeshIncomingMessage;
    const second = args[1] as ServerResponse | Duplex;
    // node:http hands an upgrade or CONNECT over with the socket; node:http2's compatibility
    // server emits CONNECT with a response, like a request
    if (second instanceof ServerResponse || typeof (second as { writeHead?: unknown }).writeHead === 'function') {
      runInbound(engine, req, second as ServerResponse, () => {
        emit.call(this, event, ...args);
      });
    } else {
      runInboundUpgrade(engine, req, second as Duplex, args[2] as Buffer | undefined, () => {
        emit.call(this, event, ...args);
      });
    }
    return this.listenerCount(event) > 0;
  };
  server.emit = patched as Server['emit'];
  return () => {
    if (server.emit === (patched as Server['emit'])) server.emit = emit as Server['emit'];
  };
}
