// mesh.serve()'s TLS transport (tls-by-policy.ts) behaves as the plain server the application was
// given: its timeouts apply to TLS connections, close() ends idle TLS connections at once, an
// upgrade request without an upgrade listener is handled as over plaintext, and a connection reset
// while it waits for the policy does not end the process. Real sockets on loopback; the engine is
// a stand-in that only answers the transport's questions.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';
import { transportByPolicy } from '../src/tls-by-policy.ts';

const pem = (n: string) => readFileSync(new URL(`../../http/test/fixtures/${n}`, import.meta.url));
const options = {
  key: pem('reviews-key.pem'),
  cert: pem('reviews-cert.pem'),
  ca: pem('root-cert.pem'),
  requestCert: false,
  rejectUnauthorized: false,
  minVersion: 'TLSv1.2' as const,
};

function engine(ready = true) {
  let resolveReady!: () => void;
  const e = {
    policy: { tls: {} },
    isReady: ready,
    listenerName: 'test',
    tlsServerOptions: () => options,
    attachTls: () => () => {},
    ready: () => new Promise<void>((r) => (resolveReady = r)),
    makeReady: () => {
      e.isReady = true;
      resolveReady();
    },
  };
  return e;
}

async function serve(server: http.Server, e: ReturnType<typeof engine>) {
  const transport = transportByPolicy(
    server,
    () => e as never,
    (_req, res) => res.end('served'),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { transport, port: (server.address() as AddressInfo).port };
}

test("the plain server's headersTimeout applies to TLS connections", async () => {
  const server = http.createServer({ connectionsCheckingInterval: 20, headersTimeout: 100, requestTimeout: 150 });
  const { transport, port } = await serve(server, engine());
  const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () =>
    s.write('GET / HTTP/1.1\r\nhost: x\r\n'),
  );
  s.on('error', () => {});
  const [chunk] = (await once(s, 'data')) as [Buffer];
  assert.equal(String(chunk).split('\r\n')[0], 'HTTP/1.1 408 Request Timeout');
  await once(s, 'close');
  transport.close();
  await new Promise<void>((r) => server.close(() => r()));
});

test('close() ends an idle keep-alive TLS connection at once, not after keepAliveTimeout', async () => {
  const server = http.createServer();
  server.keepAliveTimeout = 120_000;
  const { transport, port } = await serve(server, engine());
  const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
  const body = await new Promise<string>((resolve) =>
    https.get({ port, host: '127.0.0.1', agent }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(b));
    }),
  );
  assert.equal(body, 'served');
  const closed = new Promise<void>((r) => server.close(() => r()));
  server.closeIdleConnections();
  transport.close();
  await closed; // with the idle TLS connection left open this waits for the 120 s keep-alive timeout
  agent.destroy();
});

test('an upgrade request over TLS without an upgrade listener is handled as over plaintext', async () => {
  const request = 'GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n';
  const exchange = async (s: net.Socket) => {
    let response = '';
    s.on('data', (c) => (response += c));
    s.on('error', () => {});
    await once(s, 'close');
    return response;
  };
  // What this Node does on a plain server: Node 24 serves the request (shouldUpgradeCallback's
  // default), Node 22 before it closes the connection.
  const plain = http.createServer((_req, res) => res.end('served'));
  plain.listen(0, '127.0.0.1');
  await once(plain, 'listening');
  const p = net.connect((plain.address() as AddressInfo).port, '127.0.0.1', () => p.end(request));
  const expected = await exchange(p);
  plain.closeAllConnections();
  await new Promise<void>((r) => plain.close(() => r()));

  const server = http.createServer();
  const { transport, port } = await serve(server, engine());
  try {
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => s.end(request));
    const response = await exchange(s);
    assert.equal(response.split('\r\n')[0], expected.split('\r\n')[0]);
    assert.equal(response.endsWith('served'), expected.endsWith('served'));
    // on the dev runtime that means served
    if (Number(process.versions.node.split('.')[0]) >= 24) assert.ok(response.startsWith('HTTP/1.1 200 OK'));
  } finally {
    transport.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('a connection reset while it waits for the first policy does not end the process', async () => {
  const server = http.createServer();
  const e = engine(false);
  const { transport, port } = await serve(server, e);
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  await once(s, 'connect');
  s.write('x'.repeat(1000));
  s.resetAndDestroy();
  // until the server has seen the reset, while the connection still waited (an unhandled 'error'
  // would fail the test). Node 22 does not read an accepted socket nobody handles yet, so there
  // the reset shows once the connection is handed over below.
  const connections = () => new Promise<number>((r) => server.getConnections((_err, n) => r(n)));
  if (Number(process.versions.node.split('.')[0]) >= 24)
    while ((await connections()) > 0) await new Promise((r) => setImmediate(r));
  e.makeReady();
  const ok = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () =>
    ok.end('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'),
  );
  let response = '';
  ok.on('data', (c) => (response += c));
  await once(ok, 'end');
  assert.ok(response.endsWith('served'));
  transport.close();
  await new Promise<void>((r) => server.close(() => r()));
});
