// The inbound engine: one per listening address, shared by the node:http, express and fastify
// adapters. It watches the server listener istiod sends for `ip:port` (and the RDS route
// configurations its chains name, if any), compiles each version once into an InboundPolicy and
// swaps it in atomically; `handle()` then decides a request against the current policy without
// waiting or allocating beyond its decision.
//
//   const engine = createInboundEngine({ xds, listenAddress: { ip: '0.0.0.0', port: 8080 } });
//   await engine.ready();
//   const server = engine.mtls === 'STRICT' ? https.createServer(engine.tlsServerOptions()!, app) : http.createServer(app);
//   if (server instanceof https.Server) engine.attachTls(server); // picks up rotated certificates
//
// Without a listener (the server says it does not exist: no Service selects this pod on this
// port) there is no mesh policy: every request is allowed and the server stays plaintext, as
// istiod intends. A listener or route configuration that cannot be compiled leaves the previous
// policy in force; with no previous policy, requests are refused (fail closed), as Envoy refuses
// connections for a listener it could not build.

import { isIP } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type {
  Clock,
  FileWatcherCertificateProvider,
  Listener,
  RouteConfiguration,
  TimerHandle,
  XdsClient,
} from '@inboard/xds';
import { createLogger, resourceTypes, systemClock, type Xds } from '@inboard/xds';
import { evaluateRbacFilters, rbacDeniedDetails } from '../rbac/rbac-filters.ts';
import type { PeerCertificate, RbacRequest } from '../rbac/rbac-request.ts';
import { directResponseLocation } from '../route/direct-response.ts';
import { redirectResponse } from '../route/redirect.ts';
import type { HeaderGetter } from '../route/route-request.ts';
import type { RouteEntry } from '../route/route-table.ts';
import { selectFilterChain } from './filter-chain-select.ts';
import {
  type CompiledFilterChain,
  compileInboundPolicy,
  type InboundPolicy,
  type MtlsMode,
  NO_MESH_POLICY,
  routeConfigNamesOf,
} from './inbound-policy.ts';
import { inboundListenerName, type ListenAddress } from './listener-name.ts';
import { normalizeRequestPath, type PathNormalizationOptions } from './path-normalization.ts';
import type { ConnectionSecurity } from './peer-identity.ts';
import { ServerCertificates } from './server-certificates.ts';
import { type ServerTlsOptions, serverTlsOptionsOf } from './tls-options.ts';

const log = createLogger('inbound');

export interface InboundEngineOptions extends PathNormalizationOptions {
  /** the process's Xds (its bootstrap gives the listener name template and certificate files) */
  readonly xds?: Xds;
  /** a bare XdsClient instead of `xds` */
  readonly client?: XdsClient;
  /** the address the server listens on */
  readonly listenAddress: ListenAddress;
  /** server_listener_resource_name_template; default: the bootstrap's, else istiod's */
  readonly template?: string;
  /** certificate provider instances for tlsServerOptions() and attachTls(); default: the bootstrap's */
  readonly certificateProviders?: Readonly<Record<string, FileWatcherCertificateProvider>>;
  /**
   * How long requests wait for the first answer about the listener (default 15 s, the xDS
   * does-not-exist timeout; 0: forever). After it, requests are refused with 503
   * `inbound_policy_pending` until the control plane answers: never allowed unchecked.
   */
  readonly readyTimeoutMs?: number;
  /** the ready timeout and the certificates' refresh interval (tests inject a ManualClock) */
  readonly clock?: Clock;
}

/** What the engine reads from a request; adapters build it from IncomingMessage. */
export interface InboundRequestInfo {
  readonly method: string;
  /** the request-target as received (`req.url`): path and query, or absolute form */
  readonly target: string;
  readonly authority: string;
  readonly scheme: 'http' | 'https';
  readonly headers: HeaderGetter;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly destinationPort: number;
  readonly security: ConnectionSecurity;
}

interface DecisionCommon {
  /** the normalised path with the query: what the application should see */
  readonly path: string;
  /** the RBAC policy that decided (DENY that denied, ALLOW that allowed) */
  readonly matchedPolicy: string | undefined;
  readonly filterChain: string | undefined;
  /** the mode of the filter chain that served the request */
  readonly mtls: MtlsMode;
  readonly peer: PeerCertificate | undefined;
  /** the downstream address after X-Forwarded-For (Envoy's remote_ip) */
  readonly remoteIp: string;
  /** the route of the inbound route configuration that matched */
  readonly route: RouteEntry | undefined;
}

export interface InboundAllow extends DecisionCommon {
  readonly action: 'allow';
}

/** The policy answers instead of the application. */
export interface InboundLocalReply extends DecisionCommon {
  /** deny: refused (RBAC, no route, malformed path, mTLS missing); respond: a direct response or redirect route */
  readonly action: 'deny' | 'respond';
  /** 0 with closeConnection: the connection is closed without a response */
  readonly status: number;
  /** text, or a Buffer (a direct response's inline_bytes, byte for byte) */
  readonly body: string | Buffer;
  readonly headers: Readonly<Record<string, string>>;
  /** Envoy's %RESPONSE_FLAGS% (`-` when none) */
  readonly responseFlags: string;
  /** Envoy's %RESPONSE_CODE_DETAILS% */
  readonly responseCodeDetails: string;
  readonly closeConnection: boolean;
}

export type InboundDecision = InboundAllow | InboundLocalReply;

export type InboundEngineState = 'pending' | 'mesh' | 'no-mesh-policy' | 'rejected';

/** Envoy's local reply for a request the RBAC filter denied. */
export const RBAC_DENIED_BODY = 'RBAC: access denied';
const TEXT_PLAIN: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'text/plain' });
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

export class InboundEngine {
  readonly listenerName: string;
  readonly listenAddress: ListenAddress;
  readonly #client: XdsClient;
  readonly #normalization: PathNormalizationOptions;
  readonly #certificates: ServerCertificates;
  #policy: InboundPolicy | undefined;
  #state: InboundEngineState = 'pending';
  #listener: Listener | undefined;
  readonly #routeConfigs = new Map<string, RouteConfiguration>();
  readonly #missingRouteConfigs = new Set<string>();
  readonly #routeWatches = new Map<string, () => void>();
  #cancelListener: (() => void) | undefined;
  #generation = 0;
  #readyPromise: Promise<void>;
  #resolveReady: () => void = () => {};
  #readyTimer: TimerHandle | undefined;
  readonly #subscribers = new Set<(policy: InboundPolicy, generation: number) => void>();
  readonly #errorSubscribers = new Set<(error: Error) => void>();

  constructor(options: InboundEngineOptions) {
    const client = options.client ?? options.xds?.client;
    if (client === undefined) throw new TypeError('createInboundEngine: `xds` or `client` is required');
    this.#client = client;
    this.#certificates = new ServerCertificates(
      options.certificateProviders ?? options.xds?.bootstrap.certificateProviders ?? {},
      options.clock ?? systemClock,
    );
    this.listenAddress = options.listenAddress;
    this.#normalization = { mergeSlashes: options.mergeSlashes ?? false };
    this.listenerName = inboundListenerName(
      options.listenAddress,
      options.template ?? options.xds?.bootstrap.serverListenerResourceNameTemplate,
    );
    this.#readyPromise = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
    const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
    if (readyTimeoutMs > 0) {
      this.#readyTimer = (options.clock ?? systemClock).setTimeout(() => {
        this.#readyTimer = undefined;
        if (this.#state !== 'pending') return;
        // stop holding requests; handle() refuses them while the state stays pending
        log.warn('no answer about the inbound listener yet; refusing requests until there is one', {
          listener: this.listenerName,
          afterMs: readyTimeoutMs,
        });
        this.#resolveReady();
      }, readyTimeoutMs);
    }
    this.#cancelListener = client.watch(resourceTypes.listener, this.listenerName, {
      onResourceChanged: (l) => this.#onListener(l),
      onError: (e) => this.#onWatchError(e),
      onResourceDoesNotExist: () => this.#onNoListener(),
    });
  }

  /** pending → mesh / no-mesh-policy / rejected, then between those as the server pushes. */
  get state(): InboundEngineState {
    return this.#state;
  }

  get isReady(): boolean {
    return this.#state !== 'pending';
  }

  /** Resolves once the first listener (or its absence) is known. */
  ready(): Promise<void> {
    return this.#readyPromise;
  }

  /** The policy in force (NO_MESH_POLICY before the first listener). */
  get policy(): InboundPolicy {
    return this.#policy ?? NO_MESH_POLICY;
  }

  /** Increases with every policy swapped in. */
  get generation(): number {
    return this.#generation;
  }

  /** The mode a server for this address should be created with. */
  get mtls(): MtlsMode {
    return this.policy.mtls;
  }

  /**
   * `https.createServer` options for the current policy: the workload certificate, key and mesh
   * root from the bootstrap's certificate provider files, client certificates required for
   * STRICT. undefined when the policy is plaintext. Throws when a file cannot be read.
   * A server created from them is kept current as the files rotate (see attachTls()) from its
   * first request through an Inboard adapter on; call attachTls() to cover the first one too.
   */
  tlsServerOptions(): ServerTlsOptions | undefined {
    const tls = this.policy.tls;
    if (tls === undefined) return undefined;
    return serverTlsOptionsOf(tls, this.#certificates.current(tls));
  }

  /**
   * Keeps a TLS server's certificate, key and CA bundle current: when it accepts a connection
   * after the certificate providers' refresh interval, the files are re-read and, if they
   * changed, installed with `setSecureContext` before that connection's handshake (Envoy's SDS,
   * gRPC's file_watcher provider). Returns the function that stops it; close() stops it too.
   */
  attachTls(server: TlsServer): () => void {
    return this.#certificates.attach(server, () => this.policy.tls);
  }

  /**
   * For the adapters (on every request, with the connection's server): a TLS server created from
   * tlsServerOptions() is kept current as with attachTls(); any other server is left alone.
   */
  adoptTlsServer(server: unknown): void {
    if (server instanceof TlsServer && this.#certificates.issued(server)) this.attachTls(server);
  }

  /**
   * The request-target as the application should see it under the current policy: normalised
   * when a mesh policy is in force or still pending (a request routed before the first answer
   * must be routed on the path RBAC will check), unchanged when there is no mesh policy (or when
   * it cannot be normalised).
   */
  normalizeTarget(target: string): string {
    if (this.#state !== 'pending' && this.#policy?.listener === undefined) return target;
    const n = normalizeRequestPath(target, this.#normalization);
    return n === undefined ? target : n.path + n.query;
  }

  /** Called with every policy swapped in. Returns the unsubscribe function. */
  subscribe(fn: (policy: InboundPolicy, generation: number) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** Called when a pushed config cannot be used (the previous policy stays in force). */
  onError(fn: (error: Error) => void): () => void {
    this.#errorSubscribers.add(fn);
    return () => this.#errorSubscribers.delete(fn);
  }

  close(): void {
    this.#certificates.close();
    this.#readyTimer?.cancel();
    this.#readyTimer = undefined;
    this.#cancelListener?.();
    this.#cancelListener = undefined;
    for (const cancel of this.#routeWatches.values()) cancel();
    this.#routeWatches.clear();
  }

  // ------------------------------------------------------------------------ decisions

  /** Decides one request against the current policy. */
  handle(info: InboundRequestInfo): InboundDecision {
    const policy = this.#policy;
    const security = info.security;
    if (policy === undefined || this.#state === 'rejected') {
      const pending = policy === undefined && this.#state === 'pending';
      return localReply(base(info.target, undefined, 'DISABLE', security.peer, info.sourceIp), {
        action: 'deny',
        status: 503,
        body: '',
        flags: '-',
        details: pending ? 'inbound_policy_pending' : 'inbound_listener_rejected',
        close: false,
      });
    }
    const remoteIp = remoteIpOf(info.headers, info.sourceIp);
    if (policy.listener === undefined) {
      // no mesh policy: the application sees the request untouched
      return { ...base(info.target, undefined, 'DISABLE', security.peer, remoteIp), action: 'allow' };
    }

    const chain = selectFilterChain(policy.chains, matchOf, policy.defaultChain, {
      destinationIp: info.destinationIp,
      destinationPort: info.destinationPort,
      sourceIp: info.sourceIp,
      transportProtocol: security.tls ? 'tls' : 'raw_buffer',
      alpn: security.alpn,
    });
    if (chain === undefined) {
      return localReply(base(info.target, undefined, 'DISABLE', security.peer, remoteIp), {
        action: 'deny',
        status: 0,
        body: '',
        flags: 'NR',
        details: 'filter_chain_not_found',
        close: true,
      });
    }
    const common0 = base(info.target, chain.name, chain.mtls, security.peer, remoteIp);
    // The chain's transport socket is TLS: a plaintext connection, or one without a verified
    // client certificate under STRICT, would have failed Envoy's handshake.
    if ((chain.mtls !== 'DISABLE' && !security.tls) || (chain.mtls === 'STRICT' && security.peer === undefined)) {
      return localReply(common0, {
        action: 'deny',
        status: 0,
        body: '',
        flags: '-',
        details: chain.mtls === 'STRICT' ? 'inbound_mtls_required' : 'inbound_tls_required',
        close: true,
      });
    }

    if (info.method === 'CONNECT' || refusedUpgrade(info.headers)) {
      // Envoy's connection manager treats CONNECT as an upgrade and refuses the upgrade types its
      // upgrade_configs do not list before any filter runs; istiod's inbound listener lists
      // websocket only (an h2c upgrade is not one: Envoy's HTTP/1 codec drops its headers).
      return localReply(common0, {
        action: 'deny',
        status: 403,
        body: '',
        flags: '-',
        details: 'upgrade_failed',
        close: false,
      });
    }
    const normalized = normalizeRequestPath(info.target, this.#normalization);
    if (normalized === undefined) {
      return localReply(common0, {
        action: 'deny',
        status: 400,
        body: '',
        flags: '-',
        details: 'path_normalization_failed',
        close: false,
      });
    }
    const path = normalized.query === '' ? normalized.path : normalized.path + normalized.query;
    const req: RbacRequest = {
      method: info.method,
      authority: info.authority,
      path,
      scheme: info.scheme,
      headers: info.headers,
      urlPath: normalized.path,
      sourceIp: info.sourceIp,
      remoteIp,
      destinationIp: info.destinationIp,
      destinationPort: info.destinationPort,
      requestedServerName: security.serverName,
      tls: security.tls,
      peer: security.peer,
    };
    const route = chain.routes?.match(req);
    const rbac = evaluateRbacFilters(
      route === undefined ? chain.rbac : (chain.rbacByRoute.get(route) ?? chain.rbac),
      req,
    );
    const common: DecisionCommon = { ...common0, path, matchedPolicy: rbac.matchedPolicy, route };
    if (!rbac.allowed) {
      return localReply(common, {
        action: 'deny',
        status: 403,
        body: RBAC_DENIED_BODY,
        flags: '-',
        details: rbacDeniedDetails(rbac),
        close: false,
      });
    }
    if (route === undefined) {
      return localReply(common, {
        action: 'deny',
        status: 404,
        body: '',
        flags: 'NR',
        details: 'route_not_found',
        close: false,
      });
    }
    const action = route.route.action;
    switch (action.kind) {
      case 'non_forwarding':
        return { ...common, action: 'allow' };
      case 'direct_response': {
        const reply = localReply(common, {
          action: 'respond',
          status: action.status,
          body: bodyOf(action.body),
          flags: '-',
          details: 'direct_response',
          close: false,
        });
        const location = directResponseLocation(action.status, req);
        return location === undefined ? reply : { ...reply, headers: { ...reply.headers, location } };
      }
      case 'redirect': {
        const r = redirectResponse(route, req)!;
        return {
          ...common,
          action: 'respond',
          status: r.status,
          body: '',
          headers: { location: r.location },
          responseFlags: '-',
          responseCodeDetails: 'direct_response',
          closeConnection: false,
        };
      }
      case 'route':
        // A server cannot forward to a cluster from inside the application: gRPC servers fail
        // such requests (gRFC A36), and so does Inboard.
        return localReply(common, {
          action: 'deny',
          status: 503,
          body: '',
          flags: '-',
          details: 'inbound_route_not_non_forwarding',
          close: false,
        });
    }
  }

  // ------------------------------------------------------------------------ xDS

  #onListener(l: Listener): void {
    this.#listener = l;
    const wanted = new Set(routeConfigNamesOf(l));
    for (const [name, cancel] of this.#routeWatches) {
      if (wanted.has(name)) continue;
      cancel();
      this.#routeWatches.delete(name);
      this.#routeConfigs.delete(name);
      this.#missingRouteConfigs.delete(name);
    }
    for (const name of wanted) {
      if (this.#routeWatches.has(name)) continue;
      this.#routeWatches.set(
        name,
        this.#client.watch(resourceTypes.routeConfiguration, name, {
          onResourceChanged: (rc) => {
            this.#routeConfigs.set(name, rc);
            this.#missingRouteConfigs.delete(name);
            this.#rebuild();
          },
          onError: (e) => this.#onWatchError(e),
          onResourceDoesNotExist: () => {
            this.#routeConfigs.delete(name);
            this.#missingRouteConfigs.add(name);
            this.#rebuild();
          },
        }),
      );
    }
    this.#rebuild();
  }

  #rebuild(): void {
    const l = this.#listener;
    if (l === undefined) return;
    // wait for every RDS name to be known (present or not), so a policy is never half built
    for (const name of this.#routeWatches.keys()) {
      if (!this.#routeConfigs.has(name) && !this.#missingRouteConfigs.has(name)) return;
    }
    let policy: InboundPolicy;
    try {
      policy = compileInboundPolicy(l, this.#routeConfigs);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      log.error('inbound listener cannot be compiled; keeping the previous policy', {
        listener: l.name,
        error: error.message,
      });
      if (this.#policy === undefined) this.#setState('rejected');
      for (const fn of [...this.#errorSubscribers]) fn(error);
      return;
    }
    this.#swap(policy, 'mesh');
  }

  #onNoListener(): void {
    this.#listener = undefined;
    for (const cancel of this.#routeWatches.values()) cancel();
    this.#routeWatches.clear();
    this.#routeConfigs.clear();
    this.#missingRouteConfigs.clear();
    this.#swap(NO_MESH_POLICY, 'no-mesh-policy');
  }

  #onWatchError(error: Error): void {
    // the client keeps the last good resource and retries; the policy in force stays
    log.warn('inbound xDS error', { listener: this.listenerName, error: error.message });
    for (const fn of [...this.#errorSubscribers]) fn(error);
  }

  #swap(policy: InboundPolicy, state: InboundEngineState): void {
    this.#policy = policy;
    this.#generation++;
    this.#setState(state);
    log.debug('inbound policy in force', { listener: this.listenerName, state, mtls: policy.mtls });
    for (const fn of [...this.#subscribers]) fn(policy, this.#generation);
  }

  #setState(state: InboundEngineState): void {
    this.#state = state;
    this.#readyTimer?.cancel();
    this.#readyTimer = undefined;
    this.#resolveReady();
  }
}

export function createInboundEngine(options: InboundEngineOptions): InboundEngine {
  return new InboundEngine(options);
}

function matchOf(c: CompiledFilterChain) {
  return c.match;
}

function base(
  path: string,
  filterChain: string | undefined,
  mtls: MtlsMode,
  peer: PeerCertificate | undefined,
  remoteIp: string,
): DecisionCommon {
  return { path, matchedPolicy: undefined, filterChain, mtls, peer, remoteIp, route: undefined };
}

function bodyOf(body: string | Uint8Array | undefined): string | Buffer {
  if (body === undefined) return '';
  return typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function localReply(
  common: DecisionCommon,
  r: {
    action: 'deny' | 'respond';
    status: number;
    body: string | Buffer;
    flags: string;
    details: string;
    close: boolean;
  },
): InboundLocalReply {
  return {
    ...common,
    action: r.action,
    status: r.status,
    body: r.body,
    headers: r.body.length === 0 ? NO_HEADERS : TEXT_PLAIN,
    responseFlags: r.flags,
    responseCodeDetails: r.details,
    closeConnection: r.close,
  };
}

/**
 * An HTTP/1.1 upgrade (Connection lists `upgrade`, Upgrade is set) to something other than
 * websocket or h2c: the upgrade types istiod's inbound connection manager does not configure.
 */
function refusedUpgrade(headers: HeaderGetter): boolean {
  const upgrade = headers('upgrade');
  if (upgrade === undefined) return false;
  const connection = headers('connection');
  const tokens = (typeof connection === 'string' ? connection : (connection ?? []).join(',')).toLowerCase();
  if (!tokens.split(',').some((t) => t.trim() === 'upgrade')) return false;
  const type = (typeof upgrade === 'string' ? upgrade : upgrade.join(',')).trim().toLowerCase();
  return type !== 'websocket' && type !== 'h2c';
}

/**
 * Envoy's downstream remote address with use_remote_address false and no trusted hops (what
 * istiod's inbound HttpConnectionManager leaves): the last X-Forwarded-For entry when it is an IP
 * address (no port, no brackets: Envoy's getLastAddressFromXFF parses it strictly), else the peer.
 */
function remoteIpOf(headers: HeaderGetter, sourceIp: string): string {
  const xff = headers('x-forwarded-for');
  if (xff === undefined) return sourceIp;
  const joined = typeof xff === 'string' ? xff : xff.join(',');
  const comma = joined.lastIndexOf(',');
  const last = (comma < 0 ? joined : joined.slice(comma + 1)).trim();
  return isIP(last) === 0 ? sourceIp : last;
}
