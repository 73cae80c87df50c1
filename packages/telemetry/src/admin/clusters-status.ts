// /clusters: every upstream cluster of the mesh's targets with its endpoints, as Envoy's admin
// prints them (`cluster::host::stat::value` lines, or ClusterStatuses JSON with ?format=json):
// health flags (EDS health, outlier ejection), weight, locality, priority, active requests, the
// circuit breaker thresholds and, from the outlier events seen since the admin server started,
// each endpoint's ejection count and last ejection reason.
import type { ClusterState, Host, OutboundMesh, OutlierChannelEvent } from '@inboard/http';
import { clusterStatesOf, compiledOf } from '../upstream-lookup.ts';
import { meshTargets } from './mesh-targets.ts';

export interface OutlierHistory {
  ejections: number;
  lastReason: string | undefined;
  lastEjectedAt: string | undefined;
  lastUnejectedAt: string | undefined;
}

/** Outlier events by cluster and endpoint, as the admin server saw them. */
export class OutlierLog {
  readonly #byCluster = new Map<string, Map<string, OutlierHistory>>();

  record(e: OutlierChannelEvent): void {
    let m = this.#byCluster.get(e.cluster);
    if (m === undefined) {
      m = new Map();
      this.#byCluster.set(e.cluster, m);
    }
    let h = m.get(e.endpoint);
    if (h === undefined) {
      h = { ejections: 0, lastReason: undefined, lastEjectedAt: undefined, lastUnejectedAt: undefined };
      m.set(e.endpoint, h);
    }
    const now = new Date().toISOString();
    if (e.type === 'eject' && e.enforced) {
      h.ejections++;
      h.lastReason = e.reason;
      h.lastEjectedAt = now;
    } else if (e.type === 'uneject') {
      h.lastUnejectedAt = now;
    }
  }

  get(cluster: string, endpoint: string): OutlierHistory | undefined {
    return this.#byCluster.get(cluster)?.get(endpoint);
  }
}

export interface HostStatus {
  readonly address: string;
  readonly port: number;
  readonly healthFlags: string;
  readonly edsHealthStatus: string;
  readonly ejected: boolean;
  readonly weight: number;
  readonly priority: number;
  readonly locality: { readonly region: string; readonly zone: string; readonly subZone: string };
  readonly activeRequests: number;
  readonly istioWorkload: string | undefined;
  readonly tlsMode: string | undefined;
  readonly outlier: OutlierHistory | undefined;
}

export interface ClusterStatus {
  readonly name: string;
  /** the targets whose routes reach this cluster */
  readonly targets: readonly string[];
  readonly lbPolicy: string;
  readonly circuitBreakers: {
    readonly priority: string;
    readonly maxConnections: number;
    readonly maxPendingRequests: number;
    readonly maxRequests: number;
    readonly maxRetries: number;
  }[];
  readonly outlierDetection: boolean;
  readonly ejectedHosts: number;
  readonly hosts: readonly HostStatus[];
}

/** Envoy's health_flags: `healthy`, or `/failed_outlier_check`, `/failed_eds_health`, `/degraded_eds_health`… */
function healthFlags(h: Host): string {
  let flags = '';
  if (h.ejected) flags += '/failed_outlier_check';
  switch (h.healthStatus) {
    case 'UNHEALTHY':
    case 'DRAINING':
    case 'TIMEOUT':
      flags += '/failed_eds_health';
      break;
    case 'DEGRADED':
      flags += '/degraded_eds_health';
      break;
  }
  return flags === '' ? 'healthy' : flags;
}

function hostStatus(cluster: string, h: Host, outliers: OutlierLog): HostStatus {
  return {
    address: h.address,
    port: h.port,
    healthFlags: healthFlags(h),
    edsHealthStatus: h.healthStatus,
    ejected: h.ejected,
    weight: h.weight,
    priority: h.priority,
    locality: h.locality,
    activeRequests: h.activeRequests,
    istioWorkload: h.istioWorkload,
    tlsMode: h.tlsMode,
    outlier: outliers.get(cluster, h.key),
  };
}

function clusterStatus(state: ClusterState, targets: readonly string[], outliers: OutlierLog): ClusterStatus {
  const cb = (priority: 'DEFAULT' | 'HIGH') => {
    const p = state.circuitBreakers.forPriority(priority);
    return {
      priority,
      maxConnections: p.connections.max,
      maxPendingRequests: p.pendingRequests.max,
      maxRequests: p.requests.max,
      maxRetries: p.retries.max,
    };
  };
  return {
    name: state.name,
    targets,
    lbPolicy: state.lbPolicy,
    circuitBreakers: [cb('DEFAULT'), cb('HIGH')],
    outlierDetection: state.outlierDetector !== undefined,
    ejectedHosts: state.outlierDetector?.ejectedCount ?? 0,
    hosts: state.hosts.map((h) => hostStatus(state.name, h, outliers)),
  };
}

export function clusterStatuses(mesh: OutboundMesh, outliers: OutlierLog): ClusterStatus[] {
  const states = new Map<ClusterState, string[]>();
  for (const target of meshTargets(mesh)) {
    const compiled = compiledOf(mesh, target);
    if (compiled === undefined) continue;
    for (const name of compiled.clusters.keys()) {
      for (const s of clusterStatesOf(mesh, target, name)) {
        const ts = states.get(s);
        if (ts === undefined) states.set(s, [target]);
        else if (!ts.includes(target)) ts.push(target);
      }
    }
  }
  return [...states]
    .map(([s, targets]) => clusterStatus(s, targets, outliers))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Envoy's text form: one `name::field::value` line per fact. */
export function clustersText(statuses: readonly ClusterStatus[]): string {
  const lines: string[] = [];
  for (const c of statuses) {
    for (const t of c.circuitBreakers) {
      const p = t.priority === 'DEFAULT' ? 'default_priority' : 'high_priority';
      lines.push(`${c.name}::${p}::max_connections::${t.maxConnections}`);
      lines.push(`${c.name}::${p}::max_pending_requests::${t.maxPendingRequests}`);
      lines.push(`${c.name}::${p}::max_requests::${t.maxRequests}`);
      lines.push(`${c.name}::${p}::max_retries::${t.maxRetries}`);
    }
    lines.push(`${c.name}::added_via_api::true`);
    for (const h of c.hosts) {
      const k = `${c.name}::${h.address.includes(':') ? `[${h.address}]` : h.address}:${h.port}`;
      lines.push(`${k}::rq_active::${h.activeRequests}`);
      lines.push(`${k}::health_flags::${h.healthFlags}`);
      lines.push(`${k}::weight::${h.weight}`);
      lines.push(`${k}::region::${h.locality.region}`);
      lines.push(`${k}::zone::${h.locality.zone}`);
      lines.push(`${k}::sub_zone::${h.locality.subZone}`);
      lines.push(`${k}::canary::false`);
      lines.push(`${k}::priority::${h.priority}`);
      if (h.outlier !== undefined) {
        lines.push(`${k}::outlier_ejections::${h.outlier.ejections}`);
        if (h.outlier.lastReason !== undefined)
          lines.push(`${k}::outlier_last_ejection_reason::${h.outlier.lastReason}`);
      }
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Envoy's ClusterStatuses JSON (?format=json), with Inboard's extra host facts. */
export function clustersJson(statuses: readonly ClusterStatus[]): unknown {
  return {
    cluster_statuses: statuses.map((c) => ({
      name: c.name,
      added_via_api: true,
      targets: c.targets,
      lb_policy: c.lbPolicy,
      circuit_breakers: {
        thresholds: c.circuitBreakers.map((t) => ({
          priority: t.priority,
          max_connections: t.maxConnections,
          max_pending_requests: t.maxPendingRequests,
          max_requests: t.maxRequests,
          max_retries: t.maxRetries,
        })),
      },
      outlier_detection: c.outlierDetection,
      ejected_hosts: c.ejectedHosts,
      host_statuses: c.hosts.map((h) => ({
        address: { socket_address: { address: h.address, port_value: h.port } },
        stats: [{ name: 'rq_active', value: h.activeRequests, type: 'GAUGE' }],
        health_status: {
          eds_health_status: h.edsHealthStatus,
          ...(h.ejected ? { failed_outlier_check: true } : {}),
        },
        weight: h.weight,
        locality: { region: h.locality.region, zone: h.locality.zone, sub_zone: h.locality.subZone },
        priority: h.priority,
        metadata: { istio_workload: h.istioWorkload, tls_mode: h.tlsMode },
        outlier: h.outlier,
      })),
    })),
  };
}
