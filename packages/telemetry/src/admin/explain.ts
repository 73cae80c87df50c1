// /explain: how the mesh would route a request, and why, without sending it. The target's current
// compiled snapshot is asked exactly what the data plane asks for a real request: the route table
// finds the virtual host and the first matching route, the route action picks the cluster
// (weighted clusters with a given random value), the effective policies are read (route timeout,
// retry policy, fault filter with per-route overrides, mirrors, hash policy), and the cluster's
// load balancer picks an endpoint (one pick, as a request would: it advances round robin).
import type { Host, OutboundMesh } from '@inboard/http';
import { chooseCluster, headerGetter, type RouteEntry } from '@inboard/http';
import type { VirtualHost } from '@inboard/xds';
import { clusterStatesOf } from '../upstream-lookup.ts';

export interface ExplainRequest {
  readonly method: string;
  /** `host[:port]` */
  readonly host: string;
  readonly path: string;
  readonly scheme: 'http' | 'https';
  readonly headers: Readonly<Record<string, string>>;
  /** the stream's random value (runtime fractions, weighted clusters); default 0 */
  readonly random?: number;
}

/** `?method=&host=&path=&header=k:v&header=…&random=` → ExplainRequest. */
export function explainRequestOf(q: URLSearchParams): ExplainRequest | { error: string } {
  const host = q.get('host');
  if (host === null || host === '') return { error: 'host is required: /explain?host=reviews:9080&path=/&method=GET' };
  const headers: Record<string, string> = {};
  for (const h of q.getAll('header')) {
    const colon = h.indexOf(':', h.startsWith(':') ? 1 : 0);
    if (colon <= 0) return { error: `header ${JSON.stringify(h)} is not name:value` };
    const name = h.slice(0, colon).trim().toLowerCase();
    const value = h.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const scheme = q.get('scheme') === 'https' ? 'https' : 'http';
  const random = q.get('random');
  return {
    method: (q.get('method') ?? 'GET').toUpperCase(),
    host,
    path: q.get('path') ?? '/',
    scheme,
    headers,
    random: random === null ? undefined : Number(random),
  };
}

function targetOf(host: string, scheme: string): string {
  if (/:\d+$/.test(host) && !host.endsWith(']')) return host;
  return `${host}:${scheme === 'https' ? 443 : 80}`;
}

/** The domain of `vh` that the authority matched (for the explanation). */
function matchedDomain(vh: VirtualHost, authority: string): string | undefined {
  const a = authority.toLowerCase();
  const host = a.replace(/:\d+$/, '');
  for (const d of vh.domains) if (d === a || d === host) return d;
  for (const d of vh.domains)
    if (d.startsWith('*') && d !== '*' && (a.endsWith(d.slice(1)) || host.endsWith(d.slice(1)))) return d;
  for (const d of vh.domains)
    if (d.endsWith('*') && d !== '*' && (a.startsWith(d.slice(0, -1)) || host.startsWith(d.slice(0, -1)))) return d;
  return vh.domains.includes('*') ? '*' : undefined;
}

function describeMatch(entry: RouteEntry): string {
  const m = entry.route.match;
  const parts: string[] = [];
  const p = m.path as { kind: string; value?: string; regex?: string };
  parts.push(`${p.kind} ${JSON.stringify(p.value ?? p.regex ?? '')}`);
  if (m.headers.length > 0)
    parts.push(`${m.headers.length} header condition(s) on ${m.headers.map((h) => h.name).join(', ')}`);
  if (m.queryParameters.length > 0) parts.push(`${m.queryParameters.length} query parameter condition(s)`);
  if (m.runtimeFraction !== undefined) parts.push('a runtime fraction');
  if (m.grpc) parts.push('gRPC requests only');
  return parts.join(' and ');
}

export async function explain(mesh: OutboundMesh, r: ExplainRequest): Promise<Record<string, unknown>> {
  const target = targetOf(r.host, r.scheme);
  const authority = r.headers.host ?? r.host;
  const why: string[] = [];
  const out: Record<string, unknown> = {
    request: { method: r.method, authority, path: r.path, scheme: r.scheme, headers: r.headers },
    target,
    why,
  };
  const compiled = await mesh.ready(target);
  if (compiled === undefined) {
    out.outcome = 'passthrough';
    why.push(
      `no listener for ${target}: the host is outside the mesh and the request would pass through untouched (or get 502 with unknownHosts: 'reject')`,
    );
    return out;
  }
  out.listener = compiled.snapshot.listenerName;
  out.routeConfig = compiled.routeTable.config.name;
  out.generation = compiled.generation;
  const random = r.random ?? 0;
  const req = {
    method: r.method,
    authority,
    path: r.path,
    scheme: r.scheme,
    headers: headerGetter(r.headers),
    sourceIp: undefined,
  };
  const vh = compiled.routeTable.findVirtualHost(authority);
  if (vh === undefined) {
    out.outcome = 'route_not_found';
    out.response = { status: 404, flags: 'NR' };
    why.push(
      `no virtual host of route configuration ${compiled.routeTable.config.name} has a domain matching ${JSON.stringify(authority)}`,
    );
    return out;
  }
  out.virtualHost = { name: vh.vhost.name, domains: vh.vhost.domains };
  why.push(
    `virtual host ${vh.vhost.name} serves ${JSON.stringify(authority)} (domain ${JSON.stringify(matchedDomain(vh.vhost, authority))})`,
  );
  const entry = compiled.routeTable.match(req, random);
  if (entry === undefined) {
    out.outcome = 'route_not_found';
    out.response = { status: 404, flags: 'NR' };
    why.push(`none of its ${vh.routes.length} routes matches ${r.method} ${r.path} with these headers`);
    return out;
  }
  const action = entry.route.action;
  out.route = {
    name: entry.route.name,
    index: entry.routeIndex,
    match: entry.route.match,
    istioConfig: entry.route.istioConfig,
    action: action.kind,
  };
  why.push(
    `route #${entry.routeIndex}${entry.route.name === '' ? '' : ` (${entry.route.name})`} is the first of ${vh.routes.length} whose conditions hold: ${describeMatch(entry)}`,
  );
  if (entry.route.istioConfig !== undefined) why.push(`it comes from ${entry.route.istioConfig}`);
  if (action.kind === 'redirect') {
    out.outcome = 'redirect';
    out.response = { status: action.responseCode, redirect: action };
    why.push(`the route redirects (${action.responseCode}); no upstream is called`);
    return out;
  }
  if (action.kind === 'direct_response') {
    out.outcome = 'direct_response';
    out.response = { status: action.status };
    why.push(`the route answers directly with ${action.status}; no upstream is called`);
    return out;
  }
  if (action.kind !== 'route') {
    out.outcome = 'route_not_found';
    out.response = { status: 404, flags: 'NR' };
    why.push(`the route's action (${action.kind}) does not forward outbound requests`);
    return out;
  }
  const choice = chooseCluster(entry, req, random);
  const spec = action.clusterSpecifier;
  if (spec.kind === 'weighted_clusters') {
    out.weightedClusters = entry.clusters.map((c) => ({ name: c.name, weight: c.weight?.weight }));
    why.push(`weighted clusters: with random value ${random} (mod ${entry.totalWeight}) the pick is ${choice?.name}`);
  } else if (spec.kind === 'cluster_header') {
    why.push(`the cluster is named by request header ${spec.header}`);
  }
  if (
    choice === undefined ||
    !compiled.clusters.has(choice.name) ||
    compiled.clusters.get(choice.name)?.kind === 'missing'
  ) {
    out.outcome = 'cluster_not_found';
    out.response = { status: action.clusterNotFoundResponseCode || 503, flags: 'NC' };
    why.push(`cluster ${choice?.name ?? '(none)'} is not known to the mesh`);
    return out;
  }
  const res = compiled.snapshot.clusters.get(choice.name);
  const cluster = res?.status === 'ok' ? res.cluster : undefined;
  out.cluster = {
    name: choice.name,
    type: cluster?.type,
    lbPolicy: cluster?.lbPolicy,
    connectTimeoutMs: cluster?.connectTimeout,
    circuitBreakers: cluster?.circuitBreakers,
    outlierDetection: cluster?.outlierDetection,
    tls: cluster?.tls !== undefined,
    http2: cluster?.http2,
  };

  const ff = compiled.faultFilter;
  let fault: unknown;
  if (ff !== undefined) {
    const disabled = choice.filters.disabled(ff.name) ?? ff.disabledByDefault;
    const cfg = choice.filters.fault(ff.name) ?? ff.config;
    fault = disabled
      ? { filter: ff.name, enabled: false }
      : {
          filter: ff.name,
          enabled: true,
          delay: cfg.fault.delay,
          abort: cfg.fault.abort,
          headers: cfg.fault.headers,
          maxActiveFaults: cfg.fault.maxActiveFaults,
        };
    if (!disabled && (cfg.fault.delay !== undefined || cfg.fault.abort !== undefined)) {
      why.push(
        `fault filter ${ff.name} may ${[cfg.fault.delay === undefined ? '' : 'delay', cfg.fault.abort === undefined ? '' : 'abort'].filter((s) => s !== '').join(' and ')} this request`,
      );
    }
  }
  const timeout = action.timeout;
  out.policies = {
    timeoutMs: timeout ?? 15_000,
    timeoutSource: timeout === undefined ? "Envoy's default" : timeout === 0 ? 'none (0 disables it)' : 'route',
    retries: entry.retryPolicy,
    fault,
    mirrors: entry.requestMirrorPolicies,
    hashPolicy: action.hashPolicy,
    prefixRewrite: action.prefixRewrite,
    hostRewrite: action.hostRewriteLiteral ?? (action.autoHostRewrite ? 'auto' : undefined),
  };
  if (entry.retryPolicy !== undefined) {
    why.push(`retries: up to ${entry.retryPolicy.numRetries} on ${entry.retryPolicy.retryOn.join(',')}`);
  }

  const states = clusterStatesOf(mesh, target, choice.name);
  const hosts = states.flatMap((s) => s.hosts);
  out.endpoints = hosts.map((h) => ({
    address: h.key,
    health: h.health,
    edsHealthStatus: h.healthStatus,
    ejected: h.ejected,
    weight: h.weight,
    priority: h.priority,
    locality: h.locality,
    activeRequests: h.activeRequests,
    istioWorkload: h.istioWorkload,
    tlsMode: h.tlsMode,
  }));
  let picked: Host | undefined;
  for (const s of states) {
    picked = s.pick();
    if (picked !== undefined) break;
  }
  if (picked === undefined) {
    out.outcome = 'no_healthy_upstream';
    out.response = { status: 503, flags: 'UH' };
    why.push(`cluster ${choice.name} has no endpoint to offer (${hosts.length} known)`);
    return out;
  }
  out.outcome = 'forward';
  out.endpoint = {
    address: picked.key,
    istioWorkload: picked.istioWorkload,
    tlsMode: picked.tlsMode,
    locality: picked.locality,
    priority: picked.priority,
  };
  const healthy = hosts.filter((h) => h.health === 'healthy').length;
  why.push(
    `${cluster?.lbPolicy ?? 'the load balancer'} picked ${picked.key} among ${healthy} healthy of ${hosts.length} endpoints`,
  );
  return out;
}
