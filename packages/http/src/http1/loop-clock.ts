// The event-loop clocks of the mesh's HTTP/1.1 pools: a coarse time that a shared sweep keeps
// (timeouts and idle connections without a timer each), and a count of the loop's turns (when a
// connection may carry its next request).

/** What the sweep visits: a pool, with the time of the sweep. */
export interface Swept {
  sweep(now: number): void;
}

// One coarse clock for every pool's timeouts and idle connections: a request sets a deadline
// (a number) instead of a timer; a sweep once a second expires what is due, as undici's own
// timers are coarse for long timeouts. The clock is at most a sweep behind, so a deadline is set
// a sweep further out: a timeout fires up to two seconds late, never early. Shorter timeouts get
// a timer of their own.
export const SWEEP_MS = 1000;
const live = new Set<Swept>();
let sweeper: ReturnType<typeof setInterval> | undefined;
/** performance.now() as of the last sweep (or the first watch) */
export let coarseNow = performance.now();

/** `pool` is swept once a second while it has connections. */
export function watch(pool: Swept): void {
  live.add(pool);
  if (sweeper === undefined) {
    coarseNow = performance.now();
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
}

export function unwatch(pool: Swept): void {
  live.delete(pool);
  if (live.size === 0 && sweeper !== undefined) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

function sweep(): void {
  coarseNow = performance.now();
  for (const pool of live) pool.sweep(coarseNow);
}

// A connection carries its next request only once the event loop has polled for I/O after its
// response, as undici validates an idle socket (GHSA-35p6-xmwp-9g52): a FIN, RST or stray bytes
// a server sent right after a response it did not mark `Connection: close` are read first, and
// the request goes to a fresh connection instead of failing with "other side closed". One shared
// immediate per loop iteration counts the turns (check phases).
export let turn = 0;
/** turns still to count (only while a connection waits to settle) */
let turnsToCount = 0;

function nextTurn(): void {
  turn++;
  if (--turnsToCount > 0) setImmediate(nextTurn);
}

/** The current turn; the two after it are counted as they come. */
export function thisTurn(): number {
  if (turnsToCount === 0) setImmediate(nextTurn);
  turnsToCount = 2;
  return turn;
}
