// Client-side resources for every service a node sees, in istiod's proxyless shapes: API
// listeners `host:port` for each spelling the client may use, RDS `outbound|port||fqdn` with one
// virtual host, clusters for the default and each subset, and their EDS.
import type { envoy } from '@inboard/xds/codec';
import { buildCluster } from './clusters.ts';
import { clusterLoadAssignment } from './endpoints.ts';
import { FAULT_FILTER, ROUTER_FILTER } from './envoy-names.ts';
import { clusterName, joinHostPort, listenerHostSpellings, virtualHostDomains } from './hostnames.ts';
import { defaultRoute, type RouteContext, virtualServiceRoutes } from './http-route.ts';
import { isHttpOrSniffed, type MeshPort, type MeshService } from './mesh-index.ts';
import type { NodeScope } from './node-scope.ts';
import { clusterTrafficPolicy, consistentHashForDestination, consistentHashForService } from './traffic-policy.ts';
import type { Pack, XdsMessages } from './xds-messages.ts';

type RouteConfigurationIn = envoy.config_route_v3_RouteConfiguration$In;
type HttpFilterIn = envoy.extensions_filters_network_http_connection_manager_v3_HttpFilter$In;

const MESH_GATEWAY: ReadonlySet<string> = new Set(['mesh']);

/** The HTTP filters of every client-side listener: an empty fault filter, then the router. */
export function clientHttpFilters(pack: Pack): HttpFilterIn[] {
  return [
    { name: FAULT_FILTER, typed_config: pack('envoy.extensions.filters.http.fault.v3.HTTPFault', {}) },
    { name: ROUTER_FILTER, typed_config: pack('envoy.extensions.filters.http.router.v3.Router', {}) },
  ];
}

export function routeContext(
  scope: NodeScope,
  listenPort: number,
  gatewayNames: ReadonlySet<string>,
  pack: Pack,
): RouteContext {
  return {
    node: scope.node,
    listenPort,
    gatewayNames,
    domainSuffix: scope.settings.domainSuffix,
    lookupService: (host) => scope.service(host) ?? scope.index.servicesByHost.get(host)?.[0],
    lookupHash: (d) => consistentHashForDestination(scope.destinationRule(d.host)?.spec, d),
    defaultRetryPolicy: scope.settings.defaultHttpRetryPolicy,
    pack,
  };
}

/** RDS `outbound|port||fqdn`: the service's virtual host with its VirtualService routes or the default route. */
export function outboundRouteConfig(
  scope: NodeScope,
  svc: MeshService,
  port: MeshPort,
  pack: Pack,
): RouteConfigurationIn {
  const name = clusterName(port.port, '', svc.hostname);
  // TCP/TLS ports get no virtual host (istiod only routes HTTP or sniffed ports)
  if (!isHttpOrSniffed(port.protocol)) return { name, virtual_hosts: [] };
  let routes: ReturnType<typeof virtualServiceRoutes> = [];
  for (const vs of scope.virtualServicesFor(svc.hostname)) {
    routes = virtualServiceRoutes(vs, routeContext(scope, port.port, MESH_GATEWAY, pack));
    if (routes.length > 0) break;
  }
  if (routes.length === 0) {
    const hash = consistentHashForService(scope.destinationRule(svc.hostname)?.spec, port.port);
    routes = [defaultRoute(svc.hostname, port.port, hash, scope.settings.defaultHttpRetryPolicy)];
  }
  const domains = [...new Set(virtualHostDomains(svc.hostname, port.port, svc.vips, scope.node.dnsDomain))];
  // include_request_attempt_count: istiod sets it on every sidecar virtual host (x-envoy-attempt-count upstream)
  return {
    name,
    virtual_hosts: [{ name: `${svc.hostname}:${port.port}`, domains, routes, include_request_attempt_count: true }],
  };
}

export function outboundResources(scope: NodeScope, pack: Pack, out: XdsMessages): void {
  const node = scope.node;
  const filters = clientHttpFilters(pack);
  for (const svc of scope.services) {
    const spellings = listenerHostSpellings(svc.hostname, node.namespace, node.dnsDomain);
    const address = svc.vips[0] ?? '0.0.0.0';
    const dr = scope.destinationRule(svc.hostname)?.spec;
    for (const port of svc.ports) {
      const routeName = clusterName(port.port, '', svc.hostname);
      const hcm = pack('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
        rds: { config_source: { ads: {} }, route_config_name: routeName },
        http_filters: filters,
      });
      for (const host of spellings) {
        out.listeners.push({
          name: joinHostPort(host, port.port),
          address: { socket_address: { address, port_value: port.port } },
          api_listener: { api_listener: hcm },
        });
      }
      out.routes.push(outboundRouteConfig(scope, svc, port, pack));

      const subsets: [string, Readonly<Record<string, string>> | undefined][] = [['', undefined]];
      for (const s of dr?.subsets ?? []) subsets.push([s.name, s.labels ?? {}]);
      for (const [subset, labels] of subsets) {
        const name = clusterName(port.port, subset, svc.hostname);
        const policy = clusterTrafficPolicy(dr, port.port, subset);
        const cluster = buildCluster(name, svc, port, labels, policy, { index: scope.index, pack });
        out.clusters.push(cluster);
        if (cluster.eds_cluster_config !== undefined) {
          out.endpoints.push(
            clusterLoadAssignment(name, svc, port, { index: scope.index, node, policy, subsetLabels: labels }),
          );
        }
      }
    }
  }
}
