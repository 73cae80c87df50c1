// The outbound request path: undici interceptors (handler API v2) that run a request the way an
// Envoy sidecar's router does, the errors they report, and their diagnostics_channel events.
export {
  type BodyBufferOptions,
  BodyReader,
  bodyBufferInterceptor,
  DEFAULT_REQUEST_BUFFER_LIMIT,
  isReplayableBody,
  RequestBody,
  type RequestBodyListener,
} from './body-buffer.ts';
export { endpointInterceptor } from './endpoint-interceptor.ts';
export {
  DropOverloadError,
  MaxStreamDurationError,
  MeshHttpError,
  NoHealthyUpstreamError,
  NotInMeshError,
  PerTryTimeoutError,
  RetryBufferOverflowError,
  RouteTimeoutError,
  StreamIdleTimeoutError,
  UpstreamOverflowError,
  UpstreamResetError,
  UpstreamSanMismatchError,
  UpstreamTlsConfigError,
  UpstreamTlsError,
  UpstreamTlsHandshakeError,
} from './errors.ts';
export {
  ATTEMPT_END_CHANNEL,
  ATTEMPT_START_CHANNEL,
  type AttemptEvent,
  BLACKHOLE_CLUSTER,
  type HttpRequestEvent,
  OUTLIER_CHANNEL,
  type OutlierChannelEvent,
  PASSTHROUGH_CLUSTER,
  PEER_METADATA_HEADER,
  PEER_METADATA_ID_HEADER,
  REQUEST_CHANNEL,
  REQUEST_START_CHANNEL,
  type RequestStartEvent,
} from './events.ts';
export {
  ATTEMPT_COUNT_HEADER,
  Exchange,
  type ExchangeSettings,
  kExchange,
  type LocalReply,
  type MeshDispatchOptions,
  RESPONSE_FLAGS_HEADER,
  type RetryView,
} from './exchange.ts';
export { HAS_ENVOY, HAS_HOST, normalizeHeaders, toRawHeaders } from './header-record.ts';
export { limitsInterceptor, UpstreamAccounting } from './limits-interceptor.ts';
export { MeshController } from './mesh-controller.ts';
export { sendMirrors, shadowHost } from './mirror.ts';
export { requestClock } from './request-clock.ts';
export { type RetryInterceptorOptions, retryInterceptor } from './retry-interceptor.ts';
export { DEFAULT_ROUTE_TIMEOUT_MS, type RouteInterceptorOptions, routeInterceptor } from './route-interceptor.ts';
export type { MeshTargetView, OriginInfo, TargetDirectory, TargetState } from './target-directory.ts';
export { localOriginOf, resetReasonOf } from './upstream-error.ts';
export { UpstreamPools, type UpstreamPoolsOptions } from './upstream-pools.ts';
