// The endpoint layer: picks the host of one attempt from the chosen cluster (its LB policy,
// priorities, localities, panic mode; the route's hash policies for RING_HASH / MAGLEV; the
// previous_hosts retry predicate; for an AGGREGATE cluster, its leaves' priority levels) and points the dispatch at it: undici's `origin` becomes the
// endpoint (`http://10.0.0.7:9080`, one pool per endpoint; `https://` when the cluster has an
// UpstreamTlsContext), while the Host header keeps the logical authority. No host: 503 UH.
// drop_overload: 503 DO (first attempt only).
import type { Dispatcher } from 'undici';
import { authorityHost, autoSniHost, NO_REQUEST_SNI } from '../cluster/auto-sni.ts';
import type { ClusterState, PickOptions } from '../cluster/cluster-state.ts';
import type { Host } from '../cluster/host.ts';
import { computeRequestHash } from '../cluster/request-hash.ts';
import { appendForwardedHost } from '../route/host-rewrite.ts';
import { DropOverloadError, type MeshHttpError, NoHealthyUpstreamError } from './errors.ts';
import { type Exchange, kExchange, type MeshDispatchOptions, type RetryView } from './exchange.ts';
import { failedController } from './mesh-controller.ts';

type DispatchOptions = Dispatcher.DispatchOptions;
type DispatchHandler = Dispatcher.DispatchHandler;
type Dispatch = (opts: DispatchOptions, handler: DispatchHandler) => boolean;

function failAsync(handler: DispatchHandler, err: MeshHttpError): boolean {
  queueMicrotask(() => handler.onResponseError?.(failedController(err), err));
  return true;
}

function pickOptions(state: ClusterState, ex: Exchange, retry: RetryView | undefined): PickOptions | undefined {
  const policy = state.lbPolicy;
  let hash: bigint | undefined;
  if (policy === 'RING_HASH' || policy === 'MAGLEV') {
    if (ex.hash === null) {
      const action = ex.entry?.route.action;
      ex.hash =
        action?.kind === 'route' && action.hashPolicy.length > 0
          ? computeRequestHash(action.hashPolicy, ex)
          : undefined;
    }
    hash = ex.hash;
  }
  if (retry === undefined || retry.previousHosts.size === 0) return hash === undefined ? undefined : { hash };
  return {
    hash,
    previousHosts: retry.previousHosts,
    hostSelectionRetryCount: retry.hostSelectionRetryCount,
  };
}

export function endpointInterceptor(): (dispatch: Dispatch) => Dispatch {
  return (dispatch) => (opts, handler) => {
    const ex = (opts as MeshDispatchOptions)[kExchange];
    if (ex === undefined) return dispatch(opts, handler);
    const up = ex.upstream!;
    const retry = ex.retry;
    let state: ClusterState | undefined;
    let host: Host | undefined;
    if (up.kind === 'cluster') {
      state = up.state;
      if (ex.attempts === 1 && state.assignment.dropOverloads.length > 0 && state.shouldDrop()) {
        return failAsync(handler, new DropOverloadError(up.name));
      }
      host = state.pick(pickOptions(state, ex, retry));
    } else if (up.kind === 'aggregate') {
      const picked = up.lb.pick((leaf) => pickOptions(leaf, ex, retry));
      state = picked?.state;
      host = picked?.host;
    }
    if (host === undefined || state === undefined) return failAsync(handler, new NoHealthyUpstreamError(up.name));
    retry?.onHostAttempted(host);
    ex.host = host;
    ex.hostCluster = state;
    const o = opts as MeshDispatchOptions;
    // A cluster with an UpstreamTlsContext connects with TLS whatever scheme the caller used (the
    // exchange keeps that scheme); its connector sets the SNI from the context, never from here,
    // except that auto_sni / auto_san_validation take the request's host as the route leaves it
    // (after a host rewrite, as Envoy's router takes getRequestHostValue), passed as the
    // servername, an IP included: the connector sends no SNI for it but checks it against the
    // certificate (undici then opens a new connection when the host changes, as Envoy keys pools
    // by SNI).
    const clusterTls = state.cluster.tls;
    // undici keys its pools by this string
    o.origin = clusterTls !== undefined || ex.scheme === 'https' ? host.httpsOrigin : host.httpOrigin;
    if (clusterTls !== undefined && (clusterTls.autoSni || clusterTls.autoSanValidation)) {
      o.servername = autoSniHost(ex.routedAuthority);
    } else if (o.servername === undefined) {
      if (ex.scheme === 'https' && clusterTls === undefined) {
        // SNI: the logical host, as undici's dns interceptor does when it rewrites the origin.
        o.servername = authorityHost(ex.authority);
      } else {
        // Plaintext has no SNI, and the mesh's TLS connector ignores this name: undici compares
        // servernames only for https. A constant (truthy: undici tests it with ||) keeps it from
        // deriving one from the Host header (an IP parse) on every request, and from replacing
        // pooled connections when the Host changes (aliases).
        o.servername = NO_REQUEST_SNI;
      }
    }
    const action = ex.entry?.route.action;
    if (action?.kind === 'route' && action.autoHostRewrite && host.hostname !== '') {
      const headers = o.headers as Record<string, string | string[]>;
      if (headers['x-envoy-original-host'] === undefined) headers['x-envoy-original-host'] = ex.authority;
      if (action.appendXForwardedHost)
        appendForwardedHost(
          headers,
          (typeof headers.host === 'string' ? headers.host : headers.host?.[0]) ?? ex.authority,
        );
      headers.host = host.hostname;
    }
    return dispatch(o, handler);
  };
}
