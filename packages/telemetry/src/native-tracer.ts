// The tracer of native spans (tracing.spanProcessors): an API Tracer whose spans go, ended, straight
// to the given span processors. Sampling is the SDK's default (parent-based, always on at the
// root) unless a Sampler is given, which is then asked exactly as the SDK asks it. Tracing
// suppressed in the context (what exporters and processors do while they export) yields a
// non-recording span with an invalid context, as in the SDK.
import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace';
import { drawTraceWords, newSpanId, newTraceId, traceIdOf } from './native-ids.ts';
import { NativeSpan, type SpanSink } from './native-span.ts';
import { ParentBasedRatioSampler } from './ratio-sampler.ts';

export interface NativeTracerOptions {
  readonly spanProcessors: readonly SpanProcessor[];
  readonly resource: Resource;
  readonly sampler?: Sampler;
  readonly scope: { readonly name: string; readonly version?: string };
}

// @opentelemetry/core's suppressTracing key (createContextKey is Symbol.for of the description)
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');
// SamplingDecision of sdk-trace (a type-only import here: the SDK is an optional peer)
const NOT_RECORD = 0;
const RECORD_AND_SAMPLED = 2;
/** an upper bound of the attributes the mesh's spans start with (the attribute limit's count starts there) */
const MESH_ATTRIBUTES_MAX = 16;
const NO_LINKS = Object.freeze([]) as unknown as Link[];

export class NativeTracer implements Tracer {
  readonly #sink: SpanSink;
  readonly #sampler: Sampler | undefined;
  /** the sampler, when it is Istio's parent-based ratio sampler (decided here without asking it) */
  readonly #ratio: ParentBasedRatioSampler | undefined;

  constructor(o: NativeTracerOptions) {
    this.#sink = { processors: [...o.spanProcessors], resource: o.resource, instrumentationScope: o.scope };
    this.#sampler = o.sampler;
    this.#ratio = o.sampler instanceof ParentBasedRatioSampler ? o.sampler : undefined;
    this.decidesFromIds = this.#sampler === undefined || this.#ratio !== undefined;
  }

  /**
   * Sampling needs nothing but the ids (no Sampler, or a ParentBasedRatioSampler): the mesh may
   * then draw a span's context first (newSpanContext) and build its attributes only when it
   * records (openChild).
   */
  readonly decidesFromIds: boolean;

  /** Tracing is suppressed in `ctx` (an exporter at work): a span started there is invalid. */
  suppressed(ctx: Context): boolean {
    return ctx.getValue(SUPPRESS_TRACING) === true;
  }

  /**
   * The context of a new span under `parent` (a valid span context: its decision), or, when
   * decidesFromIds, of a new trace (undefined: decided from its id); its flags the decision, a
   * sampled span records.
   */
  newSpanContext(parent: SpanContext | undefined): SpanContext {
    if (parent !== undefined)
      return {
        traceId: parent.traceId,
        spanId: newSpanId(),
        traceFlags: parent.traceFlags & TraceFlags.SAMPLED,
        traceState: parent.traceState,
      };
    const w = drawTraceWords();
    const traceId = traceIdOf(w[0]!, w[1]!, w[2]!, w[3]!);
    const sampled = this.#ratio === undefined || this.#ratio.samplesRoot(w[0]!, w[1]!, w[2]!, w[3]!);
    return { traceId, spanId: newSpanId(), traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE };
  }

  /** A recording span on a sampled context from newSpanContext(), taken as startChild takes its arguments. */
  openChild(
    spanContext: SpanContext,
    parent: SpanContext | undefined,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    startTime?: number,
    ctx?: Context,
  ): Span {
    return this.#open(spanContext, parent, name, kind, attributes, MESH_ATTRIBUTES_MAX, startTime, ctx);
  }

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    const sc = options.root === true ? undefined : trace.getSpanContext(ctx);
    const parent = sc !== undefined && isSpanContextValid(sc) ? sc : undefined;
    const attributes: Attributes = {};
    let count = 0;
    if (options.attributes !== undefined) {
      for (const key of Object.keys(options.attributes)) {
        const v = options.attributes[key];
        if (v !== undefined && v !== null) {
          attributes[key] = v;
          count++;
        }
      }
    }
    const kind = options.kind ?? SpanKind.INTERNAL;
    const links = options.links ?? NO_LINKS;
    const span = this.#start(name, kind, parent, attributes, count, options.startTime, ctx, links);
    if (span instanceof NativeSpan && links.length > 0) span.addLinks(links);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    ctx: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    a: SpanOptions | F,
    b?: Context | F,
    c?: F,
  ): ReturnType<F> {
    const fn = (c ?? (typeof b === 'function' ? b : a)) as F;
    const options = typeof a === 'function' ? {} : a;
    const ctx = typeof b === 'object' ? b : context.active();
    const span = this.startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), fn as (s: Span) => ReturnType<F>, undefined, span);
  }

  /**
   * The mesh's own path: the parent given as a valid span context (not checked again), or
   * undefined for a root, with no Context built for it; the attributes object taken over as it is
   * (valid values, at most MESH_ATTRIBUTES_MAX keys). `ctx`, when given, is what a configured
   * Sampler and the processors' onStart see (default: the active context), and suppresses tracing
   * if it says so.
   */
  startChild(
    name: string,
    kind: SpanKind,
    parent: SpanContext | undefined,
    attributes: Attributes,
    startTime?: number,
    ctx?: Context,
  ): Span {
    return this.#start(name, kind, parent, attributes, MESH_ATTRIBUTES_MAX, startTime, ctx, NO_LINKS);
  }

  /**
   * A span that takes its parent's sampling decision instead of asking the sampler: the mesh's
   * attempt spans under their request span, as Envoy's upstream spans follow the request's
   * decision. `parent` is the context of a span that records; `ctx` as for startChild.
   */
  startFollower(name: string, kind: SpanKind, parent: SpanContext, attributes: Attributes, ctx?: Context): Span {
    return this.#open(this.newSpanContext(parent), parent, name, kind, attributes, MESH_ATTRIBUTES_MAX, undefined, ctx);
  }

  #start(
    name: string,
    kind: SpanKind,
    parent: SpanContext | undefined,
    attributes: Attributes,
    maxAttributes: number,
    startTime: SpanOptions['startTime'],
    ctx: Context | undefined,
    links: Link[],
  ): Span {
    if (ctx !== undefined && ctx.getValue(SUPPRESS_TRACING) === true)
      return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const sampler = this.#sampler;
    if (sampler === undefined || this.#ratio !== undefined) {
      const sc = this.newSpanContext(parent);
      return sc.traceFlags === TraceFlags.NONE
        ? trace.wrapSpanContext(sc)
        : this.#open(sc, parent, name, kind, attributes, maxAttributes, startTime, ctx);
    }
    // a Sampler asked as the SDK asks it
    const traceId = parent === undefined ? newTraceId() : parent.traceId;
    const result = sampler.shouldSample(samplingContext(ctx, parent), traceId, name, kind, attributes, links);
    const traceState = result.traceState ?? parent?.traceState;
    if (result.decision === NOT_RECORD)
      return trace.wrapSpanContext({ traceId, spanId: newSpanId(), traceFlags: 0, traceState });
    const flags = result.decision === RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE;
    if (result.attributes !== undefined) {
      for (const key of Object.keys(result.attributes)) {
        const v = result.attributes[key];
        if (v === undefined) continue;
        attributes[key] = v;
        maxAttributes++;
      }
    }
    const spanContext: SpanContext = { traceId, spanId: newSpanId(), traceFlags: flags, traceState };
    return this.#open(spanContext, parent, name, kind, attributes, maxAttributes, startTime, ctx);
  }

  #open(
    spanContext: SpanContext,
    parent: SpanContext | undefined,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    maxAttributes: number,
    startTime: SpanOptions['startTime'],
    ctx: Context | undefined,
  ): NativeSpan {
    const span = new NativeSpan(this.#sink, spanContext, parent, name, kind, attributes, maxAttributes, startTime);
    const processors = this.#sink.processors;
    if (processors.length > 0) {
      const started = ctx ?? context.active();
      for (let i = 0; i < processors.length; i++) processors[i]!.onStart(span, started);
    }
    return span;
  }
}

/**
 * The context a Sampler sees: `ctx` with the span's real parent as its span, whatever else `ctx`
 * holds. Built only when `ctx` does not say so already (the usual case: the parent is the active
 * span, or there is neither).
 */
function samplingContext(ctx: Context | undefined, parent: SpanContext | undefined): Context {
  const base = ctx ?? ROOT_CONTEXT;
  const current = trace.getSpanContext(base);
  if (parent === undefined) return current === undefined ? base : trace.deleteSpan(base);
  return current === parent ? base : trace.setSpanContext(base, parent);
}
