// The label set of Istio's standard HTTP metrics, in the order istio_stats.cc declares its tags,
// and the values Istio uses when a label cannot be determined.

export const UNKNOWN = 'unknown';
/** canonical revision when none is known (istio_stats uses `latest`, not `unknown`) */
export const LATEST = 'latest';

export const ISTIO_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
  'response_code',
  'grpc_response_status',
] as const;

export type IstioLabelName = (typeof ISTIO_LABEL_NAMES)[number];

/** One series' labels: every Istio label, always present (plain object, usable as OTel attributes). */
export type IstioLabels = { readonly [K in IstioLabelName]: string };

/** Istio's standard HTTP metric names. */
export const ISTIO_METRICS = {
  requests: 'istio_requests_total',
  duration: 'istio_request_duration_milliseconds',
  requestBytes: 'istio_request_bytes',
  responseBytes: 'istio_response_bytes',
} as const;

/** `value` when non-empty, else `fallback` (Istio reports empty peer fields as unknown). */
export function orUnknown(value: string | undefined, fallback: string = UNKNOWN): string {
  return value === undefined || value === '' ? fallback : value;
}
