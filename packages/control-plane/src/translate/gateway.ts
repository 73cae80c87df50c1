// Gateway workloads (a node whose labels match a Gateway's selector): one API listener per server
// port, named like istiod's Envoy gateway listener `0.0.0.0_<port>`, whose RDS `http.<port>` holds a
// virtual host per (server host × bound VirtualService host) with the routes of the VirtualServices
// bound to that Gateway (`gateways: [ns/name]`). Plain-text HTTP servers only.
import type { envoy } from '@inboard/xds/codec';
import type { Gateway, Server } from '../config/istio-types.ts';
import { exportedTo, hostSubsetOf, hostsOverlap } from './hostnames.ts';
import { isCatchAllRoute, virtualServiceRoutes } from './http-route.ts';
import { isHttpOrSniffed, labelsMatch, parseProtocol } from './mesh-index.ts';
import type { NodeScope } from './node-scope.ts';
import { clientHttpFilters, routeContext } from './outbound.ts';
import type { Pack, XdsMessages } from './xds-messages.ts';

type VirtualHostIn = envoy.config_route_v3_VirtualHost$In;
type RouteIn = envoy.config_route_v3_Route$In;

export function gatewayListenerName(port: number): string {
  return `0.0.0.0_${port}`;
}

export function gatewayRouteName(port: number): string {
  return `http.${port}`;
}

/** Gateways whose selector matches the node (across namespaces, istiod's default scoping). */
export function gatewaysFor(scope: NodeScope): Gateway[] {
  return scope.index.gateways.filter((g) => {
    const sel = g.spec.selector;
    if (sel === undefined || Object.keys(sel).length === 0 || !labelsMatch(sel, scope.node.labels)) return false;
    // a Gateway API Gateway's pods are its own, in its namespace
    return !scope.index.kubernetesGateways.has(g) || g.metadata.namespace === scope.node.namespace;
  });
}

function isPlainHttpServer(s: Server): boolean {
  if (s.tls !== undefined && s.tls.httpsRedirect !== true) return false;
  const p = parseProtocol(s.port.protocol);
  return p !== 'UNSUPPORTED' && isHttpOrSniffed(p);
}

/** `[ns/]host` of a server: which VirtualService namespaces it admits, and the host. */
function serverHost(h: string, gatewayNs: string): { namespace: string; host: string } {
  const slash = h.indexOf('/');
  if (slash < 0) return { namespace: '*', host: h };
  const ns = h.slice(0, slash);
  return { namespace: ns === '.' ? gatewayNs : ns, host: h.slice(slash + 1) };
}

export function gatewayResources(scope: NodeScope, pack: Pack, out: XdsMessages): void {
  const byPort = new Map<number, { gateway: Gateway; server: Server }[]>();
  for (const g of gatewaysFor(scope)) {
    for (const server of g.spec.servers ?? []) {
      if (!isPlainHttpServer(server)) continue;
      let list = byPort.get(server.port.number);
      if (list === undefined) byPort.set(server.port.number, (list = []));
      list.push({ gateway: g, server });
    }
  }
  const filters = clientHttpFilters(pack);
  for (const [port, servers] of [...byPort].sort((a, b) => a[0] - b[0])) {
    const routeName = gatewayRouteName(port);
    out.listeners.push({
      name: gatewayListenerName(port),
      address: { socket_address: { address: '0.0.0.0', port_value: port } },
      api_listener: {
        api_listener: pack('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
          rds: { config_source: { ads: {} }, route_config_name: routeName },
          http_filters: filters,
        }),
      },
    });
    out.routes.push({ name: routeName, virtual_hosts: gatewayVirtualHosts(scope, port, servers, pack) });
  }
}

function gatewayVirtualHosts(
  scope: NodeScope,
  port: number,
  servers: readonly { gateway: Gateway; server: Server }[],
  pack: Pack,
): VirtualHostIn[] {
  const vhosts = new Map<string, { host: string; routes: RouteIn[] }>();
  const nodeNs = scope.node.namespace;
  for (const { gateway, server } of servers) {
    const gwName = `${gateway.metadata.namespace}/${gateway.metadata.name}`;
    const ctx = routeContext(scope, port, new Set([gwName]), pack);
    for (const vs of scope.index.virtualServices) {
      if (!vs.gateways.includes(gwName) || !exportedTo(vs.exportTo, vs.namespace, nodeNs)) continue;
      let routes: RouteIn[] | undefined;
      for (const raw of server.hosts) {
        const sh = serverHost(raw, gateway.metadata.namespace);
        if (sh.namespace !== '*' && sh.namespace !== vs.namespace) continue;
        for (const vh of vs.hosts) {
          if (!hostsOverlap(vh, sh.host)) continue;
          // the more specific of the two names is what the virtual host serves
          const host = hostSubsetOf(vh, sh.host) ? vh : sh.host;
          routes ??= virtualServiceRoutes(vs, ctx);
          if (routes.length === 0) continue;
          const entry = vhosts.get(host);
          if (entry === undefined) vhosts.set(host, { host, routes: [...routes] });
          else if (!entry.routes.some((r) => routes!.includes(r))) entry.routes.push(...routes);
        }
      }
    }
  }
  const out: VirtualHostIn[] = [];
  const seen = new Set<string>();
  for (const { host, routes } of vhosts.values()) {
    const domains = (host === '*' ? ['*'] : [host, `${host}:${port}`]).filter((d) => !seen.has(d));
    for (const d of domains) seen.add(d);
    if (domains.length === 0) continue;
    // SortVHostRoutes: catch-all routes of merged VirtualServices go last
    const ordered = [...routes.filter((r) => !isCatchAllRoute(r)), ...routes.filter(isCatchAllRoute)];
    out.push({ name: `${host}:${port}`, domains, routes: ordered, include_request_attempt_count: true });
  }
  if (out.length === 0) {
    out.push({
      name: `blackhole:${port}`,
      domains: ['*'],
      routes: [{ name: 'default', match: { prefix: '/' }, direct_response: { status: 404 } }],
      include_request_attempt_count: true,
    });
  }
  return out;
}
