// One TLS origination cluster (auto SNI: each request's host is its SNI and must be in the server's
// certificate) serving two hosts, with a connection cap (DestinationRule maxConnections). A
// connection opened with one SNI must never carry a request for another host: Envoy keeps a pool
// per SNI. The server's certificate covers *.api.example.com, not y.example.org.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Inboard } from 'inboard';
import { snapshotWhere, TestControlPlane } from './helpers.ts';

const CERTS = fileURLToPath(new URL('../../http/test/fixtures/', import.meta.url));
const file = (name: string) => join(CERTS, `${name}.pem`);

const held: ServerResponse[] = [];
let twoHeld!: () => void;
const bothHeld = new Promise<void>((resolve) => {
  twoHeld = resolve;
});
const seen: { path: string; host: string | undefined; sni: string | false }[] = [];
let server: Server;
let port: number;

const cp = new TestControlPlane();
let mesh: Inboard;

before(async () => {
  server = createServer(
    { key: readFileSync(file('api-example-key')), cert: readFileSync(file('api-example-cert')) },
    (req, res) => {
      seen.push({
        path: req.url ?? '',
        host: req.headers.host,
        sni: (req.socket as TLSSocket).servername as string | false,
      });
      if (req.url?.startsWith('/hold')) {
        held.push(res);
        if (held.length === 2) twoHeld();
      } else res.end(`api ${req.url}`);
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  await cp.start({
    'se.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com, x.api.example.com, y.example.org]
  ports:
  - {number: 80, name: http-port, protocol: HTTP}
  - {number: 443, name: https-port, protocol: HTTPS}
  resolution: STATIC
  location: MESH_EXTERNAL
  endpoints:
  - address: 127.0.0.1
    ports: {http-port: ${port}, https-port: ${port}}
`,
    'vs.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: default}
spec:
  hosts: [x.api.example.com, y.example.org]
  http:
  - route:
    - destination: {host: api.example.com, port: {number: 443}}
`,
    'dr.yaml': `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: default}
spec:
  host: api.example.com
  trafficPolicy:
    portLevelSettings:
    - port: {number: 443}
      connectionPool: {tcp: {maxConnections: 2}}
      tls: {mode: SIMPLE, caCertificates: ${file('external-ca-cert')}}
`,
  });
  mesh = await Inboard.start({
    env: {},
    controlPlane: cp.address,
    node: { app: 'sleep', namespace: 'default', serviceAccount: 'sleep' },
  });
  for (const host of ['x.api.example.com:80', 'y.example.org:80']) {
    await snapshotWhere(mesh.xds.resolve(host), (s) =>
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
  // y waits for a connection; x's connections free up after it asked
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
