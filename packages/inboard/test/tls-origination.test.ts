// Istio's "Egress TLS Origination" task with the embedded control plane: a ServiceEntry for
// api.example.com (port 80 http, 443 https) whose endpoint is a node:https server on loopback
// with a certificate from a CA of its own, a VirtualService sending port 80 to 443, and a
// DestinationRule tls SIMPLE / MUTUAL on 443. The application calls `http://api.example.com/`;
// Inboard opens TLS to the server, verifies it against caCertificates, sends the SNI and, for
// MUTUAL, the client certificate.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { type HttpRequestEvent, REQUEST_CHANNEL } from '@inboard/http';
import { IstioStats, installMeshTelemetry, type MeshTelemetry } from '@inboard/telemetry';
import type { TargetSnapshot, TlsContext, XdsClientEvent } from '@inboard/xds';
import { TypeUrl } from '@inboard/xds/codec';
import { Inboard } from 'inboard';
import { request } from 'undici';
import { snapshotWhere, TestControlPlane } from './helpers.ts';

const CERTS = fileURLToPath(new URL('../../http/test/fixtures/', import.meta.url));
const file = (name: string) => join(CERTS, `${name}.pem`);
const read = (name: string) => readFileSync(file(name));
const CLUSTER = 'outbound|443||api.example.com';

/** The TLS context of the port 443 cluster in a snapshot of api.example.com:80. */
function tlsOf(s: TargetSnapshot): TlsContext | undefined {
  const c = s.clusters.get(CLUSTER);
  return c?.status === 'ok' ? c.cluster.tls : undefined;
}

interface Seen {
  /** the SNI the client sent (false: none) */
  readonly servername: string | false;
  /** subject CN of the client certificate the external CA verified ('' without one) */
  readonly clientCn: string;
  readonly host: string | undefined;
}

/**
 * api.example.com: a TLS server with the external CA's certificate. It asks every client for a
 * certificate from that CA and answers 403 without one on /mutual (a server that requires mTLS).
 */
async function apiServer(cert = 'api-example'): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer(
    {
      key: read(`${cert}-key`),
      cert: read(`${cert}-cert`),
      ca: read('external-ca-cert'),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const cert = socket.authorized ? socket.getPeerX509Certificate() : undefined;
      const clientCn = cert?.subject.match(/CN=(.*)/)?.[1] ?? '';
      seen.push({ servername: socket.servername as string | false, clientCn, host: req.headers.host });
      if (req.url?.startsWith('/mutual') && clientCn === '') res.writeHead(403);
      res.end(`api ${req.url}`);
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, seen };
}

/**
 * The task's ServiceEntry (`hosts`, ports 80 and 443), with the endpoint on loopback (STATIC,
 * where the task resolves DNS); `extra`: more spec lines.
 */
const externalService = (name: string, hosts: string, port: number, extra = '') => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${hosts}]
${extra}  ports:
  - {number: 80, name: http-port, protocol: HTTP}
  - {number: 443, name: https-port, protocol: HTTPS}
  resolution: STATIC
  location: MESH_EXTERNAL
  endpoints:
  - address: 127.0.0.1
    ports: {http-port: ${port}, https-port: ${port}}
`;

const serviceEntry = (httpsPort: number) => externalService('api', 'api.example.com', httpsPort);

const VIRTUAL_SERVICE = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  http:
  - match: [{port: 80}]
    route:
    - destination: {host: api.example.com, port: {number: 443}}
`;

/** DestinationRule with `tls` (YAML flow mapping) on port 443. */
const destinationRule = (tls: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: default}
spec:
  host: api.example.com
  trafficPolicy:
    portLevelSettings:
    - port: {number: 443}
      tls: ${tls}
`;

/** Another name for the same server, whose certificate does not cover it. */
const otherHost = (port: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: other, namespace: default}
spec:
  hosts: [other.example.org]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${port}}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: other, namespace: default}
spec:
  host: other.example.org
  trafficPolicy: {tls: {mode: SIMPLE, caCertificates: ${file('external-ca-cert')}}}
`;

describe('TLS origination: DestinationRule tls SIMPLE / MUTUAL with the embedded control plane', () => {
  const cp = new TestControlPlane();
  let api: Awaited<ReturnType<typeof apiServer>>;
  let mesh: Inboard;
  const stats = new IstioStats();
  let telemetry: MeshTelemetry;

  before(async () => {
    api = await apiServer();
    await cp.start({
      'se.yaml': serviceEntry(api.port),
      'vs.yaml': VIRTUAL_SERVICE,
      'dr.yaml': destinationRule(`{mode: SIMPLE, caCertificates: ${file('external-ca-cert')}}`),
      'other.yaml': otherHost(api.port),
    });
    mesh = await Inboard.start({
      env: {},
      controlPlane: cp.address,
      node: { app: 'sleep', namespace: 'default', serviceAccount: 'sleep' },
    });
    telemetry = installMeshTelemetry({
      mesh: mesh.outbound,
      inbound: false,
      istioMetrics: 'native',
      istioStats: stats,
      tracing: false,
    });
  });

  after(async () => {
    telemetry.close();
    await mesh.close();
    api.server.closeAllConnections();
    api.server.close();
    await cp.stop();
  });

  /** Applies the DestinationRule `tls` and waits until the client has the cluster that `arrived` recognises. */
  async function applyTls(tls: string, arrived: (t: TlsContext) => boolean): Promise<void> {
    await cp.apply({ 'dr.yaml': destinationRule(tls) });
    await snapshotWhere(mesh.xds.resolve('api.example.com:80'), (s) => {
      const t = tlsOf(s);
      return t !== undefined && arrived(t);
    });
  }

  async function get(path: string): Promise<{ status: number; body: string; flags: string | null }> {
    const res = await mesh.fetch(`http://api.example.com${path}`);
    return { status: res.status, body: await res.text(), flags: res.headers.get('x-inboard-response-flags') };
  }

  test('SIMPLE (the task): http://api.example.com → TLS to port 443, verified by caCertificates, SNI = the host', async () => {
    await snapshotWhere(mesh.xds.resolve('api.example.com:80'), (s) => tlsOf(s) !== undefined);
    const r = await get('/simple');
    assert.deepEqual(r, { status: 200, body: 'api /simple', flags: null });
    // no sni in the DestinationRule: auto SNI, the request's host; no client certificate
    assert.deepEqual(api.seen.at(-1), { servername: 'api.example.com', clientCn: '', host: 'api.example.com' });
    // Istio metrics: TLS origination presents no workload certificate, so no source principal
    const series = [...stats.all()].filter((x) => x.labels.destination_service === 'api.example.com');
    assert.deepEqual(
      series.map((x) => [x.labels.response_code, x.labels.source_principal]),
      [['200', 'unknown']],
    );
  });

  test('no sni and no subjectAltNames: the certificate must cover the request host (auto_san_validation), else 503 UF', async () => {
    const before = api.seen.length;
    const res = await mesh.fetch('http://other.example.org/auto-san');
    const body = await res.text();
    assert.equal(res.status, 503);
    assert.ok(res.headers.get('x-inboard-response-flags')?.split(',').includes('UF'));
    // worded as Envoy's default validator words a SAN list mismatch
    assert.match(
      body,
      /TLS error: INBOARD_HTTP_UPSTREAM_SAN_MISMATCH: verify cert failed: verify SAN list, expected SANs: \[other\.example\.org\], certificate SANs: \[DNS:api\.example\.com, DNS:\*\.api\.example\.com\]$/,
    );
    assert.equal(api.seen.length, before, 'nothing reached the server');
  });

  test('sni and subjectAltNames: the configured SNI is sent; a matching SAN passes, another fails 503 UF', async () => {
    const tls = (sans: string) =>
      `{mode: SIMPLE, caCertificates: ${file('external-ca-cert')}, sni: edge.example.net, subjectAltNames: [${sans}]}`;
    await applyTls(tls('api.example.com'), (t) => JSON.stringify(t.matchSubjectAltNames).includes('"api.example.com"'));
    const ok = await get('/san-match');
    assert.equal(ok.status, 200);
    assert.equal(api.seen.at(-1)?.servername, 'edge.example.net');

    await applyTls(tls('billing.example.com'), (t) =>
      JSON.stringify(t.matchSubjectAltNames).includes('"billing.example.com"'),
    );
    const before = api.seen.length;
    const bad = await get('/san-mismatch');
    assert.equal(bad.status, 503);
    assert.ok(bad.flags?.split(',').includes('UF'), `flags ${bad.flags}`);
    assert.match(
      bad.body,
      /^upstream connect error or disconnect\/reset before headers\. .*reset reason: remote connection failure, transport failure reason: TLS error: INBOARD_HTTP_UPSTREAM_SAN_MISMATCH: verify cert failed: SAN matcher, certificate SANs are \[DNS:api\.example\.com, DNS:\*\.api\.example\.com\]$/,
    );
    assert.equal(api.seen.length, before, 'nothing reached the server');
  });

  test('a server certificate the CA does not verify: 503 UF with the TLS error', async () => {
    await applyTls(
      `{mode: SIMPLE, caCertificates: ${file('root-cert')}}`,
      (t) => t.trustedCa?.source === file('root-cert'),
    );
    const r = await get('/wrong-ca');
    assert.equal(r.status, 503);
    assert.ok(r.flags?.split(',').includes('UF'), `flags ${r.flags}`);
    assert.match(
      r.body,
      /transport failure reason: TLS error: SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain$/,
    );
  });

  test('without caCertificates the system roots verify (and reject a private CA); insecureSkipVerify accepts it', async () => {
    await applyTls('{mode: SIMPLE}', (t) => t.systemRootCerts);
    const system = await get('/system-roots');
    assert.equal(system.status, 503);
    assert.match(system.body, /transport failure reason: TLS error: /);

    await applyTls('{mode: SIMPLE, insecureSkipVerify: true}', (t) => !t.verifyPeer);
    const insecure = await get('/insecure');
    assert.equal(insecure.status, 200);
    assert.equal(api.seen.at(-1)?.servername, 'api.example.com');
  });

  test('MUTUAL: the server that requires a client certificate sees the configured one', async () => {
    const mutual = `{mode: MUTUAL, caCertificates: ${file('external-ca-cert')}, clientCertificate: ${file('egress-client-cert')}, privateKey: ${file('egress-client-key')}}`;
    await applyTls(mutual, (t) => t.tlsCertificate !== undefined);
    const r = await get('/mutual');
    assert.deepEqual(r, { status: 200, body: 'api /mutual', flags: null });
    assert.deepEqual(api.seen.at(-1), {
      servername: 'api.example.com',
      clientCn: 'inboard-egress-client',
      host: 'api.example.com',
    });
  });

  test('an unreadable caCertificates file: the CDS update is NACKed with the reason, the last good cluster serves', async () => {
    await applyTls(
      `{mode: SIMPLE, caCertificates: ${file('external-ca-cert')}}`,
      (t) => t.tlsCertificate === undefined,
    );
    assert.equal((await get('/good')).status, 200);
    // SIMPLE presents no client certificate: the server that requires one refuses
    assert.equal((await get('/mutual-without-certificate')).status, 403);

    const missing = file('no-such-ca');
    const nack = new Promise<XdsClientEvent & { error: string | undefined }>((resolve) => {
      const off = mesh.xds.client.onEvent((e) => {
        if (e.kind === 'nack' && e.typeUrl === TypeUrl.Cluster) {
          off();
          resolve(e);
        }
      });
    });
    await cp.apply({ 'dr.yaml': destinationRule(`{mode: SIMPLE, caCertificates: ${missing}}`) });
    const e = await nack;
    assert.match(
      e.error ?? '',
      new RegExp(
        `${CLUSTER.replace(/\|/g, '\\|')}.*common_tls_context\\.validation_context\\.trusted_ca\\.filename: cannot read "${missing}": ENOENT`,
      ),
    );
    const r = await get('/after-nack');
    assert.equal(r.status, 200, 'the last good cluster keeps serving');
  });
});

/** A host served by `port` over TLS (SIMPLE, auto SNI and SAN), reached on port 80 as the task does. */
const originated = (
  name: string,
  hosts: string,
  port: number,
  extra = '',
  tls = `{mode: SIMPLE, caCertificates: ${file('external-ca-cert')}}`,
  connectionPool = '',
) => `${externalService(name, hosts, port, extra)}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: default}
spec:
  host: ${hosts.split(',')[0]!.trim()}
  trafficPolicy:
    portLevelSettings:
    - port: {number: 443}
      tls: ${tls}
${connectionPool === '' ? '' : `      connectionPool: ${connectionPool}\n`}`;

/** A VirtualService sending port 80 of `host` to port 443 of `to`, with more of the HTTP route. */
const toTls = (name: string, host: string, to: string, more = '') => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${host}]
  http:
  - route:
    - destination: {host: ${to}, port: {number: 443}}
${more}`;

/** The next request mirror's event (published once the copy has ended, delivered or failed). */
function nextMirror(): Promise<HttpRequestEvent> {
  return new Promise((resolve) => {
    const listener = (message: unknown) => {
      const e = message as HttpRequestEvent;
      if (e.kind !== 'mirror') return;
      diagnosticsChannel.unsubscribe(REQUEST_CHANNEL, listener);
      resolve(e);
    };
    diagnosticsChannel.subscribe(REQUEST_CHANNEL, listener);
  });
}

describe('TLS origination: the host that auto SNI and auto SAN validation take', () => {
  const cp = new TestControlPlane();
  let api: Awaited<ReturnType<typeof apiServer>>;
  let ipServer: Awaited<ReturnType<typeof apiServer>>;
  let mirrored: Awaited<ReturnType<typeof apiServer>>;
  let mesh: Inboard;

  before(async () => {
    api = await apiServer();
    ipServer = await apiServer('api-ip');
    // its certificate names IP addresses only
    mirrored = await apiServer('api-ip');
    await cp.start({
      'api.yaml': originated('api', 'api.example.com', api.port),
      'api-vs.yaml': toTls('api', 'api.example.com', 'api.example.com'),
      // a VIP service whose certificate names its first address only (IP SANs, no DNS SAN)
      'vip.yaml': originated('vip', 'vip.example.com', ipServer.port, '  addresses: [240.0.0.1, 240.0.0.2]\n'),
      'vip-vs.yaml': toTls('vip', 'vip.example.com', 'vip.example.com'),
      // a Kubernetes service called by its short name, `inboard`, that the api certificate does not cover
      'short.yaml': originated('short', 'inboard.default.svc.cluster.local', api.port),
      'short-vs.yaml': toTls('short', 'inboard', 'inboard'),
      // a legacy name rewritten to the api host
      'legacy.yaml': originated('legacy', 'legacy.example.org', api.port),
      'legacy-vs.yaml': toTls(
        'legacy',
        'legacy.example.org',
        'api.example.com',
        '    rewrite: {authority: api.example.com}\n',
      ),
      // mirrors of shop.api.example.com to a verifying and to an insecureSkipVerify cluster
      'shop.yaml': originated('shop', 'shop.api.example.com', api.port),
      'shop-vs.yaml': toTls(
        'shop',
        'shop.api.example.com',
        'shop.api.example.com',
        '    mirror: {host: mirror.example.com, port: {number: 443}}\n',
      ),
      'lax.yaml': originated('lax', 'lax.api.example.com', api.port),
      'lax-vs.yaml': toTls(
        'lax',
        'lax.api.example.com',
        'lax.api.example.com',
        '    mirror: {host: lax-mirror.example.com, port: {number: 443}}\n',
      ),
      'mirror.yaml': originated('mirror', 'mirror.example.com', mirrored.port),
      'lax-mirror.yaml': originated(
        'lax-mirror',
        'lax-mirror.example.com',
        mirrored.port,
        '',
        '{mode: SIMPLE, insecureSkipVerify: true}',
      ),
    });
    mesh = await Inboard.start({
      env: {},
      controlPlane: cp.address,
      node: { app: 'sleep', namespace: 'default', serviceAccount: 'sleep' },
    });
    for (const target of [
      'api.example.com:80',
      'vip.example.com:80',
      'inboard:80',
      'legacy.example.org:80',
      'shop.api.example.com:80',
      'lax.api.example.com:80',
    ])
      await snapshotWhere(mesh.xds.resolve(target), (s) =>
        [...s.clusters.values()].some((c) => c.status === 'ok' && c.cluster.tls !== undefined),
      );
  });

  after(async () => {
    await mesh.close();
    for (const s of [api, ipServer, mirrored]) {
      s.server.closeAllConnections();
      s.server.close();
    }
    await cp.stop();
  });

  async function get(url: string, host?: string): Promise<{ status: number; body: string; flags: string | null }> {
    const res = await request(url, {
      dispatcher: mesh.dispatcher,
      headers: host === undefined ? {} : { host },
    });
    const flags = res.headers['x-inboard-response-flags'];
    return { status: res.statusCode, body: await res.body.text(), flags: typeof flags === 'string' ? flags : null };
  }

  test('an IP Host: no SNI, and the certificate must carry that IP as an IP SAN (else 503 UF)', async () => {
    const ok = await get('http://vip.example.com/by-ip', '240.0.0.1');
    assert.deepEqual(ok, { status: 200, body: 'api /by-ip', flags: null });
    assert.deepEqual(ipServer.seen.at(-1), { servername: false, clientCn: '', host: '240.0.0.1' });

    const before = ipServer.seen.length;
    const bad = await get('http://vip.example.com/other-ip', '240.0.0.2:80');
    assert.equal(bad.status, 503);
    assert.ok(bad.flags?.split(',').includes('UF'), `flags ${bad.flags}`);
    assert.match(
      bad.body,
      /transport failure reason: TLS error: INBOARD_HTTP_UPSTREAM_SAN_MISMATCH: verify cert failed: verify SAN list, expected SANs: \[240\.0\.0\.2\], certificate SANs: \[IP:240\.0\.0\.1, IP:2001:db8::1\]$/,
    );
    // and the name: no DNS SAN covers it
    assert.equal((await get('http://vip.example.com/by-name')).status, 503);
    assert.equal(ipServer.seen.length, before, 'nothing reached the server');
  });

  test('a host named `inboard` is a host like any other: sent as SNI and checked against the certificate', async () => {
    const before = api.seen.length;
    const r = await get('http://inboard/short-name');
    assert.equal(r.status, 503);
    assert.match(
      r.body,
      /verify SAN list, expected SANs: \[inboard\], certificate SANs: \[DNS:api\.example\.com, DNS:\*\.api\.example\.com\]$/,
    );
    assert.equal(api.seen.length, before, 'nothing reached the server');
  });

  test("a route's host rewrite: SNI and SAN check take the rewritten Host, as Envoy's router", async () => {
    const r = await get('http://legacy.example.org/rewritten');
    assert.deepEqual(r, { status: 200, body: 'api /rewritten', flags: null });
    assert.deepEqual(api.seen.at(-1), { servername: 'api.example.com', clientCn: '', host: 'api.example.com' });
  });

  test('a mirror takes auto SNI and SAN from its own Host (istiod disables the `-shadow` suffix): a certificate that does not cover it gets no copy', async () => {
    // insecureSkipVerify (auto SNI, no SAN check): the copy arrives with the mirror's Host as SNI
    let mirror = nextMirror();
    const lax = await get('http://lax.api.example.com/lax');
    assert.equal(lax.status, 200);
    const delivered = await mirror;
    assert.equal(delivered.status, 200);
    assert.deepEqual(mirrored.seen, [{ servername: 'lax.api.example.com', clientCn: '', host: 'lax.api.example.com' }]);

    // a verifying cluster: `shop.api.example.com` is not in the certificate, the copy fails
    mirror = nextMirror();
    const shop = await get('http://shop.api.example.com/shop');
    assert.deepEqual(shop, { status: 200, body: 'api /shop', flags: null });
    const failed = await mirror;
    assert.equal(failed.cluster, 'outbound|443||mirror.example.com');
    assert.deepEqual(failed.flags, ['UF']);
    assert.match(String(failed.error?.message), /expected SANs: \[shop\.api\.example\.com\]/);
    assert.equal(mirrored.seen.length, 1, 'the copy never reached the mirror server');
  });
});

describe('TLS origination: a connection serves one SNI', () => {
  // one cluster (auto SNI: each request's host is its SNI and must be in the certificate) serving
  // two hosts, with a connection cap; the certificate covers *.api.example.com, not y.example.org
  const cp = new TestControlPlane();
  let mesh: Inboard;
  let server: Server;
  const held: ServerResponse[] = [];
  let twoHeld!: () => void;
  const bothHeld = new Promise<void>((resolve) => {
    twoHeld = resolve;
  });
  const seen: { host: string | undefined; sni: string | false }[] = [];

  before(async () => {
    server = createServer({ key: read('api-example-key'), cert: read('api-example-cert') }, (req, res) => {
      seen.push({ host: req.headers.host, sni: (req.socket as TLSSocket).servername as string | false });
      if (!req.url?.startsWith('/hold')) return void res.end(`api ${req.url}`);
      held.push(res);
      if (held.length === 2) twoHeld();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const tls = `{mode: SIMPLE, caCertificates: ${file('external-ca-cert')}}`;
    await cp.start({
      'pooled.yaml': originated('pooled', 'pooled.api.example.com', port, '', tls, '{tcp: {maxConnections: 2}}'),
      'vs.yaml': toTls('pooled', 'x.api.example.com, y.example.org', 'pooled.api.example.com'),
      'hosts.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: callers, namespace: default}
spec:
  hosts: [x.api.example.com, y.example.org]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
`,
    });
    mesh = await Inboard.start({
      env: {},
      controlPlane: cp.address,
      node: { app: 'sleep', namespace: 'default', serviceAccount: 'sleep' },
    });
    for (const target of ['x.api.example.com:80', 'y.example.org:80']) {
      await snapshotWhere(mesh.xds.resolve(target), (s) =>
        [...s.clusters.values()].some((c) => c.status === 'ok' && c.cluster.tls !== undefined),
      );
    }
  });

  after(async () => {
    for (const r of held) r.destroy();
    await mesh.close();
    server.closeAllConnections();
    server.close();
    await cp.stop();
  });

  test("a request for a host the certificate does not cover never rides a connection opened with another host's SNI", async () => {
    // both connections the cap allows, busy with x
    const x = [mesh.fetch('http://x.api.example.com/hold-1'), mesh.fetch('http://x.api.example.com/hold-2')];
    await bothHeld;
    // y waits for a connection; x's free up after it asked
    const y = mesh.fetch('http://y.example.org/y');
    for (const r of held) r.end('released');
    for (const r of await Promise.all(x)) assert.equal(r.status, 200);
    const res = await y;
    const body = await res.text();
    assert.equal(res.status, 503, body);
    assert.ok(res.headers.get('x-inboard-response-flags')?.split(',').includes('UF'));
    assert.deepEqual(
      seen.filter((s) => s.host === 'y.example.org'),
      [],
      'nothing for y reached the server (its certificate does not cover y)',
    );
    assert.ok(
      seen.every((s) => s.sni === s.host),
      JSON.stringify(seen),
    );
  });
});
