// The inbound side: istiod's server listener (RBAC from AuthorizationPolicy, mTLS mode from
// PeerAuthentication) enforced in the application's own HTTP server, through one engine and thin
// node:http / express / fastify adapters.
export {
  INBOUND_CHANNEL,
  type InboundRequestEvent,
  type InboundStartEvent,
  inboundChannel,
} from './events.ts';
export {
  type ExchangeOptions,
  InboundExchange,
  type MeshRequestInfo,
  type RequestArrival,
  sendLocalReply,
  startInbound,
} from './exchange.ts';
export { type ExpressMiddleware, meshExpress } from './express.ts';
export { type MeshFastifyPlugin, meshFastify, meshRewriteUrl } from './fastify.ts';
export { type ConnectionFacts, selectFilterChain } from './filter-chain-select.ts';
export {
  createInboundEngine,
  type InboundAllow,
  type InboundDecision,
  InboundEngine,
  type InboundEngineOptions,
  type InboundEngineState,
  type InboundLocalReply,
  type InboundRequestInfo,
  RBAC_DENIED_BODY,
} from './inbound-engine.ts';
export {
  type CompiledFilterChain,
  compileInboundPolicy,
  type InboundPolicy,
  type MtlsMode,
  mtlsModeOf,
  NO_MESH_POLICY,
} from './inbound-policy.ts';
export { type InboundRequestHeaders, type InboundScope, registerInboundScope } from './inbound-scope.ts';
export {
  DEFAULT_SERVER_LISTENER_TEMPLATE,
  hostPort,
  inboundListenerName,
  type ListenAddress,
} from './listener-name.ts';
export { type MetadataExchangeHeaders, setInboundMetadataExchange } from './metadata-exchange.ts';
export {
  attachInbound,
  type MeshIncomingMessage,
  meshRequestListener,
  meshUpgradeListener,
  type RequestHandler,
  runInbound,
  runInboundUpgrade,
  type UpgradeHandler,
} from './node-http.ts';
export {
  canonicalizePath,
  mergeSlashes,
  type NormalizedPath,
  normalizeRequestPath,
  type PathNormalizationOptions,
  removeDotSegments,
} from './path-normalization.ts';
export { type ConnectionSecurity, connectionSecurity, parseSubjectAltNames, peerPrincipal } from './peer-identity.ts';
export { InboundTlsConfigError, type ServerTlsOptions, serverTlsOptions } from './tls-options.ts';
export {
  type B3TraceContext,
  extractTraceContext,
  parseB3Single,
  parseTraceparent,
  type TraceContext,
  type W3cTraceContext,
} from './trace-context.ts';
