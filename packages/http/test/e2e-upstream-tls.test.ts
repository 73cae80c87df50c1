// Upstream TLS (Istio mTLS, ISTIO_MUTUAL) from the cluster's transport_socket, end to end: a real
// ADS server sends clusters carrying istiod's UpstreamTlsContext, the bootstrap's file_watcher
// certificate provider "default" points at the fixture certificates (client: productpage), and
// real node:https / node:http2 servers that require a client certificate from the mesh root
// answer on loopback. The application keeps calling `http://reviews:9080`.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer, type Server, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { AdsServer, Snapshot } from '@inboard/control-plane';
import { type Bootstrap, type FileWatcherCertificateProvider, ManualClock, parseBootstrap, Xds } from '@inboard/xds';
import type { envoy } from '@inboard/xds/codec';
import { packAny } from '@inboard/xds/codec';
import { request } from 'undici';
import { ipSanText, requestHostCheck, serverIdentityCheck } from '../src/cluster/san-matcher.ts';
import { UpstreamSanMismatchError } from '../src/dispatch/errors.ts';
import {
  type HttpRequestEvent,
  OutboundMesh,
  type OutboundMeshOptions,
  REQUEST_CHANNEL,
  UpstreamResetError,
} from '../src/index.ts';
import {
  type ClusterConfig,
  cluster,
  forward,
  meshMessages,
  NODE_ID,
  respond,
  type ServiceConfig,
  Upstream,
  until,
} from './e2e-fixtures.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const pem = (name: string) => join(FIXTURES, `${name}.pem`);
const read = (name: string) => readFileSync(pem(name));
const spiffe = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;
const MISSING_CERT = join(FIXTURES, 'does-not-exist-cert.pem');

// ------------------------------------------------------------------ TLS upstreams

interface SeenTls {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** URI SANs of the verified client certificate */
  readonly clientSans: string;
  /** SNI the client sent (false: none) */
  readonly servername: string | false;
  /** negotiated ALPN (false: none) */
  readonly alpn: string | false;
  readonly httpVersion: string;
}

type TlsRequest = IncomingMessage | Http2ServerRequest;
type TlsResponse = ServerResponse | Http2ServerResponse;

/** A TLS server on 127.0.0.1:0 that requires a client certificate from the mesh root. */
class TlsUpstream {
  readonly name: string;
  readonly seen: SeenTls[] = [];
  /** TCP connections accepted */
  connections = 0;
  readonly server: Server | ReturnType<typeof createSecureServer>;
  /** (an Http2ServerResponse for HTTP/2 requests: the same writeHead / end) */
  handler: (req: TlsRequest, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(this.name);
  };

  constructor(name: string, serverCert: string, options: { h2?: boolean; alpn?: string[] } = {}) {
    this.name = name;
    const tls: ServerOptions = {
      key: read(`${serverCert}-key`),
      cert: read(`${serverCert}-cert`),
      ca: read('root-cert'),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    };
    if (options.alpn !== undefined) tls.ALPNProtocols = options.alpn;
    const onRequest = (req: TlsRequest, res: TlsResponse) => {
      const socket = req.socket as TLSSocket;
      this.seen.push({
        url: req.url ?? '',
        headers: req.headers,
        clientSans: socket.getPeerX509Certificate()?.subjectAltName ?? '',
        servername: socket.servername as string | false,
        alpn: socket.alpnProtocol ?? false,
        httpVersion: req.httpVersion,
      });
      req.resume();
      req.on('end', () => this.handler(req, res as ServerResponse));
    };
    this.server = options.h2
      ? createSecureServer({ ...tls, allowHTTP1: true }, onRequest)
      : createServer(tls, onRequest);
    this.server.on('connection', () => this.connections++);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server as Server;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ------------------------------------------------------------------ xDS

interface TlsShape {
  /** match_subject_alt_names (exact), as istiod writes them */
  readonly sans?: readonly string[];
  /** typed matchers instead (match_typed_subject_alt_names, URI) */
  readonly typedSans?: readonly envoy.type_matcher_v3_StringMatcher$In[];
  readonly identity?: string;
  readonly sni?: string;
  readonly alpn?: readonly string[];
}

/** istiod's proxyless UpstreamTlsContext (grpcgen buildCommonTLSContext), both field generations. */
function istioMutual(shape: TlsShape): envoy.config_core_v3_TransportSocket$In {
  const identity = { instance_name: shape.identity ?? 'default', certificate_name: 'default' };
  const root = { instance_name: 'default', certificate_name: 'ROOTCA' };
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: packAny('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
      common_tls_context: {
        tls_certificate_provider_instance: identity,
        tls_certificate_certificate_provider_instance: identity,
        combined_validation_context: {
          default_validation_context: {
            match_subject_alt_names: (shape.sans ?? []).map((exact) => ({ exact })),
            match_typed_subject_alt_names: (shape.typedSans ?? []).map((matcher) => ({ san_type: 3, matcher })),
            ca_certificate_provider_instance: root,
          },
          validation_context_certificate_provider_instance: root,
        },
        alpn_protocols: [...(shape.alpn ?? [])],
      },
      sni: shape.sni ?? '',
    }),
  };
}

function provider(cert: string, key: string, refreshIntervalMs = 600_000): FileWatcherCertificateProvider {
  return {
    pluginName: 'file_watcher',
    certificateFile: cert,
    privateKeyFile: key,
    caCertificateFile: pem('root-cert'),
    refreshIntervalMs,
  };
}

function bootstrap(port: number): Bootstrap {
  const fileWatcher = (cert: string) => ({
    plugin_name: 'file_watcher',
    config: {
      certificate_file: cert,
      private_key_file: pem('productpage-key'),
      ca_certificate_file: pem('root-cert'),
      refresh_interval: '600s',
    },
  });
  return parseBootstrap(
    {
      xds_servers: [
        { server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
      ],
      node: { id: NODE_ID, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
      certificate_providers: {
        default: fileWatcher(pem('productpage-cert')),
        // a provider whose certificate file is gone (istio-agent not running, wrong mount)
        broken: fileWatcher(MISSING_CERT),
      },
    },
    'test',
  );
}

// ------------------------------------------------------------------ the mesh under test

const reviews = new TlsUpstream('reviews', 'reviews', { alpn: ['istio-http/1.1', 'http/1.1'] });
const stranger = new TlsUpstream('stranger', 'stranger');
const reviewsH2 = new TlsUpstream('reviews-h2', 'reviews', { h2: true });
const plain = new Upstream('plain');
const ads = new AdsServer();
let xds: Xds;
let mesh: OutboundMesh;
let version = 0;

const service = (name: string): ServiceConfig => ({
  name,
  port: 9080,
  routes: [{ name: 'all', match: { prefix: '/' }, route: forward(cluster(name, 9080)) }],
});

const SERVICES = ['reviews', 'wrongsan', 'stranger', 'plain', 'broken', 'sidecar', 'prefixed', 'grpcish'];

function tlsCluster(name: string, port: number, shape: TlsShape | undefined, extra = {}): ClusterConfig {
  return {
    name: cluster(name, 9080),
    endpoints: [{ port }],
    extra: { ...(shape === undefined ? {} : { transport_socket: istioMutual(shape) }), ...extra },
  };
}

function clusters(reviewsShape: TlsShape = { sans: [spiffe('reviews')] }): ClusterConfig[] {
  return [
    tlsCluster('reviews', reviews.port, reviewsShape),
    // the same endpoint, but the destination rule names another identity
    tlsCluster('wrongsan', reviews.port, { sans: [spiffe('ratings')] }),
    tlsCluster('stranger', stranger.port, { sans: [spiffe('productpage')] }),
    tlsCluster('plain', plain.port, undefined),
    tlsCluster('broken', reviews.port, { sans: [spiffe('reviews')], identity: 'broken' }),
    // what an Envoy sidecar client sends: SNI and Istio's ALPN
    tlsCluster('sidecar', reviews.port, {
      sans: [spiffe('reviews')],
      sni: 'outbound_.9080_._.reviews.default.svc.cluster.local',
      alpn: ['istio-http/1.1', 'istio', 'http/1.1'],
    }),
    tlsCluster('prefixed', reviews.port, {
      typedSans: [{ prefix: 'SPIFFE://CLUSTER.LOCAL/ns/default/', ignore_case: true }],
    }),
    tlsCluster(
      'grpcish',
      reviewsH2.port,
      { sans: [spiffe('reviews')] },
      {
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': packAny(
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            { explicit_http_config: { http2_protocol_options: {} } },
          ),
        },
      },
    ),
  ];
}

function push(cs: ClusterConfig[] = clusters()): void {
  version++;
  ads.cache.setSnapshot(NODE_ID, Snapshot.fromMessages(meshMessages(SERVICES.map(service), cs, String(version))));
}

function newMesh(options: Omit<OutboundMeshOptions, 'xds' | 'bootstrap'> = {}): OutboundMesh {
  return new OutboundMesh({ ...options, xds });
}

before(async () => {
  for (const u of [reviews, stranger, reviewsH2]) await u.start();
  await plain.start();
  push();
  const port = await ads.start();
  xds = new Xds({ bootstrap: bootstrap(port), backoff: { initialMs: 20, maxMs: 100 } });
  mesh = newMesh();
  for (const s of SERVICES) assert.ok(await mesh.ready(`${s}:9080`), `${s} resolves`);
});

after(async () => {
  await mesh.close();
  xds.close();
  await ads.stop({ graceMs: 100 });
  for (const u of [reviews, stranger, reviewsH2]) await u.stop();
  await plain.stop();
});

interface Outcome {
  readonly status: number;
  readonly flags: string | undefined;
  readonly body: string;
  readonly event: HttpRequestEvent;
}

/** GET through `m`, with the request's telemetry event. */
async function get(url: string, m: OutboundMesh = mesh): Promise<Outcome> {
  const events: HttpRequestEvent[] = [];
  const on = (msg: unknown) => events.push(msg as HttpRequestEvent);
  diagnosticsChannel.subscribe(REQUEST_CHANNEL, on);
  try {
    const path = new URL(url).pathname;
    const r = await request(url, { dispatcher: m.dispatcher });
    const body = await r.body.text();
    await until(() => events.some((e) => e.path === path));
    const flags = r.headers['x-inboard-response-flags'];
    return {
      status: r.statusCode,
      flags: typeof flags === 'string' ? flags : undefined,
      body,
      event: events.find((e) => e.path === path)!,
    };
  } finally {
    diagnosticsChannel.unsubscribe(REQUEST_CHANNEL, on);
  }
}

// ------------------------------------------------------------------ tests

describe('upstream TLS from the cluster (ISTIO_MUTUAL)', () => {
  test('an http:// request reaches the https upstream with the workload certificate and the logical Host', async () => {
    const before = reviews.seen.length;
    const r = await get('http://reviews:9080/reviews/1');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'reviews');
    assert.equal(r.flags, undefined);
    const seen = reviews.seen.at(-1)!;
    assert.equal(reviews.seen.length, before + 1);
    assert.equal(seen.clientSans, `URI:${spiffe('productpage')}`);
    assert.equal(seen.headers.host, 'reviews:9080');
    assert.equal(seen.url, '/reviews/1');
    // istiod sets neither SNI nor ALPN: none is sent (never the endpoint IP as SNI)
    assert.equal(seen.servername, false);
    assert.equal(seen.alpn, false);
    // the request keeps the caller's scheme; the endpoint is the TLS one
    assert.equal(r.event.endpoint, `127.0.0.1:${reviews.port}`);
    assert.equal(r.event.cluster, cluster('reviews', 9080));
  });

  test("the context's SNI and ALPN are sent when set", async () => {
    const r = await get('http://sidecar:9080/s');
    assert.equal(r.status, 200);
    const seen = reviews.seen.at(-1)!;
    assert.equal(seen.url, '/s');
    assert.equal(seen.servername, 'outbound_.9080_._.reviews.default.svc.cluster.local');
    assert.equal(seen.alpn, 'istio-http/1.1');
    assert.equal(seen.headers.host, 'sidecar:9080');
  });

  test('typed SAN matchers (prefix, ignore_case) accept the server identity', async () => {
    const r = await get('http://prefixed:9080/p');
    assert.equal(r.status, 200);
    assert.equal(reviews.seen.at(-1)!.url, '/p');
  });

  test('an HTTP/2 cluster negotiates h2 over TLS', async () => {
    const r = await get('http://grpcish:9080/h2');
    assert.equal(r.status, 200);
    const seen = reviewsH2.seen.at(-1)!;
    assert.equal(seen.httpVersion, '2.0');
    assert.equal(seen.alpn, 'h2');
    assert.equal(seen.clientSans, `URI:${spiffe('productpage')}`);
    assert.equal(seen.headers[':authority'], 'grpcish:9080');
  });

  test('a server identity outside match_subject_alt_names fails the handshake: 503 UF, retried, nothing sent', async () => {
    // reviews' endpoint already has a verified keep-alive connection (previous tests): a cluster
    // with another TLS context must not share it
    assert.equal((await get('http://reviews:9080/warm')).status, 200);
    const requests = reviews.seen.length;
    const connections = reviews.connections;
    const r = await get('http://wrongsan:9080/w');
    assert.equal(r.status, 503);
    assert.equal(r.flags, 'UF,URX');
    assert.match(r.body, /reset reason: remote connection failure, transport failure reason: TLS error: /);
    assert.match(r.body, new RegExp(`URI:${spiffe('reviews')}`));
    assert.match(r.event.details, /^upstream_reset_before_response_started\{remote_connection_failure\|TLS_error:_/);
    assert.ok(r.event.error instanceof UpstreamResetError);
    assert.equal(r.event.error.resetReason, 'remote_connection_failure');
    assert.equal(r.event.attempts, 3, "Istio's retry policy retries connect failures twice");
    assert.equal(reviews.seen.length, requests, 'no request reached the server');
    assert.equal(reviews.connections, connections + 3, 'a new connection per attempt');
  });

  test('a server certificate from another CA fails the handshake: 503 UF', async () => {
    const r = await get('http://stranger:9080/x');
    assert.equal(r.status, 503);
    assert.equal(r.flags, 'UF,URX');
    assert.match(r.body, /TLS error: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    assert.match(r.event.details, /\{remote_connection_failure\|TLS_error:_UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    assert.equal(stranger.seen.length, 0);
  });

  test('a cluster without tls stays plaintext', async () => {
    const r = await get('http://plain:9080/plain');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'plain');
    assert.equal(plain.seen.at(-1)!.headers.host, 'plain:9080');
  });

  test('a missing certificate file: 503 UF naming the file; other clusters keep working', async () => {
    const requests = reviews.seen.length;
    const connections = reviews.connections;
    const r = await get('http://broken:9080/b');
    assert.equal(r.status, 503);
    assert.equal(r.flags, 'UF,URX');
    assert.ok(r.body.includes(MISSING_CERT), r.body);
    assert.match(r.body, /reset reason: local connection failure/);
    assert.match(r.body, /certificate provider instance "broken"/);
    assert.match(
      r.event.details,
      /^upstream_reset_before_response_started\{local_connection_failure\|TLS_error:_cannot_read/,
    );
    assert.equal(reviews.connections, connections, 'no connection was attempted');
    assert.equal(reviews.seen.length, requests);

    assert.equal((await get('http://reviews:9080/still')).status, 200);
    assert.equal((await get('http://plain:9080/still')).status, 200);
  });

  test('a provider instance missing from `certificateProviders`: 503 naming the instance', async () => {
    const m = newMesh({ certificateProviders: {} });
    try {
      const r = await get('http://reviews:9080/no-provider', m);
      assert.equal(r.status, 503);
      assert.ok(r.flags?.split(',').includes('UF'));
      assert.match(r.body, /certificate provider instance "default" is not in the bootstrap/);
      assert.equal((await get('http://plain:9080/no-provider', m)).status, 200);
    } finally {
      await m.close();
    }
  });

  test('a new TLS context in a snapshot applies to new connections only through new pools', async () => {
    assert.equal((await get('http://reviews:9080/before')).status, 200);
    const gen = mesh.target('reviews:9080').compiled!.generation;
    push(clusters({ sans: [spiffe('ratings')] }));
    await until(() => (mesh.target('reviews:9080').compiled?.generation ?? 0) > gen);
    const requests = reviews.seen.length;
    const r = await get('http://reviews:9080/changed');
    assert.equal(r.status, 503, 'the verified keep-alive connection of the old context is not reused');
    assert.equal(r.flags, 'UF,URX');
    assert.equal(reviews.seen.length, requests);

    const gen2 = mesh.target('reviews:9080').compiled!.generation;
    push();
    await until(() => (mesh.target('reviews:9080').compiled?.generation ?? 0) > gen2);
    assert.equal((await get('http://reviews:9080/restored')).status, 200);
  });

  test('rotated certificate files are picked up after the refresh interval, by new connections', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inboard-upstream-tls-'));
    const cert = join(dir, 'cert-chain.pem');
    const key = join(dir, 'key.pem');
    const install = (sa: string) => {
      copyFileSync(pem(`${sa}-cert`), cert);
      copyFileSync(pem(`${sa}-key`), key);
    };
    install('productpage');
    const clock = new ManualClock();
    const m = newMesh({ clock, certificateProviders: { default: provider(cert, key, 60_000) } });
    // every response closes its connection, so each request makes a new one
    reviews.handler = (req, res) => respond(res, 200, req.url ?? '', { connection: 'close' });
    try {
      assert.equal((await get('http://reviews:9080/rotate-1', m)).status, 200);
      assert.equal(reviews.seen.at(-1)!.clientSans, `URI:${spiffe('productpage')}`);

      install('ratings'); // istio-agent wrote a new certificate
      assert.equal((await get('http://reviews:9080/rotate-2', m)).status, 200);
      assert.equal(reviews.seen.at(-1)!.clientSans, `URI:${spiffe('productpage')}`, 'not re-read before the interval');

      clock.advance(60_000);
      assert.equal((await get('http://reviews:9080/rotate-3', m)).status, 200);
      assert.equal(reviews.seen.at(-1)!.url, '/rotate-3');
      assert.equal(reviews.seen.at(-1)!.clientSans, `URI:${spiffe('ratings')}`);

      // a broken rotation keeps the previous certificates
      rmSync(cert);
      clock.advance(60_000);
      assert.equal((await get('http://reviews:9080/rotate-4', m)).status, 200);
      assert.equal(reviews.seen.at(-1)!.clientSans, `URI:${spiffe('ratings')}`);
    } finally {
      reviews.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('reviews');
      };
      await m.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('server identity check (match_subject_alt_names)', () => {
  const cert = (sans: string) => ({ subjectaltname: sans }) as PeerCertificate;
  const ISTIO = cert(`URI:${spiffe('reviews')}`);
  const exact = (value: string, ignoreCase = false) => ({ kind: 'exact' as const, value, ignoreCase });

  test('no matchers: any certificate the CA verified', () => {
    assert.equal(serverIdentityCheck([])('10.0.0.7', ISTIO), undefined);
  });

  test('exact / prefix / suffix / contains / regex / ignore_case over URI SANs', () => {
    const ok = (m: Parameters<typeof serverIdentityCheck>[0]) => serverIdentityCheck(m)('10.0.0.7', ISTIO);
    assert.equal(ok([exact(spiffe('ratings')), exact(spiffe('reviews'))]), undefined);
    assert.equal(ok([{ kind: 'prefix', value: 'spiffe://cluster.local/', ignoreCase: false }]), undefined);
    assert.equal(ok([{ kind: 'suffix', value: '/SA/REVIEWS', ignoreCase: true }]), undefined);
    assert.equal(ok([{ kind: 'contains', value: '/ns/default/', ignoreCase: false }]), undefined);
    assert.equal(ok([{ kind: 'regex', regex: 'spiffe://cluster\\.local/ns/[a-z]+/sa/rev.*' }]), undefined);
    assert.ok(ok([exact(spiffe('REVIEWS'))]) instanceof UpstreamSanMismatchError);
    assert.ok(ok([{ kind: 'regex', regex: 'cluster\\.local' }]) instanceof UpstreamSanMismatchError, 'full match');
  });

  test('DNS SANs: an exact matcher accepts a one-label wildcard', () => {
    const c = cert('DNS:*.example.com, DNS:other.test');
    const check = (m: Parameters<typeof serverIdentityCheck>[0]) => serverIdentityCheck(m)('10.0.0.7', c);
    assert.equal(check([exact('api.example.com')]), undefined);
    assert.equal(check([exact('OTHER.test')]), undefined, 'DNS names compare case-insensitively');
    assert.ok(check([exact('a.b.example.com')]) instanceof UpstreamSanMismatchError);
    const err = check([exact(spiffe('reviews'))]);
    assert.ok(err instanceof UpstreamSanMismatchError);
    assert.deepEqual(err.subjectAltNames, ['DNS:*.example.com', 'DNS:other.test']);
  });

  test('IP and email SANs: matchers apply to them as to URI SANs (Envoy reads DNS, URI, email and IP SANs)', () => {
    const c = cert('IP Address:10.0.0.7, IP Address:2001:DB8:0:0:0:0:0:1, email:ops@example.com');
    const check = (m: Parameters<typeof serverIdentityCheck>[0]) => serverIdentityCheck(m)('10.0.0.7', c);
    assert.equal(check([exact('10.0.0.7')]), undefined);
    assert.equal(check([exact('2001:db8::1')]), undefined, 'IPv6 as Envoy writes it');
    assert.equal(check([{ kind: 'prefix', value: '10.0.', ignoreCase: false }]), undefined);
    assert.equal(check([exact('ops@example.com')]), undefined);
    const err = check([exact('10.0.0.8')]);
    assert.ok(err instanceof UpstreamSanMismatchError);
    assert.equal(
      err.message,
      'verify cert failed: SAN matcher, certificate SANs are [email:ops@example.com, IP:10.0.0.7, IP:2001:db8::1]',
    );
  });

  test('the request host (auto_san_validation): DNS rules for DNS SANs, exact for IP SANs', () => {
    const c = cert('DNS:*.example.com, IP Address:240.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.equal(requestHostCheck('api.example.com')('10.0.0.7', c), undefined);
    assert.equal(requestHostCheck('240.0.0.1')('10.0.0.7', c), undefined);
    assert.equal(requestHostCheck('::1')('10.0.0.7', c), undefined);
    const err = requestHostCheck('240.0.0.2')('10.0.0.7', c);
    assert.ok(err instanceof UpstreamSanMismatchError);
    assert.deepEqual(err.expected, ['240.0.0.2']);
    assert.equal(
      err.message,
      'verify cert failed: verify SAN list, expected SANs: [240.0.0.2], certificate SANs: [DNS:*.example.com, IP:240.0.0.1, IP:::1]',
    );
  });

  test('IPv6 SANs as inet_ntop writes them', () => {
    assert.equal(ipSanText('127.0.0.1'), '127.0.0.1');
    assert.equal(ipSanText('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(ipSanText('2001:DB8:0:0:0:0:0:ABCD'), '2001:db8::abcd');
    assert.equal(ipSanText('2001:DB8:0:1:0:0:0:1'), '2001:db8:0:1::1');
    assert.equal(ipSanText('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
    assert.equal(ipSanText('1:0:2:3:4:5:6:7'), '1:0:2:3:4:5:6:7');
    assert.equal(ipSanText('0:0:0:0:0:0:0:0'), '::');
    assert.equal(ipSanText('0:0:0:0:0:FFFF:7F00:1'), '::ffff:127.0.0.1');
  });

  test('a certificate without SANs matches nothing', () => {
    assert.ok(serverIdentityCheck([exact('x')])('10.0.0.7', cert(undefined as unknown as string)) instanceof Error);
  });
});
