// What SotW and Delta streams share: the first-request rules (node required, auth hook), serial
// request processing, the outbox (test hooks can delay or pause it), per-type status records
// and ending the stream with a status.
import { status as grpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Clock, Logger, TimerHandle } from '@inboard/xds';
import type { Node, Status } from '@inboard/xds/codec';
import type {
  AdsServerEventMap,
  AdsStreamInfo,
  AdsStreamKind,
  NackRecord,
  RequestDisposition,
  ResponseEvent,
  TypeStatus,
} from './ads-events.ts';
import { type AuthHook, authRejection, type StreamStatus } from './auth-hook.ts';
import type { Snapshot } from './snapshot.ts';
import type { SnapshotCache } from './snapshot-cache.ts';

/** How responses leave the server right now (test hooks). */
export interface SendPolicy {
  readonly delayMs: number;
  readonly paused: boolean;
  /** When set, a stream is ended with this status right after it writes a response. */
  readonly closeAfterResponse: StreamStatus | undefined;
}

/** What a stream needs from its server. */
export interface StreamHost {
  readonly cache: SnapshotCache;
  readonly clock: Clock;
  readonly log: Logger;
  readonly authenticate: AuthHook | undefined;
  readonly wildcardTypes: ReadonlySet<string>;
  sendPolicy(): SendPolicy;
  nonce(version: string): string;
  emit<K extends keyof AdsServerEventMap>(event: K, ...args: AdsServerEventMap[K]): void;
  count(counter: 'requests' | 'responses' | 'acks' | 'nacks'): void;
  closed(stream: AdsStream<unknown, unknown>): void;
}

interface Outgoing<Res> {
  readonly message: Res;
  readonly event: ResponseEvent;
  delayed: boolean;
}

interface MutableTypeStatus {
  lastNonceSent: string | undefined;
  lastVersionSent: string | undefined;
  ackedNonce: string | undefined;
  ackedVersion: string | undefined;
  lastNack: NackRecord | undefined;
  lastError: string | undefined;
  nackCount: number;
}

/** The request fields the base class reads (both DiscoveryRequest and DeltaDiscoveryRequest have them). */
interface BaseRequest {
  readonly node?: Node | undefined;
}

export abstract class AdsStream<Req, Res> {
  readonly id: number;
  abstract readonly kind: AdsStreamKind;
  readonly peer: string;
  protected readonly host: StreamHost;
  readonly #call: ServerDuplexStream<Req, Res>;
  #node: Node | undefined;
  #nodeKey: string | undefined;
  #closed = false;
  #chain: Promise<void> = Promise.resolve();
  #outbox: Outgoing<Res>[] = [];
  #timer: TimerHandle | undefined;
  #unwatch: (() => void) | undefined;
  readonly #status = new Map<string, MutableTypeStatus>();

  constructor(id: number, host: StreamHost, call: ServerDuplexStream<Req, Res>) {
    this.id = id;
    this.host = host;
    this.#call = call;
    this.peer = safePeer(call);
    call.on('data', (req: Req) => this.#enqueue(req));
    // The client half-closed: nothing more will come. Finish (OK status, like istiod) once the
    // requests already received are handled.
    call.on('end', () => {
      this.#chain = this.#chain.then(() => this.end({ code: grpcStatus.OK, message: 'client closed the stream' }));
    });
    call.on('cancelled', () => this.#gone('cancelled by the client'));
  }

  get node(): Node | undefined {
    return this.#node;
  }

  get nodeId(): string | undefined {
    return this.#node?.id;
  }

  get nodeKey(): string | undefined {
    return this.#nodeKey;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Handles one request after the node is known (and authenticated). */
  protected abstract handleRequest(req: Req): void;

  /** Re-evaluates every watched type after the node's snapshot may have changed. */
  protected abstract onSnapshotChange(): void;

  /** Subscription of a type, for `info()`. */
  protected abstract subscription(typeUrl: string): { wildcard: boolean; names: readonly string[] };

  /** The node's current snapshot (undefined: nothing to serve yet, requests wait). */
  protected snapshot(): Snapshot | undefined {
    return this.#node === undefined ? undefined : this.host.cache.resolve(this.#node);
  }

  protected isWildcardType(typeUrl: string): boolean {
    return this.host.wildcardTypes.has(typeUrl);
  }

  /** Ends the stream with a status (OK ends it cleanly). Queued responses are dropped. */
  end(status: StreamStatus): void {
    if (this.#closed) return;
    this.#close();
    try {
      if (status.code === grpcStatus.OK) this.#call.end();
      // grpc-js turns an 'error' event on a server stream into the trailing status.
      else this.#call.emit('error', { code: status.code, details: status.message });
    } catch (err) {
      this.host.log.debug('ending stream failed', { stream: this.id, err: String(err) });
    }
    this.#report(status.code, status.message);
  }

  /** Tries to write queued responses (after resume, or when a delay elapsed). */
  pump(): void {
    if (this.#closed || this.#timer !== undefined) return;
    for (;;) {
      const next = this.#outbox[0];
      if (next === undefined) return;
      const policy = this.host.sendPolicy();
      if (policy.paused) return;
      if (policy.delayMs > 0 && !next.delayed) {
        this.#timer = this.host.clock.setTimeout(() => {
          this.#timer = undefined;
          next.delayed = true;
          this.pump();
        }, policy.delayMs);
        return;
      }
      this.#outbox.shift();
      this.#call.write(next.message);
      this.host.count('responses');
      this.host.log.debug('response', { stream: this.id, type: next.event.typeUrl, nonce: next.event.nonce });
      this.host.emit('response', next.event);
      if (policy.closeAfterResponse !== undefined) {
        this.end(policy.closeAfterResponse);
        return;
      }
    }
  }

  info(): AdsStreamInfo {
    const types: TypeStatus[] = [];
    for (const [typeUrl, s] of this.#status) {
      const sub = this.subscription(typeUrl);
      types.push({ typeUrl, wildcard: sub.wildcard, resourceNames: [...sub.names], ...s });
    }
    return {
      streamId: this.id,
      kind: this.kind,
      peer: this.peer,
      node: this.#node,
      nodeId: this.#node?.id,
      nodeKey: this.#nodeKey,
      types,
    };
  }

  // ------------------------------------------------------------------ for subclasses

  /** Queues a response; `recordSent` happens now so later requests are judged against this nonce. */
  protected send(message: Res, event: Omit<ResponseEvent, 'streamId' | 'kind' | 'nodeId'>): void {
    if (this.#closed) return;
    const full: ResponseEvent = { streamId: this.id, kind: this.kind, nodeId: this.nodeId ?? '', ...event };
    const s = this.#statusOf(event.typeUrl);
    s.lastNonceSent = event.nonce;
    s.lastVersionSent = event.version;
    this.#outbox.push({ message, event: full, delayed: false });
    this.pump();
  }

  protected emitRequest(
    typeUrl: string,
    disposition: RequestDisposition,
    fields: { nonce: string; version: string; resourceNames: readonly string[]; unsubscribe: readonly string[] },
  ): void {
    this.#statusOf(typeUrl);
    this.host.emit('request', {
      streamId: this.id,
      kind: this.kind,
      nodeId: this.nodeId ?? '',
      typeUrl,
      disposition,
      ...fields,
    });
  }

  protected recordAck(typeUrl: string, nonce: string, version: string): void {
    const s = this.#statusOf(typeUrl);
    s.ackedNonce = nonce;
    s.ackedVersion = version;
    s.lastError = undefined;
    this.host.count('acks');
    this.host.emit('ack', { streamId: this.id, kind: this.kind, nodeId: this.nodeId ?? '', typeUrl, nonce, version });
  }

  protected recordNack(typeUrl: string, nonce: string, version: string, error: Status): void {
    const s = this.#statusOf(typeUrl);
    const record: NackRecord = {
      nonce,
      version,
      errorCode: error.code,
      errorMessage: error.message,
      time: this.host.clock.now(),
    };
    s.lastNack = record;
    s.lastError = error.message;
    s.nackCount++;
    this.host.count('nacks');
    this.host.log.warn('NACK', { stream: this.id, node: this.nodeId, type: typeUrl, nonce, error: error.message });
    this.host.emit('nack', { streamId: this.id, kind: this.kind, nodeId: this.nodeId ?? '', typeUrl, ...record });
  }

  /** The version of the response a nonce refers to, if it is the last one sent for the type. */
  protected lastSent(typeUrl: string): { nonce: string | undefined; version: string | undefined } {
    const s = this.#status.get(typeUrl);
    return { nonce: s?.lastNonceSent, version: s?.lastVersionSent };
  }

  // ------------------------------------------------------------------ internals

  #enqueue(req: Req): void {
    // Serial: the auth hook may be async and requests must still be handled in order.
    this.#chain = this.#chain
      .then(() => this.#process(req))
      .catch((err: unknown) => {
        this.host.log.error('request handling failed', { stream: this.id, err: String(err) });
        this.end({ code: grpcStatus.INTERNAL, message: `request handling failed: ${String(err)}` });
      });
  }

  async #process(req: Req): Promise<void> {
    if (this.#closed) return;
    this.host.count('requests');
    if (this.#node === undefined) {
      // Only the first request is guaranteed to carry the node; istiod rejects a first request without one.
      const node = (req as BaseRequest).node;
      if (node === undefined || node.id === '') {
        this.end({ code: grpcStatus.INVALID_ARGUMENT, message: 'missing node information' });
        return;
      }
      if (this.host.authenticate !== undefined) {
        const decision = await this.host.authenticate(this.#call.metadata, node, { kind: this.kind, peer: this.peer });
        if (this.#closed) return;
        const rejection = authRejection(decision);
        if (rejection !== undefined) {
          this.end(rejection);
          return;
        }
      }
      this.#node = node;
      this.#nodeKey = this.host.cache.nodeKey(node);
      this.#unwatch = this.host.cache.watch(node, () => {
        if (!this.#closed) this.onSnapshotChange();
      });
      this.host.log.info('stream ready', { stream: this.id, kind: this.kind, node: node.id, key: this.#nodeKey });
    }
    this.handleRequest(req);
  }

  #statusOf(typeUrl: string): MutableTypeStatus {
    let s = this.#status.get(typeUrl);
    if (s === undefined) {
      s = {
        lastNonceSent: undefined,
        lastVersionSent: undefined,
        ackedNonce: undefined,
        ackedVersion: undefined,
        lastNack: undefined,
        lastError: undefined,
        nackCount: 0,
      };
      this.#status.set(typeUrl, s);
    }
    return s;
  }

  #gone(reason: string): void {
    if (this.#closed) return;
    this.#close();
    this.#report(grpcStatus.CANCELLED, reason);
  }

  #close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#outbox = [];
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  #report(code: number, details: string): void {
    this.host.log.info('stream closed', { stream: this.id, node: this.nodeId, code, details });
    this.host.closed(this as AdsStream<unknown, unknown>);
    this.host.emit('stream-close', { streamId: this.id, kind: this.kind, nodeId: this.nodeId, code, details });
  }
}

function safePeer(call: ServerDuplexStream<unknown, unknown>): string {
  try {
    return call.getPeer();
  } catch {
    return 'unknown';
  }
}
