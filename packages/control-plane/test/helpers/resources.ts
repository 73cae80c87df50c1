// Small typed xDS resources and decoding helpers for control-plane tests.
import {
  type ClusterIn,
  type ClusterLoadAssignmentIn,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
  decodeMessage,
  encodeMessage,
  jsToStruct,
  type ListenerIn,
  type Node,
  type NodeIn,
  packAny,
  type RouteConfigurationIn,
  TypeUrl,
  unpackAny,
} from '@inboard/xds/codec';

export const LDS = TypeUrl.Listener;
export const RDS = TypeUrl.RouteConfiguration;
export const CDS = TypeUrl.Cluster;
export const EDS = TypeUrl.ClusterLoadAssignment;

export function node(id: string, metadata: Record<string, unknown> = {}): NodeIn {
  return { id, metadata: jsToStruct({ GENERATOR: 'grpc', ...metadata }) };
}

/** A Node exactly as the server sees it (decoded from the wire), for cache tests without a stream. */
export function decodedNode(fields: NodeIn): Node {
  const req = decodeMessage(
    'envoy.service.discovery.v3.DiscoveryRequest',
    encodeMessage('envoy.service.discovery.v3.DiscoveryRequest', { node: fields }),
  );
  if (req.node === undefined) throw new Error('node lost in round trip');
  return req.node;
}

export function listener(name: string, routeName = `route-${name}`): ListenerIn {
  return {
    name,
    api_listener: {
      api_listener: packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
        rds: { route_config_name: routeName, config_source: { ads: {} } },
      }),
    },
  };
}

export function route(name: string, cluster = 'c1'): RouteConfigurationIn {
  return {
    name,
    virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }],
  };
}

export function cluster(name: string): ClusterIn {
  return { name, connect_timeout: { seconds: 1, nanos: 0 } };
}

export function endpoints(name: string, ip = '10.0.0.1'): ClusterLoadAssignmentIn {
  return {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ip, port_value: 8080 } } } }] }],
  };
}

/** The name inside a packed LDS/RDS/CDS/EDS resource. */
export function nameOf(any: { type_url: string; value: Uint8Array }): string {
  const m = unpackAny(any) as { name?: string; cluster_name?: string };
  return m.cluster_name !== undefined && any.type_url === EDS ? m.cluster_name : (m.name ?? '');
}

/** Resource names of a SotW response, decoded from the Any bytes (not taken from server events). */
export function namesOf(res: DiscoveryResponse): string[] {
  return res.resources.map(nameOf);
}

/** Resource names of a Delta response, checked against the Any bytes. */
export function deltaNamesOf(res: DeltaDiscoveryResponse): string[] {
  return res.resources.map((r) => {
    if (r.resource === undefined || nameOf(r.resource) !== r.name) throw new Error(`resource ${r.name} mismatch`);
    return r.name;
  });
}
