// Inbound enforcement at the edges of HTTP that a request listener does not see, over real
// sockets on loopback with istiod-shaped listeners delivered by a scripted XdsClient: WebSocket
// upgrades and CONNECT.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { packAny } from '@inboard/xds/codec';
import {
  nextInboundEvent,
  plaintextInboundListener,
  plaintextListenerDenying,
  scriptedEngine,
} from '../../../test/support/inbound-engine.ts';
import { ROUTER_FILTER } from '../../../test/support/istio-shaped.ts';
import { attachInbound, type InboundEngine, type MeshIncomingMessage, meshUpgradeListener } from '../src/index.ts';

const anyPrincipal = { and_ids: { ids: [{ any: true }] } };

/** An HTTP filter of istiod's RBAC DENY (action 1) or ALLOW (action 0) shape. */
function rbacFilter(action: 0 | 1, policies: Record<string, { permissions: unknown[]; principals: unknown[] }>) {
  return {
    name: action === 1 ? 'envoy.filters.http.rbac.DENY' : 'envoy.filters.http.rbac',
    typed_config: packAny('envoy.extensions.filters.http.rbac.v3.RBAC', {
      rules: { action, policies: policies as never },
    }),
  };
}

async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Writes `text` on a new connection and resolves with everything received until the server closes it. */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let received = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      received += d;
    });
    s.on('close', () => resolve(received));
    s.on('error', reject);
  });
}

const statusLine = (response: string) => response.slice(0, response.indexOf('\r\n'));
const bodyOf = (response: string) => response.slice(response.indexOf('\r\n\r\n') + 4);

const wsUpgrade = (path: string) =>
  `GET ${path} HTTP/1.1\r\nhost: reviews:9080\r\nconnection: upgrade\r\nupgrade: websocket\r\n` +
  'sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

/** What a WebSocket library does with an upgrade it accepts: answers 101 on the raw socket. */
function acceptUpgrade(seen: string[]) {
  return (req: MeshIncomingMessage, socket: import('node:stream').Duplex) => {
    seen.push(`${req.method} ${req.url} ${req.mesh === undefined ? 'no-mesh' : 'mesh'}`);
    socket.end(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nx-app: ${req.url}\r\n\r\n`,
    );
  };
}

describe('WebSocket upgrades and CONNECT go through the inbound policy', () => {
  const port = 9080;
  let engine: InboundEngine;
  let server: http.Server;
  let serverPort: number;
  const seen: string[] = [];
  before(async () => {
    engine = scriptedEngine(
      plaintextListenerDenying('0.0.0.0', port, 'default-deny-admin-0', '/admin'),
      '0.0.0.0',
      port,
    );
    server = http.createServer((_req, res) => res.end('app'));
    attachInbound(server, engine);
    server.on('upgrade', acceptUpgrade(seen));
    server.on('connect', acceptUpgrade(seen));
    serverPort = await listen(server);
  });
  after(async () => {
    engine.close();
    await close(server);
  });

  test('a denied upgrade gets the RBAC 403 on its socket, which is closed; the application never sees it', async () => {
    seen.length = 0;
    const ev = nextInboundEvent((e) => e.path === '/admin/ws');
    const r = await exchange(serverPort, wsUpgrade('/admin/ws'));
    assert.equal(statusLine(r), 'HTTP/1.1 403 Forbidden');
    assert.match(r, /\r\ncontent-type: text\/plain\r\n/);
    assert.match(r, /\r\nconnection: close\r\n/i);
    assert.equal(bodyOf(r), 'RBAC: access denied');
    assert.deepEqual(seen, []);
    const e = await ev;
    assert.equal(e.status, 403);
    assert.equal(e.allowed, false);
    assert.equal(e.responseCodeDetails, 'rbac_access_denied_matched_policy[default-deny-admin-0]');
  });

  test('an allowed upgrade reaches the application with its socket untouched, normalised path and req.mesh', async () => {
    seen.length = 0;
    const r = await exchange(serverPort, wsUpgrade('/chat/./room'));
    assert.equal(statusLine(r), 'HTTP/1.1 101 Switching Protocols');
    assert.match(r, /\r\nx-app: \/chat\/room\r\n/);
    assert.deepEqual(seen, ['GET /chat/room mesh']);
  });

  test('a client resetting a denied upgrade while its refusal is written does not take the process down', async () => {
    // Node stops watching an upgraded socket's errors; the mesh holds it until the 403 is out
    for (let i = 0; i < 5; i++) {
      const s = net.connect(serverPort, '127.0.0.1');
      s.on('error', () => {});
      await once(s, 'connect');
      s.write(wsUpgrade('/admin/ws') + 'x'.repeat(100_000));
      await once(s, 'data');
      s.resetAndDestroy();
    }
    // still serving
    assert.equal(statusLine(await exchange(serverPort, wsUpgrade('/admin/ws'))), 'HTTP/1.1 403 Forbidden');
  });

  test('the denied path cannot be reached through a dot segment in an upgrade', async () => {
    seen.length = 0;
    assert.equal(statusLine(await exchange(serverPort, wsUpgrade('/chat/../admin'))), 'HTTP/1.1 403 Forbidden');
    assert.deepEqual(seen, []);
  });

  test("CONNECT is refused as istiod's inbound listener refuses it (websocket is its only upgrade)", async () => {
    seen.length = 0;
    const ev = nextInboundEvent((e) => e.method === 'CONNECT');
    const r = await exchange(serverPort, 'CONNECT reviews:9080 HTTP/1.1\r\nhost: reviews:9080\r\n\r\n');
    assert.equal(statusLine(r), 'HTTP/1.1 403 Forbidden');
    assert.equal(bodyOf(r), '');
    assert.deepEqual(seen, []);
    assert.equal((await ev).responseCodeDetails, 'upgrade_failed');
  });

  test('upgrades to other protocols than websocket are refused as Envoy refuses them (upgrade_failed)', async () => {
    seen.length = 0;
    for (const type of ['foo', 'TLS/1.0']) {
      const r = await exchange(
        serverPort,
        `GET /chat HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: ${type}\r\n\r\n`,
      );
      assert.equal(statusLine(r), 'HTTP/1.1 403 Forbidden', type);
    }
    assert.deepEqual(seen, []);
    // websocket, in any letter case, goes on
    assert.equal(
      statusLine(await exchange(serverPort, wsUpgrade('/chat').replace('websocket', 'WebSocket'))),
      'HTTP/1.1 101 Switching Protocols',
    );
  });

  test('a DENY-all policy denies upgrades and CONNECT', async () => {
    const denyAll = scriptedEngine(
      plaintextInboundListener('0.0.0.0', 9081, [
        rbacFilter(1, { 'default-deny-all-0': { permissions: [{ any: true }], principals: [anyPrincipal] } }),
        ROUTER_FILTER,
      ]),
      '0.0.0.0',
      9081,
    );
    const s = http.createServer();
    const connects: string[] = [];
    attachInbound(s, denyAll);
    s.on('connect', acceptUpgrade(connects));
    s.on('upgrade', acceptUpgrade(connects));
    const p = await listen(s);
    try {
      const r = await exchange(p, 'CONNECT evil:443 HTTP/1.1\r\nhost: evil:443\r\n\r\n');
      assert.equal(statusLine(r), 'HTTP/1.1 403 Forbidden');
      const u = await exchange(p, wsUpgrade('/'));
      assert.equal(statusLine(u), 'HTTP/1.1 403 Forbidden');
      assert.equal(bodyOf(u), 'RBAC: access denied');
      assert.deepEqual(connects, []);
    } finally {
      denyAll.close();
      await close(s);
    }
  });

  test('an allowed upgrade is measured until its socket closes: status and bytes past the heads', async () => {
    const s = http.createServer();
    s.on(
      'upgrade',
      meshUpgradeListener(engine, (_req, socket) => {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
        socket.end('hello');
      }),
    );
    const p = await listen(s);
    try {
      const ev = nextInboundEvent((e) => e.path === '/chat/measured');
      const r = await exchange(p, `${wsUpgrade('/chat/measured')}ping`);
      assert.equal(statusLine(r), 'HTTP/1.1 101 Switching Protocols');
      assert.equal(bodyOf(r), 'hello');
      const e = await ev;
      assert.equal(e.status, 101);
      assert.equal(e.allowed, true);
      assert.equal(e.responseFlags, '-');
      assert.equal(e.responseCodeDetails, 'via_upstream');
      assert.equal(e.requestBytes, 4);
      assert.equal(e.responseBytes, 5);
    } finally {
      await close(s);
    }
  });

  test('meshUpgradeListener wraps an upgrade listener for servers built with meshRequestListener', async () => {
    const s = http.createServer((_req, res) => res.end('app'));
    const upgrades: string[] = [];
    s.on('upgrade', meshUpgradeListener(engine, acceptUpgrade(upgrades)));
    const p = await listen(s);
    try {
      assert.equal(statusLine(await exchange(p, wsUpgrade('/admin'))), 'HTTP/1.1 403 Forbidden');
      assert.equal(statusLine(await exchange(p, wsUpgrade('/chat'))), 'HTTP/1.1 101 Switching Protocols');
      assert.deepEqual(upgrades, ['GET /chat mesh']);
    } finally {
      await close(s);
    }
  });
});

describe('AuthorizationPolicy path templates ({*} / {**}: uri_template)', () => {
  const template = (path_template: string) => ({
    name: 'uri-template',
    typed_config: packAny('envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig', { path_template }),
  });
  let engine: InboundEngine;
  let server: http.Server;
  let port: number;
  before(async () => {
    // DENY paths ["/admin/{**}"]; ALLOW notPaths ["/internal/{**}"] with paths ["/api/{*}/items"] or not
    engine = scriptedEngine(
      plaintextInboundListener('0.0.0.0', 9082, [
        rbacFilter(1, {
          'default-deny-admin-0': {
            permissions: [
              { and_rules: { rules: [{ or_rules: { rules: [{ uri_template: template('/admin/**') }] } }] } },
            ],
            principals: [anyPrincipal],
          },
        }),
        rbacFilter(0, {
          'default-allow-0': {
            permissions: [
              {
                and_rules: {
                  rules: [{ not_rule: { or_rules: { rules: [{ uri_template: template('/internal/**') }] } } }],
                },
              },
            ],
            principals: [anyPrincipal],
          },
        }),
        ROUTER_FILTER,
      ]),
      '0.0.0.0',
      9082,
    );
    server = http.createServer((req, res) => res.end(`app ${req.url}`));
    attachInbound(server, engine);
    port = await listen(server);
  });
  after(async () => {
    engine.close();
    await close(server);
  });

  const status = async (path: string) =>
    statusLine(await exchange(port, `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`));

  test('DENY /admin/{**} denies every path below /admin, whatever the query', async () => {
    // `=` is one of the characters a segment is made of (Envoy's kLiteral): `;x=1` cannot step out
    for (const p of [
      '/admin/users',
      '/admin/a/b',
      '/admin/',
      '/admin/users?x=1',
      '/public/../admin/x',
      '/admin/users;x=1',
      '/admin/del=1',
    ]) {
      assert.equal(await status(p), 'HTTP/1.1 403 Forbidden', p);
    }
    // `**` needs the slash after /admin, as in Envoy
    assert.equal(await status('/admin'), 'HTTP/1.1 200 OK');
    assert.equal(await status('/administrator/x'), 'HTTP/1.1 200 OK');
  });

  test('ALLOW with notPaths /internal/{**}: the template inside not_rule excludes what it matches', async () => {
    assert.equal(await status('/internal/metrics'), 'HTTP/1.1 403 Forbidden');
    assert.equal(await status('/public'), 'HTTP/1.1 200 OK');
  });
});

describe('remote_ip from X-Forwarded-For', () => {
  test('only a last entry that is an IP address replaces the peer; anything else falls back to it', async () => {
    // DENY from.source.remoteIpBlocks ["127.0.0.0/8"]; the test's peer is 127.0.0.1
    const engine = scriptedEngine(
      plaintextInboundListener('0.0.0.0', 9083, [
        rbacFilter(1, {
          'default-deny-loopback-0': {
            permissions: [{ any: true }],
            principals: [{ remote_ip: { address_prefix: '127.0.0.0', prefix_len: { value: 8 } } }],
          },
        }),
        ROUTER_FILTER,
      ]),
      '0.0.0.0',
      9083,
    );
    const server = http.createServer((req: MeshIncomingMessage, res) => res.end(req.mesh?.remoteIp));
    attachInbound(server, engine);
    const port = await listen(server);
    const get = async (xff: string | undefined) => {
      const r = await exchange(
        port,
        `GET / HTTP/1.1\r\nhost: x\r\n${xff === undefined ? '' : `x-forwarded-for: ${xff}\r\n`}connection: close\r\n\r\n`,
      );
      return `${statusLine(r).slice(9, 12)} ${bodyOf(r)}`;
    };
    try {
      assert.equal(await get(undefined), '403 RBAC: access denied');
      for (const spoof of ['unknown', '127.0.0.9:5555 ', '8.8.8.8, garbage', '[::1]', '8.8.8.8:80', '', '1.2.3']) {
        assert.equal(await get(spoof), '403 RBAC: access denied', JSON.stringify(spoof));
      }
      assert.equal(await get('8.8.8.8'), '200 8.8.8.8');
      assert.equal(await get('127.0.0.1, 2001:db8::1'), '200 2001:db8::1');
      assert.equal(await get('8.8.8.8, 127.0.0.2'), '403 RBAC: access denied');
    } finally {
      engine.close();
      await close(server);
    }
  });
});

describe('repeated request headers over HTTP/2', () => {
  test("are joined with ',' for header matchers, as Envoy joins them (istiod's header regexes rely on it)", async () => {
    // DENY when request.headers[x-user] ["evil"]: istiod's HeaderMatcherWithRegex
    const engine = scriptedEngine(
      plaintextInboundListener('0.0.0.0', 9084, [
        rbacFilter(1, {
          'default-deny-evil-0': {
            permissions: [{ any: true }],
            principals: [
              { header: { name: 'x-user', safe_regex_match: { regex: '^evil$|^evil,.*|.*,evil,.*|.*,evil$' } } },
            ],
          },
        }),
        ROUTER_FILTER,
      ]),
      '0.0.0.0',
      9084,
    );
    const server = http2.createServer((_req, res) => res.end('app'));
    attachInbound(server as unknown as http.Server, engine);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const status = async (users: string[]) => {
      const s = client.request({ ':path': '/', 'x-user': users, cookie: ['a=1', 'b=2'] });
      s.end();
      const [headers] = (await once(s, 'response')) as [http2.IncomingHttpHeaders];
      s.resume();
      await once(s, 'end');
      return headers[':status'];
    };
    try {
      assert.equal(await status(['good', 'evil']), 403);
      assert.equal(await status(['evil', 'good']), 403);
      assert.equal(await status(['good', 'fine']), 200);
    } finally {
      client.close();
      engine.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('absolute-form request-target', () => {
  test("the authority is the target's, not the Host header's, as Envoy's HTTP/1 codec takes it", async () => {
    // DENY to.operation.hosts ["admin.example.com"]: header :authority, exact, ignore case
    const engine = scriptedEngine(
      plaintextInboundListener('0.0.0.0', 9085, [
        rbacFilter(1, {
          'default-deny-host-0': {
            permissions: [
              { header: { name: ':authority', string_match: { exact: 'admin.example.com', ignore_case: true } } },
            ],
            principals: [anyPrincipal],
          },
        }),
        ROUTER_FILTER,
      ]),
      '0.0.0.0',
      9085,
    );
    // every view Node keeps of the headers says the same Host
    const server = http.createServer((req, res) => {
      const raw = req.rawHeaders[req.rawHeaders.findIndex((h) => h.toLowerCase() === 'host') + 1];
      res.end(
        req.headers.host === raw && req.headersDistinct.host?.[0] === raw
          ? `${req.headers.host} ${req.url}`
          : `views differ: ${raw}`,
      );
    });
    attachInbound(server, engine);
    const port = await listen(server);
    const get = (target: string, host: string) =>
      exchange(port, `GET ${target} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
    try {
      assert.equal(statusLine(await get('http://admin.example.com/', 'public.example.com')), 'HTTP/1.1 403 Forbidden');
      assert.equal(
        statusLine(await get('HTTP://user@Admin.Example.com/x', 'public.example.com')),
        'HTTP/1.1 403 Forbidden',
      );
      const allowed = await get('http://public.example.com:8080/a/../b?q=1', 'admin.example.com');
      assert.equal(statusLine(allowed), 'HTTP/1.1 200 OK');
      assert.equal(bodyOf(allowed), 'public.example.com:8080 /b?q=1');
      assert.equal(statusLine(await get('/', 'admin.example.com')), 'HTTP/1.1 403 Forbidden');
    } finally {
      engine.close();
      await close(server);
    }
  });
});

describe('gRPC callers', () => {
  test('a denied gRPC call gets a trailers-only PERMISSION_DENIED, as Envoy answers gRPC callers', async () => {
    const engine = scriptedEngine(
      plaintextListenerDenying('0.0.0.0', 9086, 'default-deny-svc-0', '/pkg.Admin/'),
      '0.0.0.0',
      9086,
    );
    const server = http2.createServer((_req, res) => {
      res.setHeader('content-type', 'application/grpc');
      res.addTrailers({ 'grpc-status': '0' });
      res.end(Buffer.from([0, 0, 0, 0, 0]));
    });
    attachInbound(server as unknown as http.Server, engine);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const call = async (path: string, contentType = 'application/grpc') => {
      const s = client.request({ ':method': 'POST', ':path': path, 'content-type': contentType, te: 'trailers' });
      s.end(Buffer.from([0, 0, 0, 0, 0]));
      const [headers, flags] = (await once(s, 'response')) as [http2.IncomingHttpHeaders, number];
      let body = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        body += d;
      });
      await once(s, 'end');
      return { headers, endStream: (flags & 1) === 1, body };
    };
    try {
      for (const ct of ['application/grpc', 'application/grpc+proto']) {
        const ev = nextInboundEvent((e) => e.path === '/pkg.Admin/Delete' && e.destinationPort !== 0);
        const denied = await call('/pkg.Admin/Delete', ct);
        const e = await ev;
        assert.equal(e.status, 200, 'the status sent, as Envoy logs a gRPC local reply');
        assert.equal(e.responseCodeDetails, 'rbac_access_denied_matched_policy[default-deny-svc-0]');
        assert.equal(denied.headers[':status'], 200);
        assert.equal(denied.headers['content-type'], 'application/grpc');
        assert.equal(denied.headers['grpc-status'], '7');
        assert.equal(denied.headers['grpc-message'], 'RBAC: access denied');
        assert.equal(denied.endStream, true, 'trailers-only: the headers end the stream');
        assert.equal(denied.body, '');
      }
      const allowed = await call('/pkg.Reviews/Get');
      assert.equal(allowed.headers[':status'], 200);
      assert.equal(allowed.headers['grpc-status'], undefined);
      // not gRPC: the plain local reply
      const plain = await call('/pkg.Admin/Delete', 'application/grpc-web');
      assert.equal(plain.headers[':status'], 403);
      assert.equal(plain.body, 'RBAC: access denied');
    } finally {
      client.close();
      engine.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('headers the connection manager sets', () => {
  let engine: InboundEngine;
  let server: http.Server;
  let port: number;
  before(async () => {
    engine = scriptedEngine(
      plaintextListenerDenying('0.0.0.0', 9087, 'default-deny-admin-0', '/admin'),
      '0.0.0.0',
      9087,
    );
    server = http.createServer((req, res) =>
      res.end(
        JSON.stringify({
          xfcc: req.headers['x-forwarded-client-cert'] ?? null,
          raw: req.rawHeaders.filter((h) => h.toLowerCase() === 'x-forwarded-client-cert').length,
          requestId: req.headers['x-request-id'] ?? null,
        }),
      ),
    );
    attachInbound(server, engine);
    port = await listen(server);
  });
  after(async () => {
    engine.close();
    await close(server);
  });

  const get = async (headers: string) =>
    JSON.parse(bodyOf(await exchange(port, `GET /reviews HTTP/1.1\r\nhost: x\r\n${headers}connection: close\r\n\r\n`)));

  test('x-forwarded-client-cert from a plaintext caller is removed: it cannot forge a mesh identity', async () => {
    const seen = await get(
      'x-forwarded-client-cert: By=spiffe://cluster.local/ns/default/sa/reviews;URI=spiffe://cluster.local/ns/istio-system/sa/admin\r\n',
    );
    assert.equal(seen.xfcc, null);
    assert.equal(seen.raw, 0);
  });

  test('an x-request-id is generated when the request has none, the same for the application and the event', async () => {
    const ev = nextInboundEvent((e) => e.destinationPort === port && e.path === '/reviews');
    const seen = await get('');
    assert.match(seen.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal((await ev).trace.requestId, seen.requestId);
    assert.equal((await get('x-request-id: abc-123\r\n')).requestId, 'abc-123');
  });

  test('none is generated when the connection manager says generate_request_id false', async () => {
    const quiet = scriptedEngine(
      plaintextInboundListener('0.0.0.0', 9088, [ROUTER_FILTER], { generate_request_id: { value: false } }),
      '0.0.0.0',
      9088,
    );
    const s = http.createServer((req, res) => res.end(String(req.headers['x-request-id'] ?? 'none')));
    attachInbound(s, quiet);
    const p = await listen(s);
    try {
      const r = await exchange(p, 'GET /reviews HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
      assert.equal(bodyOf(r), 'none');
    } finally {
      quiet.close();
      await close(s);
    }
  });
});
