// What the request events carry for telemetry beyond status and flags: the grpc-status the caller
// received (trailers, else headers; a local reply's too) and Envoy's upstream transport failure
// reason of a connection that could not be made. Real loopback upstreams, a real ADS server.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { type HttpRequestEvent, REQUEST_CHANNEL } from '../src/index.ts';
import { ControlPlane, closedPort, cluster, forward, type ServiceConfig, Upstream } from './e2e-fixtures.ts';

const grpc = new Upstream('grpc', (req, res) => {
  if (req.url === '/trailers-only') {
    res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-status': '7' });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/grpc', trailer: 'grpc-status' });
  res.write(Buffer.from([0, 0, 0, 0, 0]));
  res.addTrailers({ 'grpc-status': '5' });
  res.end();
});
const cp = new ControlPlane();

function svc(name: string, action: ReturnType<typeof forward>): ServiceConfig {
  return { name, port: 9080, routes: [{ name, match: { prefix: '/' }, route: action }] };
}

before(async () => {
  await grpc.start();
  const dead = await closedPort();
  await cp.start(
    [
      svc('grpc', forward(cluster('grpc', 9080), { retry_policy: undefined })),
      svc('alldead', forward(cluster('alldead', 9080), { retry_policy: undefined })),
    ],
    [
      { name: cluster('grpc', 9080), endpoints: [{ port: grpc.port }] },
      { name: cluster('alldead', 9080), endpoints: [{ port: dead }] },
    ],
  );
});

after(async () => {
  await cp.stop();
  await grpc.stop();
});

async function eventOf(url: string, headers: Record<string, string> = {}): Promise<HttpRequestEvent> {
  const mesh = cp.mesh();
  const events: HttpRequestEvent[] = [];
  const on = (e: unknown) => events.push(e as HttpRequestEvent);
  diagnosticsChannel.subscribe(REQUEST_CHANNEL, on);
  try {
    const r = await request(url, { method: 'POST', body: 'x', headers, dispatcher: mesh.dispatcher });
    await r.body.text();
    assert.equal(events.length, 1);
    return events[0]!;
  } finally {
    diagnosticsChannel.unsubscribe(REQUEST_CHANNEL, on);
    await mesh.close();
  }
}

test('grpc-status: from the trailers, else from a trailers-only response’s headers', async () => {
  const g = { 'content-type': 'application/grpc', te: 'trailers' };
  assert.equal((await eventOf('http://grpc:9080/full', g)).grpcStatus, '5');
  assert.equal((await eventOf('http://grpc:9080/trailers-only', g)).grpcStatus, '7');
});

// Envoy's connection: "delayed connect error: " and strerror() of the connect's errno
const REFUSED = 'delayed connect error: Connection refused';

test('a refused connection: Envoy’s transport failure reason, `delayed connect error: Connection refused`', async () => {
  const e = await eventOf('http://alldead:9080/');
  assert.equal(e.status, 503);
  assert.deepEqual(e.flags, ['UF']);
  assert.equal(e.transportFailureReason, REFUSED);
});

test('a local reply to a gRPC caller carries its grpc-status (UNAVAILABLE for the refused connection)', async () => {
  const e = await eventOf('http://alldead:9080/', { 'content-type': 'application/grpc' });
  assert.equal(e.status, 200);
  assert.equal(e.grpcStatus, '14');
  assert.equal(e.transportFailureReason, REFUSED);
});
