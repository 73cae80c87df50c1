// Trace context carried by an inbound request, as plain data (no OpenTelemetry dependency):
// W3C `traceparent` / `tracestate`, B3 (single `b3` header or the `x-b3-*` headers Envoy and
// Istio propagate) and Envoy's `x-request-id`. Malformed values are ignored, as propagators do.
import type { HeaderGetter } from '../route/route-request.ts';
import { firstHeaderValue, joinedHeaderValue } from '../route/route-request.ts';

export interface W3cTraceContext {
  /** 32 lower-case hex digits, not all zero */
  readonly traceId: string;
  /** the caller's span id (16 hex digits): the parent of the server span */
  readonly parentId: string;
  /** trace-flags; bit 0 is `sampled` */
  readonly traceFlags: number;
  readonly sampled: boolean;
  /** the raw `tracestate` list, when a valid traceparent came with one */
  readonly traceState: string | undefined;
}

export interface B3TraceContext {
  /** 16 or 32 hex digits; undefined for a sampling-only `b3: 0|1|d` header */
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  readonly parentSpanId: string | undefined;
  /** undefined: the caller deferred the decision */
  readonly sampled: boolean | undefined;
  readonly debug: boolean;
}

export interface TraceContext {
  readonly w3c: W3cTraceContext | undefined;
  readonly b3: B3TraceContext | undefined;
  readonly requestId: string | undefined;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const HEX_ID = /^(?:[0-9a-f]{16}|[0-9a-f]{32})$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO = /^0+$/;

/** W3C Trace Context level 1 parsing: version ff is invalid; version 00 has exactly 4 fields. */
export function parseTraceparent(value: string, traceState?: string): W3cTraceContext | undefined {
  const m = TRACEPARENT.exec(value.trim());
  if (m === null) return undefined;
  const [, version, traceId, parentId, flags, rest] = m as unknown as [string, string, string, string, string, string?];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (ZERO.test(traceId) || ZERO.test(parentId)) return undefined;
  const traceFlags = Number.parseInt(flags, 16);
  return { traceId, parentId, traceFlags, sampled: (traceFlags & 1) === 1, traceState };
}

function b3Sampled(v: string | undefined): boolean | undefined {
  switch (v) {
    case '1':
    case 'true':
    case 'd':
      return true;
    case '0':
    case 'false':
      return false;
    default:
      return undefined;
  }
}

/** `b3: {traceId}-{spanId}[-{sampling}[-{parentSpanId}]]` or `b3: {sampling}`. */
export function parseB3Single(value: string): B3TraceContext | undefined {
  const parts = value.trim().toLowerCase().split('-');
  if (parts.length === 1) {
    const s = parts[0]!;
    if (s !== '0' && s !== '1' && s !== 'd') return undefined;
    return { traceId: undefined, spanId: undefined, parentSpanId: undefined, sampled: b3Sampled(s), debug: s === 'd' };
  }
  if (parts.length > 4) return undefined;
  const [traceId, spanId, sampling, parentSpanId] = parts as [string, string, string?, string?];
  if (!HEX_ID.test(traceId) || !SPAN_ID.test(spanId)) return undefined;
  if (sampling !== undefined && sampling !== '0' && sampling !== '1' && sampling !== 'd') return undefined;
  if (parentSpanId !== undefined && !SPAN_ID.test(parentSpanId)) return undefined;
  return { traceId, spanId, parentSpanId, sampled: b3Sampled(sampling), debug: sampling === 'd' };
}

function parseB3Multi(headers: HeaderGetter): B3TraceContext | undefined {
  const traceId = firstHeaderValue(headers('x-b3-traceid'))?.trim().toLowerCase();
  const spanId = firstHeaderValue(headers('x-b3-spanid'))?.trim().toLowerCase();
  const sampledRaw = firstHeaderValue(headers('x-b3-sampled'))?.trim().toLowerCase();
  const debug = firstHeaderValue(headers('x-b3-flags'))?.trim() === '1';
  if (traceId === undefined || spanId === undefined) {
    if (sampledRaw === undefined && !debug) return undefined;
    return {
      traceId: undefined,
      spanId: undefined,
      parentSpanId: undefined,
      sampled: debug ? true : b3Sampled(sampledRaw),
      debug,
    };
  }
  if (!HEX_ID.test(traceId) || !SPAN_ID.test(spanId)) return undefined;
  const parent = firstHeaderValue(headers('x-b3-parentspanid'))?.trim().toLowerCase();
  return {
    traceId,
    spanId,
    parentSpanId: parent !== undefined && SPAN_ID.test(parent) ? parent : undefined,
    sampled: debug ? true : b3Sampled(sampledRaw),
    debug,
  };
}

export function extractTraceContext(headers: HeaderGetter): TraceContext {
  const tp = firstHeaderValue(headers('traceparent'));
  // several tracestate headers are one list (W3C §3.3.1.1)
  const w3c = tp === undefined ? undefined : parseTraceparent(tp, joinedHeaderValue(headers('tracestate')));
  const single = firstHeaderValue(headers('b3'));
  const b3 = single !== undefined ? parseB3Single(single) : parseB3Multi(headers);
  return { w3c, b3, requestId: firstHeaderValue(headers('x-request-id')) };
}
