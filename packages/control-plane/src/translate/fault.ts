// VirtualService `fault` → the per-route HTTPFault of envoy.filters.http.fault (route.TranslateFault).
import type { envoy } from '@inboard/xds/codec';
import type { HTTPFaultInjection, Percent } from '../config/istio-types.ts';
import { parseDuration } from './durations.ts';
import { Denominator } from './envoy-names.ts';

type FractionalPercentIn = envoy.type_v3_FractionalPercent$In;

/** istio Percent (0–100, fractional) → FractionalPercent over a MILLION. */
export function percentToFraction(p: Percent): FractionalPercentIn {
  return { numerator: Math.trunc(p.value * 10000), denominator: Denominator.MILLION };
}

/** A legacy integer percent → FractionalPercent over HUNDRED. */
export function integerToFraction(p: number): FractionalPercentIn {
  return { numerator: Math.trunc(p), denominator: Denominator.HUNDRED };
}

/** grpc.SupportedGRPCStatus */
const GRPC_STATUS: Readonly<Record<string, number>> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/** undefined when neither a fixed delay nor an HTTP/gRPC abort is configured (istiod then sets no config). */
export function translateFault(f: HTTPFaultInjection): envoy.extensions_filters_http_fault_v3_HTTPFault$In | undefined {
  const out: envoy.extensions_filters_http_fault_v3_HTTPFault$In = {};
  const d = f.delay;
  if (d !== undefined) {
    const fixed = parseDuration(d.fixedDelay);
    // exponential delays are not supported by istiod (the delay is dropped)
    if (fixed !== undefined) {
      out.delay = {
        fixed_delay: fixed,
        percentage: d.percentage !== undefined ? percentToFraction(d.percentage) : integerToFraction(d.percent ?? 0),
      };
    }
  }
  const a = f.abort;
  if (a !== undefined) {
    // without a percentage the field stays unset: no request is aborted
    const percentage = a.percentage === undefined ? undefined : percentToFraction(a.percentage);
    if (a.httpStatus !== undefined) {
      out.abort = { http_status: a.httpStatus, ...(percentage === undefined ? {} : { percentage }) };
    } else if (a.grpcStatus !== undefined && GRPC_STATUS[a.grpcStatus] !== undefined) {
      out.abort = { grpc_status: GRPC_STATUS[a.grpcStatus], ...(percentage === undefined ? {} : { percentage }) };
    }
  }
  return out.delay === undefined && out.abort === undefined ? undefined : out;
}
