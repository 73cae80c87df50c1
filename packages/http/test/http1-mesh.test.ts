// The mesh's own HTTP/1.1 pools (the default) end to end, beside undici's Pools
// (`http1: 'undici'`) on the same scenarios: what the caller sees of an upstream that fails must
// not depend on who writes HTTP/1.1 — the same status, response flags and body errors. Also the
// requests the mesh leaves to undici (a WebSocket upgrade) through the default mesh.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { request, upgrade } from 'undici';
import type { OutboundMesh } from '../src/index.ts';
import { ControlPlane, closedPort, cluster, forward, type ServiceConfig, Upstream } from './e2e-fixtures.ts';

// the connection is gone before any response
const cut = new Upstream('cut', (req) => req.socket.destroy());
// the head and part of the body, then the connection is gone
const cutBody = new Upstream('cutbody', (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
  res.write('partial', () => res.socket?.destroy());
});
// a keep-alive response, then the server closes the idle connection
const closer = new Upstream('closer', (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok', () => res.socket?.end());
});
const ws = new Upstream('ws');
const upstreams = [cut, cutBody, closer, ws];
const cp = new ControlPlane();
let own: OutboundMesh;
let viaUndici: OutboundMesh;

function svc(name: string): ServiceConfig {
  return {
    name,
    port: 9080,
    routes: [{ name, match: { prefix: '/' }, route: forward(cluster(name, 9080), { retry_policy: undefined }) }],
  };
}

before(async () => {
  for (const u of upstreams) await u.start();
  ws.server.on('upgrade', (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d));
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
  });
  const dead = await closedPort();
  await cp.start(['cut', 'cutbody', 'dead', 'closer', 'ws'].map(svc), [
    { name: cluster('cut', 9080), endpoints: [{ port: cut.port }] },
    { name: cluster('cutbody', 9080), endpoints: [{ port: cutBody.port }] },
    { name: cluster('dead', 9080), endpoints: [{ port: dead }] },
    { name: cluster('closer', 9080), endpoints: [{ port: closer.port }] },
    { name: cluster('ws', 9080), endpoints: [{ port: ws.port }] },
  ]);
  own = cp.mesh();
  viaUndici = cp.mesh({ http1: 'undici' });
});

after(async () => {
  await own.close();
  await viaUndici.close();
  await cp.stop();
  for (const u of upstreams) await u.stop();
});

interface Seen {
  status: number;
  flags: unknown;
  body: string;
  /** the body stream's error code, if it failed */
  bodyError: string | undefined;
}

async function get(mesh: OutboundMesh, url: string): Promise<Seen> {
  const r = await request(url, { dispatcher: mesh.dispatcher });
  let body = '';
  let bodyError: string | undefined;
  try {
    for await (const chunk of r.body) body += (chunk as Buffer).toString();
  } catch (err) {
    bodyError = (err as { code?: string }).code ?? String(err);
  }
  return { status: r.statusCode, flags: r.headers['x-inboard-response-flags'], body, bodyError };
}

describe('the same answers as undici', () => {
  test('a connection closed before the response: 503 UC', async () => {
    const mine = await get(own, 'http://cut:9080/');
    assert.equal(mine.status, 503);
    assert.equal(mine.flags, 'UC');
    assert.deepEqual(mine, await get(viaUndici, 'http://cut:9080/'));
  });

  test('a connection closed mid-body: the 200 stands, the body fails the same way', async () => {
    const mine = await get(own, 'http://cutbody:9080/');
    assert.equal(mine.status, 200);
    assert.equal(mine.body, 'partial');
    assert.notEqual(mine.bodyError, undefined);
    assert.deepEqual(mine, await get(viaUndici, 'http://cutbody:9080/'));
  });

  test('connection refused: 503 UF', async () => {
    const mine = await get(own, 'http://dead:9080/');
    assert.equal(mine.status, 503);
    assert.equal(mine.flags, 'UF');
    assert.deepEqual(mine, await get(viaUndici, 'http://dead:9080/'));
  });

  test('a server that closes each kept-alive connection right after its response: no request fails', async () => {
    for (const mesh of [own, viaUndici]) {
      for (let i = 0; i < 5; i++) {
        const r = await get(mesh, 'http://closer:9080/');
        assert.deepEqual(r, { status: 200, flags: undefined, body: 'ok', bodyError: undefined });
      }
    }
  });
});

describe('hop-by-hop request headers', () => {
  test("the caller's Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding and what Connection names stay on its hop, as Envoy strips them", async () => {
    for (const mesh of [own, viaUndici]) {
      const before = ws.seen.length;
      const r = await request('http://ws:9080/hop', {
        dispatcher: mesh.dispatcher,
        headers: {
          connection: 'keep-alive, x-hop-only',
          'keep-alive': 'timeout=5',
          'proxy-connection': 'keep-alive',
          'x-hop-only': '1',
          te: 'trailers',
          'x-kept': 'yes',
        },
      });
      // (undici refused the request outright for its keep-alive header before)
      assert.equal(r.statusCode, 200);
      await r.body.text();
      const seen = ws.seen[before]!.headers;
      for (const name of ['keep-alive', 'proxy-connection', 'x-hop-only']) assert.equal(seen[name], undefined, name);
      assert.notEqual(seen.connection, 'keep-alive, x-hop-only');
      assert.equal(seen.te, 'trailers');
      assert.equal(seen['x-kept'], 'yes');
    }
  });
});

describe('options', () => {
  test("agentOptions.maxRequestsPerClient caps the requests of each connection, as undici's Pools do", async () => {
    for (const http1 of ['inboard', 'undici'] as const) {
      const mesh = cp.mesh({ http1, agentOptions: { maxRequestsPerClient: 2 } });
      const connections = new Set<unknown>();
      const seen = (socket: unknown) => connections.add(socket);
      ws.server.on('connection', seen);
      try {
        for (let i = 0; i < 3; i++) assert.equal((await get(mesh, 'http://ws:9080/')).status, 200);
      } finally {
        ws.server.off('connection', seen);
        await mesh.close();
      }
      assert.equal(connections.size, 2, http1);
    }
  });
});

describe('left to undici', () => {
  test('a WebSocket upgrade through the default mesh: 101 and the socket', async () => {
    const u = await upgrade('http://ws:9080/chat', { dispatcher: own.dispatcher, protocol: 'websocket' });
    try {
      u.socket.write('hello');
      const [echoed] = (await once(u.socket, 'data')) as [Buffer];
      assert.equal(echoed.toString(), 'hello');
    } finally {
      u.socket.destroy();
    }
  });
});
