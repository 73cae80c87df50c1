// An AdsTransport that records the SotW requests the client sends and never answers: for tests of
// what goes on the wire (names subscribed, released) without a server.
import type { AdsStream, AdsStreamHandlers, AdsTransport } from '@inboard/xds';
import type { DiscoveryRequestIn } from '@inboard/xds/codec';

export class RecordingTransport implements AdsTransport {
  readonly server = 'recording';
  readonly sent: DiscoveryRequestIn[] = [];
  openSotw(_h: AdsStreamHandlers<unknown>): AdsStream<DiscoveryRequestIn> {
    return { send: (r) => this.sent.push(r), cancel: () => {} };
  }
  openDelta(_h: AdsStreamHandlers<unknown>): AdsStream<never> {
    throw new Error('not used');
  }
  whenReady(): () => void {
    return () => {};
  }
  close(): void {}
}
