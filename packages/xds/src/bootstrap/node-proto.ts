// Our BootstrapNode → envoy.config.core.v3.Node for the first DiscoveryRequest of a stream.
import { jsToStruct, type NodeIn } from '../codec.ts';
import type { BootstrapNode } from './types.ts';

export function nodeToProto(node: BootstrapNode): NodeIn {
  return {
    id: node.id,
    cluster: node.cluster,
    metadata: jsToStruct(node.metadata),
    locality:
      node.locality === undefined
        ? undefined
        : { region: node.locality.region, zone: node.locality.zone, sub_zone: node.locality.subZone },
    user_agent_name: node.userAgentName,
    user_agent_version: node.userAgentVersion,
    client_features: [...node.clientFeatures],
  };
}
