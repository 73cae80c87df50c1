// Inboard.start against the embedded control plane, as a service uses it: fetch is routed by
// the VirtualService (not by DNS), Node's own fetch joins the mesh with one call, and servers —
// express or node:http — enforce the AuthorizationPolicy istiod would send their workload.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { InboundEngine } from '@inboard/http';
import express from 'express';
import { controlPlaneBootstrap, Inboard } from 'inboard';
import { getGlobalDispatcher } from 'undici';
import { plainRequest } from '../../../test/support/plain-request.ts';
import { listen, registry, snapshotWhere, TestControlPlane, upstream } from './helpers.ts';

const DR_REVIEWS = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;
const vsReviews = (subset: string) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: ${subset}}
`;
const DENY_ADMIN = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-admin}
spec:
  selector: {matchLabels: {app: ratings}}
  action: DENY
  rules:
  - to:
    - operation: {paths: ["/admin*"]}
`;

/** Resolves once the engine enforces a mesh policy (its listener arrived). */
async function inMesh(engine: InboundEngine): Promise<void> {
  await engine.ready();
  if (engine.state === 'mesh') return;
  await new Promise<void>((resolve) => {
    const off = engine.subscribe(() => {
      if (engine.state !== 'mesh') return;
      off();
      resolve();
    });
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** The status a WebSocket upgrade request gets: 101 when the server took it over, else the response's. */
function upgradeStatus(send: typeof https.request, options: https.RequestOptions): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = send({
      host: '127.0.0.1',
      agent: false,
      headers: { connection: 'upgrade', upgrade: 'websocket' },
      ...options,
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Inboard.start with the embedded control plane', () => {
  const cp = new TestControlPlane();
  let v1: Awaited<ReturnType<typeof upstream>>;
  let v2: Awaited<ReturnType<typeof upstream>>;
  let app: Awaited<ReturnType<typeof listen>>;
  let mesh: Inboard;
  let ratings: Inboard;
  const appSeen: string[] = [];

  before(async () => {
    v1 = await upstream('reviews-v1');
    v2 = await upstream('reviews-v2');
    const reviews = {
      name: 'reviews',
      endpoints: [
        { port: v1.port, version: 'v1' },
        { port: v2.port, version: 'v2' },
      ],
    };
    await cp.start({
      'dr.yaml': DR_REVIEWS,
      'vs.yaml': vsReviews('v2'),
      'authz.yaml': DENY_ADMIN,
      'registry.yaml': registry([reviews]),
    });
    // the ratings workload: an express server with the inbound policy mounted first
    ratings = await Inboard.start({ env: {}, controlPlane: cp.address, node: { app: 'ratings' } });
    const web = express();
    web.use(ratings.express());
    web.get('/{*path}', (req, res) => {
      appSeen.push(req.path);
      res.send(`ratings ${req.path}`);
    });
    app = await listen(web);
    // targetPort = where the ratings server listens: its node gets the inbound listener for it
    await cp.apply({
      'registry.yaml': registry([
        reviews,
        { name: 'ratings', targetPort: app.port, endpoints: [{ port: app.port, version: 'v1' }] },
      ]),
    });
    mesh = await Inboard.start({ env: { INBOARD_CONTROL_PLANE: cp.address, INBOARD_APP: 'productpage' } });
  });

  after(async () => {
    await mesh.close();
    await ratings.close();
    await app.close();
    await v1.close();
    await v2.close();
    await cp.stop();
  });

  test('mesh.fetch follows the VirtualService, and a pushed change applies without a restart', async () => {
    const res = await mesh.fetch('http://reviews:9080/reviews/0');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'reviews-v2 GET /reviews/0');

    await cp.apply({ 'vs.yaml': vsReviews('v1') });
    await snapshotWhere(mesh.xds.resolve('reviews:9080'), (s) =>
      s.clusters.has('outbound|9080|v1|reviews.default.svc.cluster.local'),
    );
    const again = await mesh.fetch('http://reviews:9080/reviews/1');
    assert.equal(await again.text(), 'reviews-v1 GET /reviews/1');
    assert.equal(mesh.bootstrapSource, 'INBOARD_CONTROL_PLANE');
  });

  test('installGlobalDispatcher puts Node’s own fetch in the mesh, and its undo takes it out', async () => {
    const before = getGlobalDispatcher();
    const undo = mesh.installGlobalDispatcher();
    try {
      assert.equal(getGlobalDispatcher(), mesh.dispatcher);
      const res = await fetch('http://reviews.default.svc.cluster.local:9080/global');
      assert.match(await res.text(), /^reviews-v\d GET \/global$/);
    } finally {
      undo();
    }
    assert.equal(getGlobalDispatcher(), before);
  });

  test('mesh.express() enforces the AuthorizationPolicy of the workload it serves', async () => {
    await inMesh(ratings.inbound({ ip: '0.0.0.0', port: app.port }));
    const denied = await fetch(`http://127.0.0.1:${app.port}/admin/users`);
    assert.equal(denied.status, 403);
    assert.equal(await denied.text(), 'RBAC: access denied');
    const allowed = await fetch(`http://127.0.0.1:${app.port}/ratings/0`);
    assert.equal(allowed.status, 200);
    assert.equal(await allowed.text(), 'ratings /ratings/0');
    assert.deepEqual(appSeen, ['/ratings/0']);
  });

  test('mesh.serve() runs a node:http server behind the same policy, and close() frees its port', async () => {
    const other = await Inboard.start({ env: {}, controlPlane: cp.address, node: { app: 'ratings' } });
    // the policy applies to the port the registry names: serve on a free port, then point it there
    const served = await other.serve((req, res) => res.end(`served ${req.url}`), { host: '127.0.0.1' });
    await cp.apply({
      'registry.yaml': registry([
        { name: 'reviews', endpoints: [{ port: v1.port, version: 'v1' }] },
        { name: 'ratings', targetPort: served.port, endpoints: [{ port: served.port, version: 'v1' }] },
      ]),
    });
    await inMesh(served.engine);
    assert.equal((await fetch(`${served.url}/admin`)).status, 403);
    const ok = await fetch(`${served.url}/ok`);
    assert.equal(await ok.text(), 'served /ok');
    // a WebSocket library's 'upgrade' listener on the served server is behind the policy too
    const upgraded: string[] = [];
    served.server.on('upgrade', (req, socket) => {
      upgraded.push(req.url ?? '');
      socket.end('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
    });
    const upgrade = (path: string) => upgradeStatus(http.request, { port: served.port, path });
    assert.equal(await upgrade('/admin'), 403);
    assert.equal(await upgrade('/ws'), 101);
    assert.deepEqual(upgraded, ['/ws']);

    await other.close();
    assert.equal(served.server.listening, false);
    assert.equal(await refused(served.port), true);
    await assert.rejects(
      other.serve(() => {}),
      /closed/,
    );
  });
});

const STRICT_RATINGS = `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ratings-strict, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  mtls: {mode: STRICT}
`;
/** workload certificates of the mesh (the @inboard/http test fixtures: reviews, productpage, ratings) */
const CERTS = fileURLToPath(new URL('../../http/test/fixtures/', import.meta.url));
const cert = (name: string) => readFileSync(join(CERTS, name));

describe('mesh.serve() under PeerAuthentication STRICT', () => {
  const cp = new TestControlPlane();
  // the files istio-agent keeps rotated; refresh interval 0: every new connection re-reads them
  const dir = mkdtempSync(join(tmpdir(), 'inboard-agent-certs-'));
  const issue = (workload: string) => {
    copyFileSync(join(CERTS, `${workload}-cert.pem`), join(dir, 'cert-chain.pem'));
    copyFileSync(join(CERTS, `${workload}-key.pem`), join(dir, 'key.pem'));
  };
  let ratings: Inboard;
  let served: Awaited<ReturnType<Inboard['serve']>>;
  const client = (workload: string) => ({
    ca: cert('root-cert.pem'),
    cert: cert(`${workload}-cert.pem`),
    key: cert(`${workload}-key.pem`),
    checkServerIdentity: () => undefined,
  });
  const get = async (path: string, workload = 'productpage') => {
    const { status, body } = await plainRequest({ port: served.port, path, ...client(workload) }, undefined, true);
    return { status, body };
  };
  const presented = () =>
    new Promise<string>((resolve, reject) => {
      const c = tls.connect({ port: served.port, host: '127.0.0.1', ...client('productpage') }, () => {
        resolve(c.getPeerX509Certificate()?.subjectAltName ?? '');
        c.end();
      });
      c.on('error', reject);
    });

  before(async () => {
    issue('reviews');
    copyFileSync(join(CERTS, 'root-cert.pem'), join(dir, 'root-cert.pem'));
    await cp.start({ 'authz.yaml': DENY_ADMIN, 'peer.yaml': STRICT_RATINGS });
    ratings = await Inboard.start({
      bootstrap: {
        ...controlPlaneBootstrap(cp.address, { app: 'ratings' }, {}),
        certificateProviders: {
          default: {
            pluginName: 'file_watcher',
            certificateFile: join(dir, 'cert-chain.pem'),
            privateKeyFile: join(dir, 'key.pem'),
            caCertificateFile: join(dir, 'root-cert.pem'),
            refreshIntervalMs: 0,
          },
        },
      },
    });
    served = await ratings.serve((req, res) => res.end(`served ${req.url} for ${req.mesh?.peerPrincipal}`), {
      host: '127.0.0.1',
    });
    await cp.apply({
      'registry.yaml': registry([
        { name: 'ratings', targetPort: served.port, endpoints: [{ port: served.port, version: 'v1' }] },
      ]),
    });
    await inMesh(served.engine);
  });
  after(async () => {
    await ratings.close();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves mTLS with the workload certificate: callers of the mesh reach the handler, RBAC still applies', async () => {
    assert.equal(served.engine.mtls, 'STRICT');
    assert.equal(served.url, `https://127.0.0.1:${served.port}`);
    assert.deepEqual(await get('/ok'), {
      status: 200,
      body: 'served /ok for spiffe://cluster.local/ns/default/sa/productpage',
    });
    assert.deepEqual(await get('/admin'), { status: 403, body: 'RBAC: access denied' });
  });

  test('plaintext and clients without a mesh certificate are refused', async () => {
    await assert.rejects(plainRequest({ port: served.port, path: '/ok' }));
    await assert.rejects(
      plainRequest(
        { port: served.port, path: '/ok', ca: cert('root-cert.pem'), checkServerIdentity: () => undefined },
        undefined,
        true,
      ),
    );
  });

  test("WebSocket upgrades over mTLS reach the served server's upgrade listener, behind the policy", async () => {
    const upgraded: string[] = [];
    served.server.on('upgrade', (req, socket) => {
      upgraded.push(req.url ?? '');
      socket.end('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
    });
    const upgrade = (path: string) =>
      upgradeStatus(https.request, { port: served.port, path, ...client('productpage') });
    try {
      assert.equal(await upgrade('/admin'), 403);
      assert.equal(await upgrade('/ws'), 101);
      assert.deepEqual(upgraded, ['/ws']);
    } finally {
      served.server.removeAllListeners('upgrade');
    }
  });

  test('picks up the certificate istio-agent rotates, without a restart', async () => {
    assert.equal(await presented(), 'URI:spiffe://cluster.local/ns/default/sa/reviews');
    issue('ratings');
    assert.equal(await presented(), 'URI:spiffe://cluster.local/ns/default/sa/ratings');
    assert.equal((await get('/ok')).status, 200);
  });
});
