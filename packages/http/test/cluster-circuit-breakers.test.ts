import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dispatcher } from 'undici';
import { CircuitBreakers, ClusterState } from '../src/cluster/index.ts';
import { kExchange, type MeshDispatchOptions } from '../src/dispatch/exchange.ts';
import { limitsInterceptor } from '../src/dispatch/limits-interceptor.ts';
import { endpoints, group, makeCla, makeCluster } from './cluster-fixtures.ts';

describe('circuit breakers', () => {
  it('uses Envoy’s defaults (1024/1024/1024/3) for a priority without thresholds', () => {
    const cb = new CircuitBreakers([]);
    const d = cb.forPriority('DEFAULT');
    assert.deepEqual([d.connections.max, d.pendingRequests.max, d.requests.max, d.retries.max], [1024, 1024, 1024, 3]);
  });

  it('keeps DEFAULT and HIGH apart; the first thresholds entry for a priority wins', () => {
    const cb = new CircuitBreakers([
      { priority: 'HIGH', maxConnections: 5, maxPendingRequests: 6, maxRequests: 7, maxRetries: 8 },
      { priority: 'HIGH', maxConnections: 50, maxPendingRequests: 60, maxRequests: 70, maxRetries: 80 },
      { priority: 'DEFAULT', maxConnections: 1, maxPendingRequests: 2, maxRequests: 3, maxRetries: 4 },
    ]);
    assert.equal(cb.forPriority('HIGH').requests.max, 7);
    assert.equal(cb.forPriority('DEFAULT').requests.max, 3);
    assert.ok(cb.forPriority('HIGH').requests.tryAcquire());
    assert.equal(cb.forPriority('DEFAULT').requests.count, 0);
  });

  it('reports overflow instead of queueing, and release makes room again', () => {
    const cb = new CircuitBreakers([
      { priority: 'DEFAULT', maxConnections: 1, maxPendingRequests: 1, maxRequests: 2, maxRetries: 1 },
    ]);
    const r = cb.forPriority('DEFAULT').requests;
    assert.deepEqual([r.tryAcquire(), r.tryAcquire(), r.tryAcquire()], [true, true, false]);
    assert.equal(r.count, 2);
    assert.equal(r.remaining, 0);
    r.release();
    assert.equal(r.tryAcquire(), true);
    r.release();
    r.release();
    r.release(); // extra releases never go negative
    assert.equal(r.count, 0);
  });

  it('a retry budget replaces max_retries: budget% of active + pending, at least the floor', () => {
    const cb = new CircuitBreakers(
      [{ priority: 'DEFAULT', maxConnections: 100, maxPendingRequests: 100, maxRequests: 100, maxRetries: 1 }],
      { DEFAULT: { budgetPercent: 20, minRetryConcurrency: 3 } },
    );
    const p = cb.forPriority('DEFAULT');
    assert.equal(p.retries.max, 3);
    for (let i = 0; i < 40; i++) p.requests.acquire();
    for (let i = 0; i < 10; i++) p.pendingRequests.acquire();
    assert.equal(p.retries.max, 10);
  });

  it('a request waiting for a connection counts once in a retry budget: as pending, not as a request', () => {
    const state = new ClusterState(
      makeCluster({
        circuitBreakers: [
          { priority: 'DEFAULT', maxConnections: 1, maxPendingRequests: 100, maxRequests: 100, maxRetries: 3 },
        ],
      }),
      makeCla([group(endpoints(1))]),
      { retryBudgets: { DEFAULT: { budgetPercent: 50, minRetryConcurrency: 0 } } },
    );
    const host = state.priorities[0]!.hosts[0]!;
    // the upstream never answers: the first request keeps the one connection, the others wait
    const dispatch = limitsInterceptor()(() => true);
    for (let i = 0; i < 4; i++) {
      const opts = { path: '/', method: 'GET', [kExchange]: { host, hostCluster: state, entry: undefined } };
      dispatch(opts as unknown as MeshDispatchOptions, { onRequestStart() {} } as Dispatcher.DispatchHandler);
    }
    const p = state.circuitBreakers.forPriority('DEFAULT');
    assert.deepEqual([p.requests.count, p.pendingRequests.count], [1, 3]);
    assert.equal(p.retries.max, 2, '50% of 1 active + 3 pending');
    state.dispose();
  });

  it('belongs to the cluster state, built from Cluster.circuitBreakers', () => {
    const state = new ClusterState(
      makeCluster({
        circuitBreakers: [
          { priority: 'DEFAULT', maxConnections: 9, maxPendingRequests: 9, maxRequests: 1, maxRetries: 9 },
        ],
      }),
      makeCla([group(endpoints(1))]),
    );
    const req = state.circuitBreakers.forPriority('DEFAULT').requests;
    assert.equal(req.tryAcquire(), true);
    assert.equal(req.tryAcquire(), false);
  });
});
