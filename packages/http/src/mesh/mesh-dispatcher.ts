// The undici Dispatcher the application uses: `setGlobalDispatcher(mesh.dispatcher)`,
// `fetch(url, { dispatcher })`, `request(url, { dispatcher })`. It only runs the composed mesh
// interceptor chain; closing it closes the mesh.
import { Dispatcher, errors } from 'undici';

type Dispatch = (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => boolean;

export class MeshDispatcher extends Dispatcher {
  readonly #dispatch: Dispatch;
  readonly #close: () => Promise<void>;
  readonly #destroy: (err: Error | null) => Promise<void>;
  #closed = false;

  /** @internal built by OutboundMesh */
  constructor(dispatch: Dispatch, close: () => Promise<void>, destroy: (err: Error | null) => Promise<void>) {
    super();
    this.#dispatch = dispatch;
    this.#close = close;
    this.#destroy = destroy;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (handler === null || typeof handler !== 'object')
      throw new errors.InvalidArgumentError('handler must be an object');
    if (this.#closed) throw new errors.ClientClosedError();
    return this.#dispatch(opts, handler);
  }

  override close(callback: () => void): void;
  override close(): Promise<void>;
  override close(callback?: () => void): Promise<void> | void {
    this.#closed = true;
    const p = this.#close();
    if (callback === undefined) return p;
    p.then(callback, callback);
  }

  override destroy(err: Error | null, callback: () => void): void;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null): Promise<void>;
  override destroy(): Promise<void>;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    this.#closed = true;
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const p = this.#destroy(err);
    if (callback === undefined) return p;
    p.then(callback, callback);
  }
}
