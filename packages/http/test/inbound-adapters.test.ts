// The express 5 and fastify 5 adapters over real https servers with client certificates: one
// engine, the same istiod-shaped STRICT policy (DENY /admin, ALLOW productpage), req.mesh /
// request.mesh for the application, and http.route in the inbound event.
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packAny } from '@inboard/xds/codec';
import express from 'express';
import fastify from 'fastify';
import fp from 'fastify-plugin';
import { nextInboundEvent, scriptedEngine, strictInboundListener } from '../../../test/support/inbound-engine.ts';
import { ROUTER_FILTER } from '../../../test/support/istio-shaped.ts';
import { plainRequest } from '../../../test/support/plain-request.ts';
import {
  attachInbound,
  type InboundEngine,
  type MeshRequestInfo,
  meshExpress,
  meshFastify,
  meshRewriteUrl,
} from '../src/index.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const PRODUCTPAGE = 'spiffe://cluster.local/ns/default/sa/productpage';

const rbac = (name: string, action: number, policies: object) => ({
  name,
  typed_config: packAny('envoy.extensions.filters.http.rbac.v3.RBAC', {
    rules: { action, policies: policies as never },
  }),
});

const strictListener = strictInboundListener('0.0.0.0', 9080, [
  rbac('envoy.filters.http.rbac.DENY', 1, {
    'default-deny-admin-0': {
      permissions: [{ url_path: { path: { prefix: '/admin' } } }],
      principals: [{ any: true }],
    },
  }),
  rbac('envoy.filters.http.rbac', 0, {
    'default-allow-productpage-0': {
      permissions: [{ any: true }],
      principals: [{ authenticated: { principal_name: { exact: PRODUCTPAGE } } }],
    },
  }),
  ROUTER_FILTER,
]);

function newEngine(): InboundEngine {
  const engine = scriptedEngine(strictListener, '0.0.0.0', 9080);
  assert.equal(engine.mtls, 'STRICT');
  return engine;
}

/** What the STRICT policy asks of the server: the workload certificate, client certificates required. */
const serverTls = {
  key: fixture('reviews-key.pem'),
  cert: fixture('reviews-cert.pem'),
  ca: fixture('root-cert.pem'),
  requestCert: true,
  rejectUnauthorized: true,
};

async function call(port: number, path: string, client: string): Promise<{ status: number; body: string }> {
  const tls = {
    ca: fixture('root-cert.pem'),
    cert: fixture(`${client}-cert.pem`),
    key: fixture(`${client}-key.pem`),
    checkServerIdentity: () => undefined,
  };
  const { status, body } = await plainRequest({ port, path, ...tls }, undefined, true);
  return { status, body };
}

const nextEvent = (port: number) => nextInboundEvent((e) => e.destinationPort === port);

describe('express 5: meshExpress mounted first', () => {
  const engine = newEngine();
  const app = express();
  app.use(meshExpress(engine));
  const router = express.Router();
  router.get('/:id', (req, res) => {
    const mesh = (req as unknown as { mesh?: MeshRequestInfo }).mesh;
    res.json({
      id: req.params.id,
      url: req.url,
      originalUrl: req.originalUrl,
      peer: mesh?.peerPrincipal,
      policy: mesh?.matchedPolicy,
    });
  });
  app.use('/reviews', router);
  app.get('/admin', (_req, res) => {
    res.send('admin console');
  });
  const server = https.createServer(serverTls, app);
  let port: number;
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    engine.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('the allowed principal is routed, with req.mesh, and the event carries http.route', async () => {
    const ev = nextEvent(port);
    const r = await call(port, '/reviews/7', 'productpage');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), {
      id: '7',
      url: '/7',
      originalUrl: '/reviews/7',
      peer: PRODUCTPAGE,
      policy: 'default-allow-productpage-0',
    });
    const e = await ev;
    assert.equal(e.route, '/reviews/:id');
    assert.equal(e.status, 200);
    assert.equal(e.peerPrincipal, PRODUCTPAGE);
    assert.equal(e.responseBytes, Buffer.byteLength(r.body));
  });

  test('routing uses the normalised path RBAC checked', async () => {
    const r = await call(port, '/x/../reviews/%38', 'productpage');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).id, '8');
    assert.equal(JSON.parse(r.body).originalUrl, '/x/../reviews/%38', 'originalUrl keeps what was sent');
  });

  test('DENY and an unknown principal get 403 before any route runs', async () => {
    assert.deepEqual(await call(port, '/admin', 'productpage'), { status: 403, body: 'RBAC: access denied' });
    assert.deepEqual(await call(port, '/x/../admin', 'productpage'), { status: 403, body: 'RBAC: access denied' });
    const ev = nextEvent(port);
    assert.deepEqual(await call(port, '/reviews/7', 'ratings'), { status: 403, body: 'RBAC: access denied' });
    const e = await ev;
    assert.equal(e.route, undefined, 'never routed');
    assert.equal(e.responseCodeDetails, 'rbac_access_denied_matched_policy[none]');
  });
});

describe('fastify 5: meshFastify plugin', () => {
  const engine = newEngine();
  const app = fastify({ https: serverTls, rewriteUrl: meshRewriteUrl(engine) });
  let port: number;
  before(async () => {
    await app.register(meshFastify(engine));
    // a route in an encapsulated child context: the plugin's hooks still apply (skip-override)
    await app.register(async (child) => {
      child.get('/reviews/:id', async (request) => {
        const mesh = (request as unknown as { mesh: MeshRequestInfo | null }).mesh;
        return {
          id: (request.params as { id: string }).id,
          url: request.url,
          peer: mesh?.peerPrincipal,
          policy: mesh?.matchedPolicy,
        };
      });
    });
    app.get('/admin', async () => 'admin console');
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => {
    engine.close();
    await app.close();
  });

  test('the allowed principal reaches a route of a child context, with request.mesh', async () => {
    const ev = nextEvent(port);
    const r = await call(port, '/reviews/7', 'productpage');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), {
      id: '7',
      url: '/reviews/7',
      peer: PRODUCTPAGE,
      policy: 'default-allow-productpage-0',
    });
    const e = await ev;
    assert.equal(e.route, '/reviews/:id');
    assert.equal(e.status, 200);
    assert.equal(e.connectionSecurityPolicy, 'mutual_tls');
    assert.equal(e.responseBytes, Buffer.byteLength(r.body));
  });

  test('rewriteUrl routes on the normalised path', async () => {
    const r = await call(port, '/x/../reviews/%38', 'productpage');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).id, '8');
  });

  test('DENY on /admin and an unknown principal: 403 from onRequest, handlers never run', async () => {
    assert.deepEqual(await call(port, '/admin', 'productpage'), { status: 403, body: 'RBAC: access denied' });
    const ev = nextEvent(port);
    assert.deepEqual(await call(port, '/reviews/7', 'ratings'), { status: 403, body: 'RBAC: access denied' });
    const e = await ev;
    assert.equal(e.status, 403);
    assert.equal(e.peerPrincipal, 'spiffe://cluster.local/ns/default/sa/ratings');
  });

  test('rewriteUrl: /admin/../reviews/9 is checked and routed as /reviews/9; /reviews/../admin is denied', async () => {
    assert.equal(JSON.parse((await call(port, '/admin/../reviews/9', 'productpage')).body).url, '/reviews/9');
    assert.deepEqual(await call(port, '/reviews/../admin', 'productpage'), {
      status: 403,
      body: 'RBAC: access denied',
    });
  });

  test('the plugin carries the metadata fastify-plugin would give it', () => {
    const plugin = meshFastify(engine);
    const wrapped = fp(async () => {}, { name: 'x', fastify: '5.x' }) as unknown as Record<symbol, unknown>;
    assert.equal(plugin[Symbol.for('skip-override')], wrapped[Symbol.for('skip-override')]);
    assert.equal((plugin[Symbol.for('plugin-meta')] as { fastify: string }).fastify, '5.x');
  });
});

describe('x-forwarded-client-cert on a mutual TLS connection (node:http adapter)', () => {
  test("this hop's client certificate is appended, as Istio's sidecar configures Envoy (APPEND_FORWARD)", async () => {
    const engine = newEngine();
    const server = https.createServer(serverTls, (req, res) =>
      res.end(JSON.stringify({ xfcc: req.headers['x-forwarded-client-cert'] ?? null })),
    );
    attachInbound(server, engine);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const hash = createHash('sha256')
      .update(new X509Certificate(fixture('productpage-cert.pem')).raw)
      .digest('hex');
    const own = `By=spiffe://cluster.local/ns/default/sa/reviews;Hash=${hash};Subject="";URI=${PRODUCTPAGE}`;
    const tls = {
      ca: fixture('root-cert.pem'),
      cert: fixture('productpage-cert.pem'),
      key: fixture('productpage-key.pem'),
      checkServerIdentity: () => undefined,
    };
    try {
      const fresh = await plainRequest({ port, path: '/reviews/1', ...tls }, undefined, true);
      assert.equal(JSON.parse(fresh.body).xfcc, own);
      const previous =
        'By=spiffe://cluster.local/ns/default/sa/productpage;URI=spiffe://cluster.local/ns/default/sa/gateway';
      const appended = await plainRequest(
        { port, path: '/reviews/1', headers: { 'x-forwarded-client-cert': previous }, ...tls },
        undefined,
        true,
      );
      assert.equal(JSON.parse(appended.body).xfcc, `${previous},${own}`);
    } finally {
      engine.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('fastify 5 created without the mesh rewriteUrl', () => {
  const engine = newEngine();
  const app = fastify({ https: serverTls });
  let port: number;
  let adminRan = 0;
  before(async () => {
    await app.register(meshFastify(engine));
    app.get('/admin/*', async () => {
      adminRan++;
      return 'admin console';
    });
    app.get('/public', async () => 'public');
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => {
    engine.close();
    await app.close();
  });

  test('a path RBAC would check as another one never reaches the handler it routes to', async () => {
    // RBAC checks /public (allowed) while fastify would route /admin/* (denied by the policy)
    for (const path of ['/admin/../public', '/admin/./../public', '/admin/%2e%2e/public']) {
      const r = await call(port, path, 'productpage');
      assert.equal(r.status, 500, path);
      assert.match(r.body, /rewriteUrl: meshRewriteUrl\(engine\)/);
    }
    assert.equal(adminRan, 0);
  });

  test('normalised paths are decided and served as usual', async () => {
    assert.deepEqual(await call(port, '/public', 'productpage'), { status: 200, body: 'public' });
    assert.deepEqual(await call(port, '/admin/users', 'productpage'), { status: 403, body: 'RBAC: access denied' });
    assert.equal(adminRan, 0);
  });
});
