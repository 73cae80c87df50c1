// A raw grpc-js ADS client for tests: no xDS logic, just a queue of received messages and the
// final status, so tests can assert exactly what the server sent.
import * as grpc from '@grpc/grpc-js';
import type { AdsServer, AdsServerEventMap } from '@inboard/control-plane';
import type {
  DeltaDiscoveryRequestIn,
  DeltaDiscoveryResponse,
  DiscoveryRequestIn,
  DiscoveryResponse,
} from '@inboard/xds/codec';
import {
  ADS_DELTA_PATH,
  ADS_SOTW_PATH,
  deserializeDeltaDiscoveryResponse,
  deserializeDiscoveryResponse,
  serializeDeltaDiscoveryRequest,
  serializeDiscoveryRequest,
} from '@inboard/xds/transport';

export interface StreamEnd {
  readonly code: number;
  readonly details: string;
}

export class TestStream<Req, Res> {
  readonly #call: grpc.ClientDuplexStream<Req, Res>;
  readonly #queue: Res[] = [];
  readonly #waiters: { resolve: (m: Res) => void; reject: (e: Error) => void }[] = [];
  #end: StreamEnd | undefined;
  /** Resolves with the status the server ended the stream with. */
  readonly ended: Promise<StreamEnd>;

  constructor(call: grpc.ClientDuplexStream<Req, Res>) {
    this.#call = call;
    this.ended = new Promise((resolve) => {
      call.on('status', (s: grpc.StatusObject) => {
        this.#end = { code: s.code, details: s.details };
        for (const w of this.#waiters.splice(0)) {
          w.reject(new Error(`stream ended (${s.code} ${s.details}) while waiting for a message`));
        }
        resolve(this.#end);
      });
    });
    call.on('data', (m: Res) => {
      const w = this.#waiters.shift();
      if (w !== undefined) w.resolve(m);
      else this.#queue.push(m);
    });
    // Non-OK statuses also arrive as 'error'; 'status' carries everything we need.
    call.on('error', () => {});
  }

  send(req: Req): void {
    this.#call.write(req);
  }

  /** The next message from the server (in order). */
  next(): Promise<Res> {
    const m = this.#queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    if (this.#end !== undefined) return Promise.reject(new Error(`stream already ended (${this.#end.code})`));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Messages received and not yet taken with `next()`. */
  get buffered(): number {
    return this.#queue.length;
  }

  /** Half-closes the stream from the client side. */
  end(): void {
    this.#call.end();
  }

  cancel(): void {
    this.#call.cancel();
  }
}

export type SotwStream = TestStream<DiscoveryRequestIn, DiscoveryResponse>;
export type DeltaStream = TestStream<DeltaDiscoveryRequestIn, DeltaDiscoveryResponse>;

export class TestAdsClient {
  readonly #client: grpc.Client;

  constructor(
    address: string,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    options: grpc.ChannelOptions = {},
  ) {
    this.#client = new grpc.Client(address, credentials, options);
  }

  sotw(metadata: grpc.Metadata = new grpc.Metadata()): SotwStream {
    return new TestStream(
      this.#client.makeBidiStreamRequest(
        ADS_SOTW_PATH,
        serializeDiscoveryRequest,
        deserializeDiscoveryResponse,
        metadata,
      ),
    );
  }

  delta(metadata: grpc.Metadata = new grpc.Metadata()): DeltaStream {
    return new TestStream(
      this.#client.makeBidiStreamRequest(
        ADS_DELTA_PATH,
        serializeDeltaDiscoveryRequest,
        deserializeDeltaDiscoveryResponse,
        metadata,
      ),
    );
  }

  close(): void {
    this.#client.close();
  }
}

/**
 * Resolves with the next server event `name` that satisfies `match`. Create it *before* the action
 * that causes the event, then await it.
 */
export function nextEvent<K extends keyof AdsServerEventMap>(
  server: AdsServer,
  name: K,
  match: (e: AdsServerEventMap[K][0]) => boolean = () => true,
): Promise<AdsServerEventMap[K][0]> {
  return new Promise((resolve) => {
    const listener = (e: AdsServerEventMap[K][0]) => {
      if (!match(e)) return;
      server.off(name, listener as never);
      resolve(e);
    };
    server.on(name, listener as never);
  });
}
