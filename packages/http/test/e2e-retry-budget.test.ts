// The cluster's retry budget (CircuitBreakers.Thresholds.retry_budget, what istiod sends for a
// DestinationRule's retryBudget) through the mesh dispatcher: Envoy lets retries take
// max(budget_percent × (active + pending requests), min_retry_concurrency) in place of
// max_retries. Real loopback upstream, real ADS server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import {
  type ClusterConfig,
  ControlPlane,
  cluster,
  forward,
  respond,
  type ServiceConfig,
  Upstream,
} from './e2e-fixtures.ts';

/** 503 on every odd request, 200 on the others: a retry of the first attempt succeeds. */
const flaky = new Upstream('flaky', (_req, res, _body, n) => respond(res, n % 2 === 1 ? 503 : 200, `flaky ${n}`));
const cp = new ControlPlane();

function svc(name: string): ServiceConfig {
  return {
    name,
    port: 9080,
    routes: [
      {
        name,
        match: { prefix: '/' },
        route: forward(cluster(name, 9080), { retry_policy: { retry_on: '5xx', num_retries: { value: 1 } } }),
      },
    ],
  };
}

before(async () => {
  await flaky.start();
  const clusters: ClusterConfig[] = [
    {
      // max_retries 0: no retry may be scheduled
      name: cluster('noretries', 9080),
      endpoints: [{ port: flaky.port }],
      extra: { circuit_breakers: { thresholds: [{ priority: 0, max_retries: { value: 0 } }] } },
    },
    {
      // the same, with a budget whose floor allows one concurrent retry: the budget wins
      name: cluster('budget', 9080),
      endpoints: [{ port: flaky.port }],
      extra: {
        circuit_breakers: {
          thresholds: [
            {
              priority: 0,
              max_retries: { value: 0 },
              retry_budget: { budget_percent: { value: 0 }, min_retry_concurrency: { value: 1 } },
            },
          ],
        },
      },
    },
  ];
  await cp.start([svc('noretries'), svc('budget')], clusters);
});

after(async () => {
  await cp.stop();
  await flaky.stop();
});

async function get(host: string): Promise<{ status: number; flags: unknown; attempts: number }> {
  const mesh = cp.mesh();
  const start = flaky.seen.length;
  // start on an odd request number so the first attempt fails
  if (start % 2 === 1) {
    const warm = await request(`http://${host}:9080/`, { dispatcher: mesh.dispatcher });
    await warm.body.dump();
  }
  const first = flaky.seen.length;
  try {
    const r = await request(`http://${host}:9080/`, { dispatcher: mesh.dispatcher });
    await r.body.dump();
    return { status: r.statusCode, flags: r.headers['x-inboard-response-flags'], attempts: flaky.seen.length - first };
  } finally {
    await mesh.close();
  }
}

describe('retry_budget', () => {
  test('max_retries 0 refuses the retry: 503 with flag UO', async () => {
    const r = await get('noretries');
    assert.equal(r.status, 503);
    assert.equal(r.flags, 'UO');
    assert.equal(r.attempts, 1);
  });

  test('a retry_budget replaces max_retries: its min_retry_concurrency lets the retry through', async () => {
    const r = await get('budget');
    assert.equal(r.status, 200);
    assert.equal(r.attempts, 2);
  });
});
