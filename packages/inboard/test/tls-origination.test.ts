// Istio's "Egress TLS Origination" task with the embedded control plane: a ServiceEntry for
// api.example.com (port 80 http, 443 https) whose endpoint is a node:https server on loopback
// with a certificate from a CA of its own, a VirtualService sending port 80 to 443, and a
// DestinationRule tls SIMPLE / MUTUAL on 443. The application calls `http://api.example.com/`;
// Inboard opens TLS to the server, verifies it against caCertificates, sends the SNI and, for
// MUTUAL, the client certificate.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { IstioStats, installMeshTelemetry, type MeshTelemetry } from '@inboard/telemetry';
import type { TargetSnapshot, TlsContext, XdsClientEvent } from '@inboard/xds';
import { TypeUrl } from '@inboard/xds/codec';
import { Inboard } from 'inboard';
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
async function apiServer(): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer(
    {
      key: read('api-example-key'),
      cert: read('api-example-cert'),
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

/** The task's ServiceEntry, with the endpoint on loopback (STATIC, where the task resolves DNS). */
const serviceEntry = (httpsPort: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  ports:
  - {number: 80, name: http-port, protocol: HTTP}
  - {number: 443, name: https-port, protocol: HTTPS}
  resolution: STATIC
  location: MESH_EXTERNAL
  endpoints:
  - address: 127.0.0.1
    ports: {http-port: ${httpsPort}, https-port: ${httpsPort}}
`;

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
    assert.match(body, /TLS error: .*\[DNS:api\.example\.com, DNS:\*\.api\.example\.com\] match none/);
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
      /^upstream connect error or disconnect\/reset before headers\. .*reset reason: remote connection failure, transport failure reason: TLS error: .*DNS:api\.example\.com.* match none of the cluster's match_subject_alt_names/,
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
