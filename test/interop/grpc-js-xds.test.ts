// Interop: @grpc/grpc-js-xds — an xDS client we did not write — resolves `xds:///` targets
// against our ADS server and its gRPC calls land on real backends according to the weighted
// clusters we serve.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AdsServer, Snapshot } from '@inboard/control-plane';
import { callEcho, type EchoBackend, startEchoBackend } from '../support/grpc-echo.ts';
import { istioShapedMessages, type ServiceSpec } from '../support/istio-shaped.ts';

const NODE_ID = 'sidecar~127.0.0.1~client-1.default~default.svc.cluster.local';

describe('@grpc/grpc-js-xds against the Inboard ADS server', () => {
  const server = new AdsServer();
  const backends: EchoBackend[] = [];
  let client: grpc.Client;
  const nacks: string[] = [];

  before(async () => {
    for (const id of ['v1', 'v2', 'v3']) backends.push(await startEchoBackend(id));
    const port = await server.start();
    server.on('nack', (e) => nacks.push(`${e.typeUrl}: ${e.errorMessage}`));
    // grpc-js-xds reads its bootstrap once per process, from the environment
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify({
      xds_servers: [
        { server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
      ],
      node: { id: NODE_ID, locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
    });
    const xds = (await import('@grpc/grpc-js-xds')) as unknown as { register(): void; default?: { register(): void } };
    (xds.register ?? xds.default!.register)();
  });

  after(async () => {
    client?.close();
    await server.stop({ graceMs: 100 });
    await Promise.all(backends.map((b) => b.close()));
  });

  function echo(split: Record<string, number>): ServiceSpec {
    const [v1, v2, v3] = backends;
    return {
      name: 'echo',
      port: 8080,
      subsets: {
        v1: [{ address: '127.0.0.1', port: v1!.port }],
        v2: [{ address: '127.0.0.1', port: v2!.port }],
        v3: [{ address: '127.0.0.1', port: v3!.port }],
      },
      split,
    };
  }

  async function countCalls(n: number): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const id = await callEcho(client);
      counts[id] = (counts[id] ?? 0) + 1;
    }
    return counts;
  }

  test('calls follow an 80/20 weighted split between two subsets', async () => {
    server.cache.setSnapshot(NODE_ID, Snapshot.fromMessages(istioShapedMessages([echo({ v1: 80, v3: 20 })], '1')));
    client = new grpc.Client('xds:///echo:8080', grpc.credentials.createInsecure());
    const counts = await countCalls(400);
    assert.equal(counts['v2'], undefined, 'no call may reach the subset with no weight');
    // binomial(400, 0.8): mean 320, sd 8; ±5 sd keeps a false failure below one in a million
    const v1 = counts['v1'] ?? 0;
    assert.ok(v1 >= 280 && v1 <= 360, `v1 got ${v1}/400 calls, expected about 320`);
    assert.equal(v1 + (counts['v3'] ?? 0), 400);
    assert.deepEqual(nacks, []);
  });

  test('a pushed route change moves all traffic to another subset without a new channel', async () => {
    const applied = new Promise<void>((resolve) => {
      const onAck = (e: { typeUrl: string; version: string }) => {
        if (e.typeUrl.endsWith('RouteConfiguration') && e.version === '2') {
          server.off('ack', onAck);
          resolve();
        }
      };
      server.on('ack', onAck);
    });
    server.cache.setSnapshot(NODE_ID, Snapshot.fromMessages(istioShapedMessages([echo({ v2: 100 })], '2')));
    await applied;
    // grpc-js-xds keeps the old routes until the new cluster's CDS and EDS arrived (no config
    // tears), so a few calls may still land on v1; once one reaches v2, all of them must.
    let switchedAfter = 0;
    while ((await callEcho(client)) !== 'v2') {
      switchedAfter++;
      assert.ok(switchedAfter < 200, 'traffic never moved to v2');
    }
    const counts = await countCalls(50);
    assert.deepEqual(counts, { v2: 50 });
    assert.deepEqual(nacks, []);
  });
});
