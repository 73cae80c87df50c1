// ParentBasedRatioSampler against the SDK's ParentBasedSampler({ root: TraceIdRatioBasedSampler })
// as the oracle: the same decision for every trace id and parent, so application spans (sampled by
// NodeSDK) and the mesh's spans agree on every trace; and the native tracer, which decides new
// traces from the words their ids are written from, agrees with both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Context, ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import { NativeTracer } from '../src/native-tracer.ts';
import { ParentBasedRatioSampler } from '../src/ratio-sampler.ts';

const RATIOS = [0, 0.01, 0.25, 0.5, 0.999, 1, 2, -1, Number.NaN];

function randomHex(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(Math.random() * 16)];
  return s;
}

function parentContext(flags: number, isRemote: boolean): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: randomHex(32),
    spanId: randomHex(16),
    traceFlags: flags,
    isRemote,
  });
}

test('the same decisions as the SDK’s ParentBased(TraceIdRatioBased), for every ratio, id and parent', () => {
  const contexts = [
    ROOT_CONTEXT,
    parentContext(TraceFlags.SAMPLED, true),
    parentContext(TraceFlags.NONE, true),
    parentContext(TraceFlags.SAMPLED, false),
    parentContext(TraceFlags.NONE, false),
    // an invalid parent counts as none
    trace.setSpanContext(ROOT_CONTEXT, { traceId: '0'.repeat(32), spanId: randomHex(16), traceFlags: 1 }),
  ];
  const ids = [
    ...Array.from({ length: 400 }, () => randomHex(32)),
    randomHex(32).toUpperCase(),
    'ffffffff'.repeat(4),
    `${'0'.repeat(31)}1`,
    '0'.repeat(32), // invalid: never sampled
    randomHex(31),
    `${randomHex(31)}g`,
  ];
  let sampled = 0;
  for (const ratio of RATIOS) {
    const ours = new ParentBasedRatioSampler(ratio);
    const sdk = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    assert.equal(ours.toString(), sdk.toString());
    for (const ctx of contexts) {
      for (const id of ids) {
        const want = sdk.shouldSample(ctx, id, 'GET', SpanKind.CLIENT, {}, []).decision;
        assert.equal(ours.shouldSample(ctx, id, 'GET', SpanKind.CLIENT).decision, want, `ratio ${ratio}, id ${id}`);
        if (want === SamplingDecision.RECORD_AND_SAMPLED) sampled++;
      }
    }
  }
  // both outcomes were met
  assert.ok(sampled > 0 && sampled < RATIOS.length * contexts.length * ids.length);
});

test('native spans under it: new traces decided by their ids as the SDK decides, parents followed', () => {
  const oracle = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.5) });
  const tracer = new NativeTracer({
    spanProcessors: [],
    resource: resourceFromAttributes({ 'service.name': 'test' }),
    sampler: new ParentBasedRatioSampler(0.5),
    scope: { name: 'test' },
  });
  let recorded = 0;
  for (let i = 0; i < 2000; i++) {
    const span = tracer.startSpan('GET', { kind: SpanKind.CLIENT });
    const sc = span.spanContext();
    const want = oracle.shouldSample(ROOT_CONTEXT, sc.traceId, 'GET', SpanKind.CLIENT, {}, []).decision;
    assert.equal(span.isRecording(), want === SamplingDecision.RECORD_AND_SAMPLED, sc.traceId);
    assert.equal(sc.traceFlags, span.isRecording() ? TraceFlags.SAMPLED : TraceFlags.NONE);
    assert.match(sc.traceId, /^[0-9a-f]{32}$/);
    if (span.isRecording()) recorded++;
    span.end();
  }
  // about half: the decisions are the ids', not a constant
  assert.ok(recorded > 800 && recorded < 1200, `${recorded} of 2000 recorded`);
  const child = tracer.startSpan('child', {}, parentContext(TraceFlags.SAMPLED, true));
  assert.equal(child.isRecording(), true);
  const quiet = tracer.startSpan('child', {}, parentContext(TraceFlags.NONE, true));
  assert.equal(quiet.isRecording(), false);
});
