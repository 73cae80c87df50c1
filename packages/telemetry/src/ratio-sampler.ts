// The sampler Istio's default calls for (1% of new traces, a caller's decision followed), with the
// decisions of the SDK's ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }) and
// its default delegates, so application spans and mesh spans under either agree on every trace.
// It is cheaper to ask, and the native tracer asks it cheaper still: for a trace it starts it
// decides from the four random words the id is written from (the ratio sampler's accumulation is
// their XOR), without reading the id back. (The SDK's pair took ≈ 0.18 µs per new trace here,
// 0.14 of it reading the id's characters.)
import { type Context, isSpanContextValid, isValidTraceId, type SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import type { Sampler, SamplingResult } from '@opentelemetry/sdk-trace';

// SamplingDecision of sdk-trace (a type-only import here: the SDK is an optional peer)
const SAMPLED: SamplingResult = Object.freeze({ decision: 2 });
const DROPPED: SamplingResult = Object.freeze({ decision: 0 });

/** TraceIdRatioBasedSampler's ratio: a number in [0, 1], anything else 0. */
function normalize(ratio: number): number {
  if (typeof ratio !== 'number' || Number.isNaN(ratio)) return 0;
  return Math.min(1, Math.max(0, ratio));
}

// hex digit values by character code (a valid trace id is checked before it is read)
const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** The XOR of a trace id's four 32-bit words (TraceIdRatioBasedSampler's accumulation). */
function accumulate(traceId: string): number {
  let acc = 0;
  for (let i = 0; i < 32; i += 8) {
    let word = 0;
    for (let j = i; j < i + 8; j++) word = (word << 4) | HEX_VALUE[traceId.charCodeAt(j) & 127]!;
    acc = (acc ^ word) >>> 0;
  }
  return acc;
}

export class ParentBasedRatioSampler implements Sampler {
  /** the fraction of new traces sampled */
  readonly ratio: number;
  readonly #upperBound: number;

  constructor(ratio: number) {
    this.ratio = normalize(ratio);
    this.#upperBound = this.ratio === 1 ? 0x1_0000_0000 : Math.floor(this.ratio * 0xffff_ffff);
  }

  shouldSample(ctx: Context, traceId: string, _name?: string, _kind?: SpanKind): SamplingResult {
    const parent = trace.getSpanContext(ctx);
    if (parent !== undefined && isSpanContextValid(parent))
      return (parent.traceFlags & TraceFlags.SAMPLED) !== 0 ? SAMPLED : DROPPED;
    return isValidTraceId(traceId) && accumulate(traceId) < this.#upperBound ? SAMPLED : DROPPED;
  }

  /** The decision for a new trace whose id is written from these four 32-bit words, in order. */
  samplesRoot(a: number, b: number, c: number, d: number): boolean {
    return (a ^ b ^ c ^ d) >>> 0 < this.#upperBound;
  }

  toString(): string {
    return `ParentBased{root=TraceIdRatioBased{${this.ratio}}, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}`;
  }
}
