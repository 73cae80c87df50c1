// @inboard/xds/transport: the parts that load @grpc/grpc-js. Kept off the main entry point so
// importing @inboard/xds stays cheap; the client loads this lazily when it first connects.

export { bearerFromFile, createCallCredentials, type ReadFile } from '../bootstrap/call-credentials.ts';
export {
  type CredentialsIo,
  createChannelCredentials,
  type XdsChannelConfig,
  xdsChannelConfig,
} from '../bootstrap/channel-credentials.ts';
export { XDS_KEEPALIVE_TIME_MS, XDS_KEEPALIVE_TIMEOUT_MS, xdsChannelOptions } from '../bootstrap/channel-options.ts';
export * from './ads-service.ts';
