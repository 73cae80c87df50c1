// The XdsClient: one ADS stream per server, shared by every subscription of every resource
// type. It speaks State-of-the-World (istiod's nonce/ACK/NACK rules) or Delta, keeps a
// validated cache per type and name, and tells watchers about updates, errors and deletions.
//
// Protocol choices, each for a reason:
// - The node goes only on the first request of each stream (istiod reads it from there only).
// - A response with invalid resources is NACKed with every reason in error_detail, while its
//   valid resources are applied and invalid ones keep their last good value (gRFC A46).
// - The does-not-exist timer (15 s) starts only once the channel is connected, so a slow
//   connect is not mistaken for a missing resource (gRFC A57).
// - Reconnect backoff resets as soon as a stream receives a response (gRFC A57); a stream that
//   ends after a response is re-opened at once, and does not raise errors to watchers.
// - Cached resources survive stream loss: on reconnect everything is re-requested and watchers
//   keep serving the cache until the server says otherwise.
// - A listener or cluster never received is declared missing by a response only when that
//   response was certainly built from a name list that included it (sotw-answers.ts): a push
//   built from an older list can cross the request that added the name.

import { type Clock, systemClock, type TimerHandle } from '../clock.ts';
import type {
  Any,
  DeltaDiscoveryRequestIn,
  DeltaDiscoveryResponse,
  DiscoveryRequestIn,
  DiscoveryResponse,
  NodeIn,
} from '../codec.ts';
import { ResourceDoesNotExistError, ResourceValidationError, shortType, XdsStreamError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import type { DecodeContext, ResourceType } from '../resources/resource-type.ts';
import type { AdsMode, AdsStream, AdsTransport, StreamEndStatus } from './ads-transport.ts';
import { type BackoffOptions, ExponentialBackoff } from './backoff.ts';
import { listed, SotwAnswers } from './sotw-answers.ts';

const log = createLogger('xds-client');

export const WILDCARD = '*';
const DOES_NOT_EXIST_TIMEOUT_MS = 15_000;
/** google.rpc.Code.INVALID_ARGUMENT, as Envoy sets on NACKs */
const NACK_CODE = 3;

export interface ResourceWatcher<T> {
  onResourceChanged(value: T, name: string): void;
  /** a NACK of this resource or a stream failure; the last good value (if any) stays valid */
  onError(error: Error, name: string): void;
  onResourceDoesNotExist(name: string): void;
}

export type ResourceStatus = 'REQUESTED' | 'ACKED' | 'NACKED' | 'DOES_NOT_EXIST';

/** What the client knows about one resource: for config dumps and tests. */
export interface ResourceMeta {
  readonly typeUrl: string;
  readonly name: string;
  readonly status: ResourceStatus;
  readonly version: string | undefined;
  readonly lastUpdated: number | undefined;
  readonly error: string | undefined;
  readonly value: unknown;
}

export interface XdsClientOptions {
  readonly transport: AdsTransport | (() => Promise<AdsTransport>);
  readonly node: NodeIn;
  readonly resourceTypes: readonly ResourceType<unknown>[];
  readonly mode?: AdsMode;
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  readonly doesNotExistTimeoutMs?: number;
  readonly decodeContext?: DecodeContext;
  /**
   * The server feature `ignore_resource_deletion` (gRFC A53): a cached resource the server stops
   * sending (absent from a SotW LDS/CDS response, or removed in Delta) is kept, with a warning
   * logged once, instead of being reported as does-not-exist.
   */
  readonly ignoreResourceDeletion?: boolean;
}

interface ResourceState {
  readonly name: string;
  readonly watchers: Set<ResourceWatcher<unknown>>;
  value: unknown;
  hasValue: boolean;
  status: ResourceStatus;
  version: string | undefined;
  lastUpdated: number | undefined;
  error: string | undefined;
  /** the rejection of the last response that carried this resource, while status is NACKED */
  nackError: Error | undefined;
  timer: TimerHandle | undefined;
  /** true once the name was sent in a request on the current stream */
  sent: boolean;
  /** a deletion of this resource was ignored (gRFC A53) and it has not come back since */
  deletionIgnored: boolean;
}

interface TypeState {
  readonly type: ResourceType<unknown>;
  readonly resources: Map<string, ResourceState>;
  readonly wildcardWatchers: Set<ResourceWatcher<unknown>>;
  /** SotW: the last accepted version_info */
  version: string;
  /** nonce of the last response on the current stream */
  nonce: string;
  /** Delta: whether this type's initial request went out on the current stream */
  deltaStarted: boolean;
  /** SotW: the resource names last sent on the current stream */
  lastSent: string[] | undefined;
  /**
   * SotW: a subscription change went out with a response's nonce and no ACK has carried the
   * names since. Such a request is ignored when a response crossed it (its nonce went stale), and
   * a NACK's names are ignored too, so after a NACK the names are sent again.
   */
  changeUnacked: boolean;
  /** SotW, LDS/CDS: which of this stream's requests each response was built from */
  answers: SotwAnswers;
}

export class XdsClient {
  private readonly options: XdsClientOptions;
  private readonly clock: Clock;
  private readonly mode: AdsMode;
  private readonly backoff: ExponentialBackoff;
  private readonly types = new Map<string, TypeState>();
  private readonly decodeContext: DecodeContext;
  private transport: AdsTransport | undefined;
  private transportPromise: Promise<AdsTransport> | undefined;
  private stream: AdsStream<DiscoveryRequestIn> | AdsStream<DeltaDiscoveryRequestIn> | undefined;
  private streamGotResponse = false;
  private nodeSent = false;
  private ready = false;
  private cancelReadyWait: (() => void) | undefined;
  private retryTimer: TimerHandle | undefined;
  private closed = false;
  private readonly pending = new Map<TypeState, { added: Set<string>; removed: Set<string> }>();
  private flushScheduled = false;
  private readonly listeners = new Set<(e: XdsClientEvent) => void>();

  constructor(options: XdsClientOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.mode = options.mode ?? 'sotw';
    this.backoff = new ExponentialBackoff(options.backoff);
    this.decodeContext = options.decodeContext ?? { certificateProviders: undefined };
    for (const t of options.resourceTypes) {
      this.types.set(t.typeUrl, {
        type: t,
        resources: new Map(),
        wildcardWatchers: new Set(),
        version: '',
        nonce: '',
        deltaStarted: false,
        lastSent: undefined,
        changeUnacked: false,
        answers: new SotwAnswers(),
      });
    }
  }

  /** Observes protocol events (requests, ACK/NACK, stream state): for tests, admin and metrics. */
  onEvent(fn: (e: XdsClientEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Watches one resource by name (or every resource of the type with WILDCARD, for LDS and CDS).
   * A cached value is delivered asynchronously right away. Returns the cancel function.
   */
  watch<T>(type: ResourceType<T>, name: string, watcher: ResourceWatcher<T>): () => void {
    if (this.closed) throw new XdsStreamError('closed', 'XdsClient is closed');
    const ts = this.typeState(type.typeUrl);
    const w = watcher as ResourceWatcher<unknown>;
    if (name === WILDCARD) {
      ts.wildcardWatchers.add(w);
      const cached = [...ts.resources.values()].filter((r) => r.hasValue || r.nackError !== undefined);
      if (cached.length > 0) {
        queueMicrotask(() => {
          if (!ts.wildcardWatchers.has(w)) return;
          for (const r of cached) {
            if (r.hasValue) w.onResourceChanged(r.value, r.name);
            if (r.nackError !== undefined) w.onError(r.nackError, r.name);
          }
        });
      }
      if (ts.wildcardWatchers.size === 1) this.subscriptionChanged(ts, [WILDCARD], []);
    } else {
      let rs = ts.resources.get(name);
      const added = rs === undefined || rs.watchers.size === 0;
      if (rs === undefined) {
        rs = newResourceState(name);
        ts.resources.set(name, rs);
      }
      rs.watchers.add(w);
      const state = rs;
      // A new watcher learns what earlier ones were told: the cached value, and if the latest
      // version was rejected, that rejection too (after the value, as an ambient error; alone
      // when nothing good was ever received) - as gRPC's XdsClient does. Without it a watcher of
      // a NACKed resource would wait for the server's next version.
      if (state.hasValue || state.nackError !== undefined || state.status === 'DOES_NOT_EXIST') {
        queueMicrotask(() => {
          if (!state.watchers.has(w)) return;
          if (state.hasValue) w.onResourceChanged(state.value, name);
          if (state.nackError !== undefined) w.onError(state.nackError, name);
          else if (!state.hasValue && state.status === 'DOES_NOT_EXIST') w.onResourceDoesNotExist(name);
        });
      }
      if (added) this.subscriptionChanged(ts, [name], []);
    }
    return () => this.unwatch(ts, name, w);
  }

  private unwatch(ts: TypeState, name: string, w: ResourceWatcher<unknown>): void {
    if (name === WILDCARD) {
      if (!ts.wildcardWatchers.delete(w)) return;
      if (ts.wildcardWatchers.size === 0) {
        // drop cached resources nobody watches by name
        for (const [n, rs] of ts.resources) if (rs.watchers.size === 0) this.forget(ts, n);
        this.subscriptionChanged(ts, [], [WILDCARD]);
      }
      return;
    }
    const rs = ts.resources.get(name);
    if (rs === undefined || !rs.watchers.delete(w)) return;
    // The cached value is dropped when the change is flushed, not now: a watch added back in the
    // same tick (a target released and resolved again) keeps it, and sends nothing.
    if (rs.watchers.size === 0) this.subscriptionChanged(ts, [], [name]);
  }

  private forgetIfUnwatched(ts: TypeState, name: string): void {
    const rs = ts.resources.get(name);
    if (rs !== undefined && rs.watchers.size === 0 && ts.wildcardWatchers.size === 0) this.forget(ts, name);
  }

  private forget(ts: TypeState, name: string): void {
    const rs = ts.resources.get(name);
    if (rs !== undefined) this.deletionResolved(ts, rs, 'is no longer watched');
    rs?.timer?.cancel();
    ts.resources.delete(name);
  }

  /** The cached state of every resource the client knows, for config dumps. */
  dump(): ResourceMeta[] {
    const out: ResourceMeta[] = [];
    for (const ts of this.types.values()) {
      for (const rs of ts.resources.values()) {
        out.push({
          typeUrl: ts.type.typeUrl,
          name: rs.name,
          status: rs.status,
          version: rs.version,
          lastUpdated: rs.lastUpdated,
          error: rs.error,
          value: rs.hasValue ? rs.value : undefined,
        });
      }
    }
    return out;
  }

  /** The last good value of a resource, if any. */
  cached<T>(type: ResourceType<T>, name: string): T | undefined {
    const rs = this.types.get(type.typeUrl)?.resources.get(name);
    return rs?.hasValue ? (rs.value as T) : undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.retryTimer?.cancel();
    this.cancelReadyWait?.();
    for (const ts of this.types.values()) for (const rs of ts.resources.values()) rs.timer?.cancel();
    this.stream?.cancel();
    this.stream = undefined;
    this.transport?.close();
  }

  // ------------------------------------------------------------------ subscriptions

  private typeState(typeUrl: string): TypeState {
    const ts = this.types.get(typeUrl);
    if (ts === undefined)
      throw new XdsStreamError('client', `resource type ${typeUrl} was not registered with the XdsClient`);
    return ts;
  }

  private subscribedNames(ts: TypeState): string[] {
    const names: string[] = [];
    for (const rs of ts.resources.values()) if (rs.watchers.size > 0) names.push(rs.name);
    return names;
  }

  private hasSubscriptions(): boolean {
    for (const ts of this.types.values()) {
      if (ts.wildcardWatchers.size > 0) return true;
      for (const rs of ts.resources.values()) if (rs.watchers.size > 0) return true;
    }
    return false;
  }

  /**
   * Subscription changes are collected and sent once per type per microtask: resolving a route
   * configuration adds dozens of cluster watches in one go, and one request per name would make
   * the server answer each with every subscribed resource (quadratic in SotW).
   */
  private subscriptionChanged(ts: TypeState, added: string[], removed: string[]): void {
    if (this.closed) return;
    if (this.stream === undefined) {
      for (const n of removed) this.forgetIfUnwatched(ts, n);
      this.ensureStream();
      return;
    }
    let p = this.pending.get(ts);
    if (p === undefined) {
      p = { added: new Set(), removed: new Set() };
      this.pending.set(ts, p);
    }
    for (const n of added) if (!p.removed.delete(n)) p.added.add(n);
    for (const n of removed) if (!p.added.delete(n)) p.removed.add(n);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flushSubscriptions());
    }
  }

  private flushSubscriptions(): void {
    this.flushScheduled = false;
    const pending = [...this.pending];
    this.pending.clear();
    for (const [ts, p] of pending) for (const n of p.removed) this.forgetIfUnwatched(ts, n);
    if (this.stream === undefined || this.closed) return; // a new stream re-subscribes everything
    for (const [ts, p] of pending) {
      if (this.mode === 'sotw') {
        // A name added back after it was dropped may still be on the server's list (LDS/CDS keep
        // their last list): an unchanged list would only be an ACK, so ask again with an empty
        // nonce, which istiod always answers.
        const lastSent = ts.lastSent;
        const refetch =
          lastSent !== undefined && [...p.added].some((n) => lastSent.includes(n) && !ts.resources.get(n)?.hasValue);
        this.sendSotw(ts, refetch ? { refetch: true } : {});
      } else if (p.added.size > 0 || p.removed.size > 0) this.sendDeltaChange(ts, [...p.added], [...p.removed]);
      if (this.ready) this.startTimers(ts);
    }
  }

  // ------------------------------------------------------------------ stream lifecycle

  private ensureStream(): void {
    if (this.stream !== undefined || this.retryTimer !== undefined || this.closed) return;
    if (!this.hasSubscriptions()) return;
    if (this.transport !== undefined) {
      this.openStream(this.transport);
      return;
    }
    if (this.transportPromise !== undefined) return;
    const t = this.options.transport;
    this.transportPromise = typeof t === 'function' ? t() : Promise.resolve(t);
    this.transportPromise.then(
      (transport) => {
        if (this.closed) {
          transport.close();
          return;
        }
        this.transport = transport;
        this.openStream(transport);
      },
      (err: unknown) => {
        this.transportPromise = undefined;
        const error = new XdsStreamError('transport', `cannot create the ADS channel: ${String(err)}`, undefined, {
          cause: err,
        });
        this.notifyAllErrors(error);
        this.scheduleRetry();
      },
    );
  }

  private openStream(transport: AdsTransport): void {
    this.streamGotResponse = false;
    this.nodeSent = false;
    this.ready = false;
    this.pending.clear();
    for (const ts of this.types.values()) {
      ts.nonce = '';
      ts.deltaStarted = false;
      ts.lastSent = undefined;
      ts.changeUnacked = false;
      ts.answers = new SotwAnswers();
      for (const rs of ts.resources.values()) rs.sent = false;
    }
    const onEnd = (status: StreamEndStatus) => this.onStreamEnd(status);
    this.stream =
      this.mode === 'sotw'
        ? transport.openSotw({ onResponse: (r) => this.onSotwResponse(r), onEnd })
        : transport.openDelta({ onResponse: (r) => this.onDeltaResponse(r), onEnd });
    this.emit({ kind: 'stream-open', server: transport.server, mode: this.mode });
    for (const ts of this.types.values()) {
      if (this.mode === 'sotw') this.sendSotw(ts);
      else this.sendDeltaInitial(ts);
    }
    this.cancelReadyWait?.();
    this.cancelReadyWait = transport.whenReady(() => {
      this.ready = true;
      for (const ts of this.types.values()) this.startTimers(ts);
    });
  }

  private onStreamEnd(status: StreamEndStatus): void {
    this.stream = undefined;
    this.ready = false;
    this.cancelReadyWait?.();
    for (const ts of this.types.values()) for (const rs of ts.resources.values()) this.stopTimer(rs);
    const server = this.transport?.server ?? 'unknown';
    this.emit({
      kind: 'stream-close',
      server,
      code: status.code,
      details: status.details,
      hadResponse: this.streamGotResponse,
    });
    if (this.closed) return;
    if (this.streamGotResponse) {
      // gRFC A57: a stream that worked is not an error; reconnect with a fresh backoff.
      this.backoff.reset();
      log.debug('ADS stream closed after a response; reconnecting', { code: status.code, details: status.details });
      this.ensureStream();
      return;
    }
    const error = new XdsStreamError(server, `stream closed with code ${status.code}: ${status.details}`, status.code);
    log.warn('ADS stream failed', { code: status.code, details: status.details });
    this.notifyAllErrors(error);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const delay = this.backoff.next();
    this.emit({ kind: 'retry-scheduled', delayMs: delay });
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.ensureStream();
    }, delay);
  }

  private notifyAllErrors(error: Error): void {
    for (const ts of this.types.values()) {
      for (const rs of ts.resources.values()) for (const w of [...rs.watchers]) w.onError(error, rs.name);
      for (const w of [...ts.wildcardWatchers]) w.onError(error, WILDCARD);
    }
  }

  // ------------------------------------------------------------------ does-not-exist timers

  private startTimers(ts: TypeState): void {
    const timeout = this.options.doesNotExistTimeoutMs ?? DOES_NOT_EXIST_TIMEOUT_MS;
    for (const rs of ts.resources.values()) {
      // Only a name still waiting for its first answer gets a timer: one the server sent, even
      // an invalid one (NACKED), exists, and a later subscription change must not condemn it
      // (gRPC starts timers only for requested-but-not-received resources).
      if (rs.watchers.size === 0 || rs.status !== 'REQUESTED' || rs.timer !== undefined) continue;
      if (!rs.sent) continue;
      rs.timer = this.clock.setTimeout(() => {
        rs.timer = undefined;
        if (rs.status !== 'REQUESTED' || rs.watchers.size === 0) return;
        this.markDoesNotExist(ts, rs);
      }, timeout);
    }
  }

  private stopTimer(rs: ResourceState): void {
    rs.timer?.cancel();
    rs.timer = undefined;
  }

  /** The server deleted a resource we hold a value of. */
  private resourceDeleted(ts: TypeState, rs: ResourceState): void {
    if (this.options.ignoreResourceDeletion !== true) {
      this.markDoesNotExist(ts, rs);
      return;
    }
    // gRFC A53: keep serving the last value; say so once, not on every response that lacks it.
    if (rs.deletionIgnored) return;
    rs.deletionIgnored = true;
    log.warn('the server deleted a resource; keeping it (ignore_resource_deletion)', {
      typeUrl: ts.type.typeUrl,
      name: rs.name,
    });
  }

  private deletionResolved(ts: TypeState, rs: ResourceState, why: string): void {
    if (!rs.deletionIgnored) return;
    rs.deletionIgnored = false;
    log.info(`a resource whose deletion was ignored ${why}`, { typeUrl: ts.type.typeUrl, name: rs.name });
  }

  private markDoesNotExist(ts: TypeState, rs: ResourceState): void {
    this.stopTimer(rs);
    rs.status = 'DOES_NOT_EXIST';
    rs.nackError = undefined;
    rs.value = undefined;
    rs.hasValue = false;
    rs.version = undefined;
    this.emit({ kind: 'does-not-exist', typeUrl: ts.type.typeUrl, name: rs.name });
    for (const w of [...rs.watchers]) w.onResourceDoesNotExist(rs.name);
    for (const w of [...ts.wildcardWatchers]) w.onResourceDoesNotExist(rs.name);
    if (rs.watchers.size === 0 && ts.wildcardWatchers.size === 0) ts.resources.delete(rs.name);
  }

  // ------------------------------------------------------------------ SotW

  /**
   * Sends this type's subscription. Without `force` it is sent only when the name list changed;
   * ACKs force it (same names, new version and nonce), NACKs carry error_detail.
   */
  private sendSotw(
    ts: TypeState,
    opts: { force?: boolean; refetch?: boolean; nack?: { nonce: string; message: string } } = {},
  ): void {
    const stream = this.stream as AdsStream<DiscoveryRequestIn> | undefined;
    if (stream === undefined) return;
    if (opts.refetch === true && ts.answers.awaitingEmptyNonce) {
      // One empty-nonce request at a time: another would queue behind it, each answer then being
      // matched to the older one. The one awaited is answered from the server's current list;
      // a name it does not settle is asked for again after it, or its timer decides.
      opts = { ...opts, refetch: false };
    }
    const wildcard = ts.wildcardWatchers.size > 0;
    const names = this.subscribedNames(ts);
    let resourceNames: string[];
    if (wildcard) {
      // istiod reads an empty list as "all" for LDS/CDS; it does not understand an explicit "*"
      resourceNames = [];
    } else if (names.length > 0) {
      resourceNames = names;
    } else if (ts.lastSent === undefined) {
      return; // nothing was ever requested for this type on this stream
    } else if (ts.type.allResourcesRequiredInSotW) {
      // An empty LDS/CDS list would subscribe to everything on istiod: keep the last list,
      // only to acknowledge, and ignore resources nobody watches.
      if (opts.force !== true && opts.nack === undefined) return;
      resourceNames = ts.lastSent;
    } else {
      resourceNames = []; // RDS/EDS: unsubscribe
    }
    const changed = ts.lastSent === undefined || !sameList(ts.lastSent, resourceNames) || opts.refetch === true;
    if (!changed && opts.force !== true && opts.nack === undefined) return;
    const req: DiscoveryRequestIn = {
      version_info: ts.version,
      resource_names: resourceNames,
      type_url: ts.type.typeUrl,
      response_nonce: opts.refetch === true ? '' : (opts.nack?.nonce ?? ts.nonce),
    };
    if (opts.nack !== undefined) req.error_detail = { code: NACK_CODE, message: opts.nack.message };
    if (!this.nodeSent) {
      req.node = this.options.node;
      this.nodeSent = true;
    }
    if (ts.type.allResourcesRequiredInSotW && opts.nack === undefined) {
      ts.answers.requested(wildcard ? 'all' : new Set(resourceNames), req.response_nonce === '');
    }
    ts.lastSent = resourceNames;
    // an empty nonce is always handled; a change with a nonce is lost if that nonce went stale
    if (opts.force !== true && opts.nack === undefined && req.response_nonce !== '') ts.changeUnacked = true;
    for (const n of names) {
      const rs = ts.resources.get(n);
      if (rs !== undefined) rs.sent = true;
    }
    stream.send(req);
    this.emit({
      kind: opts.nack === undefined ? 'request' : 'nack',
      typeUrl: ts.type.typeUrl,
      names: resourceNames,
      version: ts.version,
      nonce: req.response_nonce ?? '',
      error: opts.nack?.message,
    });
  }

  private onSotwResponse(res: DiscoveryResponse): void {
    this.streamGotResponse = true;
    this.backoff.reset();
    const ts = this.types.get(res.type_url);
    if (ts === undefined) {
      // Unknown type: NACK so the server knows, without touching any state.
      const stream = this.stream as AdsStream<DiscoveryRequestIn> | undefined;
      stream?.send({
        type_url: res.type_url,
        response_nonce: res.nonce,
        error_detail: { code: NACK_CODE, message: `resource type ${res.type_url} is not supported by this client` },
      });
      return;
    }
    ts.nonce = res.nonce;
    const errors: string[] = [];
    const seen = new Set<string>();
    const changed: ResourceState[] = [];
    const wildcard = ts.wildcardWatchers.size > 0;
    let askAgain = false;
    for (const any of res.resources) {
      const result = this.decodeOne(ts, any, errors);
      if (result === undefined) continue;
      if (!result.ok) {
        if (result.name !== undefined) {
          seen.add(result.name);
          this.recordNack(ts, result.name, result.errors, res.version_info);
        }
        continue;
      }
      seen.add(result.name);
      const rs = this.applyValid(ts, result.name, result.value, res.version_info, wildcard);
      if (rs !== undefined) changed.push(rs);
    }
    if (ts.type.allResourcesRequiredInSotW) {
      // LDS/CDS: a cached resource absent from a response was deleted. A name never received is
      // declared missing at once only when the response was certainly built from a list that
      // named it (istiod answers a request for an unknown host with a response that lacks it).
      // Otherwise - a push built from an older list may have crossed the request that added the
      // name - the ACK goes with an empty nonce, which istiod always answers from the current
      // list; if no answer comes, the does-not-exist timer decides, as in gRPC.
      const { builtFrom, couldList } = ts.answers.answered(res.version_info);
      for (const rs of [...ts.resources.values()]) {
        if (seen.has(rs.name) || rs.status === 'DOES_NOT_EXIST') continue;
        // A response built from a list without the name (the answer to a request sent while it
        // was not watched, crossing the one watching it again) says nothing about it.
        if (rs.hasValue && couldList !== undefined && !listed(couldList, rs.name)) continue;
        if (rs.hasValue) this.resourceDeleted(ts, rs);
        else if (rs.status !== 'REQUESTED' || !rs.sent || rs.watchers.size === 0) continue;
        else if (builtFrom !== undefined && listed(builtFrom, rs.name)) this.markDoesNotExist(ts, rs);
        else askAgain = true;
      }
    }
    if (errors.length === 0) {
      ts.version = res.version_info;
      this.sendSotwAck(ts, askAgain);
    } else {
      const message = `${shortType(ts.type.typeUrl)} response version ${JSON.stringify(res.version_info)} rejected: ${errors.join('; ')}`;
      log.warn('NACK', { typeUrl: ts.type.typeUrl, message });
      this.sendSotw(ts, { nack: { nonce: res.nonce, message } });
      // istiod reads nothing but the error from a NACK (its ShouldRespond returns before looking
      // at the names). If a subscription change may not have reached it (its request may have
      // gone stale when this response crossed it), the names go again with this response's nonce,
      // the last accepted version and no error_detail: istiod takes that as a request with the
      // current nonce, and answers it if the names differ from its list (an ACK otherwise).
      if (ts.changeUnacked) this.sendSotw(ts, { force: true });
    }
    this.deliver(ts, changed);
  }

  private sendSotwAck(ts: TypeState, askAgain = false): void {
    this.sendSotw(ts, { force: true, refetch: askAgain });
    ts.changeUnacked = false;
    this.emit({ kind: 'ack', typeUrl: ts.type.typeUrl, version: ts.version, nonce: ts.nonce });
  }

  // ------------------------------------------------------------------ Delta

  private sendDeltaInitial(ts: TypeState): void {
    const stream = this.stream as AdsStream<DeltaDiscoveryRequestIn> | undefined;
    if (stream === undefined) return;
    const wildcard = ts.wildcardWatchers.size > 0;
    const names = this.subscribedNames(ts);
    if (!wildcard && names.length === 0) return;
    const initialVersions: Record<string, string> = {};
    for (const rs of ts.resources.values()) {
      if (rs.hasValue && rs.version !== undefined && (wildcard || rs.watchers.size > 0)) {
        initialVersions[rs.name] = rs.version;
      }
    }
    const req: DeltaDiscoveryRequestIn = {
      type_url: ts.type.typeUrl,
      resource_names_subscribe: wildcard ? [WILDCARD, ...names] : names,
      initial_resource_versions: initialVersions,
    };
    this.sendDelta(req, names);
    ts.deltaStarted = true;
  }

  private sendDeltaChange(ts: TypeState, added: string[], removed: string[]): void {
    if (!ts.deltaStarted) {
      this.sendDeltaInitial(ts);
      return;
    }
    this.sendDelta(
      { type_url: ts.type.typeUrl, resource_names_subscribe: added, resource_names_unsubscribe: removed },
      added,
    );
  }

  private sendDelta(req: DeltaDiscoveryRequestIn, subscribed: string[]): void {
    const stream = this.stream as AdsStream<DeltaDiscoveryRequestIn> | undefined;
    if (stream === undefined) return;
    if (!this.nodeSent) {
      req.node = this.options.node;
      this.nodeSent = true;
    }
    const ts = this.types.get(req.type_url ?? '');
    for (const n of subscribed) {
      const rs = ts?.resources.get(n);
      if (rs !== undefined) rs.sent = true;
    }
    stream.send(req);
    this.emit({
      kind: req.error_detail === undefined ? 'request' : 'nack',
      typeUrl: req.type_url ?? '',
      names: req.resource_names_subscribe ?? [],
      version: '',
      nonce: req.response_nonce ?? '',
      error: req.error_detail?.message,
    });
  }

  private onDeltaResponse(res: DeltaDiscoveryResponse): void {
    this.streamGotResponse = true;
    this.backoff.reset();
    const ts = this.types.get(res.type_url);
    if (ts === undefined) {
      this.sendDelta(
        {
          type_url: res.type_url,
          response_nonce: res.nonce,
          error_detail: { code: NACK_CODE, message: `resource type ${res.type_url} is not supported by this client` },
        },
        [],
      );
      return;
    }
    ts.nonce = res.nonce;
    const errors: string[] = [];
    const changed: ResourceState[] = [];
    const wildcard = ts.wildcardWatchers.size > 0;
    for (const r of res.resources) {
      if (r.resource === undefined) continue;
      const result = this.decodeOne(ts, r.resource, errors, r.name);
      if (result === undefined) continue;
      if (!result.ok) {
        this.recordNack(ts, result.name ?? r.name, result.errors, r.version);
        continue;
      }
      const rs = this.applyValid(ts, result.name, result.value, r.version, wildcard);
      if (rs !== undefined) changed.push(rs);
    }
    for (const name of res.removed_resources) {
      const rs = ts.resources.get(name);
      if (rs === undefined) continue;
      if (rs.hasValue) this.resourceDeleted(ts, rs);
      else this.markDoesNotExist(ts, rs);
    }
    const req: DeltaDiscoveryRequestIn = { type_url: ts.type.typeUrl, response_nonce: res.nonce };
    if (errors.length > 0) {
      const message = `${shortType(ts.type.typeUrl)} delta response ${JSON.stringify(res.system_version_info)} rejected: ${errors.join('; ')}`;
      log.warn('NACK', { typeUrl: ts.type.typeUrl, message });
      req.error_detail = { code: NACK_CODE, message };
      this.sendDelta(req, []);
    } else {
      this.sendDelta(req, []);
      this.emit({ kind: 'ack', typeUrl: ts.type.typeUrl, version: res.system_version_info, nonce: res.nonce });
    }
    this.deliver(ts, changed);
  }

  // ------------------------------------------------------------------ shared response handling

  /**
   * Stores a valid resource; returns its state when watchers must hear about it (new or changed
   * value), undefined when nobody asked for it or it is unchanged.
   */
  private applyValid(
    ts: TypeState,
    name: string,
    value: unknown,
    version: string,
    wildcard: boolean,
  ): ResourceState | undefined {
    let rs = ts.resources.get(name);
    if (rs === undefined) {
      if (!wildcard) return undefined; // not asked for
      rs = newResourceState(name);
      ts.resources.set(name, rs);
    } else if (rs.watchers.size === 0 && !wildcard) {
      return undefined;
    }
    this.stopTimer(rs);
    this.deletionResolved(ts, rs, 'is sent again');
    rs.status = 'ACKED';
    rs.error = undefined;
    rs.nackError = undefined;
    rs.version = version;
    rs.lastUpdated = Date.now();
    if (rs.hasValue && ts.type.equals(rs.value, value)) return undefined;
    rs.value = value;
    rs.hasValue = true;
    return rs;
  }

  private decodeOne(
    ts: TypeState,
    any: Any,
    errors: string[],
    expectedName?: string,
  ): ReturnType<ResourceType<unknown>['decode']> | undefined {
    let result: ReturnType<ResourceType<unknown>['decode']>;
    try {
      result = ts.type.decode(any, this.decodeContext);
    } catch (err) {
      errors.push(`${expectedName ?? '(unnamed)'}: ${(err as Error).message}`);
      return undefined;
    }
    if (!result.ok) {
      errors.push(`${result.name ?? expectedName ?? '(unnamed)'}: ${result.errors.join(', ')}`);
      return result;
    }
    if (expectedName !== undefined && expectedName !== '' && result.name !== expectedName) {
      const msg = `resource name ${JSON.stringify(expectedName)} does not match the name inside it ${JSON.stringify(result.name)}`;
      errors.push(msg);
      return { ok: false, name: expectedName, errors: [msg] };
    }
    return result;
  }

  private recordNack(ts: TypeState, name: string, errs: readonly string[], version: string): void {
    const rs = ts.resources.get(name);
    if (rs === undefined || (rs.watchers.size === 0 && ts.wildcardWatchers.size === 0)) return;
    this.stopTimer(rs);
    this.deletionResolved(ts, rs, 'is sent again');
    rs.status = 'NACKED';
    rs.error = errs.join(', ');
    const error = new ResourceValidationError(
      ts.type.typeUrl,
      name,
      `${shortType(ts.type.typeUrl)} resource ${JSON.stringify(name)} (version ${JSON.stringify(version)}) rejected: ${rs.error}`,
    );
    rs.nackError = error;
    for (const w of [...rs.watchers]) w.onError(error, name);
    for (const w of [...ts.wildcardWatchers]) w.onError(error, name);
  }

  private deliver(ts: TypeState, changed: ResourceState[]): void {
    for (const rs of changed) {
      this.emit({ kind: 'update', typeUrl: ts.type.typeUrl, name: rs.name, version: rs.version ?? '' });
      for (const w of [...rs.watchers]) w.onResourceChanged(rs.value, rs.name);
      for (const w of [...ts.wildcardWatchers]) w.onResourceChanged(rs.value, rs.name);
    }
  }

  private emit(e: XdsClientEvent): void {
    for (const fn of this.listeners) fn(e);
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function newResourceState(name: string): ResourceState {
  return {
    name,
    watchers: new Set(),
    value: undefined,
    hasValue: false,
    status: 'REQUESTED',
    version: undefined,
    lastUpdated: undefined,
    error: undefined,
    nackError: undefined,
    timer: undefined,
    sent: false,
    deletionIgnored: false,
  };
}

export type XdsClientEvent =
  | { readonly kind: 'stream-open'; readonly server: string; readonly mode: AdsMode }
  | {
      readonly kind: 'stream-close';
      readonly server: string;
      readonly code: number;
      readonly details: string;
      readonly hadResponse: boolean;
    }
  | { readonly kind: 'retry-scheduled'; readonly delayMs: number }
  | {
      readonly kind: 'request' | 'nack';
      readonly typeUrl: string;
      readonly names: readonly string[];
      readonly version: string;
      readonly nonce: string;
      readonly error: string | undefined;
    }
  | { readonly kind: 'ack'; readonly typeUrl: string; readonly version: string; readonly nonce: string }
  | { readonly kind: 'update'; readonly typeUrl: string; readonly name: string; readonly version: string }
  | { readonly kind: 'does-not-exist'; readonly typeUrl: string; readonly name: string };

export { ResourceDoesNotExistError };
