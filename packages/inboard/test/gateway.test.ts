// The ingress gateway against the embedded control plane: it serves what the Gateway and its
// bound VirtualServices say (Host + path), streams bodies both ways, terminates TLS, answers
// 404 NR when nothing matches, and opens / closes ports as Gateways come and go.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type GatewayListenerEvent, IngressGateway, runGatewayCli } from 'inboard';
import { request } from 'undici';
import { GATEWAY, listen, registry, TestControlPlane } from './helpers.ts';

const CERT = readFileSync(new URL('./fixtures/gateway-cert.pem', import.meta.url));
const KEY = readFileSync(new URL('./fixtures/gateway-key.pem', import.meta.url));

const BOOKINFO_VS = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo}
spec:
  hosts: ["bookinfo.example.com"]
  gateways: [bookinfo-gateway]
  http:
  - match:
    - uri: {exact: /productpage}
    - uri: {prefix: /static}
    route:
    - destination: {host: productpage, port: {number: 9080}}
`;
const ADMIN_VS = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: admin}
spec:
  hosts: ["*"]
  gateways: [admin-gateway]
  http:
  - route:
    - destination: {host: productpage, port: {number: 9080}}
    headers:
      request:
        set: {x-admin: "yes"}
`;

/** True when nothing listens on the port any more (a new connection is refused). */
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

/** Collects listener events; `next(kind, gatewayPort)` resolves with the matching one (past or future). */
function listenerEvents() {
  const events: GatewayListenerEvent[] = [];
  const waiters: { pred: (e: GatewayListenerEvent) => boolean; resolve: (e: GatewayListenerEvent) => void }[] = [];
  return {
    events,
    on(e: GatewayListenerEvent) {
      events.push(e);
      for (const w of waiters.filter((x) => x.pred(e))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    },
    next(kind: GatewayListenerEvent['kind'], gatewayPort: number): Promise<GatewayListenerEvent> {
      const pred = (e: GatewayListenerEvent) => e.kind === kind && e.gatewayPort === gatewayPort;
      const seen = events.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

describe('inboard gateway', () => {
  const cp = new TestControlPlane();
  const seen: { url: string; headers: Record<string, string | string[] | undefined>; body: number }[] = [];
  let productpage: Awaited<ReturnType<typeof listen>>;
  let gateway: IngressGateway;
  let base: string;
  const events = listenerEvents();
  let releaseStream: (() => void) | undefined;

  before(async () => {
    productpage = await listen((req, res) => {
      let body = 0;
      req.on('data', (c: Buffer) => {
        body += c.length;
      });
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body });
        if (req.url === '/static/stream') {
          // the first chunk must reach the client before the rest exists
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('first;');
          releaseStream = () => res.end('last');
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive', 'x-upstream': 'productpage' });
        res.end(`productpage ${req.method} ${req.url} ${body}`);
      });
    });
    await cp.start({
      'gateway.yaml': GATEWAY('bookinfo-gateway', 80, ['bookinfo.example.com']),
      'vs.yaml': BOOKINFO_VS,
      'registry.yaml': registry([{ name: 'productpage', endpoints: [{ port: productpage.port, version: 'v1' }] }]),
    });
    gateway = await IngressGateway.start({
      env: {},
      controlPlane: cp.address,
      host: '127.0.0.1',
      ports: { default: 0 },
      onListener: (e) => events.on(e),
    });
    await gateway.ready();
    base = gateway.ports()[0]!.url;
  });

  after(async () => {
    releaseStream?.();
    await gateway.close();
    await productpage.close();
    await cp.stop();
  });

  test('the gateway node is ingressgateway.istio-system with the istio=ingressgateway label', () => {
    const node = gateway.xds.bootstrap.node;
    assert.equal(node.id, 'router~127.0.0.1~ingressgateway.istio-system~istio-system.svc.cluster.local');
    assert.equal((node.metadata['LABELS'] as Record<string, string>)['istio'], 'ingressgateway');
    assert.deepEqual(
      gateway.ports().map((p) => p.gatewayPort),
      [80],
    );
  });

  test('routes on the Host of the request and the path of the VirtualService', async () => {
    const ok = await request(`${base}/productpage?u=1`, { headers: { host: 'bookinfo.example.com' } });
    assert.equal(ok.statusCode, 200);
    assert.equal(await ok.body.text(), 'productpage GET /productpage?u=1 0');
    const withPort = await request(`${base}/static/app.css`, { headers: { host: 'bookinfo.example.com:80' } });
    assert.equal(withPort.statusCode, 200);
    await withPort.body.dump();

    for (const [host, path] of [
      ['other.example.com', '/productpage'],
      ['bookinfo.example.com', '/productpage/x'],
      ['bookinfo.example.com', '/admin'],
    ] as const) {
      const r = await request(`${base}${path}`, { headers: { host } });
      assert.equal(r.statusCode, 404, `${host}${path}`);
      assert.equal(r.headers['x-inboard-response-flags'], 'NR');
      await r.body.dump();
    }
  });

  test('forwards like Envoy: x-forwarded-for / -proto, x-request-id, no hop-by-hop headers', async () => {
    // node:http sends the Connection header as given (undici manages it itself)
    const r = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${base}/productpage`, {
        headers: {
          host: 'bookinfo.example.com',
          'x-forwarded-for': '203.0.113.9',
          connection: 'keep-alive, x-private',
          'x-private': '1',
        },
        agent: false,
      });
      req.on('response', resolve).on('error', reject).end();
    });
    r.resume();
    await once(r, 'end');
    const h = seen.at(-1)!.headers;
    assert.equal(h['host'], 'bookinfo.example.com');
    assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.match(String(h['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(h['x-private'], undefined);
    assert.equal(r.headers['x-upstream'], 'productpage');
  });

  test('streams bodies: a 3 MiB upload, and a response whose first chunk arrives before its end', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    async function* upload() {
      for (let i = 0; i < 48; i++) yield chunk;
    }
    const up = await request(`${base}/static/upload`, {
      method: 'POST',
      headers: { host: 'bookinfo.example.com' },
      body: Readable.from(upload()),
    });
    assert.equal(await up.body.text(), `productpage POST /static/upload ${48 * chunk.length}`);

    const down = await request(`${base}/static/stream`, { headers: { host: 'bookinfo.example.com' } });
    assert.equal(down.statusCode, 200);
    const it = down.body[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(Buffer.from(first.value as Buffer).toString(), 'first;');
    releaseStream!();
    let rest = '';
    for (let r = await it.next(); r.done !== true; r = await it.next())
      rest += Buffer.from(r.value as Buffer).toString();
    assert.equal(rest, 'last');
  });

  test('a Gateway added later opens its port live; removing it closes the port', async () => {
    await cp.apply({ 'admin-gateway.yaml': GATEWAY('admin-gateway', 8080, ['*']), 'admin-vs.yaml': ADMIN_VS });
    const opened = await events.next('listening', 8080);
    assert.equal(opened.kind === 'listening' && opened.url.startsWith('http://127.0.0.1:'), true);
    const url = opened.kind === 'listening' ? opened.url : '';
    const r = await request(`${url}/anything`, { headers: { host: 'admin.local' } });
    assert.equal(r.statusCode, 200);
    await r.body.dump();
    assert.equal(seen.at(-1)!.headers['x-admin'], 'yes');
    assert.deepEqual(
      gateway.ports().map((p) => p.gatewayPort),
      [80, 8080],
    );

    await cp.apply({ 'admin-gateway.yaml': '', 'admin-vs.yaml': '' });
    await events.next('closed', 8080);
    assert.deepEqual(
      gateway.ports().map((p) => p.gatewayPort),
      [80],
    );
    assert.equal(await refused(opened.port), true);
  });

  test('SIMPLE TLS termination with certificate files', async () => {
    const tls = await IngressGateway.start({
      env: {},
      controlPlane: cp.address,
      node: { name: 'ingressgateway-tls' },
      host: '127.0.0.1',
      ports: { default: 0 },
      tls: { cert: CERT, key: KEY },
    });
    try {
      await tls.ready();
      const { port } = tls.ports()[0]!;
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/productpage',
            servername: 'bookinfo.example.com',
            ca: CERT,
            headers: { host: 'bookinfo.example.com' },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              text += c;
            });
            res.on('end', () => resolve(`${res.statusCode} ${text}`));
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(body, '200 productpage GET /productpage 0');
      assert.equal(seen.at(-1)!.headers['x-forwarded-proto'], 'https');
      assert.equal(tls.ports()[0]!.url.startsWith('https://'), true);
    } finally {
      await tls.close();
    }
  });
});

describe('inboard gateway (command line)', () => {
  function io(signal?: AbortSignal) {
    let stdout = '';
    let stderr = '';
    return {
      io: {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        env: {},
        signal,
      },
      out: () => stdout,
      err: () => stderr,
    };
  }

  test('usage errors exit 2 and say what is wrong', async () => {
    for (const [args, message] of [
      [['--port', 'abc'], /invalid port "abc"/],
      [['--port', '1', '--port', '2'], /--port N may be given once/],
      [['--tls-cert', 'x.pem'], /--tls-cert and --tls-key go together/],
      [['--control-plane', 'nope'], /controlPlane: expected host:port/],
      [['extra'], /unexpected argument "extra"/],
    ] as const) {
      const t = io();
      assert.equal(await runGatewayCli(args, t.io), 2, args.join(' '));
      assert.match(t.err(), message);
    }
    const help = io();
    assert.equal(await runGatewayCli(['--help'], help.io), 0);
    assert.match(help.out(), /usage: inboard gateway/);
  });

  test('serves the Gateway until stopped, mapping port 80 with --port', async () => {
    const cp = new TestControlPlane();
    const upstreamServer = await listen((_req, res) => res.end('hello from productpage'));
    await cp.start({
      'gateway.yaml': GATEWAY('bookinfo-gateway', 80, ['*']),
      'vs.yaml': BOOKINFO_VS.replace('"bookinfo.example.com"', '"*"'),
      'registry.yaml': registry([{ name: 'productpage', endpoints: [{ port: upstreamServer.port, version: 'v1' }] }]),
    });
    const stop = new AbortController();
    const t = io(stop.signal);
    let url = '';
    const run = runGatewayCli(['--control-plane', cp.address, '--port', '0', '--host', '127.0.0.1', '--access-log'], {
      ...t.io,
      onReady: (g) => {
        url = g.ports()[0]!.url;
        void request(`${url}/productpage`).then(async (r) => {
          assert.equal(await r.body.text(), 'hello from productpage');
          stop.abort();
        });
      },
    });
    assert.equal(await run, 0);
    assert.match(t.out(), /^ingress gateway router~127\.0\.0\.1~ingressgateway\.istio-system~/m);
    assert.match(t.out(), /gateway port 80 → listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(t.out(), /"GET \/productpage" 200 - 22 \d+ms/);
    assert.match(t.err(), /gateway stopped/);
    assert.equal(await refused(Number(new URL(url).port)), true);
    await upstreamServer.close();
    await cp.stop();
  });
  test("--admin-port serves the gateway's reporter=source metrics and the admin endpoints", async () => {
    const cp = new TestControlPlane();
    const upstreamServer = await listen((_req, res) => res.end('hello from productpage'));
    await cp.start({
      'gateway.yaml': GATEWAY('bookinfo-gateway', 80, ['*']),
      'vs.yaml': BOOKINFO_VS.replace('"bookinfo.example.com"', '"*"'),
      'registry.yaml': registry([{ name: 'productpage', endpoints: [{ port: upstreamServer.port, version: 'v1' }] }]),
    });
    const stop = new AbortController();
    const t = io(stop.signal);
    let scraped = '';
    let ready = '';
    const run = runGatewayCli(
      ['--control-plane', cp.address, '--port', '0', '--host', '127.0.0.1', '--admin-port', '0'],
      {
        ...t.io,
        onReady: (g) => {
          const url = g.ports()[0]!.url;
          void (async () => {
            try {
              assert.equal((await request(`${url}/productpage`)).statusCode, 200);
              const admin = /admin (http:\/\/\S+) ·/.exec(t.out())![1]!;
              scraped = await (await request(`${admin}/stats/prometheus`)).body.text();
              ready = await (await request(`${admin}/ready`)).body.text();
            } finally {
              stop.abort();
            }
          })();
        },
      },
    );
    assert.equal(await run, 0);
    const line = scraped.split('\n').find((l) => l.startsWith('istio_requests_total{'));
    assert.ok(line !== undefined, scraped);
    assert.match(line, /reporter="source"/);
    assert.match(line, /destination_service="productpage\.default\.svc\.cluster\.local"/);
    assert.match(line, /response_code="200"/);
    assert.match(line, / 1$/);
    assert.match(ready, /LIVE|ready|OK/i);
    await upstreamServer.close();
    await cp.stop();
  });
});
