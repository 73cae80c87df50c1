// The SERVER span of an inbound request: its parent is the caller's W3C traceparent (or B3
// headers), its start and end the request's own first byte and last byte. For a request the
// application handles, the span starts in the inbound scope (as the request is admitted) and is
// the active context while the handler runs, so the application's spans and its calls through
// the mesh are its children; the inbound event ends it. A request the policy answers never
// reaches a handler: its span is recorded whole from the event.
import type { InboundRequestEvent, InboundScope, InboundStartEvent, TraceContext } from '@inboard/http';
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
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { semconvMethod, splitAuthority } from './http-method.ts';
import type { LocalWorkload } from './local-workload.ts';
import { NativeTracer } from './native-tracer.ts';

/** The caller's span context from the inbound trace headers (W3C, else B3), if any and valid. */
export function parentSpanContextOf(e: { readonly trace: TraceContext }): SpanContext | undefined {
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

/** The caller's span context as a parent context. */
export function parentContextOf(e: { readonly trace: TraceContext }): Context {
  const sc = parentSpanContextOf(e);
  return sc === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, sc);
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
  readonly scope: InboundScope = (start, run) => {
    const native = this.#native;
    if (native !== undefined) {
      const name = spanName(semconvMethod(start.method), undefined);
      const attrs = this.#requestAttributes(start);
      const span = native.startChild(name, SpanKind.SERVER, parentSpanContextOf(start), attrs, start.startTime);
      this.#open.set(start, span);
      context.with(trace.setSpan(ROOT_CONTEXT, span), run);
      return;
    }
    const parent = parentContextOf(start);
    const span = this.#tracer.startSpan(
      spanName(semconvMethod(start.method), undefined),
      { kind: SpanKind.SERVER, attributes: this.#requestAttributes(start), startTime: start.startTime },
      parent,
    );
    this.#open.set(start, span);
    context.with(trace.setSpan(parent, span), run);
  };

  /** Ends the request's span: the one its scope started, else (a policy answer) a whole new one; returns it. */
  record(e: InboundRequestEvent): Span {
    const started = e.start === undefined ? undefined : this.#open.get(e.start);
    let span: Span;
    if (started !== undefined) {
      this.#open.delete(e.start!);
      span = started;
      const attrs: Attributes = {};
      addOutcome(e, attrs);
      span.setAttributes(attrs);
      if (e.route !== undefined) span.updateName(spanName(semconvMethod(e.method), e.route));
    } else {
      const attrs = this.#requestAttributes(e);
      addOutcome(e, attrs);
      const name = spanName(semconvMethod(e.method), e.route);
      span =
        this.#native?.startChild(name, SpanKind.SERVER, parentSpanContextOf(e), attrs, e.startTime) ??
        this.#tracer.startSpan(
          name,
          { kind: SpanKind.SERVER, attributes: attrs, startTime: e.startTime },
          parentContextOf(e),
        );
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
