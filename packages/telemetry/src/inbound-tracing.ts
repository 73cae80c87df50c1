// The SERVER span of an inbound request, from the inbound event: its parent is the caller's W3C
// traceparent (or B3 headers), its start and end the request's own first byte and last byte.
// Recorded once the exchange is over, so it costs nothing while the application runs; the span
// is therefore not the active context inside the handler (see the README).
import type { InboundRequestEvent } from '@inboard/http';
import {
  type Attributes,
  type Context,
  createTraceState,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { semconvMethod, splitAuthority } from './http-method.ts';
import type { LocalWorkload } from './local-workload.ts';

/** The caller's span context from the inbound trace headers, as a parent context. */
export function parentContextOf(e: InboundRequestEvent): Context {
  const w3c = e.trace.w3c;
  if (w3c !== undefined) {
    return trace.setSpanContext(ROOT_CONTEXT, {
      traceId: w3c.traceId,
      spanId: w3c.parentId,
      traceFlags: w3c.traceFlags,
      isRemote: true,
      traceState: w3c.traceState === undefined ? undefined : createTraceState(w3c.traceState),
    });
  }
  const b3 = e.trace.b3;
  if (b3?.traceId !== undefined && b3.spanId !== undefined) {
    return trace.setSpanContext(ROOT_CONTEXT, {
      traceId: b3.traceId.padStart(32, '0'),
      spanId: b3.spanId,
      traceFlags: b3.sampled === true ? 1 : 0,
      isRemote: true,
    });
  }
  return ROOT_CONTEXT;
}

export class InboundTracing {
  readonly #tracer: Tracer;
  readonly #local: LocalWorkload;

  constructor(tracer: Tracer, local: LocalWorkload) {
    this.#tracer = tracer;
    this.#local = local;
  }

  record(e: InboundRequestEvent): void {
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
      response_flags: e.responseFlags,
      'istio.canonical_service': this.#local.canonicalService,
      'istio.namespace': this.#local.namespace,
    };
    if (q >= 0) attrs['url.query'] = e.path.slice(q + 1);
    if (method === '_OTHER') attrs['http.request.method_original'] = e.method;
    if (e.protocol.startsWith('HTTP/')) attrs['network.protocol.version'] = e.protocol.slice(5);
    if (e.route !== undefined) attrs['http.route'] = e.route;
    if (e.status > 0) attrs['http.response.status_code'] = e.status;
    if (e.userAgent !== undefined) attrs['user_agent.original'] = e.userAgent;
    if (e.peerPrincipal !== undefined) attrs['inboard.peer.principal'] = e.peerPrincipal;
    if (e.matchedPolicy !== undefined) attrs['inboard.rbac.matched_policy'] = e.matchedPolicy;
    if (e.trace.requestId !== undefined) attrs['guid:x-request-id'] = e.trace.requestId;
    const name =
      e.route !== undefined
        ? `${method === '_OTHER' ? 'HTTP' : method} ${e.route}`
        : method === '_OTHER'
          ? 'HTTP'
          : method;
    const span = this.#tracer.startSpan(
      name,
      { kind: SpanKind.SERVER, attributes: attrs, startTime: e.startTime },
      parentContextOf(e),
    );
    if (e.status >= 500 || e.status === 0) {
      span.setAttribute('error.type', e.status === 0 ? e.responseFlags : String(e.status));
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.responseCodeDetails });
    }
    span.end(e.startTime + e.durationMs);
  }
}
