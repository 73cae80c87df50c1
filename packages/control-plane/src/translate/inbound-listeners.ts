// Server-side (inbound) listeners `xds.istio.io/grpc/lds/inbound/<ip>:<port>` for a node that
// backs a service port (grpcgen buildInboundListeners): one filter chain whose mTLS mode comes
// from PeerAuthentication and whose HTTP filters enforce AuthorizationPolicy (DENY, then ALLOW).
import type { envoy } from '@inboard/xds/codec';
import { rbacPolicies, selectAuthorizationPolicies } from './authorization-policy.ts';
import { endpointPort } from './endpoints.ts';
import { INBOUND_LISTENER_PREFIX, RBAC_DENY_FILTER, RBAC_FILTER, RbacAction, ROUTER_FILTER } from './envoy-names.ts';
import { joinHostPort } from './hostnames.ts';
import { labelsMatch, type MeshIndex, type MeshPort, type MeshService } from './mesh-index.ts';
import { peerAuthenticationMode } from './peer-authentication.ts';
import type { ProxyNode } from './proxy-node.ts';
import { downstreamTlsSocket } from './tls-context.ts';

type ListenerIn = envoy.config_listener_v3_Listener$In;
type Pack = (typeName: string, message: unknown) => envoy.google_protobuf_Any$In;

const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

export interface ServiceTarget {
  readonly service: MeshService;
  readonly port: MeshPort;
  /** The container port the node listens on for this service port. */
  readonly targetPort: number;
}

/** Registry services by position, by namespace and selector labels, and by endpoint IP, per index. */
interface TargetCandidates {
  readonly position: Map<MeshService, number>;
  readonly bySelector: Map<string, readonly MeshService[]>;
  readonly byIp: Map<string, MeshService[]>;
}

// Every pod asks for its inbound listeners on each config change: scanning all services per pod
// cost ~0.5 ms a pod with 1,000 services. Pods of a workload share the selector scan.
const candidatesByIndex = new WeakMap<MeshIndex, TargetCandidates>();

function targetCandidates(index: MeshIndex): TargetCandidates {
  let c = candidatesByIndex.get(index);
  if (c === undefined) {
    c = { position: new Map(), bySelector: new Map(), byIp: new Map() };
    for (const [i, svc] of index.services.entries()) {
      if (svc.source !== 'registry') continue;
      c.position.set(svc, i);
      for (const e of svc.endpoints) {
        const list = c.byIp.get(e.address);
        if (list === undefined) c.byIp.set(e.address, [svc]);
        else if (list[list.length - 1] !== svc) list.push(svc);
      }
    }
    candidatesByIndex.set(index, c);
  }
  return c;
}

/**
 * The service ports this node backs (istiod's ServiceTargets): services of its namespace whose
 * selector matches its labels, or that list one of its IPs as an endpoint.
 */
export function serviceTargets(index: MeshIndex, node: ProxyNode): ServiceTarget[] {
  const candidates = targetCandidates(index);
  const labels = Object.keys(node.labels)
    .sort()
    .map((k) => [k, node.labels[k]]);
  const selectorKey = JSON.stringify([node.namespace, labels]);
  let selected = candidates.bySelector.get(selectorKey);
  if (selected === undefined) {
    selected = [...candidates.position.keys()].filter(
      (svc) => svc.namespace === node.namespace && svc.selector !== undefined && labelsMatch(svc.selector, node.labels),
    );
    candidates.bySelector.set(selectorKey, selected);
  }
  const matched = new Set(selected);
  for (const ip of node.ipAddresses) {
    for (const svc of candidates.byIp.get(ip) ?? []) if (svc.namespace === node.namespace) matched.add(svc);
  }
  const ordered = [...matched].sort((a, b) => candidates.position.get(a)! - candidates.position.get(b)!);
  const out: ServiceTarget[] = [];
  for (const svc of ordered) {
    const bySelector = svc.selector !== undefined && labelsMatch(svc.selector, node.labels);
    const byIp = bySelector ? undefined : svc.endpoints.find((e) => node.ipAddresses.includes(e.address));
    if (!bySelector && byIp === undefined) continue;
    for (const port of svc.ports) {
      let targetPort: number;
      if (byIp !== undefined) targetPort = endpointPort(byIp, port);
      else if (typeof port.targetPort === 'number') targetPort = port.targetPort;
      else if (typeof port.targetPort === 'string') {
        // a named port resolves through the pod's ports (POD_PORTS metadata)
        targetPort = node.podPorts.find((p) => p.name === port.targetPort)?.containerPort ?? port.port;
      } else targetPort = port.port;
      out.push({ service: svc, port, targetPort });
    }
  }
  return out;
}

/** The addresses a server may listen on: any IPv4, any IPv6, and each of the node's IPs. */
export function inboundListenHosts(node: ProxyNode): string[] {
  return [...new Set(['0.0.0.0', '::', ...node.ipAddresses])];
}

function inboundFilterChain(
  index: MeshIndex,
  node: ProxyNode,
  targetPort: number,
  pack: Pack,
): envoy.config_listener_v3_FilterChain$In {
  let mode = peerAuthenticationMode(index, node.namespace, node.labels, targetPort);
  // clients will use mTLS for a pod labelled for it, and gRPC cannot do PERMISSIVE
  if (node.labels[TLS_MODE_LABEL] === 'istio' && mode === 'PERMISSIVE') mode = 'STRICT';
  const strict = mode === 'STRICT';
  const suffix = strict ? 'mtls' : 'plaintext';

  const filters: envoy.extensions_filters_network_http_connection_manager_v3_HttpFilter$In[] = [];
  const selected = selectAuthorizationPolicies(index, node.namespace, node.labels);
  if (selected.deny.length > 0) {
    const policies = rbacPolicies(index, selected.deny);
    // a DENY policy without rules denies nothing: no filter
    if (Object.keys(policies).length > 0) {
      filters.push({
        name: RBAC_DENY_FILTER,
        typed_config: pack('envoy.extensions.filters.http.rbac.v3.RBAC', {
          rules: { action: RbacAction.DENY, policies },
        }),
      });
    }
  }
  if (selected.allow.length > 0) {
    // an ALLOW filter without policies denies everything, which is what an ALLOW policy with no
    // rules means in Istio (istiod's proxyless generator omits the filter instead)
    const policies = rbacPolicies(index, selected.allow);
    filters.push({
      name: RBAC_FILTER,
      typed_config: pack('envoy.extensions.filters.http.rbac.v3.RBAC', {
        rules: { action: RbacAction.ALLOW, policies },
      }),
    });
  }
  filters.push({ name: ROUTER_FILTER, typed_config: pack('envoy.extensions.filters.http.router.v3.Router', {}) });

  const hcm: envoy.extensions_filters_network_http_connection_manager_v3_HttpConnectionManager$In = {
    route_config: {
      name: 'inbound',
      virtual_hosts: [
        {
          // istiod leaves the name empty; Envoy-validating clients require one
          name: `inbound|http|${targetPort}`,
          domains: ['*'],
          routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }],
        },
      ],
    },
    http_filters: filters,
  };
  const chain: envoy.config_listener_v3_FilterChain$In = {
    name: `inbound-${suffix}`,
    filters: [
      {
        name: `inbound-hcm${suffix}`,
        typed_config: pack('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm),
      },
    ],
  };
  if (strict) chain.transport_socket = downstreamTlsSocket(pack);
  return chain;
}

/** Every inbound listener this node may ask for, one per listen address and backed port. */
export function inboundListeners(index: MeshIndex, node: ProxyNode, pack: Pack): ListenerIn[] {
  const ports = new Set<number>();
  for (const t of serviceTargets(index, node)) ports.add(t.targetPort);
  const out: ListenerIn[] = [];
  for (const port of [...ports].sort((a, b) => a - b)) {
    const chain = inboundFilterChain(index, node, port, pack);
    for (const host of inboundListenHosts(node)) {
      out.push({
        name: INBOUND_LISTENER_PREFIX + joinHostPort(host, port),
        address: { socket_address: { address: host, port_value: port } },
        filter_chains: [chain],
      });
    }
  }
  return out;
}
