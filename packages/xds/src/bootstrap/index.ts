// Bootstrap, node identity and xDS-server credentials.

export { bearerFromFile, createCallCredentials, type ReadFile } from './call-credentials.ts';
export {
  type CredentialsIo,
  createChannelCredentials,
  type XdsChannelConfig,
  xdsChannelConfig,
} from './channel-credentials.ts';
export { XDS_KEEPALIVE_TIME_MS, XDS_KEEPALIVE_TIMEOUT_MS, xdsChannelOptions } from './channel-options.ts';
export { parseDownwardApi, unquoteGo } from './downward-api.ts';
export { parseDurationJson } from './duration-json.ts';
export {
  DEFAULT_ROOT_CERT_FILE,
  DEFAULT_TOKEN_FILE,
  ISTIO_SERVER_LISTENER_TEMPLATE,
  ISTIOD_DEFAULT_ADDRESS,
  ISTIOD_DEFAULT_PORT,
  type IstiodBootstrapOptions,
  istiodBootstrap,
} from './istiod-bootstrap.ts';
export { findJsonSyntaxError, type JsonSyntaxError, parseJsonText } from './json-text.ts';
export {
  BOOTSTRAP_CONFIG_ENV,
  BOOTSTRAP_FILE_ENV,
  hasBootstrapEnv,
  type LoadBootstrapOptions,
  loadBootstrap,
  type ReadTextFile,
} from './load-bootstrap.ts';
export {
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_LABELS_FILE,
  type NodeIdentityOptions,
  nodeIdentityFromEnv,
} from './node-identity.ts';
export { nodeToProto } from './node-proto.ts';
export {
  DEFAULT_CERT_REFRESH_INTERVAL_MS,
  DEFAULT_CLIENT_LISTENER_TEMPLATE,
  parseBootstrap,
  SUPPORTED_CHANNEL_CREDS,
} from './parse-bootstrap.ts';
export { type ParsedServerUri, parseServerUri, targetFor } from './server-target.ts';
export type {
  Bootstrap,
  BootstrapNode,
  CallCredsConfig,
  ChannelCredsConfig,
  Env,
  FileWatcherCertificateProvider,
  JsonObject,
  JwtTokenFileCallCreds,
  Locality,
  XdsServerConfig,
} from './types.ts';
export { USER_AGENT_NAME, USER_AGENT_VERSION } from './user-agent.ts';
export { ISTIO_NODE_TYPES, type NodeLike, validateNodeForIstiod } from './validate-node.ts';
