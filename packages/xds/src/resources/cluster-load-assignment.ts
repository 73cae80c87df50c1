// ClusterLoadAssignment (EDS, or a STATIC/DNS cluster's inline load_assignment). This is the
// hottest decode path (thousands of endpoints per push), so field paths are only built when an
// error is reported.
import { TypeUrl } from '../codec.ts';
import type {
  config_core_v3_Address,
  config_endpoint_v3_ClusterLoadAssignment,
  config_endpoint_v3_LbEndpoint,
} from '../gen/envoy.ts';
import { decodeResource } from './decode-resource.ts';
import { deepEqual } from './deep-equal.ts';
import type {
  ClusterLoadAssignment,
  DropOverload,
  HealthStatus,
  LbEndpoint,
  Locality,
  LocalityLbEndpoints,
  SocketAddress,
} from './model.ts';
import type { Problems } from './problems.ts';
import { EMPTY, fractionalPercent, metadataString } from './proto-values.ts';
import type { ResourceType } from './resource-type.ts';

const ROOT = 'cluster_load_assignment';
const HEALTH: readonly HealthStatus[] = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'];
const MAX_PRIORITY = 128;
const EMPTY_LOCALITY: Locality = Object.freeze({ region: '', zone: '', subZone: '' });

function endpointPath(base: string, li: number, ei: number): string {
  return `${base}.endpoints[${li}].lb_endpoints[${ei}]`;
}

/** `k` < 0: the endpoint's address; otherwise additional_addresses[k]. */
function addressPath(base: string, li: number, ei: number, k: number): string {
  const ep = endpointPath(base, li, ei);
  return k < 0 ? `${ep}.endpoint.address` : `${ep}.endpoint.additional_addresses[${k}].address`;
}

function address(
  a: config_core_v3_Address | undefined,
  p: Problems,
  base: string,
  li: number,
  ei: number,
  k: number,
): SocketAddress {
  const s = a?.socket_address;
  if (s === undefined) {
    p.add(addressPath(base, li, ei, k), 'socket_address is required');
    return { address: '', port: 0 };
  }
  const port = s.port_value;
  if (port === undefined) {
    p.add(
      `${addressPath(base, li, ei, k)}.socket_address`,
      s.named_port !== undefined ? 'named ports are not supported' : 'port_value is required',
    );
    return { address: s.address, port: 0 };
  }
  if (port < 1 || port > 65535) {
    p.add(`${addressPath(base, li, ei, k)}.socket_address.port_value`, `${port} is not in [1, 65535]`);
  }
  if (s.address === '') p.add(`${addressPath(base, li, ei, k)}.socket_address.address`, 'must not be empty');
  return { address: s.address, port };
}

function lbEndpoint(e: config_endpoint_v3_LbEndpoint, p: Problems, base: string, li: number, ei: number): LbEndpoint {
  const ep = e.endpoint;
  let addr: SocketAddress;
  let additional: readonly SocketAddress[] = EMPTY;
  let hostname = '';
  if (ep === undefined) {
    p.add(
      endpointPath(base, li, ei),
      e.endpoint_name !== undefined ? 'endpoint_name is not supported' : 'endpoint is required',
    );
    addr = { address: '', port: 0 };
  } else {
    addr = address(ep.address, p, base, li, ei, -1);
    hostname = ep.hostname;
    const extra = ep.additional_addresses;
    if (extra.length > 0) {
      const list = new Array<SocketAddress>(extra.length);
      for (let k = 0; k < extra.length; k++) list[k] = address(extra[k]!.address, p, base, li, ei, k);
      additional = list;
    }
  }
  let healthStatus = HEALTH[e.health_status];
  if (healthStatus === undefined) {
    p.add(`${endpointPath(base, li, ei)}.health_status`, `unknown health status ${e.health_status}`);
    healthStatus = 'UNKNOWN';
  }
  const weight = e.load_balancing_weight?.value ?? 1;
  if (weight < 1) p.add(`${endpointPath(base, li, ei)}.load_balancing_weight`, 'must be at least 1');
  const fm = e.metadata?.filter_metadata;
  return {
    address: addr,
    additionalAddresses: additional,
    hostname,
    healthStatus,
    loadBalancingWeight: weight,
    tlsMode: fm === undefined ? undefined : metadataString(fm, 'envoy.transport_socket_match', 'tlsMode'),
    istioWorkload: fm === undefined ? undefined : metadataString(fm, 'istio', 'workload'),
  };
}

/** Validates a ClusterLoadAssignment; `base` is the path of the message (EDS root or cluster.load_assignment). */
export function clusterLoadAssignment(
  cla: config_endpoint_v3_ClusterLoadAssignment,
  base: string,
  p: Problems,
  clusterName = cla.cluster_name,
): ClusterLoadAssignment {
  const groups = cla.endpoints;
  const endpoints = new Array<LocalityLbEndpoints>(groups.length);
  let maxPriority = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    const l = g.locality;
    const locality: Locality =
      l === undefined ? EMPTY_LOCALITY : { region: l.region, zone: l.zone, subZone: l.sub_zone };
    if (g.leds_cluster_locality_config !== undefined || g.load_balancer_endpoints !== undefined) {
      p.add(`${base}.endpoints[${i}]`, 'LEDS and load_balancer_endpoints are not supported');
    }
    const weight = g.load_balancing_weight?.value;
    if (weight !== undefined && weight < 1)
      p.add(`${base}.endpoints[${i}].load_balancing_weight`, 'must be at least 1');
    const priority = g.priority;
    if (priority > MAX_PRIORITY) {
      p.add(`${base}.endpoints[${i}].priority`, `${priority} exceeds the maximum priority ${MAX_PRIORITY}`);
    } else if (priority > maxPriority) {
      maxPriority = priority;
    }
    const list = g.lb_endpoints;
    const lbEndpoints = new Array<LbEndpoint>(list.length);
    for (let j = 0; j < list.length; j++) lbEndpoints[j] = lbEndpoint(list[j]!, p, base, i, j);
    endpoints[i] = { locality, lbEndpoints, loadBalancingWeight: weight, priority };
  }
  if (maxPriority > 0) {
    const seen = new Uint8Array(maxPriority + 1);
    for (let i = 0; i < endpoints.length; i++) {
      const pr = endpoints[i]!.priority;
      if (pr <= maxPriority) seen[pr] = 1;
    }
    const missing = seen.indexOf(0);
    if (missing >= 0) {
      p.add(
        `${base}.endpoints`,
        `priorities must be contiguous from 0: priority ${missing} is missing (highest is ${maxPriority})`,
      );
    }
  }
  if (Object.keys(cla.named_endpoints).length > 0)
    p.add(`${base}.named_endpoints`, 'named endpoints are not supported');
  let overprovisioningFactor = 140;
  let dropOverloads: readonly DropOverload[] = EMPTY;
  const policy = cla.policy;
  if (policy !== undefined) {
    const f = policy.overprovisioning_factor?.value;
    if (f !== undefined) {
      if (f < 1) p.add(`${base}.policy.overprovisioning_factor`, 'must be greater than 0');
      overprovisioningFactor = f;
    }
    const drops = policy.drop_overloads;
    if (drops.length > 0) {
      const out = new Array<DropOverload>(drops.length);
      for (let i = 0; i < drops.length; i++) {
        const d = drops[i]!;
        const at = `${base}.policy.drop_overloads[${i}]`;
        if (d.category === '') p.add(`${at}.category`, 'must not be empty');
        if (d.drop_percentage === undefined) p.add(`${at}.drop_percentage`, 'must be set');
        out[i] = {
          category: d.category,
          dropPercentage:
            d.drop_percentage === undefined
              ? { numerator: 0, denominator: 100 }
              : fractionalPercent(d.drop_percentage, `${at}.drop_percentage`, p),
        };
      }
      dropOverloads = out;
    }
  }
  return { clusterName, endpoints, overprovisioningFactor, dropOverloads };
}

function nameOf(cla: config_endpoint_v3_ClusterLoadAssignment): string {
  return cla.cluster_name;
}

function validate(cla: config_endpoint_v3_ClusterLoadAssignment, p: Problems): ClusterLoadAssignment {
  if (cla.cluster_name === '') p.add(`${ROOT}.cluster_name`, 'must not be empty');
  return clusterLoadAssignment(cla, ROOT, p);
}

export const clusterLoadAssignmentType: ResourceType<ClusterLoadAssignment> = {
  typeUrl: TypeUrl.ClusterLoadAssignment,
  shortName: 'EDS',
  allResourcesRequiredInSotW: false,
  decode: (resource, context) =>
    decodeResource(
      resource,
      TypeUrl.ClusterLoadAssignment,
      'envoy.config.endpoint.v3.ClusterLoadAssignment',
      nameOf,
      validate,
      context,
    ),
  equals: deepEqual,
};
