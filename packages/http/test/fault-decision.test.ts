// Fault injection decisions, deterministic under a scripted random source.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FaultAbort, FaultDelay, FractionalPercent, HeaderMatcher, HttpFault } from '@inboard/xds';
import {
  ActiveFaults,
  compileFault,
  decideFault,
  FaultCompileError,
  type FaultContext,
  selectFault,
} from '../src/fault/index.ts';
import { headerGetter, type RouteRequest } from '../src/route/index.ts';

const pct = (numerator: number, denominator = 100): FractionalPercent => ({ numerator, denominator });

function delay(over: Partial<FaultDelay> = {}): FaultDelay {
  return { fixedDelay: 100, headerDelay: false, percentage: pct(100), ...over };
}

function abort(over: Partial<FaultAbort> = {}): FaultAbort {
  return { httpStatus: 503, grpcStatus: undefined, headerAbort: false, percentage: pct(100), ...over };
}

function fault(over: Partial<HttpFault> = {}): HttpFault {
  return {
    delay: undefined,
    abort: undefined,
    upstreamCluster: '',
    headers: [],
    downstreamNodes: [],
    maxActiveFaults: undefined,
    ...over,
  };
}

function request(headers: Record<string, string | string[]> = {}): RouteRequest {
  return { method: 'GET', authority: 'svc', path: '/', scheme: 'http', headers: headerGetter(headers) };
}

/** A random source that plays back `values` and records how many were drawn. */
function scripted(...values: number[]) {
  const source = Object.assign(
    () => {
      const v = values[source.draws++];
      assert.ok(v !== undefined, 'more random draws than scripted');
      return v;
    },
    { draws: 0 },
  );
  return source;
}

function ctx(random: () => number, over: Partial<FaultContext> = {}): FaultContext {
  return { random, faults: new ActiveFaults(), ...over };
}

describe('delay', () => {
  test('a fixed delay flags DI and holds a fault slot until it ends', () => {
    const c = ctx(scripted(0, 99));
    const f = decideFault(compileFault(fault({ delay: delay({ fixedDelay: 250.9 }) })), request(), c);
    assert.ok(f);
    assert.equal(f.delayMs, 250); // whole milliseconds, as Envoy reads the Duration
    assert.deepEqual(f.responseFlags, ['DI']);
    assert.equal(c.faults.active, 1);
    assert.equal(c.faults.delaysInjected, 1);
    assert.equal(f.afterDelay(), undefined); // no abort configured
    assert.equal(c.faults.active, 0); // a delay without abort gives its slot back when it ends
    f.release();
    assert.equal(c.faults.active, 0);
  });

  test('percentage is strict: r % D < N', () => {
    const compiled = compileFault(fault({ delay: delay({ percentage: pct(50) }) }));
    assert.ok(decideFault(compiled, request(), ctx(scripted(49))));
    assert.equal(decideFault(compiled, request(), ctx(scripted(50))), undefined);
    assert.ok(decideFault(compiled, request(), ctx(scripted(149))));
    assert.equal(
      decideFault(compileFault(fault({ delay: delay({ percentage: pct(0) }) })), request(), ctx(scripted(0))),
      undefined,
    );
    assert.ok(
      decideFault(
        compileFault(fault({ delay: delay({ percentage: pct(1, 1_000_000) }) })),
        request(),
        ctx(scripted(2_000_000)),
      ),
    );
  });

  test('header delay: x-envoy-fault-delay-request gives the milliseconds', () => {
    const compiled = compileFault(fault({ delay: delay({ fixedDelay: undefined, headerDelay: true }) }));
    const run = (headers: Record<string, string | string[]>) =>
      decideFault(compiled, request(headers), ctx(scripted(0)))?.delayMs;
    assert.equal(run({ 'x-envoy-fault-delay-request': '200' }), 200);
    assert.equal(run({ 'x-envoy-fault-delay-request': ['300', '400'] }), 300); // first value only
    assert.equal(run({}), undefined);
    assert.equal(run({ 'x-envoy-fault-delay-request': 'soon' }), undefined);
    assert.equal(run({ 'x-envoy-fault-delay-request': '-5' }), undefined);
    assert.equal(run({ 'x-envoy-fault-delay-request': '0' }), undefined); // only > 0 ms counts
  });

  test('the delay percentage header is capped at the configured numerator', () => {
    const compiled = compileFault(
      fault({ delay: delay({ fixedDelay: undefined, headerDelay: true, percentage: pct(50) }) }),
    );
    const run = (p: string, r: number) =>
      decideFault(
        compiled,
        request({ 'x-envoy-fault-delay-request': '10', 'x-envoy-fault-delay-request-percentage': p }),
        ctx(scripted(r)),
      );
    assert.ok(run('10', 9));
    assert.equal(run('10', 10), undefined);
    assert.equal(run('80', 50), undefined); // capped at 50
    assert.ok(run('80', 49));
    assert.ok(run('junk', 49)); // unparsable: the configured percentage
  });

  test('the percentage header is ignored for a fixed delay', () => {
    const compiled = compileFault(fault({ delay: delay({ percentage: pct(50) }) }));
    assert.ok(decideFault(compiled, request({ 'x-envoy-fault-delay-request-percentage': '0' }), ctx(scripted(10))));
  });
});

describe('abort', () => {
  test('http status flags FI and holds the slot until release()', () => {
    const c = ctx(scripted(0));
    const f = decideFault(compileFault(fault({ abort: abort({ httpStatus: 418 }) })), request(), c);
    assert.ok(f);
    assert.equal(f.delayMs, undefined);
    assert.deepEqual(f.abort, { httpStatus: 418, grpcStatus: undefined });
    assert.deepEqual(f.responseFlags, ['FI']);
    assert.equal(c.faults.active, 1);
    assert.equal(c.faults.abortsInjected, 1);
    f.release();
    f.release();
    assert.equal(c.faults.active, 0);
  });

  test('grpc status aborts with HTTP 200 + grpc-status', () => {
    const f = decideFault(
      compileFault(fault({ abort: abort({ httpStatus: undefined, grpcStatus: 14 }) })),
      request(),
      ctx(scripted(0)),
    );
    assert.deepEqual(f?.abort, { httpStatus: 200, grpcStatus: 14 });
  });

  test('header abort: HTTP status in [200, 600) first, else the gRPC header', () => {
    const compiled = compileFault(fault({ abort: abort({ httpStatus: undefined, headerAbort: true }) }));
    const run = (headers: Record<string, string>) => decideFault(compiled, request(headers), ctx(scripted(0)))?.abort;
    assert.deepEqual(run({ 'x-envoy-fault-abort-request': '503' }), { httpStatus: 503, grpcStatus: undefined });
    assert.deepEqual(run({ 'x-envoy-fault-abort-request': '503', 'x-envoy-fault-abort-grpc-request': '4' }), {
      httpStatus: 503,
      grpcStatus: undefined,
    });
    assert.deepEqual(run({ 'x-envoy-fault-abort-request': '600', 'x-envoy-fault-abort-grpc-request': '4' }), {
      httpStatus: 200,
      grpcStatus: 4,
    });
    assert.equal(run({ 'x-envoy-fault-abort-request': '199' }), undefined);
    assert.equal(run({ 'x-envoy-fault-abort-grpc-request': 'x' }), undefined);
    assert.equal(run({}), undefined);
  });

  test('abort percentage header, capped, only for header aborts', () => {
    const header = compileFault(
      fault({ abort: abort({ httpStatus: undefined, headerAbort: true, percentage: pct(20) }) }),
    );
    const h = (p: string, r: number) =>
      decideFault(
        header,
        request({ 'x-envoy-fault-abort-request': '500', 'x-envoy-fault-abort-request-percentage': p }),
        ctx(scripted(r)),
      );
    assert.ok(h('5', 4));
    assert.equal(h('5', 5), undefined);
    assert.equal(h('90', 20), undefined);
    const fixed = compileFault(fault({ abort: abort({ percentage: pct(20) }) }));
    assert.ok(decideFault(fixed, request({ 'x-envoy-fault-abort-request-percentage': '0' }), ctx(scripted(5))));
  });
});

describe('delay then abort', () => {
  test('the abort is decided after the delay, with its own random draw', () => {
    const random = scripted(0, 7);
    const c = ctx(random);
    const f = decideFault(compileFault(fault({ delay: delay(), abort: abort({ percentage: pct(10) }) })), request(), c);
    assert.ok(f);
    assert.equal(random.draws, 1); // only the delay was decided
    assert.equal(f.abort, undefined);
    assert.deepEqual(f.afterDelay(), { httpStatus: 503, grpcStatus: undefined });
    assert.equal(random.draws, 2);
    assert.deepEqual(f.responseFlags, ['DI', 'FI']);
    assert.equal(c.faults.active, 1); // one slot for both faults
    assert.equal(c.faults.abortsInjected, 1);
    assert.deepEqual(f.afterDelay(), { httpStatus: 503, grpcStatus: undefined }); // idempotent
    f.release();
    assert.equal(c.faults.active, 0);
  });

  test('a delayed request may still not be aborted', () => {
    const f = decideFault(
      compileFault(fault({ delay: delay(), abort: abort({ percentage: pct(10) }) })),
      request(),
      ctx(scripted(0, 10)),
    );
    assert.equal(f?.afterDelay(), undefined);
    assert.deepEqual(f?.responseFlags, ['DI']);
  });

  test('no delay: the abort is decided at once (delay draw, then abort draw)', () => {
    const random = scripted(99, 0);
    const f = decideFault(
      compileFault(fault({ delay: delay({ percentage: pct(50) }), abort: abort() })),
      request(),
      ctx(random),
    );
    assert.deepEqual(f?.abort, { httpStatus: 503, grpcStatus: undefined });
    assert.deepEqual(f?.responseFlags, ['FI']);
    assert.equal(random.draws, 2);
  });
});

describe('scoping', () => {
  const h = (name: string, value: string): HeaderMatcher => ({
    name,
    match: { kind: 'string', matcher: { kind: 'exact', value, ignoreCase: false } },
    invert: false,
    treatMissingHeaderAsEmpty: false,
  });

  test('headers matchers gate the fault (all must match), before any random draw', () => {
    const compiled = compileFault(fault({ abort: abort(), headers: [h('x-user', 'jason'), h(':method', 'GET')] }));
    const random = scripted(0);
    assert.equal(decideFault(compiled, request({ 'x-user': 'bob' }), ctx(random)), undefined);
    assert.equal(decideFault(compiled, request(), ctx(random)), undefined);
    assert.equal(random.draws, 0);
    assert.ok(decideFault(compiled, request({ 'x-user': 'jason' }), ctx(random)));
  });

  test('upstream_cluster must equal the chosen cluster', () => {
    const compiled = compileFault(fault({ abort: abort(), upstreamCluster: 'outbound|9080|v1|reviews' }));
    assert.equal(
      decideFault(compiled, request(), ctx(scripted(0), { clusterName: 'outbound|9080|v2|reviews' })),
      undefined,
    );
    assert.equal(decideFault(compiled, request(), ctx(scripted(0))), undefined);
    assert.ok(decideFault(compiled, request(), ctx(scripted(0), { clusterName: 'outbound|9080|v1|reviews' })));
  });

  test('downstream_nodes is matched against x-envoy-downstream-service-node', () => {
    const compiled = compileFault(fault({ abort: abort(), downstreamNodes: ['a', 'b'] }));
    assert.equal(decideFault(compiled, request(), ctx(scripted(0))), undefined);
    assert.equal(
      decideFault(compiled, request({ 'x-envoy-downstream-service-node': 'c' }), ctx(scripted(0))),
      undefined,
    );
    assert.ok(decideFault(compiled, request({ 'x-envoy-downstream-service-node': 'b' }), ctx(scripted(0))));
  });

  test('a per-route override replaces the filter-level fault', () => {
    const filterLevel = compileFault(fault({ abort: abort({ httpStatus: 500 }) }));
    const perRoute = compileFault(fault({ abort: abort({ httpStatus: 404 }) }));
    assert.equal(selectFault(filterLevel, perRoute), perRoute);
    assert.equal(selectFault(filterLevel, undefined), filterLevel);
  });

  test('compileFault caches per fault and names a bad matcher', () => {
    const f = fault({ abort: abort() });
    assert.equal(compileFault(f), compileFault(f));
    const bad = fault({
      headers: [h('a', 'x'), { ...h('b', ''), match: { kind: 'string', matcher: { kind: 'regex', regex: '(' } } }],
    });
    assert.throws(
      () => compileFault(bad),
      (e: unknown) => e instanceof FaultCompileError && e.field === 'headers[1]',
    );
  });
});

describe('max_active_faults', () => {
  test('a fault beyond the limit is skipped and counted as an overflow', () => {
    const compiled = compileFault(fault({ abort: abort(), maxActiveFaults: 1 }));
    const faults = new ActiveFaults();
    const first = decideFault(compiled, request(), { random: () => 0, faults });
    assert.ok(first);
    assert.equal(decideFault(compiled, request(), { random: () => 0, faults }), undefined);
    assert.equal(faults.overflows, 1);
    assert.equal(faults.active, 1);
    first.release();
    assert.ok(decideFault(compiled, request(), { random: () => 0, faults }));
  });

  test('a delay that overflows falls through to the abort decision, which overflows too', () => {
    const compiled = compileFault(fault({ delay: delay(), abort: abort(), maxActiveFaults: 0 }));
    const faults = new ActiveFaults();
    const random = scripted(0, 0);
    assert.equal(decideFault(compiled, request(), { random, faults }), undefined);
    assert.equal(random.draws, 2);
    assert.equal(faults.overflows, 2);
    assert.equal(faults.active, 0);
  });
});
