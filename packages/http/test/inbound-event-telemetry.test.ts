// What an inbound request event carries for telemetry and access logs besides the policy's
// decision: whether the request is gRPC and the grpc-status the application sent (trailers, else
// headers given to writeHead or setHeader), the X-Forwarded-For, and the SNI of a TLS connection.
// Real servers on loopback, the inbound engine attached.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  nextInboundEvent,
  plaintextInboundListener,
  scriptedEngine,
  strictInboundListener,
} from '../../../test/support/inbound-engine.ts';
import { ROUTER_FILTER } from '../../../test/support/istio-shaped.ts';
import { plainRequest } from '../../../test/support/plain-request.ts';
import { attachInbound, type InboundEngine } from '../src/index.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name: string) => readFileSync(join(FIXTURES, name));

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(
  server: http.Server | https.Server,
  engine: InboundEngine,
): Promise<{ port: number; close: () => Promise<void> }> {
  attachInbound(server, engine);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      engine.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('plaintext: gRPC status and X-Forwarded-For', () => {
  let handler: Handler = (_req, res) => res.end();
  const server = http.createServer((req, res) => handler(req, res));
  let port = 0;
  let close: () => Promise<void>;
  before(async () => {
    const engine = scriptedEngine(plaintextInboundListener('0.0.0.0', 9080, [ROUTER_FILTER]), '0.0.0.0', 9080);
    ({ port, close } = await serve(server, engine));
  });
  after(() => close());

  async function send(contentType: string, h: Handler, headers: Record<string, string> = {}) {
    handler = h;
    const event = nextInboundEvent((e) => e.destinationPort === port);
    await plainRequest(
      { port, method: 'POST', path: '/pkg.Svc/Call', headers: { 'content-type': contentType, ...headers } },
      'x',
    );
    return event;
  }

  test('the status in the trailers the application added', async () => {
    const e = await send('application/grpc+proto', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-status': '0' });
      res.write('x');
      res.addTrailers({ 'Grpc-Status': '13' });
      res.end();
    });
    assert.equal(e.grpc, true);
    assert.equal(e.grpcStatus, '13');
  });

  test('a trailers-only response: the status in the headers, given to writeHead or set before', async () => {
    const e = await send('application/grpc', (_req, res) => {
      res.writeHead(200, ['content-type', 'application/grpc', 'grpc-status', '16']);
      res.end();
    });
    assert.equal(e.grpcStatus, '16');
    const set = await send('application/grpc', (_req, res) => {
      res.setHeader('grpc-status', '3');
      res.end();
    });
    assert.equal(set.grpcStatus, '3');
  });

  test('gRPC-Web and plain HTTP are not gRPC; X-Forwarded-For as received', async () => {
    for (const ct of ['application/grpc-web', 'application/json']) {
      const e = await send(ct, (_req, res) => res.end(), { 'x-forwarded-for': '10.1.2.3, 10.0.0.1' });
      assert.equal(e.grpc, false, ct);
      assert.equal(e.grpcStatus, undefined, ct);
      assert.equal(e.xForwardedFor, '10.1.2.3, 10.0.0.1', ct);
      assert.equal(e.requestedServerName, undefined, ct);
    }
  });
});

/** istiod's mTLS inbound listener, reduced to the router. */
const mtlsListener = strictInboundListener('0.0.0.0', 9080, [ROUTER_FILTER]);

test('mTLS: the SNI the client asked for (an Envoy client sends the outbound cluster name)', async () => {
  const server = https.createServer(
    {
      key: fixture('reviews-key.pem'),
      cert: fixture('reviews-cert.pem'),
      ca: fixture('root-cert.pem'),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (_req, res) => res.end('ok'),
  );
  const { port, close } = await serve(server, scriptedEngine(mtlsListener, '0.0.0.0', 9080));
  try {
    const sni = 'outbound_.9080_._.reviews.default.svc.cluster.local';
    const event = nextInboundEvent((e) => e.destinationPort === port);
    const r = await plainRequest(
      {
        port,
        path: '/',
        servername: sni,
        ca: fixture('root-cert.pem'),
        cert: fixture('productpage-cert.pem'),
        key: fixture('productpage-key.pem'),
        checkServerIdentity: () => undefined,
      },
      undefined,
      true,
    );
    assert.equal(r.status, 200);
    const e = await event;
    assert.equal(e.connectionSecurityPolicy, 'mutual_tls');
    assert.equal(e.requestedServerName, sni);
  } finally {
    await close();
  }
});
