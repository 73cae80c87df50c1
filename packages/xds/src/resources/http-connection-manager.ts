// HttpConnectionManager: in a client api_listener or as the network filter of a server filter
// chain. Routes come from RDS (over ADS) or inline; http_filters end with the router.
import type {
  extensions_filters_network_http_connection_manager_v3_HttpConnectionManager,
  extensions_filters_network_http_connection_manager_v3_HttpFilter,
} from '../gen/envoy.ts';
import * as T from './filter-types.ts';
import { httpFault } from './http-fault.ts';
import type { HttpConnectionManager, HttpFilter, HttpFilterConfig } from './model.ts';
import type { Problems } from './problems.ts';
import { anyMessageName, durationMs, unpack } from './proto-values.ts';
import { rbacFilterRules } from './rbac.ts';
import { routeConfiguration } from './route-configuration.ts';

const ROUTER: HttpFilterConfig = Object.freeze({ kind: 'router' });
const CORS: HttpFilterConfig = Object.freeze({ kind: 'cors' });
/** Before typed configs, Envoy found the router by filter name; accept that spelling too. */
const ROUTER_FILTER_NAME = 'envoy.filters.http.router';

function filterConfig(
  f: extensions_filters_network_http_connection_manager_v3_HttpFilter,
  path: string,
  p: Problems,
): HttpFilterConfig | undefined {
  const any = f.typed_config;
  if (any === undefined) {
    if (f.config_discovery !== undefined) {
      if (f.is_optional) return { kind: 'unsupported', typeUrl: '' };
      p.add(`${path}.config_discovery`, 'filter config discovery (ECDS) is not supported');
      return undefined;
    }
    if (f.name === ROUTER_FILTER_NAME) return ROUTER;
    if (f.is_optional) return { kind: 'unsupported', typeUrl: '' };
    p.add(`${path}.typed_config`, 'must be set');
    return undefined;
  }
  const at = `${path}.typed_config`;
  const type = anyMessageName(any);
  switch (type) {
    case T.ROUTER:
      return ROUTER;
    case T.HTTP_FAULT: {
      const fault = unpack(any, T.HTTP_FAULT, at, p);
      return fault === undefined ? undefined : { kind: 'fault', fault: httpFault(fault, at, p) };
    }
    case T.RBAC: {
      const rbac = unpack(any, T.RBAC, at, p);
      return rbac === undefined ? undefined : { kind: 'rbac', rules: rbacFilterRules(rbac, at, p) };
    }
    case T.CORS:
      return CORS;
    default: {
      let typeUrl = any.type_url;
      if (type === T.XDS_TYPED_STRUCT || type === T.UDPA_TYPED_STRUCT) {
        // report the wrapped type; Inboard implements no TypedStruct-configured filter
        const ts = unpack(any, type, at, p);
        if (ts !== undefined) typeUrl = ts.type_url;
      }
      if (f.is_optional) return { kind: 'unsupported', typeUrl };
      p.add(at, `unsupported HTTP filter type ${JSON.stringify(typeUrl)} (mark the filter is_optional to skip it)`);
      return undefined;
    }
  }
}

export function httpConnectionManager(
  hcm: extensions_filters_network_http_connection_manager_v3_HttpConnectionManager,
  path: string,
  p: Problems,
): HttpConnectionManager {
  let routeConfigName: string | undefined;
  const routeSources =
    (hcm.rds !== undefined ? 1 : 0) +
    (hcm.route_config !== undefined ? 1 : 0) +
    (hcm.scoped_routes !== undefined ? 1 : 0);
  if (hcm.scoped_routes !== undefined) p.add(`${path}.scoped_routes`, 'scoped routes are not supported');
  else if (routeSources !== 1) p.add(path, 'exactly one of rds, route_config must be set');
  if (hcm.rds !== undefined) {
    routeConfigName = hcm.rds.route_config_name;
    if (routeConfigName === '') p.add(`${path}.rds.route_config_name`, 'must not be empty');
    const cs = hcm.rds.config_source;
    if (cs === undefined || (cs.ads === undefined && cs.self === undefined)) {
      p.add(`${path}.rds.config_source`, 'must be ads or self (routes are only fetched over the ADS stream)');
    }
  }
  const routeConfig =
    hcm.route_config === undefined ? undefined : routeConfiguration(hcm.route_config, `${path}.route_config`, p);

  const list = hcm.http_filters;
  const httpFilters: HttpFilter[] = [];
  const names = new Set<string>();
  let routerAt = -1;
  for (let i = 0; i < list.length; i++) {
    const f = list[i]!;
    const at = `${path}.http_filters[${i}]`;
    if (f.name === '') p.add(`${at}.name`, 'must not be empty');
    else if (names.has(f.name)) p.add(`${at}.name`, `duplicate filter name ${JSON.stringify(f.name)}`);
    names.add(f.name);
    const config = filterConfig(f, at, p);
    if (config === undefined) continue;
    if (config.kind === 'router') {
      if (i !== list.length - 1) p.add(at, 'the router filter must be the last filter');
      if (f.disabled) p.add(`${at}.disabled`, 'the router filter cannot be disabled');
      routerAt = i;
    }
    httpFilters.push({ name: f.name, config, disabled: f.disabled });
  }
  if (routerAt < 0) {
    p.add(
      `${path}.http_filters`,
      'the router filter (envoy.extensions.filters.http.router.v3.Router) must be the last filter',
    );
  }
  return {
    routeConfigName,
    routeConfig,
    httpFilters,
    maxStreamDuration: durationMs(
      hcm.common_http_protocol_options?.max_stream_duration,
      `${path}.common_http_protocol_options.max_stream_duration`,
      p,
    ),
    streamIdleTimeout: durationMs(hcm.stream_idle_timeout, `${path}.stream_idle_timeout`, p),
    generateRequestId: hcm.generate_request_id?.value ?? true,
  };
}
