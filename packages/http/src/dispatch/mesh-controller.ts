// The one controller a caller's handler sees for the whole request. Attempts come and go (each
// undici dispatch has its own controller) and local replies have none, so this proxy forwards
// pause/resume to whatever currently delivers the response, and routes abort() to the request
// (which cancels timers, backoffs and the attempt in flight).
import type { Dispatcher } from 'undici';

type DispatchController = Dispatcher.DispatchController;
type RawHeaders = DispatchController['rawHeaders'];

/** Who handles an abort of the request. */
export interface AbortTarget {
  onUserAbort(reason: Error): void;
}

export class MeshController implements DispatchController {
  #target: DispatchController | undefined;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  #rawHeaders: RawHeaders | undefined;
  readonly #owner: AbortTarget | undefined;

  /** Without an owner, a subclass handles aborts by overriding `userAborted`. */
  constructor(owner?: AbortTarget) {
    this.#owner = owner;
  }

  /** The caller aborted the request (once). */
  protected userAborted(reason: Error): void {
    this.#owner?.onUserAbort(reason);
  }

  /** What delivers the response now: the committed attempt's controller, or a LocalTarget. */
  setTarget(target: DispatchController, rawHeaders?: RawHeaders): void {
    this.#target = target;
    this.#rawHeaders = rawHeaders;
    if (this.#paused) target.pause();
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  /** The response's raw headers: rebuilt ones when the mesh changed the headers, else undici's. */
  get rawHeaders(): RawHeaders {
    return this.#rawHeaders !== undefined ? this.#rawHeaders : (this.#target?.rawHeaders ?? null);
  }

  set rawHeaders(value: RawHeaders) {
    this.#rawHeaders = value;
  }

  get rawTrailers(): RawHeaders {
    return this.#target?.rawTrailers ?? null;
  }

  set rawTrailers(_value: RawHeaders) {
    // trailers always come from the response source
  }

  pause(): void {
    this.#paused = true;
    this.#target?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#target?.resume();
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.userAborted(reason);
  }
}

/** The "connection" of a local reply: remembers pause state and runs a callback on resume. */
export class LocalTarget implements DispatchController {
  paused = false;
  aborted = false;
  reason: Error | null = null;
  rawHeaders: RawHeaders = null;
  rawTrailers: RawHeaders = null;
  #onResume: (() => void) | undefined;

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const f = this.#onResume;
    this.#onResume = undefined;
    f?.();
  }

  abort(reason: Error): void {
    this.aborted = true;
    this.reason = reason;
  }

  /** Runs `f` now, or once resumed. */
  whenFlowing(f: () => void): void {
    if (this.paused) this.#onResume = f;
    else f();
  }
}

/** A controller for failures delivered before any connection existed. */
export function failedController(reason: Error): DispatchController {
  const c = new LocalTarget();
  c.abort(reason);
  return c;
}
