// A request's own headersTimeout / bodyTimeout replace the pool's in the mesh's HTTP/1.1 pool, as
// they do in undici: the mesh turns both off (0) for a route with a stream idle timeout, which
// its own timer enforces, so a long-silent stream the route allows is not cut by the pool.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Dispatcher } from 'undici';
import { Http1Pool } from '../src/http1/http1-pool.ts';

function recorder() {
  let settle!: (v: { status?: number; error?: Error }) => void;
  const done = new Promise<{ status?: number; error?: Error }>((resolve) => {
    settle = resolve;
  });
  let status: number | undefined;
  const handler: Dispatcher.DispatchHandler = {
    onResponseStart(_c, s) {
      status = s;
    },
    onResponseEnd() {
      settle({ status });
    },
    onResponseError(_c, error) {
      settle({ error });
    },
  };
  return { handler, done };
}

test("a request's headersTimeout 0 outlives the pool's: the pool's fires on the other request only", async () => {
  const held = new Map<string, ServerResponse>();
  let bothArrived!: () => void;
  const arrived = new Promise<void>((resolve) => {
    bothArrived = resolve;
  });
  const server = createServer((req, res) => {
    held.set(req.url ?? '', res);
    if (held.size === 2) bothArrived();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pool = new Http1Pool(origin, { headersTimeout: 100 });
  try {
    const timed = recorder();
    const untimed = recorder();
    pool.dispatch({ origin, path: '/timed', method: 'GET' }, timed.handler);
    pool.dispatch({ origin, path: '/untimed', method: 'GET', headersTimeout: 0 }, untimed.handler);
    const first = await timed.done;
    assert.equal((first.error as { code?: string } | undefined)?.code, 'UND_ERR_HEADERS_TIMEOUT');
    // the other request was armed at the same time: had the pool's timeout applied, it would have failed too
    await arrived;
    held.get('/untimed')!.end('late');
    assert.deepEqual(await untimed.done, { status: 200 });
  } finally {
    await pool.destroy();
    server.closeAllConnections();
    server.close();
  }
});
