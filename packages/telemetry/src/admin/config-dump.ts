// /config_dump: what the xDS client holds, in the shape of Envoy's admin ConfigDump: a `configs`
// list of typed sections (BootstrapConfigDump, ClustersConfigDump, EndpointsConfigDump,
// ListenersConfigDump, RoutesConfigDump) whose entries carry version_info, last_updated and
// client_status (and error_state for NACKed resources). The resources are Inboard's validated
// model of each xDS message (camelCase fields), tagged with the message's type URL.
import { type Bootstrap, type ResourceMeta, resourceTypes, type XdsClient } from '@inboard/xds';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function typed(typeUrl: string, value: unknown): unknown {
  return value === undefined ? undefined : { '@type': typeUrl, ...(value as object) };
}

function entry(r: ResourceMeta, field: string): Record<string, unknown> {
  const e: Record<string, unknown> = {
    name: r.name,
    version_info: r.version,
    [field]: typed(r.typeUrl, r.value),
    last_updated: iso(r.lastUpdated),
    client_status: r.status,
  };
  if (r.error !== undefined) e.error_state = { details: r.error, last_update_attempt: iso(r.lastUpdated) };
  return e;
}

function latestVersion(rs: readonly ResourceMeta[]): string | undefined {
  let best: ResourceMeta | undefined;
  for (const r of rs)
    if (r.version !== undefined && (best === undefined || (r.lastUpdated ?? 0) >= (best.lastUpdated ?? 0))) best = r;
  return best?.version;
}

export function buildConfigDump(client: XdsClient, bootstrap: Bootstrap | undefined): { configs: unknown[] } {
  const all = client.dump();
  const of = (typeUrl: string) =>
    all.filter((r) => r.typeUrl === typeUrl).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const listeners = of(resourceTypes.listener.typeUrl);
  const routes = of(resourceTypes.routeConfiguration.typeUrl);
  const clusters = of(resourceTypes.cluster.typeUrl);
  const endpoints = of(resourceTypes.clusterLoadAssignment.typeUrl);
  const configs: unknown[] = [];
  if (bootstrap !== undefined) {
    configs.push({
      '@type': `${ADMIN}BootstrapConfigDump`,
      bootstrap: {
        node: bootstrap.node,
        xds_servers: bootstrap.xdsServers.map((s) => ({ server_uri: s.serverUri, server_features: s.serverFeatures })),
        client_default_listener_resource_name_template: bootstrap.clientDefaultListenerResourceNameTemplate,
        server_listener_resource_name_template: bootstrap.serverListenerResourceNameTemplate,
      },
    });
  }
  configs.push({
    '@type': `${ADMIN}ClustersConfigDump`,
    version_info: latestVersion(clusters),
    dynamic_active_clusters: clusters.filter((r) => r.value !== undefined).map((r) => entry(r, 'cluster')),
    dynamic_warming_clusters: clusters.filter((r) => r.value === undefined).map((r) => entry(r, 'cluster')),
  });
  configs.push({
    '@type': `${ADMIN}EndpointsConfigDump`,
    dynamic_endpoint_configs: endpoints.map((r) => entry(r, 'endpoint_config')),
  });
  configs.push({
    '@type': `${ADMIN}ListenersConfigDump`,
    version_info: latestVersion(listeners),
    dynamic_listeners: listeners.map((r) => {
      const e: Record<string, unknown> = { name: r.name, client_status: r.status };
      if (r.value !== undefined) {
        e.active_state = {
          version_info: r.version,
          listener: typed(r.typeUrl, r.value),
          last_updated: iso(r.lastUpdated),
        };
      }
      if (r.error !== undefined) e.error_state = { details: r.error, last_update_attempt: iso(r.lastUpdated) };
      return e;
    }),
  });
  configs.push({
    '@type': `${ADMIN}RoutesConfigDump`,
    dynamic_route_configs: routes.map((r) => entry(r, 'route_config')),
  });
  return { configs };
}
