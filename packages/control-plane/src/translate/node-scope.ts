// What one node sees (istiod's SidecarScope): the services, VirtualServices and DestinationRules
// visible from its namespace after exportTo and its Sidecar's egress hosts, and the lookups the
// generators need (service by host, the VirtualService for a host, the DestinationRule for a host).
import type { Sidecar } from '../config/istio-types.ts';
import { exportedTo, hostSpecificity, hostSubsetOf, hostsOverlap, isWildcard, resolveShortname } from './hostnames.ts';
import {
  type DestinationRuleEntry,
  labelsMatch,
  type MeshIndex,
  type MeshService,
  type MeshSettings,
  type VirtualServiceEntry,
} from './mesh-index.ts';
import type { ProxyNode } from './proxy-node.ts';

interface EgressHost {
  /** '*' any namespace, '.' the node's, '~' none, or a namespace name. */
  readonly namespace: string;
  readonly host: string;
}

const ALL_HOSTS: readonly EgressHost[] = [{ namespace: '*', host: '*' }];

/** The Sidecar that applies to a node: its own namespace (selector first), else the root namespace default. */
export function sidecarFor(index: MeshIndex, node: ProxyNode): Sidecar | undefined {
  const ns = node.namespace;
  const local = index.sidecars.filter((s) => s.metadata.namespace === ns);
  const selected = local.find((s) => {
    const sel = s.spec.workloadSelector?.labels;
    return sel !== undefined && Object.keys(sel).length > 0 && labelsMatch(sel, node.labels);
  });
  if (selected !== undefined) return selected;
  const nsDefault = local.find((s) => Object.keys(s.spec.workloadSelector?.labels ?? {}).length === 0);
  if (nsDefault !== undefined) return nsDefault;
  return index.sidecars.find(
    (s) =>
      s.metadata.namespace === index.settings.rootNamespace &&
      Object.keys(s.spec.workloadSelector?.labels ?? {}).length === 0,
  );
}

function egressHosts(sidecar: Sidecar | undefined): readonly EgressHost[] {
  const egress = sidecar?.spec.egress;
  if (egress === undefined || egress.length === 0) return ALL_HOSTS;
  const out: EgressHost[] = [];
  for (const l of egress) {
    for (const h of l.hosts) {
      const slash = h.indexOf('/');
      out.push(slash < 0 ? { namespace: '*', host: h } : { namespace: h.slice(0, slash), host: h.slice(slash + 1) });
    }
  }
  return out;
}

/** The hosts a VirtualService's HTTP routes send to or mirror to (istiod's VirtualServiceDestinations). */
function destinationHosts(vs: VirtualServiceEntry, domainSuffix: string): string[] {
  const out: string[] = [];
  const add = (host: string | undefined) => {
    if (host !== undefined) out.push(resolveShortname(host.toLowerCase(), vs.namespace, domainSuffix));
  };
  for (const http of vs.object.spec.http ?? []) {
    for (const r of http.route ?? []) add(r.destination.host);
    add(http.mirror?.host);
    for (const m of http.mirrors ?? []) add(m.destination.host);
  }
  for (const tcp of vs.object.spec.tcp ?? []) for (const r of tcp.route ?? []) add(r.destination.host);
  for (const tls of vs.object.spec.tls ?? []) for (const r of tls.route ?? []) add(r.destination.host);
  return out;
}

export class NodeScope {
  readonly index: MeshIndex;
  readonly node: ProxyNode;
  readonly settings: MeshSettings;
  readonly sidecar: Sidecar | undefined;
  /** Visible services, one per hostname, in index order. */
  readonly services: readonly MeshService[];
  /** Visible VirtualServices bound to the mesh (sidecar routing). */
  readonly meshVirtualServices: readonly VirtualServiceEntry[];
  readonly #egress: readonly EgressHost[];
  readonly #byHost = new Map<string, MeshService>();
  readonly #exactVs = new Map<string, VirtualServiceEntry[]>();
  readonly #wildcardVs: VirtualServiceEntry[] = [];
  readonly #vsForHost = new Map<string, readonly VirtualServiceEntry[]>();
  readonly #drForHost = new Map<string, DestinationRuleEntry | undefined>();

  constructor(index: MeshIndex, node: ProxyNode) {
    this.index = index;
    this.node = node;
    this.settings = index.settings;
    this.sidecar = sidecarFor(index, node);
    this.#egress = egressHosts(this.sidecar);
    const ns = node.namespace;

    for (const s of index.services) {
      if (!exportedTo(s.exportTo, s.namespace, ns) || !this.#egressAllows(s.namespace, s.hostname)) continue;
      const prev = this.#byHost.get(s.hostname);
      // the same host from several namespaces: the node's own namespace wins, else the first
      if (prev === undefined || (prev.namespace !== ns && s.namespace === ns)) this.#byHost.set(s.hostname, s);
    }
    const vss: VirtualServiceEntry[] = [];
    for (const vs of index.virtualServices) {
      if (!vs.gateways.includes('mesh')) continue;
      if (!exportedTo(vs.exportTo, vs.namespace, ns)) continue;
      if (!vs.hosts.some((h) => this.#egressAllows(vs.namespace, h))) continue;
      vss.push(vs);
    }
    // istiod's VirtualServicesForGateway order: private to the node's namespace, then exported to
    // it by name, then public — among those, routes converted from the node's own namespace's
    // HTTPRoutes first (the Gateway API's "consumer override") —; creation order within each
    const rank = (vs: VirtualServiceEntry) => {
      if (!vs.exportTo.includes('*')) return vs.exportTo.includes('.') && vs.namespace === ns ? 0 : 1;
      return vs.gatewaySemantics && vs.namespace === ns ? 2 : 3;
    };
    vss.sort((a, b) => rank(a) - rank(b) || a.order - b.order);
    // istiod's ConvertToSidecarScope infers more destinations from the VirtualServices a Sidecar's
    // egress selects: a service they route or mirror to is in scope even when no egress host
    // names it (if it is exported to this namespace)
    if (this.#egress.length > 0 && this.sidecar !== undefined) {
      const wanted = new Set<string>();
      for (const vs of vss) for (const h of destinationHosts(vs, this.settings.domainSuffix)) wanted.add(h);
      for (const s of index.services) {
        if (!wanted.has(s.hostname) || this.#byHost.has(s.hostname)) continue;
        if (exportedTo(s.exportTo, s.namespace, ns)) this.#byHost.set(s.hostname, s);
      }
    }
    this.services = index.services.filter((s) => this.#byHost.get(s.hostname) === s);
    for (const vs of vss) {
      for (const h of vs.hosts) {
        const list = this.#exactVs.get(h);
        if (list === undefined) this.#exactVs.set(h, [vs]);
        else if (!list.includes(vs)) list.push(vs);
        if (isWildcard(h) && !this.#wildcardVs.includes(vs)) this.#wildcardVs.push(vs);
      }
    }
    this.meshVirtualServices = vss;
  }

  #egressAllows(namespace: string, host: string): boolean {
    const nodeNs = this.node.namespace;
    for (const e of this.#egress) {
      if (e.namespace === '~') continue;
      if (e.namespace !== '*' && !(e.namespace === '.' ? namespace === nodeNs : e.namespace === namespace)) continue;
      if (hostsOverlap(e.host, host)) return true;
    }
    return false;
  }

  /** The visible service with this exact hostname. */
  service(host: string): MeshService | undefined {
    return this.#byHost.get(host);
  }

  /**
   * The VirtualServices that may route this host for the mesh, in the order istiod tries them: those
   * naming the exact host, then the one with the most specific matching wildcard (istiod's
   * mostSpecificWildcardVsIndex). The first that yields routes on a port serves it
   * (BuildSidecarVirtualHostWrapper skips a VirtualService without routes there). A route converted
   * from an HTTPRoute only applies to clients of its own namespace or the service's.
   */
  virtualServicesFor(host: string): readonly VirtualServiceEntry[] {
    const cached = this.#vsForHost.get(host);
    if (cached !== undefined) return cached;
    const found = [...(this.#exactVs.get(host) ?? [])];
    let wildcard: VirtualServiceEntry | undefined;
    let best = -1;
    for (const vs of this.#wildcardVs) {
      // wildcard hosts of converted routes are not service hosts (separateVSHostsAndServices)
      if (vs.gatewaySemantics) continue;
      for (const h of vs.hosts) {
        if (!isWildcard(h) || !hostsOverlap(h, host)) continue;
        const score = hostSpecificity(h);
        if (score > best) {
          best = score;
          wildcard = vs;
        }
      }
    }
    if (wildcard !== undefined && !found.includes(wildcard)) found.push(wildcard);
    const svcNs = this.service(host)?.namespace;
    const out = found.filter(
      (vs) => !vs.gatewaySemantics || vs.namespace === svcNs || vs.namespace === this.node.namespace,
    );
    this.#vsForHost.set(host, out);
    return out;
  }

  /**
   * The DestinationRule for a host: the node's namespace first, then the service's namespace, then
   * the root namespace, then any other namespace exporting one; the most specific host in each.
   */
  destinationRule(host: string): DestinationRuleEntry | undefined {
    if (this.#drForHost.has(host)) return this.#drForHost.get(host);
    const nodeNs = this.node.namespace;
    const svcNs = this.service(host)?.namespace;
    const buckets: (DestinationRuleEntry | undefined)[] = [undefined, undefined, undefined, undefined];
    const scores = [-1, -1, -1, -1];
    const candidates = [...(this.index.destinationRulesByHost.get(host) ?? []), ...this.index.wildcardDestinationRules];
    for (const dr of candidates) {
      if (!hostSubsetOf(host, dr.host)) continue;
      if (dr.workloadSelector !== undefined) {
        // selector rules apply only to selected workloads of their own namespace
        if (dr.namespace !== nodeNs || !labelsMatch(dr.workloadSelector, this.node.labels)) continue;
      }
      const bucket =
        dr.namespace === nodeNs ? 0 : dr.namespace === svcNs ? 1 : dr.namespace === this.settings.rootNamespace ? 2 : 3;
      if (bucket !== 0 && !exportedTo(dr.exportTo, dr.namespace, nodeNs)) continue;
      const score = hostSpecificity(dr.host) + (dr.workloadSelector !== undefined ? 0.5 : 0);
      if (score > scores[bucket]!) {
        scores[bucket] = score;
        buckets[bucket] = dr;
      }
    }
    const found = buckets.find((b) => b !== undefined);
    this.#drForHost.set(host, found);
    return found;
  }
}
