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
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { type ExchangeOptions, type MeshRequestInfo, sendLocalReply, startInbound } from './exchange.ts';
import type { InboundEngine } from './inbound-engine.ts';

/** An IncomingMessage that went through an Inboard adapter. */
export interface MeshIncomingMessage extends IncomingMessage {
  mesh?: MeshRequestInfo;
}

export type RequestHandler = (req: MeshIncomingMessage, res: ServerResponse) => void;

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
  if (!engine.isReady && options?.waited !== true) {
    const arrivedAt = options?.arrivedAt ?? { monotonic: performance.now(), wallClock: Date.now() };
    // once: after the engine's ready timeout it is still not ready, and handle() refuses
    engine.ready().then(
      () => runInbound(engine, req, res, next, { ...options, arrivedAt, waited: true }),
      (err: unknown) => res.destroy(err instanceof Error ? err : undefined),
    );
    return;
  }
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

export function meshRequestListener(engine: InboundEngine, handler: RequestHandler): RequestHandler {
  return (req, res) => runInbound(engine, req, res, () => handler(req, res));
}

const INTERCEPTED = new Set(['request', 'checkContinue', 'checkExpectation']);

/**
 * Puts the inbound policy in front of a server's request listeners (present and future) by
 * intercepting its 'request' (and 'checkContinue' / 'checkExpectation') events. Returns a
 * function that removes it.
 */
export function attachInbound(server: Server | HttpsServer, engine: InboundEngine): () => void {
  const emit = server.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;
  const patched = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (typeof event !== 'string' || !INTERCEPTED.has(event)) return emit.call(this, event, ...args);
    const [req, res] = args as [MeshIncomingMessage, ServerResponse];
    runInbound(engine, req, res, () => {
      emit.call(this, event, req, res);
    });
    return this.listenerCount(event) > 0;
  };
  server.emit = patched as Server['emit'];
  return () => {
    if (server.emit === (patched as Server['emit'])) server.emit = emit as Server['emit'];
  };
}
