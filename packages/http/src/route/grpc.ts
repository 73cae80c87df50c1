// gRPC over HTTP as Envoy's router and connection manager see it: which requests are gRPC, the
// grpc-timeout header, and how a local reply is written for a gRPC caller.
import { joinedHeaderValue, type RouteRequest } from './route-request.ts';

/** Grpc::Common::isGrpcRequestHeaders: content-type application/grpc or application/grpc+... */
export function isGrpcRequest(req: RouteRequest): boolean {
  return isGrpcContentType(joinedHeaderValue(req.headers('content-type')));
}

/**
 * A gRPC content-type as Envoy tells one: exactly `application/grpc` or `application/grpc+…`
 * (`+proto`, `+json`); gRPC-Web's `application/grpc-web…` is not gRPC.
 */
export function isGrpcContentType(ct: string | undefined): boolean {
  if (ct === undefined || !ct.startsWith('application/grpc')) return false;
  return ct.length === 16 || ct.charCodeAt(16) === 43; /* + */
}

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * Grpc::Common::getGrpcTimeout: `grpc-timeout` is 1–8 digits and a unit (H M S m u n); anything
 * else is no timeout. Whole milliseconds, truncated as Envoy's duration_cast does.
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value.length < 2 || value.length > 9) return undefined;
  const unit = UNIT_MS[value[value.length - 1]!];
  if (unit === undefined) return undefined;
  let n = 0;
  for (let i = 0; i < value.length - 1; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return Math.floor(n * unit);
}

const MAX_GRPC_TIMEOUT_VALUE = 99_999_999;

/**
 * Grpc::Common::toGrpcTimeout: milliseconds as a grpc-timeout value, in the smallest unit of
 * m, S, M, H that fits its 8 digits (hours clipped at 99999999H).
 */
export function formatGrpcTimeout(ms: number): string {
  let t = Math.floor(ms);
  if (t <= MAX_GRPC_TIMEOUT_VALUE) return `${t}m`;
  t = Math.floor(t / 1000);
  if (t <= MAX_GRPC_TIMEOUT_VALUE) return `${t}S`;
  t = Math.floor(t / 60);
  if (t <= MAX_GRPC_TIMEOUT_VALUE) return `${t}M`;
  t = Math.floor(t / 60);
  return `${Math.min(t, MAX_GRPC_TIMEOUT_VALUE)}H`;
}

/** Grpc::Utility::httpToGrpcStatus: the grpc-status of a local reply with this HTTP status. */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** grpc-message: percent-encoded outside printable ASCII (and `%` itself), as the gRPC spec asks. */
export function encodeGrpcMessage(text: string): string {
  let plain = true;
  for (let i = 0; i < text.length && plain; i++) {
    const c = text.charCodeAt(i);
    plain = c >= 0x20 && c <= 0x7e && c !== 0x25;
  }
  if (plain) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
