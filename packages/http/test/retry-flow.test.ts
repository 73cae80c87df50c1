// The decision core as the router drives it: pick → attempt → retry decision → final flags.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '@inboard/xds';
import { ClusterState, xxHash64 } from '../src/cluster/index.ts';
import {
  formatResponseFlags,
  type RequestOutcome,
  type ResetReason,
  RetryState,
  requestResult,
} from '../src/retry/index.ts';
import { constant, endpoints, group, makeCla, makeCluster, makeOutlier, makeRetryPolicy } from './cluster-fixtures.ts';

type Attempt = { reset: ResetReason } | { status: number };

/** Runs one request; `upstream` decides each attempt's fate from the host it went to. */
function run(
  state: ClusterState,
  rs: RetryState,
  upstream: (hostKey: string, attempt: number) => Attempt,
  hash?: bigint,
) {
  const tried: string[] = [];
  const breakers = state.circuitBreakers.forPriority('DEFAULT');
  for (;;) {
    const host = state.pick({
      hash,
      previousHosts: rs.previousHosts,
      hostSelectionRetryCount: rs.hostSelectionRetryCount,
    });
    if (host === undefined) return { tried, result: requestResult({ kind: 'no_healthy_upstream' }) };
    if (!breakers.requests.tryAcquire()) return { tried, result: requestResult({ kind: 'reset', reason: 'overflow' }) };
    rs.onHostAttempted(host);
    tried.push(host.key);
    const a = upstream(host.key, rs.attemptCount);
    breakers.requests.release();
    let outcome: RequestOutcome;
    if ('reset' in a) {
      state.recordResult(host, { localOrigin: 'connect_failure' });
      const d = rs.onReset(a.reset);
      if (d.action === 'retry') {
        rs.beginRetry();
        continue;
      }
      outcome = { kind: 'reset', reason: a.reset, retry: d };
    } else {
      state.recordResult(host, { status: a.status });
      const d = rs.onResponse(a.status, () => undefined);
      if (d.action === 'retry') {
        rs.beginRetry();
        continue;
      }
      outcome = { kind: 'response', status: a.status, retry: d };
    }
    rs.finish();
    return { tried, result: requestResult(outcome) };
  }
}

const istioDefault = makeRetryPolicy({
  retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
  numRetries: 2,
  hostPredicates: ['envoy.retry_host_predicates.previous_hosts'],
  hostSelectionRetryMaxAttempts: 5,
});

describe('request flow through the decision core', () => {
  it('retries connect failures on fresh hosts, then fails 503 UF,URX', () => {
    const state = new ClusterState(makeCluster(), makeCla([group(endpoints(3))]), { random: constant(0) });
    const rs = new RetryState({ policy: istioDefault, retries: state.circuitBreakers.forPriority('DEFAULT').retries });
    const { tried, result } = run(state, rs, () => ({ reset: 'remote_connection_failure' }));
    assert.equal(new Set(tried).size, 3);
    assert.deepEqual([result.status, formatResponseFlags(result.flags)], [503, 'UF,URX']);
    assert.equal(rs.attemptCount, 3);
  });

  it('previous_hosts moves retries of a consistently hashed request to other hosts', () => {
    const state = new ClusterState(makeCluster({ lbPolicy: 'RING_HASH' }), makeCla([group(endpoints(4))]), {
      random: constant(0),
    });
    const hash = xxHash64('user-7');
    const fail = (): Attempt => ({ reset: 'remote_connection_failure' });
    const sticky = run(state, new RetryState({ policy: { ...istioDefault, hostPredicates: [] } }), fail, hash);
    assert.equal(new Set(sticky.tried).size, 1);
    const spread = run(state, new RetryState({ policy: istioDefault }), fail, hash);
    assert.equal(new Set(spread.tried).size, 3);
    assert.equal(spread.tried[0], sticky.tried[0]);
  });

  it('a retry that succeeds reports the upstream response without flags', () => {
    const state = new ClusterState(makeCluster(), makeCla([group(endpoints(3))]), { random: constant(0) });
    const rs = new RetryState({ policy: istioDefault });
    const { tried, result } = run(state, rs, (_, attempt) =>
      attempt === 1 ? { reset: 'connection_timeout' } : { status: 200 },
    );
    assert.equal(tried.length, 2);
    assert.deepEqual([result.status, formatResponseFlags(result.flags)], [200, '-']);
  });

  it('a 503 response is not retried under Istio’s default policy (no status codes configured)', () => {
    const state = new ClusterState(makeCluster(), makeCla([group(endpoints(3))]), { random: constant(0) });
    const { tried, result } = run(state, new RetryState({ policy: istioDefault }), () => ({ status: 503 }));
    assert.deepEqual([tried.length, result.status, formatResponseFlags(result.flags)], [1, 503, '-']);
  });

  it('a full retries breaker stops the retry with UO', () => {
    const state = new ClusterState(
      makeCluster({
        circuitBreakers: [
          { priority: 'DEFAULT', maxConnections: 10, maxPendingRequests: 10, maxRequests: 10, maxRetries: 0 },
        ],
      }),
      makeCla([group(endpoints(3))]),
      { random: constant(0) },
    );
    const rs = new RetryState({ policy: istioDefault, retries: state.circuitBreakers.forPriority('DEFAULT').retries });
    const { tried, result } = run(state, rs, () => ({ reset: 'remote_connection_failure' }));
    assert.equal(tried.length, 1);
    assert.equal(formatResponseFlags(result.flags), 'UF,UO');
  });

  it('outlier ejection during retries leaves no healthy host: 503 UH', () => {
    const clock = new ManualClock();
    const state = new ClusterState(
      makeCluster({
        healthyPanicThreshold: 0,
        outlierDetection: makeOutlier({ consecutive5xx: 1, maxEjectionPercent: 100 }),
      }),
      makeCla([group(endpoints(2))]),
      { clock, random: constant(0) },
    );
    const rs = new RetryState({ policy: makeRetryPolicy({ retryOn: ['5xx'], numRetries: 5 }) });
    const { tried, result } = run(state, rs, () => ({ status: 500 }));
    assert.deepEqual(tried, ['10.0.0.1:80', '10.0.0.2:80']);
    assert.deepEqual([result.status, formatResponseFlags(result.flags)], [503, 'UH']);
    state.dispose();
  });
});
