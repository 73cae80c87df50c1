// gRPC requests in Istio's metrics, both reporters: request_protocol="grpc" for content-type
// application/grpc(+…) (gRPC-Web is HTTP), and grpc_response_status as istio_stats reports it —
// the grpc-status of the trailers, else of a trailers-only response's headers, else the HTTP
// status mapped to a gRPC code. Real sockets: the mesh client, undici, the inbound engine on a
// node:http server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { IstioLabels } from '../src/index.ts';
import { IstioStats, installMeshTelemetry, type MeshTelemetry } from '../src/index.ts';
import { TwoServices } from './mesh-fixtures.ts';

const svc = new TwoServices();
let stats: IstioStats;
let telemetry: MeshTelemetry;

before(async () => {
  await svc.start();
});
after(async () => {
  await svc.stop();
});

async function call(contentType: string): Promise<{ status: number; client: IstioLabels; server: IstioLabels }> {
  stats = new IstioStats();
  telemetry = installMeshTelemetry({ mesh: svc.mesh, istioMetrics: 'native', istioStats: stats, tracing: false });
  try {
    const r = await svc.mesh.fetch('http://reviews:9080/reviews.Reviews/Get', {
      method: 'POST',
      body: new Uint8Array(5),
      headers: { 'content-type': contentType, te: 'trailers' },
    });
    await r.arrayBuffer();
    // the server's event is published as its response finishes; the client has read it all by now
    // unless the last chunk is still on its way: wait for both series
    for (let i = 0; i < 100 && stats.size < 2; i++) await new Promise((res) => setImmediate(res));
    const all = [...stats.all()];
    const client = all.find((s) => s.labels.reporter === 'source');
    const server = all.find((s) => s.labels.reporter === 'destination');
    assert.ok(client !== undefined && server !== undefined, 'both reporters recorded the request');
    return { status: r.status, client: client.labels, server: server.labels };
  } finally {
    telemetry.close();
  }
}

test('a trailers-only gRPC error: grpc, and the grpc-status of the headers, on both sides', async () => {
  svc.handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'unavailable' });
    res.end();
  };
  const { status, client, server } = await call('application/grpc');
  assert.equal(status, 200);
  for (const l of [client, server]) {
    assert.equal(l.request_protocol, 'grpc', l.reporter);
    assert.equal(l.response_code, '200', l.reporter);
    assert.equal(l.grpc_response_status, '14', l.reporter);
  }
});

test('a gRPC status in the trailers wins', async () => {
  svc.handler = (_req, res) => {
    res.setHeader('content-type', 'application/grpc+proto');
    res.setHeader('trailer', 'grpc-status');
    res.write(Buffer.from([0, 0, 0, 0, 0]));
    res.addTrailers({ 'Grpc-Status': '5', 'grpc-message': 'not found' });
    res.end();
  };
  const { client, server } = await call('application/grpc+proto');
  for (const l of [client, server]) {
    assert.equal(l.request_protocol, 'grpc', l.reporter);
    assert.equal(l.grpc_response_status, '5', l.reporter);
  }
});

test('no grpc-status at all: the HTTP status mapped (503 → UNAVAILABLE)', async () => {
  svc.handler = (_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('busy');
  };
  const { client, server } = await call('application/grpc');
  for (const l of [client, server]) {
    assert.equal(l.response_code, '503', l.reporter);
    assert.equal(l.grpc_response_status, '14', l.reporter);
  }
});

test('gRPC-Web and plain HTTP are http, with an empty grpc_response_status', async () => {
  svc.handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/grpc-web+proto', 'grpc-status': '0' });
    res.end();
  };
  for (const ct of ['application/grpc-web+proto', 'application/json']) {
    const { client, server } = await call(ct);
    for (const l of [client, server]) {
      assert.equal(l.request_protocol, 'http', `${ct} ${l.reporter}`);
      assert.equal(l.grpc_response_status, '', `${ct} ${l.reporter}`);
    }
  }
});
