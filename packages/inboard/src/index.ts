// inboard: the one-line entry into the mesh, the ingress gateway, and the `inboard` CLI.
export {
  type BootstrapSourceKind,
  type BootstrapSourceOptions,
  CONTROL_PLANE_ENV,
  controlPlaneBootstrap,
  type ResolvedBootstrap,
  resolveBootstrap,
} from './bootstrap-source.ts';
export { type MainOptions, main } from './cli.ts';
export { InboardOptionError, NoControlPlaneError } from './errors.ts';
export { GATEWAY_USAGE, type GatewayCliIo, runGatewayCli } from './gateway/gateway-cli.ts';
export { GatewayMesh, gatewayListenerName, gatewayPortOf } from './gateway/gateway-mesh.ts';
export { type ProxyContext, type ProxyOutcome, proxyRequest } from './gateway/gateway-proxy.ts';
export {
  type GatewayAccessEntry,
  type GatewayListenerEvent,
  type GatewayPort,
  type GatewayTls,
  INGRESS_GATEWAY_LABELS,
  IngressGateway,
  type IngressGatewayOptions,
} from './gateway/ingress-gateway.ts';
export { Inboard, type InboardOptions } from './inboard.ts';
export type { InboardServer, InboundOptions, ServeOptions } from './inbound-servers.ts';
export { type InboardNodeOptions, inboardNode, parseLabels } from './node-options.ts';
