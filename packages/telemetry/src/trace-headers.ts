// Writing a span context into request headers: W3C Trace Context (`traceparent`, `tracestate`)
// and, optionally, B3 multi-header (what Envoy's Zipkin tracer under Istio propagates). Formatted
// here rather than through a TextMapPropagator: one string per attempt, no carrier objects.
import { firstHeaderValue } from '@inboard/http';
import type { SpanContext } from '@opentelemetry/api';
import type { HeaderRecord } from './dispatch-hooks.ts';

/** What was written, so a retry can tell its own earlier headers from someone else's. */
export interface Injected {
  traceparent: string | undefined;
  b3TraceId: string | undefined;
}

const FLAGS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function traceparentOf(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${FLAGS[sc.traceFlags & 0xff]}`;
}

/**
 * Sets the headers of one attempt (`sc` is a valid span context: the attempt's span; with `b3`
 * the B3 multi headers too, `parentSpanId` their parent span id). A header already there that is
 * not the one this request wrote for an earlier attempt belongs to someone else (the caller,
 * another instrumentation): it is left alone, so no request ever carries two `traceparent`s.
 */
export function injectTraceHeaders(
  headers: HeaderRecord,
  sc: SpanContext,
  parentSpanId: string | undefined,
  injected: Injected,
  b3: boolean,
): void {
  const tp = firstHeaderValue(headers.traceparent);
  if (tp === undefined || tp === injected.traceparent) {
    const value = traceparentOf(sc);
    headers.traceparent = value;
    injected.traceparent = value;
    const ts = sc.traceState?.serialize();
    if (ts !== undefined && ts !== '') headers.tracestate = ts;
  }
  if (b3) {
    const written = firstHeaderValue(headers['x-b3-traceid']);
    if (written === undefined || written === injected.b3TraceId) {
      headers['x-b3-traceid'] = sc.traceId;
      headers['x-b3-spanid'] = sc.spanId;
      if (parentSpanId !== undefined) headers['x-b3-parentspanid'] = parentSpanId;
      headers['x-b3-sampled'] = (sc.traceFlags & 1) === 1 ? '1' : '0';
      injected.b3TraceId = sc.traceId;
    }
  }
}
