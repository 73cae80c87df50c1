// Istio's request_protocol and grpc_response_status labels, as istio_stats sets them: a request is
// gRPC when its content-type is (Envoy's isGrpcRequestHeaders); its status is the grpc-status of
// the response trailers, else of the response headers, else the HTTP status mapped to a gRPC code
// when there was a response (Envoy's getGrpcStatus over trailers, headers and stream info). A
// value that is not a known code (0–16) counts as INVALID, -1. Empty for HTTP requests and for
// gRPC requests that got no response.
import { httpToGrpcStatus } from '@inboard/http';

/** no grpc_response_status (the empty label) */
export const NO_GRPC_STATUS = -2;
const INVALID = -1;
const MAX_KNOWN = 16;

// label strings by code + 2, so a request's label is an array read
const LABELS: readonly string[] = Array.from({ length: MAX_KNOWN + 3 }, (_, i) => (i === 0 ? '' : String(i - 2)));

/** The code istio_stats reports (NO_GRPC_STATUS: none) for a request with this outcome. */
export function grpcStatusCode(grpc: boolean, sent: string | undefined, httpStatus: number): number {
  if (!grpc) return NO_GRPC_STATUS;
  if (sent !== undefined && sent !== '') return parseGrpcStatus(sent);
  return httpStatus === 0 ? NO_GRPC_STATUS : httpToGrpcStatus(httpStatus);
}

/** A grpc-status value as Envoy reads it: digits of a code up to 16, else INVALID (-1). */
export function parseGrpcStatus(value: string): number {
  const n = value.length;
  if (n === 0 || n > 10) return INVALID;
  let code = 0;
  for (let i = 0; i < n; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return INVALID;
    code = code * 10 + d;
  }
  return code > MAX_KNOWN ? INVALID : code;
}

/** The label of a code from grpcStatusCode. */
export function grpcStatusLabel(code: number): string {
  return LABELS[code + 2]!;
}
