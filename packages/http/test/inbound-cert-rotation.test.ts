// STRICT inbound servers pick up the certificates istio-agent rotates in the file_watcher
// provider's files: real https / fastify servers on loopback, mTLS clients, a ManualClock for the
// provider's refresh interval. The files are swapped the way the agent does (new contents at the
// same paths); new connections after the refresh interval get them, without a restart.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { type FileWatcherCertificateProvider, ManualClock, resourceTypes, type XdsClient } from '@inboard/xds';
import fastify from 'fastify';
import { decodeListener, ScriptedClient, strictInboundListener } from '../../../test/support/inbound-engine.ts';
import { ROUTER_FILTER } from '../../../test/support/istio-shaped.ts';
import { plainRequest } from '../../../test/support/plain-request.ts';
import {
  createInboundEngine,
  type InboundEngine,
  meshFastify,
  meshRequestListener,
  meshRewriteUrl,
} from '../src/index.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const REFRESH_MS = 60_000;
const REVIEWS = 'URI:spiffe://cluster.local/ns/default/sa/reviews';
const RATINGS = 'URI:spiffe://cluster.local/ns/default/sa/ratings';

/** istiod's STRICT inbound listener: TLS from provider instance `default`, client certificates required, allow all. */
const strictListener = strictInboundListener('127.0.0.1', 9080, [ROUTER_FILTER]);

/** The files istio-agent writes, in a directory of their own. */
class AgentFiles {
  readonly dir = mkdtempSync(join(tmpdir(), 'inboard-inbound-certs-'));
  readonly provider: FileWatcherCertificateProvider = {
    pluginName: 'file_watcher',
    certificateFile: join(this.dir, 'cert-chain.pem'),
    privateKeyFile: join(this.dir, 'key.pem'),
    caCertificateFile: join(this.dir, 'root-cert.pem'),
    refreshIntervalMs: REFRESH_MS,
  };
  constructor() {
    this.issue('reviews');
    copyFileSync(join(FIXTURES, 'root-cert.pem'), this.provider.caCertificateFile!);
  }
  /** a new workload certificate and key at the same paths */
  issue(workload: string): void {
    copyFileSync(join(FIXTURES, `${workload}-cert.pem`), this.provider.certificateFile!);
    copyFileSync(join(FIXTURES, `${workload}-key.pem`), this.provider.privateKeyFile!);
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function strictEngine(files: AgentFiles, clock: ManualClock): InboundEngine {
  const client = new ScriptedClient();
  const engine = createInboundEngine({
    client: client as unknown as XdsClient,
    listenAddress: { ip: '127.0.0.1', port: 9080 },
    certificateProviders: { default: files.provider },
    clock,
  });
  client.deliver(resourceTypes.listener, engine.listenerName, decodeListener(strictListener));
  assert.equal(engine.mtls, 'STRICT');
  return engine;
}

const clientTls = (workload: string) => ({
  ca: fixture('root-cert.pem'),
  cert: fixture(`${workload}-cert.pem`),
  key: fixture(`${workload}-key.pem`),
  checkServerIdentity: () => undefined,
});

/** The SAN of the certificate the server presents to a new mTLS connection from productpage. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = tls.connect({ port, host: '127.0.0.1', ...clientTls('productpage') }, () => {
      resolve(c.getPeerX509Certificate()?.subjectAltName ?? '');
      c.end();
    });
    c.on('error', reject);
  });
}

async function get(port: number, path = '/reviews/1'): Promise<{ status: number; body: string }> {
  const { status, body } = await plainRequest({ port, path, ...clientTls('productpage') }, undefined, true);
  return { status, body };
}

async function listen(server: https.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

const ok = (engine: InboundEngine) => meshRequestListener(engine, (_req, res) => res.end('ok'));

describe('an https server created from tlsServerOptions() with attachTls()', () => {
  const files = new AgentFiles();
  const clock = new ManualClock();
  const engine = strictEngine(files, clock);
  let server: https.Server;
  let port: number;
  before(async () => {
    server = https.createServer(engine.tlsServerOptions()!, ok(engine));
    engine.attachTls(server);
    port = await listen(server);
  });
  after(() => {
    engine.close();
    server.close();
    files.remove();
  });

  test('presents the rotated certificate to new connections once the refresh interval has passed', async () => {
    assert.equal(await presented(port), REVIEWS);
    files.issue('ratings');
    assert.equal(await presented(port), REVIEWS, 'not before the refresh interval');
    clock.advance(REFRESH_MS);
    assert.equal(await presented(port), RATINGS);
    assert.deepEqual(await get(port), { status: 200, body: 'ok' });
    assert.deepEqual(engine.tlsServerOptions()!.cert, fixture('ratings-cert.pem'));
  });

  test('a rotated CA bundle decides which clients are accepted', async () => {
    // the mesh root is replaced by an unrelated one: productpage's certificate no longer verifies
    writeFileSync(files.provider.caCertificateFile!, fixture('stranger-cert.pem'));
    clock.advance(REFRESH_MS);
    await assert.rejects(get(port));
    copyFileSync(join(FIXTURES, 'root-cert.pem'), files.provider.caCertificateFile!);
    clock.advance(REFRESH_MS);
    assert.deepEqual(await get(port), { status: 200, body: 'ok' });
  });

  test('files caught mid-rotation (key of another certificate) keep the previous certificates', async () => {
    copyFileSync(join(FIXTURES, 'reviews-cert.pem'), files.provider.certificateFile!); // key still ratings'
    clock.advance(REFRESH_MS);
    assert.equal(await presented(port), RATINGS);
    assert.deepEqual(await get(port), { status: 200, body: 'ok' });
    files.issue('reviews');
    clock.advance(REFRESH_MS);
    assert.equal(await presented(port), REVIEWS);
  });
});

describe('an https server created from tlsServerOptions() alone (no attachTls)', () => {
  test('is kept current from its first request on', async () => {
    const files = new AgentFiles();
    const clock = new ManualClock();
    const engine = strictEngine(files, clock);
    const server = https.createServer(engine.tlsServerOptions()!, ok(engine));
    const port = await listen(server);
    try {
      assert.deepEqual(await get(port), { status: 200, body: 'ok' });
      files.issue('ratings');
      clock.advance(REFRESH_MS);
      assert.equal(await presented(port), RATINGS);
    } finally {
      engine.close();
      server.close();
      files.remove();
    }
  });
});

describe('fastify created with https: engine.tlsServerOptions()', () => {
  test('presents the rotated certificate after the refresh interval', async () => {
    const files = new AgentFiles();
    const clock = new ManualClock();
    const engine = strictEngine(files, clock);
    const f = fastify({ https: engine.tlsServerOptions()!, rewriteUrl: meshRewriteUrl(engine) });
    try {
      await f.register(meshFastify(engine));
      f.get('/reviews/:id', async () => 'ok');
      await f.listen({ port: 0, host: '127.0.0.1' });
      const port = (f.server.address() as AddressInfo).port;
      assert.equal(await presented(port), REVIEWS);
      files.issue('ratings');
      clock.advance(REFRESH_MS);
      assert.equal(await presented(port), RATINGS);
      assert.deepEqual(await get(port), { status: 200, body: 'ok' });
    } finally {
      engine.close();
      await f.close();
      files.remove();
    }
  });
});
