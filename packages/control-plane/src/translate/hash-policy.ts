// DestinationRule consistentHash → the route hash_policy (route.consistentHashToHashPolicy).
import type { envoy } from '@inboard/xds/codec';
import type { ConsistentHashLB } from '../config/istio-types.ts';
import { parseDuration } from './durations.ts';

export function hashPolicy(
  h: ConsistentHashLB | undefined,
): envoy.config_route_v3_RouteAction_HashPolicy$In | undefined {
  if (h === undefined) return undefined;
  if (h.httpHeaderName !== undefined) return { header: { header_name: h.httpHeaderName } };
  if (h.httpCookie !== undefined) {
    const ttl = parseDuration(h.httpCookie.ttl);
    return {
      cookie: { name: h.httpCookie.name, path: h.httpCookie.path ?? '', ...(ttl === undefined ? {} : { ttl }) },
    };
  }
  if (h.useSourceIp !== undefined) return { connection_properties: { source_ip: h.useSourceIp } };
  if (h.httpQueryParameterName !== undefined) return { query_parameter: { name: h.httpQueryParameterName } };
  return undefined;
}
