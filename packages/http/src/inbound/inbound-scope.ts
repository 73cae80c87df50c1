// Inbound scopes: how a tracer makes its server span the active context while the application
// handles a request, without @inboard/http knowing the tracer. A scope receives the start event
// of a request the policy admitted and calls `run` once, synchronously, inside its own context;
// the application's handler (and the rest of the framework's pipeline) runs in there.
//
//   const unregister = registerInboundScope((start, run) => storage.run(spanFor(start), run));
//   subscribe(INBOUND_CHANNEL, (e) => endSpanOf((e as InboundRequestEvent).start));
//
// The end of the request is its InboundRequestEvent on INBOUND_CHANNEL, whose `start` is the very
// object the scope received. Scopes only see requests whose end is published (the channel has
// subscribers when the request arrives), so every start is matched by exactly one end. Requests
// the policy answers never reach the application and no scope sees them. With no scope
// registered the handler is called directly.
//
// A scope also gets the request headers the application will see, and may set trace headers there
// (`traceparent` naming its own server span), as a sidecar forwards its span's context to the
// application it fronts: whatever reads the headers after it (another HTTP instrumentation, the
// application's own propagator) then continues from that span.
import { createLogger } from '@inboard/xds';
import type { InboundStartEvent } from './events.ts';

const log = createLogger('inbound');

/** The request headers the application will see (node:http's `req.headers`: lower-case names). */
export type InboundRequestHeaders = Record<string, string | string[] | undefined>;

/**
 * Runs `run` (exactly once, before returning) inside whatever context it sets up for `start`;
 * may set trace headers in `headers` before it does.
 */
export type InboundScope = (start: InboundStartEvent, run: () => void, headers: InboundRequestHeaders) => void;

// replaced, never mutated: a request runs through the scopes registered when it started
let scopes: readonly InboundScope[] = [];

/** Adds a scope (outermost first, in registration order). Returns the function that removes it. */
export function registerInboundScope(scope: InboundScope): () => void {
  scopes = [...scopes, scope];
  let registered = true;
  return () => {
    if (!registered) return;
    registered = false;
    const i = scopes.indexOf(scope);
    if (i >= 0) scopes = [...scopes.slice(0, i), ...scopes.slice(i + 1)];
  };
}

export function inboundScopes(): readonly InboundScope[] {
  return scopes;
}

/**
 * Runs `handler` inside each scope in turn. Instrumentation must never cost the application its
 * request: a scope that throws or returns before calling `run` is skipped, and a late call of
 * `run` does nothing.
 */
export function runInScopes(
  list: readonly InboundScope[],
  start: InboundStartEvent,
  headers: InboundRequestHeaders,
  handler: () => void,
): void {
  enter(list, 0, start, headers, handler);
}

function enter(
  list: readonly InboundScope[],
  i: number,
  start: InboundStartEvent,
  headers: InboundRequestHeaders,
  handler: () => void,
): void {
  const scope = list[i];
  if (scope === undefined) {
    handler();
    return;
  }
  let entered = false;
  const next = () => {
    if (entered) return;
    entered = true;
    enter(list, i + 1, start, headers, handler);
  };
  try {
    scope(start, next, headers);
  } catch (err) {
    // after `run`, the error may be the application's own: it propagates as without scopes
    if (entered) throw err;
    log.error('inbound scope failed; running the request without it', {
      error: err instanceof Error ? err.message : String(err),
    });
  }
  if (!entered) next();
}
