// Listener: a client api_listener (HttpConnectionManager in an Any) or a server (inbound)
// listener whose filter chains each hold one HttpConnectionManager, as istiod builds them.
import { TypeUrl } from '../codec.ts';
import type {
  config_core_v3_Address,
  config_core_v3_CidrRange,
  config_listener_v3_FilterChain,
  config_listener_v3_FilterChainMatch,
  config_listener_v3_Listener,
} from '../gen/envoy.ts';
import { decodeResource } from './decode-resource.ts';
import { deepEqual } from './deep-equal.ts';
import * as T from './filter-types.ts';
import { httpConnectionManager } from './http-connection-manager.ts';
import { cidrRange } from './matchers.ts';
import type {
  CidrRange,
  FilterChain,
  FilterChainMatch,
  HttpConnectionManager,
  Listener,
  SocketAddress,
} from './model.ts';
import type { Problems } from './problems.ts';
import { anyMessageName, EMPTY, unpack } from './proto-values.ts';
import type { DecodeContext, ResourceType } from './resource-type.ts';
import { transportSocketTls } from './tls-context.ts';

const ROOT = 'listener';

function socketAddress(a: config_core_v3_Address, path: string, p: Problems): SocketAddress | undefined {
  const s = a.socket_address;
  if (s === undefined) {
    p.add(path, 'only socket_address is supported');
    return undefined;
  }
  if (s.named_port !== undefined) p.add(`${path}.socket_address.named_port`, 'named ports are not supported');
  const port = s.port_value ?? 0;
  if (port > 65535) p.add(`${path}.socket_address.port_value`, `${port} is not a port`);
  return { address: s.address, port };
}

function cidrs(list: readonly config_core_v3_CidrRange[], path: string, p: Problems): readonly CidrRange[] {
  if (list.length === 0) return EMPTY;
  const out = new Array<CidrRange>(list.length);
  for (let i = 0; i < list.length; i++) out[i] = cidrRange(list[i]!, `${path}[${i}]`, p);
  return out;
}

/** Fields that select chains by something Inboard cannot see: rejected rather than ignored. */
function hasUnsupportedMatchFields(m: config_listener_v3_FilterChainMatch | undefined): boolean {
  return (
    m !== undefined &&
    (m.server_names.length > 0 ||
      m.source_ports.length > 0 ||
      m.direct_source_prefix_ranges.length > 0 ||
      m.source_type !== 0 ||
      m.address_suffix !== '' ||
      m.suffix_len !== undefined)
  );
}

function filterChainMatch(m: config_listener_v3_FilterChainMatch, path: string, p: Problems): FilterChainMatch {
  if (m.server_names.length > 0) p.add(`${path}.server_names`, 'is not supported');
  if (m.source_ports.length > 0) p.add(`${path}.source_ports`, 'is not supported');
  if (m.direct_source_prefix_ranges.length > 0) p.add(`${path}.direct_source_prefix_ranges`, 'is not supported');
  if (m.source_type !== 0) p.add(`${path}.source_type`, 'is not supported');
  if (m.address_suffix !== '' || m.suffix_len !== undefined) p.add(`${path}.address_suffix`, 'is not supported');
  const port = m.destination_port?.value;
  if (port !== undefined && (port < 1 || port > 65535)) p.add(`${path}.destination_port`, `${port} is not a port`);
  return {
    destinationPort: port,
    prefixRanges: cidrs(m.prefix_ranges, `${path}.prefix_ranges`, p),
    transportProtocol: m.transport_protocol,
    applicationProtocols: m.application_protocols.length === 0 ? EMPTY : m.application_protocols,
    sourcePrefixRanges: cidrs(m.source_prefix_ranges, `${path}.source_prefix_ranges`, p),
  };
}

function filterChain(c: config_listener_v3_FilterChain, path: string, p: Problems, ctx: DecodeContext): FilterChain {
  let hcm: HttpConnectionManager | undefined;
  const filters = c.filters;
  if (filters.length === 0) p.add(`${path}.filters`, 'an HttpConnectionManager filter is required');
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i]!;
    const at = `${path}.filters[${i}]`;
    const any = f.typed_config;
    if (any === undefined || anyMessageName(any) !== T.HTTP_CONNECTION_MANAGER) {
      p.add(at, `unsupported network filter ${JSON.stringify(f.name)}: only HttpConnectionManager is supported`);
      continue;
    }
    if (i !== filters.length - 1) {
      p.add(at, 'HttpConnectionManager must be the last network filter');
      continue;
    }
    const m = unpack(any, T.HTTP_CONNECTION_MANAGER, `${at}.typed_config`, p);
    if (m !== undefined) hcm = httpConnectionManager(m, `${at}.typed_config`, p);
  }
  return {
    name: c.name,
    hcm: hcm ?? EMPTY_HCM,
    tls: transportSocketTls(c.transport_socket, 'downstream', `${path}.transport_socket`, p, ctx),
    match:
      c.filter_chain_match === undefined
        ? undefined
        : filterChainMatch(c.filter_chain_match, `${path}.filter_chain_match`, p),
  };
}

const EMPTY_HCM: HttpConnectionManager = Object.freeze({
  routeConfigName: undefined,
  routeConfig: undefined,
  httpFilters: EMPTY,
  maxStreamDuration: undefined,
  streamIdleTimeout: undefined,
  generateRequestId: true,
});

const NO_MATCH: FilterChainMatch = Object.freeze({
  destinationPort: undefined,
  prefixRanges: EMPTY,
  transportProtocol: '',
  applicationProtocols: EMPTY,
  sourcePrefixRanges: EMPTY,
});

function listener(l: config_listener_v3_Listener, p: Problems, ctx: DecodeContext): Listener {
  const address = l.address === undefined ? undefined : socketAddress(l.address, `${ROOT}.address`, p);
  let apiListener: HttpConnectionManager | undefined;
  if (l.api_listener !== undefined) {
    const any = l.api_listener.api_listener;
    const at = `${ROOT}.api_listener.api_listener`;
    if (any === undefined || anyMessageName(any) !== T.HTTP_CONNECTION_MANAGER) {
      p.add(at, `must be an HttpConnectionManager (got ${JSON.stringify(any?.type_url ?? '')})`);
    } else {
      const m = unpack(any, T.HTTP_CONNECTION_MANAGER, at, p);
      if (m !== undefined) apiListener = httpConnectionManager(m, at, p);
    }
  }
  const chains = new Array<FilterChain>(l.filter_chains.length);
  for (let i = 0; i < chains.length; i++) {
    chains[i] = filterChain(l.filter_chains[i]!, `${ROOT}.filter_chains[${i}]`, p, ctx);
    // a match with rejected fields differs from the others in ways the model does not show
    if (hasUnsupportedMatchFields(l.filter_chains[i]!.filter_chain_match)) continue;
    for (let j = 0; j < i; j++) {
      if (hasUnsupportedMatchFields(l.filter_chains[j]!.filter_chain_match)) continue;
      if (deepEqual(chains[i]!.match ?? NO_MATCH, chains[j]!.match ?? NO_MATCH)) {
        p.add(`${ROOT}.filter_chains[${i}].filter_chain_match`, `same match as filter_chains[${j}]`);
        break;
      }
    }
  }
  const defaultFilterChain =
    l.default_filter_chain === undefined
      ? undefined
      : filterChain(l.default_filter_chain, `${ROOT}.default_filter_chain`, p, ctx);
  if (l.api_listener === undefined && chains.length === 0 && defaultFilterChain === undefined) {
    p.add(ROOT, 'either api_listener or filter_chains must be set');
  }
  return { name: l.name, address, apiListener, filterChains: chains, defaultFilterChain };
}

function nameOf(l: config_listener_v3_Listener): string {
  return l.name;
}

export const listenerType: ResourceType<Listener> = {
  typeUrl: TypeUrl.Listener,
  shortName: 'LDS',
  allResourcesRequiredInSotW: true,
  decode: (resource, context) =>
    decodeResource(resource, TypeUrl.Listener, 'envoy.config.listener.v3.Listener', nameOf, listener, context),
  equals: deepEqual,
};
