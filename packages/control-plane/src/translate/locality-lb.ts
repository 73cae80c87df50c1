// Locality load balancing applied to a ClusterLoadAssignment the way istiod's
// loadbalancer.ApplyLocalityLoadBalancer does: `distribute` rewrites locality weights; otherwise,
// when failover is enabled (the DestinationRule has outlier detection), localities get priorities
// by how close they are to the client (failoverPriority labels first, then region/zone/subzone).
import type { envoy } from '@inboard/xds/codec';
import type { LocalityDistribute, LocalityFailover, LocalityLoadBalancerSetting } from '../config/istio-types.ts';
import type { ProxyLocality } from './proxy-node.ts';

type LocalityLbEndpointsIn = envoy.config_endpoint_v3_LocalityLbEndpoints$In;

interface Loc {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

function locOf(group: LocalityLbEndpointsIn): Loc {
  return {
    region: group.locality?.region ?? '',
    zone: group.locality?.zone ?? '',
    subZone: group.locality?.sub_zone ?? '',
  };
}

/** util.LocalityMatch: does a locality fall under a rule like "region/zone/*"? */
export function localityMatch(loc: Loc, rule: string): boolean {
  const [region = '', zone = '', subZone = ''] = rule.split('/');
  const regionOk = region === '*' || loc.region === region;
  const zoneOk = zone === '*' || zone === '' || loc.zone === zone;
  const subZoneOk = subZone === '*' || subZone === '' || loc.subZone === subZone;
  return regionOk && zoneOk && subZoneOk;
}

/** util.LbPriority: 0 same subzone, 1 same zone, 2 same region, 3 elsewhere. */
function lbPriority(proxy: Loc, ep: Loc): number {
  if (proxy.region === ep.region) {
    if (proxy.zone === ep.zone) return proxy.subZone === ep.subZone ? 0 : 1;
    return 2;
  }
  return 3;
}

function applyLocalityWeights(
  proxy: Loc,
  groups: LocalityLbEndpointsIn[],
  distribute: readonly LocalityDistribute[],
): void {
  for (const setting of distribute) {
    if (!localityMatch(proxy, setting.from ?? '')) continue;
    const mismatched = new Set(groups.keys());
    for (const [target, weight] of Object.entries(setting.to ?? {})) {
      const matched = new Map<number, number>();
      let total = 0;
      for (const i of [...mismatched]) {
        const g = groups[i]!;
        if (!localityMatch(locOf(g), target)) continue;
        mismatched.delete(i);
        const w = g.load_balancing_weight?.value ?? 1;
        matched.set(i, w);
        total += w;
      }
      for (const [i, w] of matched) {
        const dest = (w * weight) / total;
        if (dest > 0) groups[i]!.load_balancing_weight = { value: Math.ceil(dest) };
      }
    }
    // localities no rule sends traffic to lose their endpoints
    for (const i of mismatched) groups[i]!.lb_endpoints = [];
    return;
  }
}

/** Compacts priorities to 0..N without gaps, keeping their order. */
function compact(groups: LocalityLbEndpointsIn[]): void {
  const distinct = [...new Set(groups.map((g) => g.priority ?? 0))].sort((a, b) => a - b);
  for (const g of groups) g.priority = distinct.indexOf(g.priority ?? 0);
}

function applyLocalityFailover(
  proxy: Loc,
  groups: LocalityLbEndpointsIn[],
  failover: readonly LocalityFailover[],
): void {
  for (const g of groups) {
    const loc = locOf(g);
    let priority = lbPriority(proxy, loc);
    if (priority === 3) {
      for (const f of failover) {
        if (f.from === proxy.region) {
          if (loc.region !== f.to) priority = 4;
          break;
        }
      }
    }
    // up to 5 locality priorities inside each failoverPriority level
    g.priority = (g.priority ?? 0) * 5 + priority;
  }
  compact(groups);
}

/** failoverPriority: endpoints matching more of the listed labels (in order) come first. */
function applyFailoverPriorities(
  proxyLabels: Readonly<Record<string, string>>,
  groups: LocalityLbEndpointsIn[],
  endpointLabels: (ep: envoy.config_endpoint_v3_LbEndpoint$In) => Readonly<Record<string, string>>,
  priorityLabels: readonly string[],
): LocalityLbEndpointsIn[] {
  const out: LocalityLbEndpointsIn[] = [];
  for (const g of groups) {
    const byPriority = new Map<number, envoy.config_endpoint_v3_LbEndpoint$In[]>();
    for (const ep of g.lb_endpoints ?? []) {
      const labels = endpointLabels(ep);
      let matched = 0;
      for (const label of priorityLabels) {
        // `label=value` pins the value; a bare label compares with the client's
        const eq = label.indexOf('=');
        const [key, want] = eq < 0 ? [label, proxyLabels[label]] : [label.slice(0, eq), label.slice(eq + 1)];
        if (want === undefined || labels[key] !== want) break;
        matched++;
      }
      const p = priorityLabels.length - matched;
      let list = byPriority.get(p);
      if (list === undefined) byPriority.set(p, (list = []));
      list.push(ep);
    }
    for (const [p, eps] of [...byPriority].sort((a, b) => a[0] - b[0])) {
      const weight = eps.reduce((s, e) => s + (e.load_balancing_weight?.value ?? 1), 0);
      out.push({ ...g, lb_endpoints: eps, load_balancing_weight: { value: weight }, priority: p });
    }
  }
  compact(out);
  return out;
}

/** Returns the (possibly regrouped) locality groups; mutates weights/priorities like istiod. */
export function applyLocalityLoadBalancer(
  groups: LocalityLbEndpointsIn[],
  proxy: ProxyLocality,
  proxyLabels: Readonly<Record<string, string>>,
  setting: LocalityLoadBalancerSetting | undefined,
  enableFailover: boolean,
  endpointLabels: (ep: envoy.config_endpoint_v3_LbEndpoint$In) => Readonly<Record<string, string>>,
): LocalityLbEndpointsIn[] {
  if (setting === undefined) return groups;
  if (setting.distribute !== undefined && setting.distribute.length > 0) {
    applyLocalityWeights(proxy, groups, setting.distribute);
    return groups;
  }
  if (!enableFailover || setting.enabled === false) return groups;
  if (setting.failoverPriority !== undefined && setting.failoverPriority.length > 0) {
    const regrouped = applyFailoverPriorities(proxyLabels, groups, endpointLabels, setting.failoverPriority);
    if (setting.failover !== undefined && setting.failover.length > 0)
      applyLocalityFailover(proxy, regrouped, setting.failover);
    return regrouped;
  }
  applyLocalityFailover(proxy, groups, setting.failover ?? []);
  return groups;
}
