// The transport under the XdsClient: one bidi ADS stream at a time on one gRPC channel.
// Kept behind an interface so the protocol logic can be driven without sockets, and so the
// channel (credentials, keepalive, message size) is configured in one place.
import type * as grpc from '@grpc/grpc-js';
import type {
  DeltaDiscoveryRequestIn,
  DeltaDiscoveryResponse,
  DiscoveryRequestIn,
  DiscoveryResponse,
} from '../codec.ts';

export type AdsMode = 'sotw' | 'delta';

export interface StreamEndStatus {
  readonly code: number;
  readonly details: string;
}

export interface AdsStreamHandlers<Res> {
  onResponse(response: Res): void;
  /** the stream ended; `status.code` 0 means the server closed it cleanly */
  onEnd(status: StreamEndStatus): void;
}

export interface AdsStream<Req> {
  send(request: Req): void;
  /** half-close and cancel */
  cancel(): void;
}

export interface AdsTransport {
  readonly server: string;
  openSotw(handlers: AdsStreamHandlers<DiscoveryResponse>): AdsStream<DiscoveryRequestIn>;
  openDelta(handlers: AdsStreamHandlers<DeltaDiscoveryResponse>): AdsStream<DeltaDiscoveryRequestIn>;
  /** calls `fn` once the channel is connected (now, if it already is); returns a canceller */
  whenReady(fn: () => void): () => void;
  close(): void;
}

export interface GrpcTransportOptions {
  readonly target: string;
  readonly credentials: grpc.ChannelCredentials;
  readonly channelOptions?: grpc.ChannelOptions;
  /** static metadata sent with every stream (e.g. clusterid) */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Default channel options: keepalive no closer than istiod's 15 s enforcement, large messages. */
export const DEFAULT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 0,
  'grpc.max_receive_message_length': 2 ** 31 - 1,
  'grpc.max_send_message_length': 2 ** 31 - 1,
  // our XdsClient owns reconnect backoff; keep the channel's own short
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 5_000,
};

export async function createGrpcTransport(options: GrpcTransportOptions): Promise<AdsTransport> {
  // grpc-js is loaded on first connect, so importing @inboard/xds stays cheap.
  const grpcMod = await import('@grpc/grpc-js');
  const ads = await import('./../transport/ads-service.ts');
  const client = new grpcMod.Client(options.target, options.credentials, {
    ...DEFAULT_CHANNEL_OPTIONS,
    ...options.channelOptions,
  });
  const channel = client.getChannel();

  function open<Req, Res>(
    path: string,
    serialize: (m: Req) => Buffer,
    deserialize: (b: Buffer) => Res,
    handlers: AdsStreamHandlers<Res>,
  ): AdsStream<Req> {
    const md = new grpcMod.Metadata();
    for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
    const call = client.makeBidiStreamRequest(path, serialize, deserialize, md, {});
    let ended = false;
    call.on('data', (m: Res) => {
      if (!ended) handlers.onResponse(m);
    });
    call.on('status', (s: grpc.StatusObject) => {
      if (ended) return;
      ended = true;
      handlers.onEnd({ code: s.code, details: s.details });
    });
    // errors are followed by 'status'; the listener keeps them from being thrown
    call.on('error', () => {});
    return {
      send: (req) => {
        if (!ended) call.write(req);
      },
      cancel: () => {
        if (ended) return;
        ended = true;
        call.cancel();
      },
    };
  }

  return {
    server: options.target,
    openSotw: (h) => open(ads.ADS_SOTW_PATH, ads.serializeDiscoveryRequest, ads.deserializeDiscoveryResponse, h),
    openDelta: (h) =>
      open(ads.ADS_DELTA_PATH, ads.serializeDeltaDiscoveryRequest, ads.deserializeDeltaDiscoveryResponse, h),
    whenReady(fn) {
      let cancelled = false;
      const check = () => {
        if (cancelled) return;
        const state = channel.getConnectivityState(true);
        if (state === grpcMod.connectivityState.READY) {
          fn();
          return;
        }
        if (state === grpcMod.connectivityState.SHUTDOWN) return;
        channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, check);
      };
      check();
      return () => {
        cancelled = true;
      };
    },
    close: () => client.close(),
  };
}
