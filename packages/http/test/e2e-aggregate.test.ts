// AGGREGATE clusters through the mesh dispatcher, against real loopback upstreams and a real ADS
// server: failover from an unhealthy primary by the leaves' linearized priority levels, and the
// aggregate cluster's own max_retries.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { packAny } from '@inboard/xds/codec';
import { request } from 'undici';
import { seededRandom } from '../src/cluster/random-source.ts';
import {
  type ClusterConfig,
  ControlPlane,
  cluster,
  forward,
  respond,
  type ServiceConfig,
  Upstream,
} from './e2e-fixtures.ts';

const primary = new Upstream('primary');
const secondary = new Upstream('secondary', (req, res) => respond(res, req.url === '/fail' ? 503 : 200, 'secondary'));
const cp = new ControlPlane();

function aggregate(name: string, leaves: string[], extra: Partial<ClusterConfig['extra']> = {}): ClusterConfig {
  return {
    name,
    endpoints: [],
    extra: {
      type: undefined,
      eds_cluster_config: undefined,
      lb_policy: 6, // CLUSTER_PROVIDED
      cluster_type: {
        name: 'envoy.clusters.aggregate',
        typed_config: packAny('envoy.extensions.clusters.aggregate.v3.ClusterConfig', { clusters: leaves }),
      },
      ...extra,
    },
  };
}

before(async () => {
  await primary.start();
  await secondary.start();
  const route = (name: string, target: string): ServiceConfig => ({
    name,
    port: 9080,
    routes: [
      {
        name,
        match: { prefix: '/' },
        route: forward(target, { retry_policy: { retry_on: '5xx', num_retries: { value: 2 } } }),
      },
    ],
  });
  const services = [route('failover', 'agg-failover'), route('noretry', 'agg-noretry')];
  const clusters: ClusterConfig[] = [
    // both primary endpoints reported UNHEALTHY by EDS
    {
      name: cluster('primary', 9080),
      endpoints: [
        { port: primary.port, health: 2 },
        { address: '127.0.0.2', port: primary.port, health: 2 },
      ],
    },
    { name: cluster('secondary', 9080), endpoints: [{ port: secondary.port }] },
    aggregate('agg-failover', [cluster('primary', 9080), cluster('secondary', 9080)]),
    aggregate('agg-noretry', [cluster('secondary', 9080)], {
      circuit_breakers: { thresholds: [{ priority: 0, max_retries: { value: 0 } }] },
    }),
  ];
  await cp.start(services, clusters);
});

after(async () => {
  await cp.stop();
  await primary.stop();
  await secondary.stop();
});

describe('AGGREGATE clusters', () => {
  test('a primary without healthy hosts fails over to the secondary', async () => {
    const mesh = cp.mesh({ random: seededRandom(3) });
    try {
      for (let i = 0; i < 20; i++) {
        const r = await request('http://failover:9080/', { dispatcher: mesh.dispatcher });
        assert.equal(await r.body.text(), 'secondary');
      }
      assert.equal(primary.seen.length, 0);
    } finally {
      await mesh.close();
    }
  });

  test("retries are limited by the aggregate cluster's own max_retries", async () => {
    const mesh = cp.mesh();
    try {
      const before = secondary.seen.length;
      const r = await request('http://noretry:9080/fail', { dispatcher: mesh.dispatcher });
      assert.equal(r.statusCode, 503);
      await r.body.text();
      assert.equal(secondary.seen.length - before, 1, 'max_retries 0: no retry');
      assert.match(String(r.headers['x-inboard-response-flags']), /UO/);
    } finally {
      await mesh.close();
    }
  });
});
