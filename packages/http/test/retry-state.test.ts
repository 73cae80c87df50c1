import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RetryPolicy } from '@inboard/xds';
import { ResourceLimit } from '../src/cluster/index.ts';
import {
  type HeaderLookup,
  JitteredExponentialBackoff,
  parseRetryOn,
  type ResetReason,
  RetryOn,
  RetryState,
} from '../src/retry/index.ts';
import { constant, headers, makeRetryPolicy } from './cluster-fixtures.ts';

const none: HeaderLookup = () => undefined;

function state(retryOn: string[], extra: Partial<RetryPolicy> = {}, requestHeaders: HeaderLookup = none) {
  return new RetryState({
    policy: makeRetryPolicy({ retryOn, numRetries: 5, ...extra }),
    requestHeaders,
    random: constant(0),
  });
}

/** Whether a fresh state with `retryOn` would retry this response. */
function retriesResponse(
  retryOn: string[],
  status: number,
  h: Record<string, string> = {},
  extra: Partial<RetryPolicy> = {},
) {
  return state(retryOn, extra).onResponse(status, headers(h)).action === 'retry';
}

function retriesReset(retryOn: string[], reason: ResetReason, started = false) {
  return state(retryOn).onReset(reason, started).action === 'retry';
}

describe('retry_on conditions on responses', () => {
  it('5xx: any 5xx status', () => {
    assert.deepEqual(
      [500, 503, 599, 499, 404, 200].map((s) => retriesResponse(['5xx'], s)),
      [true, true, true, false, false, false],
    );
  });

  it('gateway-error: 502, 503, 504 only', () => {
    assert.deepEqual(
      [502, 503, 504, 500, 501].map((s) => retriesResponse(['gateway-error'], s)),
      [true, true, true, false, false],
    );
  });

  it('retriable-4xx: 409 only', () => {
    assert.deepEqual(
      [409, 400, 404, 429].map((s) => retriesResponse(['retriable-4xx'], s)),
      [true, false, false, false],
    );
  });

  it('retriable-status-codes: the configured list plus x-envoy-retriable-status-codes', () => {
    assert.equal(retriesResponse(['retriable-status-codes'], 418, {}, { retriableStatusCodes: [418] }), true);
    assert.equal(retriesResponse(['retriable-status-codes'], 503), false);
    assert.equal(retriesResponse(['5xx'], 418, {}, { retriableStatusCodes: [418] }), false);
    const fromHeader = state(['retriable-status-codes'], {}, headers({ 'x-envoy-retriable-status-codes': '429, 418' }));
    assert.equal(fromHeader.onResponse(418, none).action, 'retry');
  });

  it('retriable-status-codes with 425 Too Early retries at once (no backoff)', () => {
    const s = state(['retriable-status-codes'], { retriableStatusCodes: [425] });
    assert.deepEqual(s.onResponse(425, none), { action: 'retry', backoffMs: 0 });
  });

  it('retriable-headers: configured matchers and x-envoy-retriable-header-names', () => {
    const retriableHeaders = [
      {
        name: 'x-upstream-busy',
        match: { kind: 'string' as const, matcher: { kind: 'exact' as const, value: 'yes', ignoreCase: true } },
        invert: false,
        treatMissingHeaderAsEmpty: false,
      },
    ];
    assert.equal(retriesResponse(['retriable-headers'], 200, { 'x-upstream-busy': 'YES' }, { retriableHeaders }), true);
    assert.equal(retriesResponse(['retriable-headers'], 200, { 'x-upstream-busy': 'no' }, { retriableHeaders }), false);
    const byName = state(['retriable-headers'], {}, headers({ 'x-envoy-retriable-header-names': 'X-Try-Again' }));
    assert.equal(byName.onResponse(200, headers({ 'x-try-again': '1' })).action, 'retry');
  });

  it('envoy-ratelimited: a response with x-envoy-ratelimited is retried only under this condition', () => {
    assert.equal(retriesResponse(['5xx'], 503, { 'x-envoy-ratelimited': 'true' }), false);
    assert.equal(retriesResponse(['envoy-ratelimited'], 429, { 'x-envoy-ratelimited': 'true' }), true);
    assert.equal(retriesResponse(['envoy-ratelimited'], 429), false);
  });

  it('gRPC conditions use grpc-status from the response headers', () => {
    const cases: [string, string, boolean][] = [
      ['cancelled', '1', true],
      ['deadline-exceeded', '4', true],
      ['resource-exhausted', '8', true],
      ['internal', '13', true],
      ['unavailable', '14', true],
      ['unavailable', '13', false],
      ['cancelled', '0', false],
    ];
    for (const [cond, code, expected] of cases) {
      assert.equal(retriesResponse([cond], 200, { 'grpc-status': code }), expected, `${cond} on ${code}`);
    }
    assert.equal(retriesResponse(['unavailable'], 200), false);
  });

  it('http3-post-connect-failure is accepted and does nothing over TCP', () => {
    assert.equal(parseRetryOn(['http3-post-connect-failure']), RetryOn.HTTP3_POST_CONNECT_FAILURE);
    assert.equal(retriesReset(['http3-post-connect-failure'], 'remote_reset'), false);
  });

  it('no policy and no headers: never retries', () => {
    const s = new RetryState({ policy: undefined });
    assert.equal(s.enabled, false);
    assert.deepEqual(s.onResponse(503, none), { action: 'stop', reason: 'not_retriable' });
  });
});

describe('retry_on conditions on resets', () => {
  it('connect-failure: connection failures and connect timeouts only', () => {
    const r = (reason: ResetReason) => retriesReset(['connect-failure'], reason);
    assert.deepEqual(
      (
        [
          'local_connection_failure',
          'remote_connection_failure',
          'connection_timeout',
          'remote_reset',
          'connection_termination',
        ] as const
      ).map(r),
      [true, true, true, false, false],
    );
  });

  it('reset: any reset except overflow', () => {
    assert.deepEqual(
      (['remote_reset', 'connection_termination', 'local_reset', 'remote_connection_failure', 'overflow'] as const).map(
        (x) => retriesReset(['reset'], x),
      ),
      [true, true, true, true, false],
    );
  });

  it('reset-before-request: only while no request bytes were sent', () => {
    assert.equal(retriesReset(['reset-before-request'], 'remote_reset', false), true);
    assert.equal(retriesReset(['reset-before-request'], 'remote_reset', true), false);
    const s = state(['reset-before-request']);
    s.markRequestStarted();
    assert.equal(s.onReset('connection_termination').action, 'stop');
  });

  it('5xx and gateway-error also retry resets', () => {
    assert.equal(retriesReset(['5xx'], 'remote_reset'), true);
    assert.equal(retriesReset(['gateway-error'], 'connection_termination'), true);
  });

  it('refused-stream: only REFUSED_STREAM resets', () => {
    assert.equal(retriesReset(['refused-stream'], 'remote_refused_stream_reset'), true);
    assert.equal(retriesReset(['refused-stream'], 'remote_reset'), false);
  });

  it('never retries a circuit breaker overflow', () => {
    assert.equal(retriesReset(['5xx', 'reset', 'connect-failure'], 'overflow'), false);
  });

  it('per-try timeouts retry under 5xx, gateway-error and reset, not connect-failure', () => {
    assert.equal(state(['5xx']).onPerTryTimeout().action, 'retry');
    assert.equal(state(['gateway-error']).onPerTryTimeout().action, 'retry');
    assert.equal(state(['reset']).onPerTryTimeout().action, 'retry');
    assert.equal(state(['connect-failure']).onPerTryTimeout().action, 'stop');
  });
});

describe('retry limits', () => {
  it('stops with retry_limit_exceeded once num_retries are used', () => {
    const s = state(['5xx'], { numRetries: 2 });
    assert.equal(s.onResponse(503, none).action, 'retry');
    s.beginRetry();
    assert.equal(s.onResponse(503, none).action, 'retry');
    s.beginRetry();
    assert.deepEqual(s.onResponse(503, none), { action: 'stop', reason: 'retry_limit_exceeded' });
    assert.equal(s.attemptCount, 3);
  });

  it('a non-retriable outcome after a retry is a plain stop', () => {
    const s = state(['5xx'], { numRetries: 1 });
    s.onResponse(503, none);
    s.beginRetry();
    assert.deepEqual(s.onResponse(200, none), { action: 'stop', reason: 'not_retriable' });
  });

  it('x-envoy-max-retries overrides num_retries when some condition is set', () => {
    const s = state(['5xx'], { numRetries: 5 }, headers({ 'x-envoy-max-retries': '0' }));
    assert.deepEqual(s.onResponse(503, none), { action: 'stop', reason: 'retry_limit_exceeded' });
  });

  it('x-envoy-retry-on / x-envoy-retry-grpc-on enable retries without a policy; default num_retries 1', () => {
    const s = new RetryState({
      policy: undefined,
      requestHeaders: headers({ 'x-envoy-retry-on': 'gateway-error,unavailable' }),
    });
    assert.equal(s.retryOn, RetryOn.GATEWAY_ERROR); // gRPC names are ignored in x-envoy-retry-on
    assert.equal(s.retriesRemaining, 1);
    const g = new RetryState({
      policy: undefined,
      requestHeaders: headers({ 'x-envoy-retry-grpc-on': 'unavailable,5xx' }),
    });
    assert.equal(g.retryOn, RetryOn.GRPC_UNAVAILABLE);
  });

  it('ignores the x-envoy-* retry headers when told not to honour them', () => {
    const s = new RetryState({
      policy: makeRetryPolicy({ retryOn: ['5xx'], numRetries: 3 }),
      requestHeaders: headers({ 'x-envoy-max-retries': '0', 'x-envoy-retry-on': 'retriable-4xx' }),
      honorRetryHeaders: false,
    });
    assert.equal(s.retriesRemaining, 3);
    assert.equal(s.retryOn, RetryOn.FIVE_XX);
  });

  it('retriable_request_headers: no matching request header disables retries', () => {
    const retriableRequestHeaders = [
      {
        name: ':method',
        match: { kind: 'string' as const, matcher: { kind: 'exact' as const, value: 'GET', ignoreCase: false } },
        invert: false,
        treatMissingHeaderAsEmpty: false,
      },
    ];
    assert.equal(state(['5xx'], { retriableRequestHeaders }, headers({ ':method': 'POST' })).enabled, false);
    assert.equal(state(['5xx'], { retriableRequestHeaders }, headers({ ':method': 'GET' })).enabled, true);
  });

  it('the max_retries breaker: overflow stops retrying; the slot frees at the next decision or finish', () => {
    const retries = new ResourceLimit(1);
    const a = new RetryState({
      policy: makeRetryPolicy({ retryOn: ['5xx'], numRetries: 3 }),
      retries,
      random: constant(0),
    });
    const b = new RetryState({
      policy: makeRetryPolicy({ retryOn: ['5xx'], numRetries: 3 }),
      retries,
      random: constant(0),
    });
    assert.equal(a.onResponse(503, none).action, 'retry');
    assert.equal(retries.count, 1);
    assert.deepEqual(b.onResponse(503, none), { action: 'stop', reason: 'overflow' });
    a.beginRetry();
    assert.equal(a.onResponse(200, none).action, 'stop'); // the retry's outcome is known: slot freed
    assert.equal(retries.count, 0);
    assert.equal(b.onResponse(503, none).action, 'retry');
    b.finish();
    assert.equal(retries.count, 0);
  });
});

describe('backoff', () => {
  it('draws uniformly below 25, 50, 100, 200, then 250 ms by default', () => {
    // 999 ≡ −1 modulo every interval: each draw hits the top of its range
    const top = new JitteredExponentialBackoff(25, undefined, constant(999));
    assert.deepEqual(
      Array.from({ length: 6 }, () => top.nextBackOffMs()),
      [24, 49, 99, 199, 249, 249],
    );
    const bottom = new JitteredExponentialBackoff(25, undefined, constant(0));
    assert.equal(bottom.nextBackOffMs(), 0);
  });

  it('honours retry_back_off base and max intervals', () => {
    const s = new RetryState({
      policy: makeRetryPolicy({ retryOn: ['5xx'], numRetries: 5, backOff: { baseInterval: 100, maxInterval: 300 } }),
      random: constant(599), // ≡ −1 mod 100, 200, 300
    });
    const delays = Array.from({ length: 4 }, () => {
      const d = s.onResponse(503, none);
      s.beginRetry();
      return d.action === 'retry' ? d.backoffMs : -1;
    });
    assert.deepEqual(delays, [99, 199, 299, 299]);
  });

  it('rounds a base interval under 1 ms up to 1 ms', () => {
    const b = new JitteredExponentialBackoff(0.2, undefined, constant(7));
    assert.equal(b.baseInterval, 1);
    assert.equal(b.nextBackOffMs(), 0);
  });
});

describe('attempts and host selection', () => {
  it('counts attempts for x-envoy-attempt-count', () => {
    const s = state(['5xx']);
    assert.equal(s.attemptCount, 1);
    s.onResponse(503, none);
    assert.equal(s.beginRetry(), 2);
  });

  it('tracks previous hosts only with the previous_hosts predicate', () => {
    const withPredicate = state(['5xx'], {
      hostPredicates: ['envoy.retry_host_predicates.previous_hosts'],
      hostSelectionRetryMaxAttempts: 5,
    });
    withPredicate.onHostAttempted({ key: '10.0.0.1:80' });
    assert.deepEqual([...withPredicate.previousHosts], ['10.0.0.1:80']);
    assert.equal(withPredicate.shouldSelectAnotherHost({ key: '10.0.0.1:80' }), true);
    assert.equal(withPredicate.hostSelectionRetryCount, 1); // first attempt
    withPredicate.onResponse(503, none);
    withPredicate.beginRetry();
    assert.equal(withPredicate.hostSelectionRetryCount, 5);

    const without = state(['5xx']);
    without.onHostAttempted({ key: '10.0.0.1:80' });
    assert.equal(without.previousHosts.size, 0);
  });

  it('per-try timeout: header overrides the policy; ignored when ≥ a non-zero route timeout', () => {
    assert.equal(state(['5xx'], { perTryTimeout: 500 }).perTryTimeout(15_000), 500);
    assert.equal(state(['5xx'], { perTryTimeout: 500 }).perTryTimeout(400), undefined);
    assert.equal(state(['5xx'], { perTryTimeout: 500 }).perTryTimeout(0), 500);
    const h = state(['5xx'], { perTryTimeout: 500 }, headers({ 'x-envoy-upstream-rq-per-try-timeout-ms': '250' }));
    assert.equal(h.perTryTimeout(15_000), 250);
  });
});
