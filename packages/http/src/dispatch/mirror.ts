// Request mirroring (shadowing): a fire-and-forget copy of a routed request to another cluster,
// sampled by the policy's runtime_fraction. The copy carries the request as the router sends it
// (mutated headers, rewritten path, the body; a streamed one once it is complete within the
// buffer limit) with `-shadow` added to the host (before any port) unless disabled; its response
// is read and dropped, its failures never reach the caller. The mirror cluster's circuit breakers
// and outlier detection apply as to any request.
import type { RequestMirrorPolicy } from '@inboard/xds';
import type { Dispatcher } from 'undici';
import { autoSniHost, NO_REQUEST_SNI } from '../cluster/auto-sni.ts';
import { takeConnection } from '../cluster/circuit-breakers.ts';
import type { ClusterState } from '../cluster/cluster-state.ts';
import type { RandomSource } from '../cluster/random-source.ts';
import type { ResponseFlag } from '../retry/response-flags.ts';
import { fractionalPercentHit } from '../route/fractional-percent.ts';
import { type HttpRequestEvent, requestChannel } from './events.ts';
import { ATTEMPT_COUNT_HEADER, type Exchange, type MeshDispatchOptions } from './exchange.ts';
import { handOverConnection, UpstreamAccounting } from './limits-interceptor.ts';
import type { UpstreamPools } from './upstream-pools.ts';

type DispatchController = Dispatcher.DispatchController;

/** Envoy's shadowAppendedHost: `-shadow` goes before the port. */
export function shadowHost(host: string): string {
  const colon = host.lastIndexOf(':');
  const v6End = host.lastIndexOf(']');
  if (colon < 0 || (v6End >= 0 && v6End > colon)) return `${host}-shadow`;
  return `${host.slice(0, colon)}-shadow${host.slice(colon)}`;
}

class MirrorSink implements Dispatcher.DispatchHandler {
  readonly #ex: Exchange;
  readonly #cluster: string;
  readonly #endpoint: string;
  readonly #path: string;
  readonly #authority: string;
  readonly #startedAt = performance.now();
  #status = 0;
  #received = 0;
  #responseStartMs: number | undefined;

  constructor(ex: Exchange, cluster: string, endpoint: string, path: string, authority: string) {
    this.#ex = ex;
    this.#cluster = cluster;
    this.#endpoint = endpoint;
    this.#path = path;
    this.#authority = authority;
  }

  onRequestStart(): void {}

  onResponseStart(_c: DispatchController, status: number): void {
    this.#status = status;
    this.#responseStartMs = performance.now() - this.#startedAt;
  }

  onResponseData(_c: DispatchController, chunk: Buffer): void {
    this.#received += chunk.length;
  }

  onResponseEnd(): void {
    this.#publish(undefined);
  }

  onResponseError(_c: DispatchController, err: Error): void {
    this.#publish(err);
  }

  #publish(error: Error | undefined): void {
    if (!requestChannel.hasSubscribers) return;
    const flags: ResponseFlag[] = error === undefined ? [] : ['UF'];
    const ex = this.#ex;
    const event: HttpRequestEvent = {
      kind: 'mirror',
      target: ex.target.target,
      authority: this.#authority,
      method: ex.method,
      path: this.#path,
      routeConfig: ex.target.routeTable.config.name,
      virtualHost: ex.entry?.vhost.name,
      route: ex.entry?.route.name,
      istioConfig: ex.entry?.route.istioConfig,
      cluster: this.#cluster,
      endpoint: this.#endpoint,
      attempts: 1,
      status: error === undefined ? this.#status : 0,
      flags,
      details: error === undefined ? 'via_upstream' : 'upstream_reset_before_response_started',
      durations: { totalMs: performance.now() - this.#startedAt, responseStartMs: this.#responseStartMs },
      bytes: { sent: ex.bodyBytes, received: this.#received },
      error,
      start: undefined,
      peerMetadata: undefined,
      peerMetadataId: undefined,
      grpcStatus: undefined,
      transportFailureReason: undefined,
    };
    requestChannel.publish(event);
  }
}

function mirrorState(ex: Exchange, name: string): ClusterState | undefined {
  const u = ex.target.clusters.get(name);
  if (u?.kind === 'cluster') return u.state;
  if (u?.kind === 'aggregate') return u.leaves[0];
  return undefined;
}

/** Sends the mirrors of `ex` (call once its upstream options are final). */
export function sendMirrors(
  ex: Exchange,
  policies: readonly RequestMirrorPolicy[],
  pools: UpstreamPools,
  random: RandomSource,
): void {
  const base = ex.opts;
  if (base === undefined) return;
  for (const p of policies) {
    if (p.runtimeFraction !== undefined && !fractionalPercentHit(p.runtimeFraction, random())) continue;
    const state = mirrorState(ex, p.cluster);
    if (state === undefined) continue;
    const host = state.pick();
    if (host === undefined) continue;
    const breakers = state.circuitBreakers.forPriority('DEFAULT');
    // A mirror never waits for a connection: with none free (HTTP/1.1) it is not sent.
    const h1 = !state.cluster.http2;
    if (h1 && !takeConnection(breakers, host)) continue;
    if (!breakers.requests.tryAcquire()) {
      if (h1) handOverConnection(breakers, host);
      continue;
    }
    host.acquire();
    const headers = { ...(base.headers as Record<string, string | string[]>) };
    delete headers[ATTEMPT_COUNT_HEADER];
    const logical = typeof headers.host === 'string' ? headers.host : ex.authority;
    const authority = p.disableShadowHostSuffixAppend ? logical : shadowHost(logical);
    headers.host = authority;
    // the same pool as the cluster's own traffic (see endpoint-interceptor.ts: TLS clusters are https)
    const clusterTls = state.cluster.tls;
    const tls = clusterTls !== undefined;
    // Envoy sends a mirror through its router like any request: auto_sni / auto_san_validation
    // take the mirror's own Host (with `-shadow` unless disabled), not the main request's.
    const servername =
      clusterTls !== undefined && (clusterTls.autoSni || clusterTls.autoSanValidation)
        ? autoSniHost(authority)
        : tls || ex.scheme !== 'https'
          ? NO_REQUEST_SNI
          : undefined;
    const opts: MeshDispatchOptions = {
      origin: tls || ex.scheme === 'https' ? host.httpsOrigin : host.httpOrigin,
      path: base.path,
      method: base.method,
      headers,
      // a streamed body is mirrored once complete within the limit: the copy kept for retries
      body: ex.body !== undefined ? ex.body.buffered() : base.body,
      servername,
    };
    const sink = new MirrorSink(ex, p.cluster, host.key, base.path, authority);
    try {
      pools.forCluster(state.cluster).dispatch(opts, new UpstreamAccounting(sink, state, host, breakers, h1, ex.grpc));
    } catch {
      host.release();
      breakers.requests.release();
      if (h1) handOverConnection(breakers, host);
    }
  }
}
