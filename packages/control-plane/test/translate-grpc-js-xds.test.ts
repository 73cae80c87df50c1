// Interop: @grpc/grpc-js-xds — an xDS client we did not write — resolves `xds:///reviews:9080`
// against the translator's output, and its calls land on real backends as the bookinfo
// VirtualServices say (a header match, then a weighted split pushed through refresh()).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  AdsServer,
  createIstioSnapshotGenerator,
  type MeshConfigSnapshot,
  type RegistryServiceEndpoints,
} from '@inboard/control-plane';
import { ECHO_PATH, type EchoBackend, startEchoBackend } from '../../../test/support/grpc-echo.ts';
import { bookinfo, NS, PRODUCTPAGE_NODE, reviews8020, reviewsJasonV2 } from './golden/bookinfo.ts';

function call(client: grpc.Client, user?: string): Promise<string> {
  const md = new grpc.Metadata();
  if (user !== undefined) md.set('end-user', user);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      ECHO_PATH,
      (s: string) => Buffer.from(s),
      (b: Buffer) => b.toString(),
      'ping',
      md,
      { deadline: Date.now() + 5000 },
      (err: grpc.ServiceError | null, v?: string) => (err ? reject(err) : resolve(v ?? '')),
    );
  });
}

describe('@grpc/grpc-js-xds against the Istio translator', () => {
  const backends = new Map<string, EchoBackend>();
  let config: MeshConfigSnapshot;
  const gen = createIstioSnapshotGenerator(() => config);
  const server = new AdsServer({ cache: gen.createCache(), authenticate: gen.authenticate() });
  const nacks: string[] = [];
  let client: grpc.Client;

  function mesh(istio: MeshConfigSnapshot['istio']): MeshConfigSnapshot {
    const base = bookinfo(istio);
    const reviews: RegistryServiceEndpoints = {
      service: 'reviews',
      namespace: NS,
      endpoints: ['v1', 'v2', 'v3'].map((v) => ({
        address: '127.0.0.1',
        ports: { http: backends.get(v)!.port },
        labels: { app: 'reviews', version: v },
        workloadName: `reviews-${v}`,
      })),
    };
    return { ...base, endpoints: [...base.endpoints.filter((e) => e.service !== 'reviews'), reviews] };
  }

  before(async () => {
    for (const v of ['v1', 'v2', 'v3']) backends.set(v, await startEchoBackend(v));
    config = mesh([reviewsJasonV2]);
    const port = await server.start();
    server.on('nack', (e) => nacks.push(`${e.typeUrl}: ${e.errorMessage}`));
    // grpc-js-xds reads its bootstrap once per process, from the environment
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify({
      xds_servers: [
        { server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
      ],
      node: { id: PRODUCTPAGE_NODE.id, locality: {}, metadata: PRODUCTPAGE_NODE.metadata },
    });
    const xds = (await import('@grpc/grpc-js-xds')) as unknown as { register(): void; default?: { register(): void } };
    (xds.register ?? xds.default!.register)();
    client = new grpc.Client('xds:///reviews:9080', grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    await server.stop({ graceMs: 100 });
    await Promise.all([...backends.values()].map((b) => b.close()));
  });

  test('end-user: jason reaches reviews v2, everyone else v1', async () => {
    for (let i = 0; i < 10; i++) {
      assert.equal(await call(client, 'jason'), 'v2');
      assert.equal(await call(client), 'v1');
    }
    assert.deepEqual(nacks, []);
  });

  test('an 80/20 split pushed through refresh() moves traffic without a new channel', async () => {
    config = mesh([reviews8020]);
    gen.refresh();
    // the old routes stay until the new config is complete; wait until v2 shows up without jason
    let tries = 0;
    while ((await call(client)) !== 'v2') assert.ok(++tries < 500, 'traffic never reached v2');
    const counts: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const id = await call(client);
      counts[id] = (counts[id] ?? 0) + 1;
    }
    assert.equal(counts['v3'], undefined);
    // binomial(400, 0.8): mean 320, sd 8; ±5 sd keeps a false failure below one in a million
    const v1 = counts['v1'] ?? 0;
    assert.ok(v1 >= 280 && v1 <= 360, `v1 got ${v1}/400 calls, expected about 320`);
    assert.equal(v1 + (counts['v2'] ?? 0), 400);
    assert.deepEqual(nacks, []);
  });
});
