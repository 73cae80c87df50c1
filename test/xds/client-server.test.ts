// Our XdsClient (through the Xds facade) against our ADS server on real loopback gRPC:
// ACK, NACK with the reason and the last good config kept, deletion, does-not-exist,
// server restart with the config intact, Delta, and TLS + bearer token as istiod requires.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AdsServer, Snapshot } from '@inboard/control-plane';
import {
  type Bootstrap,
  istiodBootstrap,
  parseBootstrap,
  ResourceDoesNotExistError,
  Xds,
  type XdsClientEvent,
} from '@inboard/xds';
import { TypeUrl } from '@inboard/xds/codec';
import { clusterName, istioShapedMessages, type ServiceSpec } from '../support/istio-shaped.ts';
import { snapshotWhere } from '../support/snapshots.ts';

const NODE_ID = 'sidecar~127.0.0.1~productpage-v1-abc.default~default.svc.cluster.local';

const reviews: ServiceSpec = {
  name: 'reviews',
  port: 9080,
  subsets: {
    v1: [{ address: '127.0.0.1', port: 19001 }],
    v2: [{ address: '127.0.0.1', port: 19002 }],
    v3: [{ address: '127.0.0.1', port: 19003 }],
  },
  split: { v1: 50, v3: 50 },
};
const ratings: ServiceSpec = { name: 'ratings', port: 9080, subsets: { v1: [{ address: '127.0.0.1', port: 19004 }] } };

function bootstrapFor(port: number): Bootstrap {
  return parseBootstrap(
    {
      xds_servers: [
        { server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
      ],
      node: { id: NODE_ID, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
    },
    'test',
  );
}

function clientEvent(xds: Xds, pred: (e: XdsClientEvent) => boolean): Promise<XdsClientEvent> {
  return new Promise((resolve) => {
    const off = xds.client.onEvent((e) => {
      if (pred(e)) {
        off();
        resolve(e);
      }
    });
  });
}

for (const mode of ['sotw', 'delta'] as const) {
  describe(`XdsClient against the ADS server (${mode})`, () => {
    const server = new AdsServer();
    let xds: Xds;
    after(async () => {
      xds?.close();
      await server.stop({ graceMs: 100 });
    });

    test('resolves a target through LDS → RDS → CDS → EDS and ACKs every type', async () => {
      server.cache.setSnapshot(NODE_ID, Snapshot.fromMessages(istioShapedMessages([reviews, ratings], '1')));
      const port = await server.start();
      const acked = new Set<string>();
      server.on('ack', (e) => acked.add(e.typeUrl));
      xds = new Xds({ bootstrap: bootstrapFor(port), mode, backoff: { initialMs: 20, maxMs: 100 } });
      const snap = await xds.resolve('reviews:9080').ready();
      assert.equal(snap.listener.name, 'reviews:9080');
      assert.equal(snap.routeConfig.name, 'outbound|9080||reviews.default.svc.cluster.local');
      assert.deepEqual([...snap.clusters.keys()].sort(), [clusterName(reviews, 'v1'), clusterName(reviews, 'v3')]);
      const v3 = snap.clusters.get(clusterName(reviews, 'v3'));
      assert.equal(v3?.status, 'ok');
      assert.equal(v3?.status === 'ok' && v3.endpoints?.endpoints[0]?.lbEndpoints[0]?.address.port, 19003);
      // ACKs of all four types reached the server (the EDS ACK may trail the snapshot by one event)
      while (acked.size < 4) await once(server, 'ack');
      assert.deepEqual(
        [...acked].sort(),
        [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration].sort(),
      );
    });

    test('a pushed change produces a new consistent snapshot', async () => {
      const moved = { ...reviews, split: { v2: 100 } };
      const next = snapshotWhere(xds.resolve('reviews:9080'), (s) => s.clusters.has(clusterName(reviews, 'v2')));
      server.cache.setSnapshot(NODE_ID, Snapshot.fromMessages(istioShapedMessages([moved, ratings], '2')));
      const snap = await next;
      // the old clusters are gone from the snapshot, and the new one arrived with its endpoints
      assert.deepEqual([...snap.clusters.keys()], [clusterName(reviews, 'v2')]);
      const v2 = snap.clusters.get(clusterName(reviews, 'v2'));
      assert.ok(v2?.status === 'ok' && v2.endpoints?.endpoints[0]?.lbEndpoints.length === 1);
    });

    test('an invalid route config is NACKed with its reason and the last good one keeps serving', async () => {
      const before = xds.resolve('reviews:9080').current()!;
      const msgs = istioShapedMessages([{ ...reviews, split: { v2: 100 } }, ratings], '3');
      const routes = msgs.routes!.map((r) =>
        r.name === 'outbound|9080||reviews.default.svc.cluster.local'
          ? {
              ...r,
              virtual_hosts: [
                {
                  ...r.virtual_hosts![0],
                  routes: [{ match: { safe_regex: { regex: '(a)\\1' } }, route: { cluster: 'x' } }],
                },
              ],
            }
          : r,
      );
      const nack = once(server, 'nack');
      server.cache.setSnapshot(NODE_ID, Snapshot.fromMessages({ ...msgs, routes }));
      const [e] = (await nack) as [{ typeUrl: string; errorMessage: string }];
      assert.equal(e.typeUrl, TypeUrl.RouteConfiguration);
      assert.match(e.errorMessage, /outbound\|9080\|\|reviews\.default\.svc\.cluster\.local/);
      assert.match(e.errorMessage, /virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex/);
      const still = xds.resolve('reviews:9080').current();
      assert.equal(still?.routeConfig, before.routeConfig, 'the last good route config is still in use');
      const meta = xds.client.dump().find((m) => m.name === 'outbound|9080||reviews.default.svc.cluster.local');
      assert.equal(meta?.status, 'NACKED');
    });

    test('a target the server does not know fails fast as does-not-exist', async () => {
      await assert.rejects(xds.resolve('nosuch:80').ready(), ResourceDoesNotExistError);
    });

    test('a deleted listener is reported as does-not-exist', async () => {
      const r = xds.resolve('ratings:9080');
      await r.ready();
      const gone = new Promise<Error>((resolve) => r.subscribe({ onError: resolve }));
      server.cache.setSnapshot(
        NODE_ID,
        Snapshot.fromMessages(istioShapedMessages([{ ...reviews, split: { v2: 100 } }], '4')),
      );
      const err = await gone;
      assert.ok(err instanceof ResourceDoesNotExistError);
      assert.equal(r.current(), undefined);
    });

    test('a released target resolves again, in the same tick and later', async () => {
      await xds.resolve('reviews:9080').ready();
      xds.release('reviews:9080');
      const again = await xds.resolve('reviews:9080').ready();
      assert.equal(again.listener.name, 'reviews:9080');
      // and after the release reached the server
      xds.release('reviews:9080');
      await new Promise((r) => setImmediate(r));
      const later = await xds.resolve('reviews:9080').ready();
      assert.equal(later.listener.name, 'reviews:9080');
    });

    test('a server restart re-establishes the stream with the config intact', async () => {
      const before = xds.resolve('reviews:9080').current()!;
      const reopened = clientEvent(xds, (e) => e.kind === 'stream-open');
      await server.restart({ graceMs: 0 });
      await reopened;
      // nothing was lost while the server was away
      assert.equal(xds.resolve('reviews:9080').current()?.routeConfig, before.routeConfig);
      // and the new stream carries pushes
      const next = snapshotWhere(xds.resolve('reviews:9080'), (s) => s.clusters.has(clusterName(reviews, 'v1')));
      server.cache.setSnapshot(
        NODE_ID,
        Snapshot.fromMessages(istioShapedMessages([{ ...reviews, split: { v1: 100 } }], '5')),
      );
      await next;
    });
  });
}

describe('XdsClient against the ADS server: a shared rejected cluster, and a push crossing a new watch (sotw)', () => {
  const details: ServiceSpec = {
    name: 'details',
    port: 9080,
    subsets: { v1: [{ address: '127.0.0.1', port: 19005 }] },
  };
  const shared = clusterName(details);
  /** details and ratings both route to details' cluster, which is invalid (lb_policy CLUSTER_PROVIDED) */
  function messages(version: string, listenerStat = '') {
    const msgs = istioShapedMessages([details, ratings], version);
    const routes = msgs.routes!.map((r) =>
      r.name === 'outbound|9080||ratings.default.svc.cluster.local'
        ? {
            ...r,
            virtual_hosts: [
              { ...r.virtual_hosts![0]!, routes: [{ match: { prefix: '/' }, route: { cluster: shared } }] },
            ],
          }
        : r,
    );
    const clusters = msgs.clusters!.map((c) => (c.name === shared ? { ...c, lb_policy: 6 } : c));
    const listeners = msgs.listeners!.map((l) => (l.name === 'details:9080' ? { ...l, stat_prefix: listenerStat } : l));
    return Snapshot.fromMessages({ ...msgs, listeners, routes, clusters });
  }
  const server = new AdsServer();
  let xds: Xds | undefined;
  after(async () => {
    xds?.close();
    await server.stop({ graceMs: 100 });
  });

  test('a target resolved after its cluster was rejected resolves too, the cluster missing with the reason', {
    timeout: 10_000,
  }, async () => {
    server.cache.setSnapshot(NODE_ID, messages('1'));
    const port = await server.start();
    xds = new Xds({ bootstrap: bootstrapFor(port), backoff: { initialMs: 20, maxMs: 100 } });
    const first = (await xds.resolve('details:9080').ready()).clusters.get(shared);
    assert.ok(first?.status === 'missing', `cluster status ${first?.status}`);
    assert.match(first.reason, /rejected: .*lb_policy/);
    // the rejection happened before this target watched the cluster: it must still hear of it
    const second = (await xds.resolve('ratings:9080').ready()).clusters.get(shared);
    assert.ok(second?.status === 'missing', `cluster status ${second?.status}`);
    assert.match(second.reason, /rejected: .*lb_policy/);
  });

  test('a target resolved while the server pushes a change is not reported missing', { timeout: 10_000 }, async () => {
    assert.ok(xds);
    // In one tick: a new listener name goes out while the server pushes LDS built from the old
    // list; the push crosses the request on the wire and lacks the new name.
    const ready = xds.resolve('ratings.default:9080').ready();
    server.cache.setSnapshot(NODE_ID, messages('2', 'changed'));
    const snap = await ready;
    assert.equal(snap.listener.name, 'ratings.default:9080');
  });
});

describe('XdsClient against the ADS server: ignore_resource_deletion in the bootstrap (gRFC A53)', () => {
  const server = new AdsServer();
  let xds: Xds | undefined;
  after(async () => {
    xds?.close();
    await server.stop({ graceMs: 100 });
  });

  test('a listener and cluster the server drops keep serving the target', async () => {
    server.cache.setSnapshot(NODE_ID, Snapshot.fromMessages(istioShapedMessages([reviews, ratings], '1')));
    const port = await server.start();
    const bootstrap = parseBootstrap(
      {
        xds_servers: [
          {
            server_uri: `127.0.0.1:${port}`,
            channel_creds: [{ type: 'insecure' }],
            server_features: ['xds_v3', 'ignore_resource_deletion'],
          },
        ],
        node: { id: NODE_ID, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
      },
      'test',
    );
    xds = new Xds({ bootstrap, backoff: { initialMs: 20, maxMs: 100 } });
    const r = xds.resolve('ratings:9080');
    const before = await r.ready();
    const errors: Error[] = [];
    r.subscribe({ onError: (e) => errors.push(e) });
    const ldsAcked = clientEvent(xds, (e) => e.kind === 'ack' && e.typeUrl === TypeUrl.Listener && e.version === '2');
    const cdsAcked = clientEvent(xds, (e) => e.kind === 'ack' && e.typeUrl === TypeUrl.Cluster && e.version === '2');
    server.cache.setSnapshot(NODE_ID, Snapshot.fromMessages(istioShapedMessages([reviews], '2')));
    await Promise.all([ldsAcked, cdsAcked]);
    assert.deepEqual(errors, []);
    assert.equal(r.current(), before, 'the target keeps its snapshot');
    const meta = xds.client.dump().find((m) => m.name === 'ratings:9080');
    assert.equal(meta?.status, 'ACKED');
  });
});

describe('directly to istiod: TLS verified against the mesh root + bearer token', () => {
  const fixtures = fileURLToPath(new URL('../../packages/xds/test/fixtures/', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'inboard-token-'));
  const tokenFile = join(dir, 'istio-token');
  const seenTokens: string[] = [];
  const server = new AdsServer({
    tls: {
      keyCertPairs: [
        {
          private_key: readFixture('istiod-key.pem'),
          cert_chain: readFixture('istiod-cert.pem'),
        },
      ],
    },
    authenticate: (metadata) => {
      const auth = String(metadata.get('authorization')[0] ?? '');
      seenTokens.push(auth);
      return auth === 'Bearer good-token' ? true : { code: 16, message: 'token rejected' };
    },
  });
  function readFixture(name: string): Buffer {
    return readFileSync(join(fixtures, name));
  }
  after(async () => {
    await server.stop({ graceMs: 100 });
  });

  test('connects to istiod.istio-system.svc with the token from the token file', async () => {
    server.cache.setSnapshot(NODE_ID, Snapshot.fromMessages(istioShapedMessages([ratings], '1')));
    const port = await server.start();
    writeFileSync(tokenFile, 'good-token\n');
    const bootstrap = istiodBootstrap({
      address: `127.0.0.1:${port}`,
      tlsServerName: 'istiod.istio-system.svc',
      rootCertFile: join(fixtures, 'root-cert.pem'),
      tokenFile,
      env: { POD_NAME: 'productpage-v1-abc', POD_NAMESPACE: 'default', INSTANCE_IP: '127.0.0.1' },
    });
    assert.equal(bootstrap.node.id, NODE_ID);
    const xds = new Xds({ bootstrap });
    try {
      const snap = await xds.resolve('ratings:9080').ready();
      assert.equal(snap.listener.name, 'ratings:9080');
      assert.deepEqual(seenTokens, ['Bearer good-token']);
    } finally {
      xds.close();
    }
  });

  test('a server certificate from another root is refused', async () => {
    const bootstrap = istiodBootstrap({
      address: `127.0.0.1:${server.port}`,
      tlsServerName: 'istiod.istio-system.svc',
      rootCertFile: join(fixtures, 'other-root-cert.pem'),
      tokenFile,
      env: { POD_NAME: 'productpage-v1-abc', POD_NAMESPACE: 'default', INSTANCE_IP: '127.0.0.1' },
    });
    const xds = new Xds({ bootstrap, backoff: { initialMs: 10_000 } });
    try {
      const failure = clientEvent(xds, (e) => e.kind === 'stream-close');
      xds.resolve('ratings:9080');
      const e = await failure;
      assert.ok(
        e.kind === 'stream-close' && e.code === 14 && !e.hadResponse,
        `expected UNAVAILABLE, got ${JSON.stringify(e)}`,
      );
    } finally {
      xds.close();
    }
  });
});
