// Express 5 adapter: a middleware mounted first.
//
//   app.use(meshExpress(engine));
//   app.get('/reviews/:id', (req, res) => res.json({ caller: req.mesh?.peerPrincipal }));
//
// Denied requests never reach the router. The normalised path replaces req.url before routing
// (req.originalUrl keeps what was sent). Express is not imported: the middleware only needs the
// node:http objects Express extends.
import type { ServerResponse } from 'node:http';
import type { InboundEngine } from './inbound-engine.ts';
import { type MeshIncomingMessage, runInbound } from './node-http.ts';

interface ExpressRequest extends MeshIncomingMessage {
  baseUrl?: string;
  route?: { path?: unknown };
}

export type ExpressMiddleware = (req: ExpressRequest, res: ServerResponse, next: (err?: unknown) => void) => void;

/** http.route as Express knows it once routed: the mount path plus the route's path. */
function expressRoute(req: ExpressRequest): string | undefined {
  const path = req.route?.path;
  if (typeof path !== 'string') return undefined;
  return (req.baseUrl ?? '') + path;
}

export function meshExpress(engine: InboundEngine): ExpressMiddleware {
  return function meshInbound(req, res, next) {
    runInbound(engine, req, res, () => next(), { route: () => expressRoute(req) });
  };
}
