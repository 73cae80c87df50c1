// The inbound engine against a real ADS server (@inboard/control-plane) on loopback gRPC and real
// node:http / https servers: istiod-shaped inbound listeners (RBAC DENY + ALLOW filters, STRICT
// mTLS) are pushed and enforced, live updates change decisions without a restart, and every
// request is published on the inbound diagnostics channel.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http, { type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AdsServer, Snapshot } from '@inboard/control-plane';
import { ManualClock, parseBootstrap, Xds } from '@inboard/xds';
import { type ListenerIn, packAny } from '@inboard/xds/codec';
import { type PlainReply, plainRequest } from '../../../test/support/plain-request.ts';
import {
  attachInbound,
  createInboundEngine,
  INBOUND_CHANNEL,
  type InboundEngine,
  type InboundRequestEvent,
  type MeshIncomingMessage,
  meshRequestListener,
} from '../src/index.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const NODE_ID = 'sidecar~127.0.0.1~reviews-v1-abc.default~default.svc.cluster.local';
const PRODUCTPAGE = 'spiffe://cluster.local/ns/default/sa/productpage';
const RATINGS = 'spiffe://cluster.local/ns/default/sa/ratings';

// ---------------------------------------------------------------------------- istiod-shaped resources

interface PolicyIn {
  permissions: unknown[];
  principals: unknown[];
}

/** AuthorizationPolicy `to.operation.paths: ["<prefix>*"]` as istiod translates it. */
const pathPrefix = (prefix: string) => ({
  and_rules: { rules: [{ or_rules: { rules: [{ url_path: { path: { prefix } } }] } }] },
});
const anyPermission = { and_rules: { rules: [{ any: true }] } };
const anyPrincipal = { and_ids: { ids: [{ any: true }] } };
/** `from.source.principals: ["cluster.local/ns/default/sa/x"]`: istiod adds `spiffe://`. */
const principal = (spiffe: string) => ({
  and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { exact: spiffe } } }] } }] },
});

function rbacFilter(name: string, action: 0 | 1, policies: Record<string, PolicyIn>) {
  return {
    name,
    typed_config: packAny('envoy.extensions.filters.http.rbac.v3.RBAC', {
      rules: { action, policies: policies as never },
    }),
  };
}

interface InboundSpec {
  readonly port: number;
  readonly mtls: boolean;
  readonly deny?: Record<string, PolicyIn>;
  readonly allow?: Record<string, PolicyIn>;
}

/** lds.go buildInboundListeners: one filter chain, inline non-forwarding routes, RBAC DENY then ALLOW, router. */
function inboundListener(spec: InboundSpec): ListenerIn {
  const suffix = spec.mtls ? 'mtls' : 'plaintext';
  const httpFilters = [];
  if (spec.deny !== undefined) httpFilters.push(rbacFilter('envoy.filters.http.rbac.DENY', 1, spec.deny));
  if (spec.allow !== undefined) httpFilters.push(rbacFilter('envoy.filters.http.rbac', 0, spec.allow));
  httpFilters.push({
    name: 'envoy.filters.http.router',
    typed_config: packAny('envoy.extensions.filters.http.router.v3.Router', {}),
  });
  const provider = (certificate_name: string) => ({ instance_name: 'default', certificate_name });
  return {
    name: `xds.istio.io/grpc/lds/inbound/127.0.0.1:${spec.port}`,
    address: { socket_address: { address: '127.0.0.1', port_value: spec.port } },
    filter_chains: [
      {
        name: `inbound-${suffix}`,
        filters: [
          {
            name: `inbound-hcm${suffix}`,
            typed_config: packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
              route_config: {
                name: 'inbound',
                virtual_hosts: [
                  { name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] },
                ],
              },
              http_filters: httpFilters,
            }),
          },
        ],
        transport_socket: spec.mtls
          ? {
              name: 'envoy.transport_sockets.tls',
              typed_config: packAny('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', {
                common_tls_context: {
                  tls_certificate_provider_instance: provider('default'),
                  combined_validation_context: {
                    default_validation_context: { ca_certificate_provider_instance: provider('ROOTCA') },
                  },
                },
                require_client_certificate: { value: true },
              }),
            }
          : undefined,
      },
    ],
  };
}

// ---------------------------------------------------------------------------- harness

const ads = new AdsServer();
const listeners = new Map<number, ListenerIn>();
let version = 0;
let xds: Xds;

function push(): void {
  ads.cache.setSnapshot(
    NODE_ID,
    Snapshot.fromMessages({ version: String(++version), listeners: [...listeners.values()] }),
  );
}
function setInbound(spec: InboundSpec): void {
  listeners.set(spec.port, inboundListener(spec));
  push();
}
function removeInbound(port: number): void {
  listeners.delete(port);
  push();
}

/** Resolves with the next policy generation of `engine` after the current one. */
function nextPolicy(engine: InboundEngine): Promise<number> {
  return new Promise((resolve) => {
    const off = engine.subscribe((_p, generation) => {
      off();
      resolve(generation);
    });
  });
}

/** Resolves with the next inbound event for `port` matching `pred`. */
function nextEvent(port: number, pred: (e: InboundRequestEvent) => boolean = () => true): Promise<InboundRequestEvent> {
  return new Promise((resolve) => {
    const fn = (msg: unknown) => {
      const e = msg as InboundRequestEvent;
      if (e.destinationPort !== port || !pred(e)) return;
      unsubscribe(INBOUND_CHANNEL, fn);
      resolve(e);
    };
    subscribe(INBOUND_CHANNEL, fn);
  });
}

function get(port: number, path: string, options: http.RequestOptions = {}, body?: string): Promise<PlainReply> {
  return plainRequest({ port, path, ...options }, body);
}

function tlsClient(name: string | undefined): https.RequestOptions {
  return {
    ca: fixture('root-cert.pem'),
    ...(name === undefined ? {} : { cert: fixture(`${name}-cert.pem`), key: fixture(`${name}-key.pem`) }),
    // Istio certificates carry a SPIFFE URI SAN, no DNS name: skip the hostname check
    checkServerIdentity: () => undefined,
  };
}

function httpsGet(
  port: number,
  path: string,
  client: string | undefined,
  headers: Record<string, string> = {},
): Promise<PlainReply> {
  return plainRequest({ port, path, headers, ...tlsClient(client) }, undefined, true);
}

async function listen(server: http.Server | https.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function close(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The application behind the mesh: echoes what it saw. */
const app = (req: MeshIncomingMessage, res: ServerResponse) => {
  let received = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => {
    received += c;
  });
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        url: req.url,
        peer: req.mesh?.peerPrincipal ?? null,
        policy: req.mesh?.matchedPolicy ?? null,
        received,
      }),
    );
  });
};

before(async () => {
  const adsPort = await ads.start();
  const bootstrap = parseBootstrap(
    {
      xds_servers: [
        { server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
      ],
      node: { id: NODE_ID, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
      certificate_providers: {
        default: {
          plugin_name: 'file_watcher',
          config: {
            certificate_file: join(FIXTURES, 'reviews-cert.pem'),
            private_key_file: join(FIXTURES, 'reviews-key.pem'),
            ca_certificate_file: join(FIXTURES, 'root-cert.pem'),
            refresh_interval: '900s',
          },
        },
      },
      server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
    },
    'test',
  );
  xds = new Xds({ bootstrap, backoff: { initialMs: 20, maxMs: 100 } });
});

after(async () => {
  xds?.close();
  await ads.stop({ graceMs: 100 });
});

// ---------------------------------------------------------------------------- plaintext

describe('plaintext inbound listener, attached to a node:http server', () => {
  const server = http.createServer(app);
  let port: number;
  let engine: InboundEngine;
  before(async () => {
    port = await listen(server);
    attachInbound(server, (engine = createInboundEngine({ xds, listenAddress: { ip: '127.0.0.1', port } })));
  });
  after(async () => {
    engine.close();
    await close(server);
  });

  test('subscribes to the listener named by the bootstrap template; requests wait for the policy', async () => {
    assert.equal(engine.listenerName, `xds.istio.io/grpc/lds/inbound/127.0.0.1:${port}`);
    assert.equal(engine.state, 'pending');
    // the request is in the server (Node published its start) before the control plane has said anything
    const arrived = new Promise<void>((resolve) => {
      const fn = () => {
        unsubscribe('http.server.request.start', fn);
        resolve();
      };
      subscribe('http.server.request.start', fn);
    });
    const pending = get(port, '/admin');
    await arrived;
    assert.equal(engine.state, 'pending');
    setInbound({
      port,
      mtls: false,
      deny: { 'default-deny-admin-0': { permissions: [pathPrefix('/admin')], principals: [anyPrincipal] } },
    });
    const r = await pending;
    assert.equal(r.status, 403);
    assert.equal(engine.state, 'mesh');
    assert.equal(engine.mtls, 'DISABLE');
    assert.equal(engine.tlsServerOptions(), undefined);
  });

  test("a DENY policy on /admin: 403 with Envoy's body, the application never sees it", async () => {
    const denied = nextEvent(port, (e) => e.path === '/admin');
    const r = await get(port, '/admin');
    assert.equal(r.status, 403);
    assert.equal(r.body, 'RBAC: access denied');
    assert.equal(r.headers['content-type'], 'text/plain');
    const e = await denied;
    assert.equal(e.status, 403);
    assert.equal(e.responseFlags, '-', 'Envoy sets no response flag for RBAC denials');
    assert.equal(e.responseCodeDetails, 'rbac_access_denied_matched_policy[default-deny-admin-0]');
    assert.equal(e.matchedPolicy, 'default-deny-admin-0');
    assert.equal(e.allowed, false);
    assert.equal(e.connectionSecurityPolicy, 'none');
    assert.equal(e.peerPrincipal, undefined);
    assert.equal(e.filterChain, 'inbound-plaintext');
  });

  test('other paths reach the application', async () => {
    const r = await get(port, '/reviews/1?x=1');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { url: '/reviews/1?x=1', peer: null, policy: null, received: '' });
  });

  test('the path is normalised before authorization, and the application gets the normalised path', async () => {
    for (const path of ['/public/../admin', '/%61dmin', '/admin?debug=1', '/x/./../admin/users', '/x\\..\\admin']) {
      assert.equal((await get(port, path)).status, 403, path);
    }
    const r = await get(port, '/public/./a/../b?q=1');
    assert.equal(JSON.parse(r.body).url, '/public/b?q=1');
    // what Envoy rejects outright: %00, and a target that is not a path
    assert.equal((await get(port, '/a%00b')).status, 400);
    assert.equal((await get(port, '\\admin')).status, 400);
  });

  test('a pushed policy change applies to the next request, without a restart', async () => {
    const swapped = nextPolicy(engine);
    setInbound({
      port,
      mtls: false,
      deny: { 'default-deny-secret-0': { permissions: [pathPrefix('/secret')], principals: [anyPrincipal] } },
    });
    await swapped;
    assert.equal((await get(port, '/admin')).status, 200);
    const r = await get(port, '/secret/keys');
    assert.equal(r.status, 403);
    assert.equal(r.body, 'RBAC: access denied');
  });

  test('an ALLOW filter requiring a principal denies plaintext callers', async () => {
    const swapped = nextPolicy(engine);
    setInbound({
      port,
      mtls: false,
      allow: { 'default-allow-productpage-0': { permissions: [anyPermission], principals: [principal(PRODUCTPAGE)] } },
    });
    await swapped;
    const denied = nextEvent(port);
    assert.equal((await get(port, '/reviews/1')).status, 403);
    assert.equal((await denied).responseCodeDetails, 'rbac_access_denied_matched_policy[none]');
  });

  test('the listener removed (does not exist): no mesh policy, everything allowed', async () => {
    const swapped = nextPolicy(engine);
    removeInbound(port);
    await swapped;
    assert.equal(engine.state, 'no-mesh-policy');
    assert.equal(engine.mtls, 'DISABLE');
    assert.equal((await get(port, '/secret')).status, 200);
    // and the application sees the path as sent, since nothing is enforced
    assert.equal(JSON.parse((await get(port, '/a/../b')).body).url, '/a/../b');
  });

  test('an inbound event measures the exchange: bytes both ways, status, trace context', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const ev = nextEvent(port, (e) => e.method === 'POST');
    const r = await get(
      port,
      '/ratings',
      { method: 'POST', headers: { traceparent, 'user-agent': 'inboard-test' } },
      'hello',
    );
    const e = await ev;
    assert.equal(r.status, 200);
    assert.equal(e.reporter, 'destination');
    assert.equal(e.status, 200);
    assert.equal(e.responseFlags, '-');
    assert.equal(e.responseCodeDetails, 'via_upstream');
    assert.equal(e.requestBytes, 5);
    assert.equal(e.responseBytes, Buffer.byteLength(r.body));
    assert.equal(e.trace.w3c?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(e.trace.w3c?.parentId, '00f067aa0ba902b7');
    assert.equal(e.userAgent, 'inboard-test');
    assert.equal(e.authority, `127.0.0.1:${port}`);
    assert.equal(e.protocol, 'HTTP/1.1');
    assert.equal(e.sourceIp, '127.0.0.1');
    assert.ok(e.durationMs >= 0 && e.startTime > 0);
  });
});

describe('a port nobody selects: no listener from the start', () => {
  test('does-not-exist makes the engine ready with no mesh policy', async () => {
    const port = 1;
    const engine = createInboundEngine({ xds, listenAddress: { ip: '127.0.0.1', port } });
    try {
      await engine.ready();
      assert.equal(engine.state, 'no-mesh-policy');
      assert.equal(
        engine.handle({
          method: 'GET',
          target: '/admin',
          authority: 'x',
          scheme: 'http',
          headers: () => undefined,
          sourceIp: '127.0.0.1',
          destinationIp: '127.0.0.1',
          destinationPort: port,
          security: { tls: false, peer: undefined, serverName: '', alpn: '' },
        }).action,
        'allow',
      );
    } finally {
      engine.close();
    }
  });
});

// ---------------------------------------------------------------------------- STRICT mTLS

describe('STRICT mTLS inbound listener on an https server', () => {
  let server: https.Server;
  let port: number;
  let engine: InboundEngine;
  before(async () => {
    // the port must be known to name the listener: bind a placeholder first, then serve TLS on it
    const probe = http.createServer();
    port = await listen(probe);
    await close(probe);
    engine = createInboundEngine({ xds, listenAddress: { ip: '127.0.0.1', port } });
    setInbound({
      port,
      mtls: true,
      deny: { 'default-deny-admin-0': { permissions: [pathPrefix('/admin')], principals: [anyPrincipal] } },
      allow: { 'default-allow-productpage-0': { permissions: [anyPermission], principals: [principal(PRODUCTPAGE)] } },
    });
    await engine.ready();
    assert.equal(engine.mtls, 'STRICT');
    const tls = engine.tlsServerOptions();
    assert.ok(tls !== undefined);
    server = https.createServer({ ...tls }, meshRequestListener(engine, app));
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  });
  after(async () => {
    engine.close();
    await close(server);
  });

  test('the server options come from the certificate provider files and require client certificates', () => {
    const tls = engine.tlsServerOptions()!;
    assert.equal(tls.requestCert, true);
    assert.equal(tls.rejectUnauthorized, true);
    assert.deepEqual(tls.cert, fixture('reviews-cert.pem'));
    assert.deepEqual(tls.ca, fixture('root-cert.pem'));
  });

  test('the allowed principal reaches the application, which sees its SPIFFE id', async () => {
    const ev = nextEvent(port);
    const r = await httpsGet(port, '/reviews/1', 'productpage', {
      'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
      'x-b3-spanid': 'e457b5a2e4d86bd1',
      'x-b3-sampled': '1',
    });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), {
      url: '/reviews/1',
      peer: PRODUCTPAGE,
      policy: 'default-allow-productpage-0',
      received: '',
    });
    const e = await ev;
    assert.equal(e.peerPrincipal, PRODUCTPAGE);
    assert.equal(e.connectionSecurityPolicy, 'mutual_tls');
    assert.equal(e.matchedPolicy, 'default-allow-productpage-0');
    assert.equal(e.scheme, 'https');
    assert.equal(e.filterChain, 'inbound-mtls');
    assert.equal(e.trace.b3?.traceId, '80f198ee56343ba864fe8b2a57d3eff7');
    assert.equal(e.trace.b3?.sampled, true);
  });

  test('another principal of the mesh is denied', async () => {
    const ev = nextEvent(port);
    const r = await httpsGet(port, '/reviews/1', 'ratings');
    assert.equal(r.status, 403);
    assert.equal(r.body, 'RBAC: access denied');
    const e = await ev;
    assert.equal(e.status, 403);
    assert.equal(e.peerPrincipal, RATINGS);
    assert.equal(e.responseCodeDetails, 'rbac_access_denied_matched_policy[none]');
    assert.equal(e.matchedPolicy, undefined);
  });

  test('DENY wins over ALLOW for the allowed principal', async () => {
    const ev = nextEvent(port);
    assert.equal((await httpsGet(port, '/admin', 'productpage')).status, 403);
    assert.equal((await ev).matchedPolicy, 'default-deny-admin-0');
  });

  test('no client certificate, or one from another CA, fails the handshake', async () => {
    await assert.rejects(httpsGet(port, '/reviews/1', undefined));
    await assert.rejects(httpsGet(port, '/reviews/1', 'stranger'));
  });

  test('a live update changes who is allowed', async () => {
    const swapped = nextPolicy(engine);
    setInbound({
      port,
      mtls: true,
      allow: { 'default-allow-ratings-0': { permissions: [anyPermission], principals: [principal(RATINGS)] } },
    });
    await swapped;
    assert.equal((await httpsGet(port, '/reviews/1', 'productpage')).status, 403);
    assert.equal((await httpsGet(port, '/admin', 'ratings')).status, 200);
  });
});

describe('STRICT policy on a plaintext server', () => {
  test('fails closed: the connection is closed, as a TLS listener would refuse plaintext', async () => {
    const server = http.createServer();
    const port = await listen(server);
    const engine = createInboundEngine({ xds, listenAddress: { ip: '127.0.0.1', port } });
    server.on('request', meshRequestListener(engine, app));
    try {
      setInbound({
        port,
        mtls: true,
        allow: { 'default-allow-all-0': { permissions: [anyPermission], principals: [anyPrincipal] } },
      });
      await engine.ready();
      assert.equal(engine.mtls, 'STRICT');
      const ev = nextEvent(port);
      await assert.rejects(get(port, '/reviews/1'), { code: 'ECONNRESET' });
      const e = await ev;
      assert.equal(e.status, 0);
      assert.equal(e.responseCodeDetails, 'inbound_mtls_required');
      assert.equal(e.allowed, false);
    } finally {
      engine.close();
      removeInbound(port);
      await close(server);
    }
  });
});

describe('a control plane that never answers', () => {
  test('requests wait at most readyTimeoutMs, then are refused with 503, never let through unchecked', async () => {
    // an xDS server address nobody listens on: the listener is never known
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const xds = new Xds({
      bootstrap: parseBootstrap(
        {
          xds_servers: [{ server_uri: `127.0.0.1:${deadPort}`, channel_creds: [{ type: 'insecure' }] }],
          node: { id: NODE_ID, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
        },
        'test',
      ),
      backoff: { initialMs: 60_000 },
    });
    const clock = new ManualClock();
    const engine = createInboundEngine({ xds, listenAddress: { ip: '127.0.0.1', port: 9080 }, clock });
    let reached = 0;
    const server = http.createServer(
      meshRequestListener(engine, (_req, res) => {
        reached++;
        res.end('app');
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: '/reviews/1' }, (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
      assert.equal(engine.isReady, false);
      clock.advance(15_000);
      const r = await response;
      assert.equal(r.status, 503);
      assert.equal(reached, 0, 'the application never saw the request');
      assert.equal(engine.state, 'pending');
    } finally {
      server.close();
      engine.close();
      xds.close();
    }
  });
});
