// Fastify 5 adapter: a plugin whose onRequest hook enforces the policy (before body parsing) and
// whose onResponse hook completes the measurement. The hook takes a callback rather than
// returning a promise: fastify continues the request from that callback, so calling it inside
// the inbound scopes runs the rest of the request (parsing, handler) in their context.
//
//   const app = fastify({ rewriteUrl: meshRewriteUrl(engine) });
//   await app.register(meshFastify(engine));
//   app.get('/reviews/:id', async (request) => ({ caller: request.mesh?.peerPrincipal }));
//
// The plugin carries fastify-plugin's metadata itself (skip-override, name, `fastify: '5.x'`), so
// its hooks apply to the whole application and fastify-plugin is not needed at runtime.
// Fastify routes before onRequest runs, so only its `rewriteUrl` option can make it route on the
// normalised path RBAC checks (Envoy forwards that path, so the application serves what RBAC
// checked). Without it `/admin/../public` would be checked as `/public` and routed to `/admin/*`:
// the plugin refuses (500) any request whose routed path is not already normalised, and logs
// how to fix the setup.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLogger } from '@inboard/xds';
import { type InboundExchange, type MeshRequestInfo, type RequestArrival, startInbound } from './exchange.ts';
import type { InboundEngine } from './inbound-engine.ts';

const log = createLogger('inbound');

/** The parts of FastifyRequest / FastifyReply / FastifyInstance the plugin uses. */
interface FastifyRequestLike {
  raw: IncomingMessage;
  mesh: MeshRequestInfo | null;
  routeOptions?: { url?: string | undefined };
}
interface FastifyReplyLike {
  raw: ServerResponse;
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
  hijack(): FastifyReplyLike;
}
interface FastifyInstanceLike {
  readonly server?: unknown;
  decorateRequest(name: string, value: null): unknown;
  addHook(name: 'onRequest', hook: (request: never, reply: never, done: (err?: Error) => void) => void): unknown;
  addHook(name: 'onResponse', hook: (request: never, reply: never) => Promise<unknown>): unknown;
}

/**
 * A fastify plugin. Its parameter is typed loosely on purpose: fastify's overloaded, generic
 * `addHook` cannot be matched structurally without importing fastify's types here.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above; the plugin itself uses FastifyInstanceLike
export type MeshFastifyPlugin = ((fastify: any) => Promise<void>) & Record<symbol, unknown>;

const EXCHANGE = Symbol('inboard.exchange');

/** The body of the refusal when fastify was not created with `rewriteUrl: meshRewriteUrl(engine)`. */
const NOT_REWRITTEN_BODY = 'inboard: fastify must be created with rewriteUrl: meshRewriteUrl(engine)';

export function meshFastify(engine: InboundEngine): MeshFastifyPlugin {
  let warned = false;
  const plugin = async (fastify: FastifyInstanceLike): Promise<void> => {
    // a reference-type default would be shared by every request (FST_ERR_DEC_REFERENCE_TYPE)
    fastify.decorateRequest('mesh', null);
    // fastify({ https: engine.tlsServerOptions() }): keep its certificates current from the start
    engine.adoptTlsServer(fastify.server);
    const admit = (
      request: FastifyRequestLike,
      reply: FastifyReplyLike,
      done: (err?: Error) => void,
      arrivedAt: RequestArrival | undefined,
    ): void => {
      // the path fastify routed must be the one RBAC checks: normalising it must not change it
      const routed = request.raw.url ?? '/';
      if (engine.normalizeTarget(routed) !== routed) {
        if (!warned) {
          warned = true;
          log.error(
            'fastify routes the path as received while RBAC checks the normalised one; create the instance with fastify({ rewriteUrl: meshRewriteUrl(engine) }). Requests with paths that normalise differently are refused',
            { listener: engine.listenerName, path: routed },
          );
        }
        reply.code(500).headers({ 'content-type': 'text/plain' }).send(NOT_REWRITTEN_BODY);
        return;
      }
      engine.adoptTlsServer((request.raw.socket as { server?: unknown } | null)?.server);
      const ex = startInbound(engine, request.raw, reply.raw, {
        completion: 'manual',
        route: () => request.routeOptions?.url,
        arrivedAt,
      });
      (request as unknown as Record<symbol, InboundExchange>)[EXCHANGE] = ex;
      const d = ex.decision;
      if (d.action !== 'allow') {
        // answered here: fastify expects no done() after a hook replied or hijacked
        if (d.closeConnection) {
          reply.hijack();
          request.raw.socket?.destroy();
          return;
        }
        reply
          .code(d.status)
          .headers({ ...d.headers })
          .send(d.body);
        return;
      }
      request.mesh = ex.info;
      ex.run(() => done());
    };
    fastify.addHook(
      'onRequest',
      (request: FastifyRequestLike, reply: FastifyReplyLike, done: (err?: Error) => void) => {
        if (engine.isReady) {
          admit(request, reply, done, undefined);
          return;
        }
        const arrivedAt = { monotonic: performance.now(), wallClock: Date.now() };
        engine.ready().then(
          () => admit(request, reply, done, arrivedAt),
          (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
        );
      },
    );
    fastify.addHook('onResponse', async (request: FastifyRequestLike) => {
      (request as unknown as Record<symbol, InboundExchange | undefined>)[EXCHANGE]?.complete();
    });
  };
  const p = plugin as MeshFastifyPlugin;
  // what fastify-plugin sets: no encapsulation, a name, the supported fastify range
  p[Symbol.for('skip-override')] = true;
  p[Symbol.for('fastify.display-name')] = '@inboard/http';
  p[Symbol.for('plugin-meta')] = { name: '@inboard/http', fastify: '5.x' };
  return p;
}

/**
 * For Fastify's `rewriteUrl` server option, so routing uses the normalised path the inbound
 * policy checks: `fastify({ rewriteUrl: meshRewriteUrl(engine) })`.
 */
export function meshRewriteUrl(engine: InboundEngine): (req: IncomingMessage) => string {
  return (req) => engine.normalizeTarget(req.url ?? '/');
}
