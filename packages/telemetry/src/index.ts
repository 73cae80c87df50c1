// @inboard/telemetry: Istio's standard metrics, OpenTelemetry metrics and spans, Istio-format
// access logs and an Envoy-style admin server for Inboard's data plane. It subscribes to the
// diagnostics channels @inboard/http publishes on; the data plane never imports it.
export {
  type AccessLogFormat,
  type AccessLogOptions,
  type AccessLogRecord,
  type AccessLogSink,
  formatAccessLogJson,
  formatAccessLogText,
  inboundAccessLogRecord,
  outboundAccessLogRecord,
} from './access-log.ts';
export {
  type AdminServer,
  type AdminServerOptions,
  DEFAULT_ADMIN_PORT,
  type PrometheusRequestHandler,
  type ReadinessSource,
  startAdminServer,
} from './admin/admin-server.ts';
export { buildConfigDump } from './admin/config-dump.ts';
export { type ExplainRequest, explain } from './admin/explain.ts';
export { readiness } from './admin/readiness.ts';
export { ENVOY_DEFAULT_BUCKETS, HTTP_DURATION_BUCKETS_S } from './histogram-buckets.ts';
export { HTTP_CLIENT_REQUEST_DURATION, HTTP_SERVER_REQUEST_DURATION, type HttpMetricsMode } from './http-metrics.ts';
export { HttpStats, type HttpStatsOptions } from './http-stats.ts';
export {
  installMeshTelemetry,
  type MeshTelemetry,
  type MeshTelemetryOptions,
  type TracingOptions,
} from './install-mesh-telemetry.ts';
export {
  ISTIO_LABEL_NAMES,
  ISTIO_METRICS,
  type IstioLabelName,
  type IstioLabels,
  LATEST,
  UNKNOWN,
} from './istio-labels.ts';
export type { IstioMetricsMode } from './istio-metrics.ts';
export { IstioSeries, IstioStats, type IstioStatsOptions } from './istio-stats.ts';
export { canonicalServiceOf, type LocalWorkload, localWorkload } from './local-workload.ts';
export type { PropagationMode } from './outbound-tracing.ts';
export {
  destinationService,
  expandServiceHost,
  type PeerWorkload,
  parseClusterName,
  parseIstioWorkload,
} from './peer-workload.ts';
export { ParentBasedRatioSampler } from './ratio-sampler.ts';
export { TelemetryOptionsError } from './telemetry-errors.ts';
export { lookupUpstream, type Upstream } from './upstream-lookup.ts';
export { TELEMETRY_SCOPE, TELEMETRY_VERSION } from './version.ts';
