// One upstream endpoint of a cluster, with the mutable per-endpoint state the data plane keeps
// across EDS updates (active requests, outlier ejection). A Host object lives as long as its
// address:port stays in the cluster's load assignment.

import type { HealthStatus, LbEndpoint, Locality } from '@inboard/xds';
import { HostConnections } from './circuit-breakers.ts';

/** Coarse health as Envoy's load balancers see it. */
export type CoarseHealth = 'healthy' | 'degraded' | 'unhealthy';

/** Envoy's Address::asString(): `10.0.0.1:8080`, `[::1]:8080`. Identity and consistent-hash key. */
export function hostKey(address: string, port: number): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function localityKey(l: Locality): string {
  return `${l.region}/${l.zone}/${l.subZone}`;
}

/** Envoy's LocalityLess: lexicographic on (region, zone, sub_zone). */
export function compareLocality(a: Locality, b: Locality): number {
  if (a.region !== b.region) return a.region < b.region ? -1 : 1;
  if (a.zone !== b.zone) return a.zone < b.zone ? -1 : 1;
  if (a.subZone !== b.subZone) return a.subZone < b.subZone ? -1 : 1;
  return 0;
}

export class Host {
  readonly address: string;
  readonly port: number;
  /** `address:port` (IPv6 bracketed): identity across updates, retry previous-hosts key, hash key */
  readonly key: string;
  /** load_balancing_weight, ≥ 1 */
  weight: number;
  priority: number;
  locality: Locality;
  healthStatus: HealthStatus;
  hostname: string;
  tlsMode: string | undefined;
  istioWorkload: string | undefined;
  /** requests in flight to this host, maintained by the caller (acquire/release) */
  activeRequests = 0;
  /** ejected by outlier detection */
  ejected = false;
  /** `connections` circuit breaker units held, per routing priority (DEFAULT, HIGH) */
  readonly connections: readonly [HostConnections, HostConnections] = [new HostConnections(), new HostConnections()];
  /**
   * Slow start: when the cluster's load balancer first saw this host healthy (Envoy's
   * last_hc_pass_time, which without active health checking is set on first sight); NaN until then
   */
  slowStartSince = Number.NaN;
  /** `weight` scaled by the slow start factor as of the cluster's last slow start refresh */
  slowStartWeight = 1;
  /** `http://address:port` / `https://…`: the origin of this endpoint's connection pool, built once */
  readonly httpOrigin: string;
  readonly httpsOrigin: string;

  constructor(endpoint: LbEndpoint, priority: number, locality: Locality) {
    this.address = endpoint.address.address;
    this.port = endpoint.address.port;
    this.key = hostKey(this.address, this.port);
    this.httpOrigin = `http://${this.key}`;
    this.httpsOrigin = `https://${this.key}`;
    this.weight = 1;
    this.priority = priority;
    this.locality = locality;
    this.healthStatus = 'UNKNOWN';
    this.hostname = '';
    this.tlsMode = undefined;
    this.istioWorkload = undefined;
    this.assign(endpoint, priority, locality);
  }

  /** Takes the endpoint's latest attributes, keeping the per-endpoint state. */
  assign(endpoint: LbEndpoint, priority: number, locality: Locality): void {
    this.weight = Math.max(1, endpoint.loadBalancingWeight);
    this.priority = priority;
    this.locality = locality;
    this.healthStatus = endpoint.healthStatus;
    this.hostname = endpoint.hostname;
    this.tlsMode = endpoint.tlsMode;
    this.istioWorkload = endpoint.istioWorkload;
  }

  /**
   * Envoy's coarse health: EDS UNHEALTHY/DRAINING/TIMEOUT and outlier ejection make a host
   * unhealthy, DEGRADED is degraded, UNKNOWN and HEALTHY are healthy.
   */
  get health(): CoarseHealth {
    if (this.ejected) return 'unhealthy';
    switch (this.healthStatus) {
      case 'UNHEALTHY':
      case 'DRAINING':
      case 'TIMEOUT':
        return 'unhealthy';
      case 'DEGRADED':
        return 'degraded';
      default:
        return 'healthy';
    }
  }

  /**
   * Envoy's "excluded" hosts: EDS DRAINING (Envoy sets EDS_STATUS_DRAINING, which both makes the
   * host unhealthy and puts it in the host set's excluded list). Excluded hosts are left out of the
   * host counts behind a priority's health, its panic check and a locality's effective weight, so
   * a rolling update's draining pods neither shrink the healthy share nor trigger panic. They stay
   * in the level's full host list, so panic (and total panic's per-level host count) still sees them.
   */
  get excluded(): boolean {
    return this.healthStatus === 'DRAINING';
  }

  /** Call when a request to this host starts (feeds LEAST_REQUEST). */
  acquire(): void {
    this.activeRequests++;
  }

  /** Call when that request ends, whatever the outcome. */
  release(): void {
    if (this.activeRequests > 0) this.activeRequests--;
  }
}

/** A host's load balancing weight (EDF schedules read it through this). */
export const weightOf = (h: Host): number => h.weight;
/** A host's weight scaled by its slow start factor (the schedules of a cluster in slow start). */
export const slowStartWeightOf = (h: Host): number => h.slowStartWeight;
