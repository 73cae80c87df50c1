// Istio config + service registry → the resources istiod's proxyless generator (GENERATOR=grpc)
// would send one node: outbound API listeners / routes / clusters / endpoints for every service it
// sees, gateway listeners when it is a gateway workload, and inbound listeners for the ports it serves.
import { type MessageName, packAny } from '@inboard/xds/codec';
import type { MeshConfigSnapshot } from '../config/istio-types.ts';
import { Snapshot } from '../snapshot.ts';
import { gatewayResources } from './gateway.ts';
import { inboundListeners } from './inbound-listeners.ts';
import { MeshIndex } from './mesh-index.ts';
import { NodeScope } from './node-scope.ts';
import { outboundResources } from './outbound.ts';
import { type NodeInput, type ProxyNode, parseProxyNode } from './proxy-node.ts';
import { emptyMessages, type Pack, type XdsMessages } from './xds-messages.ts';

export const packMessage: Pack = (typeName, message) => packAny(typeName as MessageName, message as never);

function asIndex(config: MeshConfigSnapshot | MeshIndex): MeshIndex {
  return config instanceof MeshIndex ? config : new MeshIndex(config);
}

function asNode(node: ProxyNode | NodeInput): ProxyNode {
  return 'dnsDomain' in node && 'ipAddresses' in node ? (node as ProxyNode) : parseProxyNode(node as NodeInput);
}

/** Everything but the inbound listeners: depends on the node's namespace, labels and locality only. */
export function translateView(index: MeshIndex, node: ProxyNode, pack: Pack = packMessage): XdsMessages {
  const out = emptyMessages();
  const scope = new NodeScope(index, node);
  outboundResources(scope, pack, out);
  gatewayResources(scope, pack, out);
  return out;
}

/** The typed messages of a node's snapshot (for tests and debugging). */
export function translateMessages(config: MeshConfigSnapshot | MeshIndex, node: ProxyNode | NodeInput): XdsMessages {
  const index = asIndex(config);
  const proxy = asNode(node);
  const out = translateView(index, proxy);
  out.listeners.push(...inboundListeners(index, proxy, packMessage));
  return out;
}

/** A node's snapshot, as the SnapshotCache serves it. */
export function translate(config: MeshConfigSnapshot | MeshIndex, node: ProxyNode | NodeInput): Snapshot {
  return Snapshot.fromMessages({ ...translateMessages(config, node), version: undefined });
}
