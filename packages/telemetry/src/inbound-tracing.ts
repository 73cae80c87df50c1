// The SERVER span of an inbound request: its parent is the caller's W3C traceparent (or B3
// headers), its start and end the request's own first byte and last byte. For a request the
// application handles, the span starts in the inbound scope (as the request is admitted) and is
// the active context while the handler runs, so the application's spans and its calls through
// the mesh are its children; the inbound event ends it. A request the policy answers never
// reaches a handler: its span is recorded whole from the event.
import type {
  InboundRequestEvent,
  InboundRequestHeaders,
  InboundScope,
  InboundStartEvent,
  TraceContext,
} from '@inboard/http';
import {
  type Attributes,
  type Context,
  context,
  createTraceState,
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
import { semconvMethod, splitAuthority } from './http-method.ts';
import type { LocalWorkload } from './local-workload.ts';
import { NativeTracer } from './native-tracer.ts';
import { traceparentOf } from './trace-headers.ts';

/** The caller's span context from the inbound trace headers (W3C, else B3), if any and valid. */
function parentSpanContextOf(e: { readonly trace: TraceContext }): SpanContext | undefined {
  const sc = headerSpanContext(e);
  return sc !== undefined && isSpanContextValid(sc) ? sc : undefined;
}

function headerSpanContext(e: { readonly trace: TraceContext }): SpanContext | undefined {
  const w3c = e.trace.w3c;
  if (w3c !== undefined) {
    return {
      traceId: w3c.traceId,
      spanId: w3c.parentId,
      traceFlags: w3c.traceFlags,
      isRemote: true,
      traceState: w3c.traceState === undefined ? undefined : createTraceState(w3c.traceState),
    };
  }
  const b3 = e.trace.b3;
  if (b3?.traceId !== undefined && b3.spanId !== undefined) {
    return {
      traceId: b3.traceId.padStart(32, '0'),
      spanId: b3.spanId,
      traceFlags: b3.sampled === true ? 1 : 0,
      isRemote: true,
    };
  }
  return undefined;
}

/**
 * The SERVER span an HTTP server instrumentation running too (@opentelemetry/instrumentation-http)
 * already started for this request: the active span, recording, of kind SERVER, in the caller's
 * trace. The mesh's SERVER span becomes its child, so the request stays one chain of spans
 * instead of two siblings. (A span merely active where the server was started — a startup span —
 * is not a SERVER span of this request and is ignored.)
 */
function instrumentationServerSpan(caller: SpanContext | undefined): Span | undefined {
  const span = trace.getActiveSpan();
  if (span === undefined || !span.isRecording() || (span as { kind?: unknown }).kind !== SpanKind.SERVER)
    return undefined;
  const sc = span.spanContext();
  if (!isSpanContextValid(sc) || (caller !== undefined && caller.traceId !== sc.traceId)) return undefined;
  return span;
}

/** The parent of the mesh's SERVER span: such an instrumentation's span, else the caller's. */
function serverParent(caller: SpanContext | undefined): { sc: SpanContext | undefined; ctx: Context } {
  const outer = instrumentationServerSpan(caller);
  if (outer !== undefined) return { sc: outer.spanContext(), ctx: trace.setSpan(ROOT_CONTEXT, outer) };
  return { sc: caller, ctx: caller === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, caller) };
}

/**
 * The mesh's SERVER span as the parent the application sees, as an Envoy sidecar forwards its own
 * span's context to the application it fronts: `traceparent` (and `tracestate`) always, the B3
 * headers when the caller sent B3. Whatever reads the headers next (an HTTP server
 * instrumentation, the application's own propagator) continues from the mesh's span.
 */
function forwardTraceHeaders(
  headers: InboundRequestHeaders,
  sc: SpanContext,
  parent: SpanContext | undefined,
  start: InboundStartEvent,
): void {
  if (!isSpanContextValid(sc)) return;
  headers.traceparent = traceparentOf(sc);
  const ts = sc.traceState?.serialize();
  if (ts !== undefined && ts !== '') headers.tracestate = ts;
  else delete headers.tracestate;
  if (start.trace.b3 !== undefined) {
    headers['x-b3-traceid'] = sc.traceId;
    headers['x-b3-spanid'] = sc.spanId;
    if (parent !== undefined) headers['x-b3-parentspanid'] = parent.spanId;
    else delete headers['x-b3-parentspanid'];
    headers['x-b3-sampled'] = (sc.traceFlags & 1) === 1 ? '1' : '0';
  }
}

function spanName(method: string, route: string | undefined): string {
  const m = method === '_OTHER' ? 'HTTP' : method;
  return route === undefined ? m : `${m} ${route}`;
}

/** What the outcome adds to the span. */
function addOutcome(e: InboundRequestEvent, attrs: Attributes): void {
  attrs.response_flags = e.responseFlags;
  if (e.route !== undefined) attrs['http.route'] = e.route;
  if (e.status > 0) attrs['http.response.status_code'] = e.status;
  if (e.peerPrincipal !== undefined) attrs['inboard.peer.principal'] = e.peerPrincipal;
  if (e.matchedPolicy !== undefined) attrs['inboard.rbac.matched_policy'] = e.matchedPolicy;
  if (e.status >= 500 || e.status === 0) attrs['error.type'] = e.status === 0 ? e.responseFlags : String(e.status);
}

export class InboundTracing {
  readonly #tracer: Tracer;
  readonly #native: NativeTracer | undefined;
  readonly #local: LocalWorkload;
  // the spans the scope started, until their request's event ends them
  readonly #open = new WeakMap<InboundStartEvent, Span>();

  constructor(tracer: Tracer, local: LocalWorkload) {
    this.#tracer = tracer;
    this.#native = tracer instanceof NativeTracer ? tracer : undefined;
    this.#local = local;
  }

  /** For registerInboundScope: the request's SERVER span is the active context while it is handled. */
  readonly scope: InboundScope = (start, run, headers) => {
    const parent = serverParent(parentSpanContextOf(start));
    const name = spanName(semconvMethod(start.method), undefined);
    const native = this.#native;
    let span: Span;
    if (native?.decidesFromIds === true) {
      // decided first: a request not sampled builds nothing for its span
      const sc = native.newSpanContext(parent.sc);
      span =
        sc.traceFlags === TraceFlags.NONE
          ? trace.wrapSpanContext(sc)
          : native.openChild(sc, parent.sc, name, SpanKind.SERVER, this.#requestAttributes(start), start.startTime);
    } else {
      const attrs = this.#requestAttributes(start);
      span =
        native?.startChild(name, SpanKind.SERVER, parent.sc, attrs, start.startTime) ??
        this.#tracer.startSpan(
          name,
          { kind: SpanKind.SERVER, attributes: attrs, startTime: start.startTime },
          parent.ctx,
        );
    }
    this.#open.set(start, span);
    forwardTraceHeaders(headers, span.spanContext(), parent.sc, start);
    context.with(trace.setSpan(ROOT_CONTEXT, span), run);
  };

  /** Ends the request's span: the one its scope started, else (a policy answer) a whole new one; returns it. */
  record(e: InboundRequestEvent): Span {
    const started = e.start === undefined ? undefined : this.#open.get(e.start);
    let span: Span;
    if (started !== undefined) {
      this.#open.delete(e.start!);
      span = started;
      if (!span.isRecording()) return span;
      const attrs: Attributes = {};
      addOutcome(e, attrs);
      span.setAttributes(attrs);
      if (e.route !== undefined) span.updateName(spanName(semconvMethod(e.method), e.route));
    } else {
      const attrs = this.#requestAttributes(e);
      addOutcome(e, attrs);
      const name = spanName(semconvMethod(e.method), e.route);
      const parent = serverParent(parentSpanContextOf(e));
      span =
        this.#native?.startChild(name, SpanKind.SERVER, parent.sc, attrs, e.startTime) ??
        this.#tracer.startSpan(name, { kind: SpanKind.SERVER, attributes: attrs, startTime: e.startTime }, parent.ctx);
    }
    if (e.status >= 500 || e.status === 0)
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.responseCodeDetails });
    span.end(e.startTime + e.durationMs);
    return span;
  }

  /** What is known when the request arrives (and what samplers see). */
  #requestAttributes(e: InboundStartEvent): Attributes {
    const method = semconvMethod(e.method);
    const q = e.path.indexOf('?');
    const [host] = splitAuthority(e.authority);
    const attrs: Attributes = {
      'http.request.method': method,
      'url.path': q < 0 ? e.path : e.path.slice(0, q),
      'url.scheme': e.scheme,
      'server.address': host,
      'server.port': e.destinationPort,
      'client.address': e.sourceIp,
      'network.peer.address': e.sourceIp,
      'network.peer.port': e.sourcePort,
      'istio.canonical_service': this.#local.canonicalService,
      'istio.namespace': this.#local.namespace,
    };
    if (q >= 0) attrs['url.query'] = e.path.slice(q + 1);
    if (method === '_OTHER') attrs['http.request.method_original'] = e.method;
    if (e.protocol.startsWith('HTTP/')) attrs['network.protocol.version'] = e.protocol.slice(5);
    if (e.userAgent !== undefined) attrs['user_agent.original'] = e.userAgent;
    if (e.trace.requestId !== undefined) attrs['guid:x-request-id'] = e.trace.requestId;
    return attrs;
  }
}
