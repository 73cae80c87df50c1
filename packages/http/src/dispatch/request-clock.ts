// The clock of the request path (route and per-try timeouts, retry backoff, fault delays). Unlike
// @inboard/xds's systemClock its timers keep the event loop alive: a request waiting out a
// backoff with no socket open must still complete.
import type { Clock } from '@inboard/xds';

export const requestClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};
