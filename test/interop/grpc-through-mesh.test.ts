// Interop: gRPC over the outbound mesh to @grpc/grpc-js servers — HTTP/2 peers we did not write.
// istiod gives a service port named grpc (or a DestinationRule h2UpgradePolicy) a cluster with
// http2_protocol_options; without mTLS that is plaintext HTTP/2 with prior knowledge (h2c). A
// unary call sent through the mesh's dispatcher reaches a grpc-js server, round robin over two
// backends, and its answer and trailers come back as grpc-js wrote them; a server answering
// UNAVAILABLE is retried on the other host, as istiod's default retry policy says.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { packAny } from '@inboard/xds/codec';
import { request } from 'undici';
import { ControlPlane, cluster, forward } from '../../packages/http/test/e2e-fixtures.ts';
import { ECHO_PATH, type EchoBackend, startEchoBackend } from '../support/grpc-echo.ts';

const cp = new ControlPlane();
const backends: EchoBackend[] = [];
const C = cluster('echo', 50051);
const F = cluster('flaky', 50051);
/** a grpc-js server whose every call fails with UNAVAILABLE (a pod shutting down) */
let down: { port: number; calls: number; close(): Promise<void> };

async function startUnavailable(): Promise<typeof down> {
  const server = new grpc.Server();
  const state = { calls: 0 };
  const bytes = (s: string) => Buffer.from(s);
  const text = (b: Buffer) => b.toString();
  server.addService(
    {
      Call: {
        path: ECHO_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: bytes,
        requestDeserialize: text,
        responseSerialize: bytes,
        responseDeserialize: text,
      },
    },
    {
      Call: (_call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
        state.calls++;
        cb({ code: grpc.status.UNAVAILABLE, details: 'shutting down' });
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    port,
    get calls() {
      return state.calls;
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

const h2 = {
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': packAny(
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      { explicit_http_config: { http2_protocol_options: {} } },
    ),
  },
};

before(async () => {
  for (const id of ['e1', 'e2']) backends.push(await startEchoBackend(id));
  down = await startUnavailable();
  // both routes carry istiod's default retry policy (retry_on includes gRPC's unavailable)
  await cp.start(
    [
      { name: 'echo', port: 50051, routes: [{ name: 'all', match: { prefix: '/' }, route: forward(C) }] },
      { name: 'flaky', port: 50051, routes: [{ name: 'all', match: { prefix: '/' }, route: forward(F) }] },
    ],
    [
      { name: C, endpoints: backends.map((b) => ({ port: b.port })), extra: h2 },
      { name: F, endpoints: [{ port: down.port }, { port: backends[0]!.port }], extra: h2 },
    ],
  );
});

after(async () => {
  await cp.stop();
  await Promise.all(backends.map((b) => b.close()));
  await down.close();
});

/** A gRPC message frame: uncompressed, 4-byte big-endian length, the bytes. */
function frame(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

async function unary(dispatcher: ReturnType<ControlPlane['mesh']>['dispatcher'], path: string, host = 'echo') {
  const r = await request(`http://${host}:50051${path}`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/grpc', te: 'trailers' },
    body: frame('ping'),
  });
  const body = Buffer.from(await r.body.arrayBuffer());
  const message = body.length >= 5 ? body.subarray(5, 5 + body.readUInt32BE(1)).toString('utf8') : undefined;
  // trailers-only answers carry grpc-status in the headers
  const status = r.trailers['grpc-status'] ?? r.headers['grpc-status'];
  return { http: r.statusCode, contentType: r.headers['content-type'], message, status };
}

test('unary calls through the mesh reach grpc-js servers over h2c, round robin, with their trailers', async () => {
  const mesh = cp.mesh();
  try {
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      const a = await unary(mesh.dispatcher, ECHO_PATH);
      assert.equal(a.http, 200);
      assert.equal(a.contentType, 'application/grpc+proto');
      assert.equal(a.status, '0');
      answers.push(a.message!);
    }
    assert.deepEqual([...answers].sort(), ['e1', 'e1', 'e2', 'e2']);
    assert.deepEqual(
      backends.map((b) => b.calls),
      [2, 2],
    );
  } finally {
    await mesh.close();
  }
});

test("a method the server does not have: grpc-js's UNIMPLEMENTED comes back as it sent it", async () => {
  const mesh = cp.mesh();
  try {
    const a = await unary(mesh.dispatcher, '/inboard.test.Echo/Missing');
    assert.equal(a.http, 200);
    assert.equal(a.status, '12');
    assert.equal(a.message, undefined);
  } finally {
    await mesh.close();
  }
});

test("a server answering UNAVAILABLE: istiod's default retry policy (retry_on unavailable) retries the call on the other host", async () => {
  const mesh = cp.mesh();
  const before = down.calls;
  try {
    for (let i = 0; i < 4; i++) {
      const a = await unary(mesh.dispatcher, ECHO_PATH, 'flaky');
      assert.equal(a.status, '0');
      assert.equal(a.message, 'e1');
    }
    assert.ok(down.calls > before, 'the failing server was tried');
  } finally {
    await mesh.close();
  }
});
