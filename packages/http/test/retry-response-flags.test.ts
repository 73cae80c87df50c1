import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatResponseFlags, RESPONSE_FLAGS, requestResult, resetReasonFlag } from '../src/retry/index.ts';

const URX = { action: 'stop', reason: 'retry_limit_exceeded' } as const;
const UO = { action: 'stop', reason: 'overflow' } as const;

describe('response flags', () => {
  it('print in Envoy’s canonical order, comma-separated, "-" when empty', () => {
    assert.equal(formatResponseFlags(['URX', 'UF']), 'UF,URX');
    assert.equal(formatResponseFlags(['UO', 'UH', 'UT']), 'UH,UT,UO');
    assert.equal(formatResponseFlags([]), '-');
    assert.equal(formatResponseFlags(['URX', 'UF'], true), 'UpstreamConnectionFailure,UpstreamRetryLimitExceeded');
    assert.deepEqual(RESPONSE_FLAGS.slice(0, 8), ['LH', 'UH', 'UT', 'LR', 'UR', 'UF', 'UC', 'UO']);
  });

  it('map reset reasons like Envoy’s router', () => {
    assert.deepEqual(
      (
        [
          'local_connection_failure',
          'remote_connection_failure',
          'connection_timeout',
          'connection_termination',
          'local_reset',
          'remote_reset',
          'remote_refused_stream_reset',
          'overflow',
          'protocol_error',
        ] as const
      ).map(resetReasonFlag),
      ['UF', 'UF', 'UF', 'UC', 'LR', 'UR', 'UR', 'UO', 'UPE'],
    );
  });
});

describe('requestResult', () => {
  it('a forwarded response carries URX or UO when a wanted retry was refused', () => {
    assert.deepEqual(requestResult({ kind: 'response', status: 200 }), {
      status: 200,
      flags: [],
      details: 'via_upstream',
      overloaded: false,
    });
    assert.deepEqual(requestResult({ kind: 'response', status: 503, retry: URX }).flags, ['URX']);
    assert.deepEqual(requestResult({ kind: 'response', status: 503, retry: UO }).flags, ['UO']);
  });

  it('connect failures that ran out of retries are 503 UF,URX', () => {
    const r = requestResult({ kind: 'reset', reason: 'remote_connection_failure', retry: URX });
    assert.equal(r.status, 503);
    assert.equal(formatResponseFlags(r.flags), 'UF,URX');
    assert.equal(r.details, 'upstream_reset_before_response_started{remote_connection_failure}');
  });

  it('resets: UC / UR / LR at 503, protocol errors 502 UPE, overflow 503 UO with x-envoy-overloaded', () => {
    assert.deepEqual(requestResult({ kind: 'reset', reason: 'connection_termination' }).flags, ['UC']);
    assert.deepEqual(requestResult({ kind: 'reset', reason: 'remote_reset' }).flags, ['UR']);
    assert.deepEqual(requestResult({ kind: 'reset', reason: 'local_reset' }).flags, ['LR']);
    const pe = requestResult({ kind: 'reset', reason: 'protocol_error' });
    assert.deepEqual([pe.status, pe.flags], [502, ['UPE']]);
    const o = requestResult({ kind: 'reset', reason: 'overflow' });
    assert.deepEqual([o.status, o.flags, o.overloaded], [503, ['UO'], true]);
  });

  it('per-try timeout: 504 UT, plus URX when retries ran out', () => {
    const t = requestResult({ kind: 'per_try_timeout', retry: URX });
    assert.deepEqual([t.status, formatResponseFlags(t.flags), t.details], [504, 'UT,URX', 'upstream_per_try_timeout']);
    assert.deepEqual(
      requestResult({ kind: 'per_try_timeout', retry: { action: 'stop', reason: 'not_retriable' } }).flags,
      ['UT'],
    );
  });

  it('local decisions: UT, UH, NC, NR, DO, DC', () => {
    const pairs = (o: Parameters<typeof requestResult>[0]) => {
      const r = requestResult(o);
      return [r.status, formatResponseFlags(r.flags), r.details];
    };
    assert.deepEqual(pairs({ kind: 'global_timeout' }), [504, 'UT', 'upstream_response_timeout']);
    assert.deepEqual(pairs({ kind: 'no_healthy_upstream' }), [503, 'UH', 'no_healthy_upstream']);
    assert.deepEqual(pairs({ kind: 'no_cluster' }), [503, 'NC', 'cluster_not_found']);
    assert.deepEqual(pairs({ kind: 'no_cluster', responseCode: 404 }), [404, 'NC', 'cluster_not_found']);
    assert.deepEqual(pairs({ kind: 'no_route' }), [404, 'NR', 'route_not_found']);
    assert.deepEqual(pairs({ kind: 'drop_overload' }), [503, 'DO', 'drop_overload']);
    assert.deepEqual(pairs({ kind: 'downstream_disconnect' }), [0, 'DC', 'downstream_remote_disconnect']);
  });
});
