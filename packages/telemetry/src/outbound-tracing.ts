// Spans of outbound requests: one CLIENT span per request through the mesh (the logical call:
// server.address / url.full carry the authority the application used, not the endpoint), and one
// CLIENT child span per upstream attempt (http.request.resend_count on retries, the endpoint as
// network.peer.*). Each attempt carries its own span's context upstream, written exactly once.
//
// Propagation cooperates with other HTTP instrumentation: a traceparent already on the request
// that this request did not write is kept, and in 'auto' mode nothing is written while someone
// listens on undici:request:create (@opentelemetry/instrumentation-undici injects there, per
// undici request, and would otherwise add a second header).
import diagnosticsChannel from 'node:diagnostics_channel';
import type { HttpRequestEvent } from '@inboard/http';
import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { AttemptEvent, RequestStartEvent } from './dispatch-hooks.ts';
import { semconvMethod, splitAuthority } from './http-method.ts';
import { errorType } from './http-metrics.ts';
import type { LocalWorkload } from './local-workload.ts';
import { NativeSpan } from './native-span.ts';
import { NativeTracer } from './native-tracer.ts';
import { flagsText } from './outbound-labels.ts';
import { type Injected, injectTraceHeaders } from './trace-headers.ts';

export type PropagationMode = 'auto' | 'always' | 'never';

export interface OutboundTracingOptions {
  readonly tracer: Tracer;
  readonly local: LocalWorkload;
  /** default 'auto' */
  readonly propagation?: PropagationMode;
  /** also write B3 multi headers (default false) */
  readonly b3?: boolean;
}

const undiciCreate = diagnosticsChannel.channel('undici:request:create');

/** Per-request tracing state, kept in the start event's `context` slot. */
class RequestTrace implements Injected {
  readonly span: Span;
  /**
   * SDK tracers: the request span as the attempts' parent context; native spans (whose parent is
   * given as a span context): the caller's context, for span processors and samplers
   */
  readonly ctx: Context;
  // what the request and each attempt span start with (see startAttributes)
  readonly method: string;
  /** the caller's method when semconv calls it _OTHER */
  readonly methodOriginal: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  traceparent: string | undefined = undefined;
  b3TraceId: string | undefined = undefined;
  attempt: Span | undefined = undefined;

  /** A request not sampled: what its attempts need for the context they send upstream, nothing else. */
  static unsampled(span: Span, ctx: Context): RequestTrace {
    return new RequestTrace(span, ctx, '', undefined, '', 0, '');
  }

  constructor(
    span: Span,
    ctx: Context,
    method: string,
    methodOriginal: string | undefined,
    host: string,
    port: number,
    url: string,
  ) {
    this.span = span;
    this.ctx = ctx;
    this.method = method;
    this.methodOriginal = methodOriginal;
    this.host = host;
    this.port = port;
    this.url = url;
  }
}

/** The attributes the request span and each attempt span start with (what samplers see). */
function startAttributes(
  method: string,
  methodOriginal: string | undefined,
  host: string,
  port: number,
  url: string,
): Attributes {
  const attrs: Attributes = {
    'http.request.method': method,
    'server.address': host,
    'server.port': port,
    'url.full': url,
  };
  if (methodOriginal !== undefined) attrs['http.request.method_original'] = methodOriginal;
  return attrs;
}

function attemptStartAttributes(rt: RequestTrace, attempt: number): Attributes {
  const attrs = startAttributes(rt.method, rt.methodOriginal, rt.host, rt.port, rt.url);
  if (attempt > 1) attrs['http.request.resend_count'] = attempt - 1;
  return attrs;
}

/**
 * Ends a span with `attrs`: a native span's whole attributes, its start attributes and its outcome
 * in one object (NativeSpan.endWith); an SDK span's outcome, set on the attributes it has.
 */
function finish(span: Span, attrs: Attributes, end: number | undefined): void {
  if (span instanceof NativeSpan) span.endWith(attrs, end);
  else {
    span.setAttributes(attrs);
    span.end(end);
  }
}

/** Ends an attempt span: with its outcome when the attempt event tells it. */
function endAttempt(span: Span, rt: RequestTrace, a: AttemptEvent | undefined): void {
  if (a === undefined || !span.isRecording()) {
    span.end();
    return;
  }
  const attrs = span instanceof NativeSpan ? attemptStartAttributes(rt, a.attempt) : {};
  if (a.endpoint !== undefined) {
    const [addr, port] = splitAuthority(a.endpoint);
    attrs['network.peer.address'] = addr;
    if (port !== undefined) attrs['network.peer.port'] = port;
  }
  if (a.status > 0) attrs['http.response.status_code'] = a.status;
  const err = a.status >= 400 || a.status === 0 ? errorType(a.status, a.error, 400) : undefined;
  if (err !== undefined) {
    attrs['error.type'] = err;
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  // the data plane's reading as the attempt ended (the request's end too, when it was the last)
  finish(span, attrs, a.endedAt >= 0 ? a.endedAt : undefined);
}

export class OutboundTracing {
  readonly #tracer: Tracer;
  readonly #native: NativeTracer | undefined;
  readonly #local: LocalWorkload;
  readonly #propagation: PropagationMode;
  readonly #b3: boolean;

  constructor(o: OutboundTracingOptions) {
    this.#tracer = o.tracer;
    this.#native = o.tracer instanceof NativeTracer ? o.tracer : undefined;
    this.#local = o.local;
    this.#propagation = o.propagation ?? 'auto';
    this.#b3 = o.b3 ?? false;
  }

  onRequestStart(ev: RequestStartEvent): void {
    const parent = context.active();
    const native = this.#native;
    let valid: SpanContext | undefined;
    if (native !== undefined) {
      // a native parent (the inbound request's SERVER span) has valid ids by construction, others
      // are checked
      const active = trace.getSpan(parent);
      const sc = active?.spanContext();
      valid = sc !== undefined && (active instanceof NativeSpan || isSpanContextValid(sc)) ? sc : undefined;
      if (native.decidesFromIds) {
        // decided before anything is built for the span: a request not sampled only needs the
        // context its attempts send upstream
        if (native.suppressed(parent)) return;
        const sc = native.newSpanContext(valid);
        if (sc.traceFlags === TraceFlags.NONE) {
          ev.context = RequestTrace.unsampled(trace.wrapSpanContext(sc), parent);
          return;
        }
        this.#startRequest(ev, parent, native, valid, sc);
        return;
      }
    }
    this.#startRequest(ev, parent, native, valid, undefined);
  }

  /** The request's span, recording or as the sampler decides (`sc`: the context already decided). */
  #startRequest(
    ev: RequestStartEvent,
    parent: Context,
    native: NativeTracer | undefined,
    valid: SpanContext | undefined,
    sc: SpanContext | undefined,
  ): void {
    const method = semconvMethod(ev.method);
    const methodOriginal = method === '_OTHER' ? ev.method : undefined;
    const [host, authorityPort] = splitAuthority(ev.authority);
    const port = authorityPort ?? splitAuthority(ev.target)[1] ?? (ev.scheme === 'https' ? 443 : 80);
    const url = `${ev.scheme}://${ev.authority}${ev.path}`;
    // native spans own the attribute object they are given
    const attrs = startAttributes(method, methodOriginal, host, port, url);
    const name = method === '_OTHER' ? 'HTTP' : method;
    // the mesh's own reading at dispatch: the span covers what the duration metrics measure
    const startedAt = ev.startedAt >= 0 ? ev.startedAt : undefined;
    let span: Span;
    let ctx: Context;
    if (native !== undefined) {
      span =
        sc !== undefined
          ? native.openChild(sc, valid, name, SpanKind.CLIENT, attrs, startedAt, parent)
          : native.startChild(name, SpanKind.CLIENT, valid, attrs, startedAt, parent);
      ctx = parent;
    } else {
      span = this.#tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: attrs, startTime: startedAt }, parent);
      ctx = trace.setSpan(ROOT_CONTEXT, span);
    }
    // an invalid context: tracing is suppressed here (an exporter's own request), so no attempt spans either
    if (span.spanContext() !== INVALID_SPAN_CONTEXT)
      ev.context = new RequestTrace(span, ctx, method, methodOriginal, host, port, url);
  }

  onAttemptStart(a: AttemptEvent): void {
    const rt = a.request.context;
    if (!(rt instanceof RequestTrace)) return;
    if (rt.attempt !== undefined) endAttempt(rt.attempt, rt, undefined);
    const name = rt.method === '_OTHER' ? 'HTTP' : rt.method;
    let span: Span;
    if (this.#native !== undefined) {
      // the attempt takes its request span's decision (no sampler asked again); an attempt of a
      // request not sampled only needs an id for the header it sends
      const parent = rt.span.spanContext();
      span =
        rt.span instanceof NativeSpan
          ? this.#native.startFollower(name, SpanKind.CLIENT, parent, attemptStartAttributes(rt, a.attempt), rt.ctx)
          : trace.wrapSpanContext(this.#native.newSpanContext(parent));
    } else {
      span = this.#tracer.startSpan(name, { kind: SpanKind.CLIENT }, rt.ctx);
      // Set after creation: an attempt span is a child, sampled with its request span (whose start
      // attributes samplers see), and sdk-trace validates start attributes twice.
      span.setAttributes(attemptStartAttributes(rt, a.attempt));
    }
    rt.attempt = span;
    a.context = span;
    if (this.#propagation === 'never' || (this.#propagation === 'auto' && undiciCreate.hasSubscribers)) return;
    const b3 = this.#b3;
    injectTraceHeaders(a.headers, span.spanContext(), b3 ? rt.span.spanContext().spanId : undefined, rt, b3);
  }

  onAttemptEnd(a: AttemptEvent): void {
    const rt = a.request.context;
    const span = a.context as Span | undefined;
    if (!(rt instanceof RequestTrace) || span === undefined || rt.attempt !== span) return;
    rt.attempt = undefined;
    endAttempt(span, rt, a);
  }

  /** Ends the request's span; returns it (for the access log record's span context), if there was one. */
  onRequestEnd(e: HttpRequestEvent, start: RequestStartEvent | undefined): Span | undefined {
    const rt = start?.context;
    if (!(rt instanceof RequestTrace)) return undefined;
    if (rt.attempt !== undefined) {
      endAttempt(rt.attempt, rt, undefined);
      rt.attempt = undefined;
    }
    const span = rt.span;
    if (!span.isRecording()) {
      span.end();
      return span;
    }
    const attrs =
      span instanceof NativeSpan ? startAttributes(rt.method, rt.methodOriginal, rt.host, rt.port, rt.url) : {};
    attrs.response_flags = flagsText(e.flags);
    attrs['istio.canonical_service'] = this.#local.canonicalService;
    attrs['istio.namespace'] = this.#local.namespace;
    if (e.cluster !== undefined) attrs.upstream_cluster = e.cluster;
    if (this.#local.meshId !== undefined) attrs['istio.mesh_id'] = this.#local.meshId;
    if (e.status > 0) attrs['http.response.status_code'] = e.status;
    const err = e.status >= 400 || e.status === 0 ? errorType(e.status, e.error, 400) : undefined;
    if (err !== undefined) {
      attrs['error.type'] = err;
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.details });
    }
    finish(span, attrs, start!.startedAt >= 0 ? start!.startedAt + e.durations.totalMs : undefined);
    return span;
  }
}
