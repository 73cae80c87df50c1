// The Istio → xDS translator: an embedded istiod for proxyless clients.

export { parseDuration } from './durations.ts';
export { type MeshEndpoint, MeshIndex, type MeshPort, type MeshService } from './mesh-index.ts';
export { NodeScope } from './node-scope.ts';
export { validateIstioNode } from './node-validation.ts';
export {
  InvalidNodeError,
  type NodeInput,
  type PodPort,
  type ProxyLocality,
  type ProxyNode,
  parseProxyNode,
} from './proxy-node.ts';
export { createIstioSnapshotGenerator, type IstioSnapshotGenerator, viewKey } from './snapshot-generator.ts';
export { packMessage, translate, translateMessages, translateView } from './translate.ts';
export type { XdsMessages } from './xds-messages.ts';
