// The four lists of typed xDS messages a node's view is made of, before packing.
import type { ClusterIn, ClusterLoadAssignmentIn, envoy, ListenerIn, RouteConfigurationIn } from '@inboard/xds/codec';

export interface XdsMessages {
  readonly listeners: ListenerIn[];
  readonly routes: RouteConfigurationIn[];
  readonly clusters: ClusterIn[];
  readonly endpoints: ClusterLoadAssignmentIn[];
}

/** Packs a message into an Any; generators take it so packed sub-messages can be shared. */
export type Pack = (typeName: string, message: unknown) => envoy.google_protobuf_Any$In;

export function emptyMessages(): XdsMessages {
  return { listeners: [], routes: [], clusters: [], endpoints: [] };
}
