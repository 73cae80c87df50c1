// The outbound mesh: targets resolved through xDS, compiled once per snapshot, and the undici
// dispatcher that runs requests through them.
export { ClusterManager, type ClusterManagerOptions } from './cluster-manager.ts';
export {
  type ClusterStateSource,
  type CompiledTarget,
  compileTarget,
  type FaultFilter,
  type UpstreamCluster,
} from './compiled-target.ts';
export { MeshDispatcher } from './mesh-dispatcher.ts';
export { MeshOptionError } from './mesh-option-error.ts';
export { MeshTarget, type MeshTargetOptions } from './mesh-target.ts';
export { OutboundMesh, type OutboundMeshOptions } from './outbound-mesh.ts';
