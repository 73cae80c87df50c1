// The decode + validation layer: raw Envoy v3 resources in, the typed model out (or every
// reason the resource is invalid).

export { clusterType } from './cluster.ts';
export { clusterLoadAssignmentType } from './cluster-load-assignment.ts';
export { deepEqual } from './deep-equal.ts';
export { listenerType } from './listener.ts';
export type * from './model.ts';
export type { DecodeContext, DecodeResult, ResourceType } from './resource-type.ts';
export { routeConfigurationType } from './route-configuration.ts';
