// The fault filter's per-request decisions (FaultFilter::decodeHeaders), as a small state machine
// with an injected random source:
//   1. no fault applies unless upstream_cluster, downstream_nodes and the `headers` matchers all
//      match;
//   2. a delay is decided first (its own random draw against the percentage, then the fixed or
//      header-given duration; only > 0 ms counts) and flags the request DI;
//   3. the abort is decided after the delay has elapsed (afterDelay()), or at once when there is
//      no delay: its own random draw, then the HTTP status, else the gRPC status (sent as HTTP
//      200 + grpc-status); it flags the request FI;
//   4. each injection first takes a slot under max_active_faults (one slot per request, however
//      many faults); when none is free the fault is skipped and counted as an overflow. A delay
//      not followed by an abort gives its slot back when it ends; otherwise release() does, when
//      the request ends.
import type { FractionalPercent } from '@inboard/xds';
import { parseUint32, parseUint64 } from '../route/decimal.ts';
import { fractionalPercentHit } from '../route/fractional-percent.ts';
import type { RandomSource } from '../route/random.ts';
import { firstHeaderValue, joinedHeaderValue, type RouteRequest } from '../route/route-request.ts';
import type { ActiveFaults } from './active-faults.ts';
import type { CompiledFault } from './compiled-fault.ts';
import {
  DOWNSTREAM_SERVICE_NODE,
  FAULT_ABORT_GRPC_REQUEST,
  FAULT_ABORT_REQUEST,
  FAULT_ABORT_REQUEST_PERCENTAGE,
  FAULT_DELAY_REQUEST,
  FAULT_DELAY_REQUEST_PERCENTAGE,
} from './fault-headers.ts';

export interface FaultAbortDecision {
  /** the local reply's status; 200 for a gRPC abort */
  readonly httpStatus: number;
  /** grpc-status of a gRPC abort */
  readonly grpcStatus: number | undefined;
}

/** Envoy response flags a fault sets: DI (delay injected), FI (fault injected: abort). */
export type FaultResponseFlag = 'DI' | 'FI';

export interface FaultContext {
  readonly random: RandomSource;
  readonly faults: ActiveFaults;
  /** the cluster the route chose (a weighted cluster's own name); checked against upstream_cluster */
  readonly clusterName?: string | undefined;
}

function header(req: RouteRequest, name: string): string | undefined {
  return firstHeaderValue(req.headers(name));
}

/** HeaderPercentageProvider: the header's uint32, capped at the configured numerator. */
function headerPercentage(req: RouteRequest, name: string, configured: FractionalPercent): FractionalPercent {
  const raw = header(req, name);
  if (raw === undefined) return configured;
  const n = parseUint32(raw);
  if (n === undefined) return configured;
  return { numerator: Math.min(n, configured.numerator), denominator: configured.denominator };
}

function delayDuration(f: CompiledFault, req: RouteRequest, random: RandomSource): number | undefined {
  const delay = f.fault.delay;
  if (delay === undefined) return undefined;
  const percent = delay.headerDelay
    ? headerPercentage(req, FAULT_DELAY_REQUEST_PERCENTAGE, delay.percentage)
    : delay.percentage;
  if (!fractionalPercentHit(percent, random())) return undefined;
  let ms: number | undefined;
  if (delay.headerDelay) {
    const raw = header(req, FAULT_DELAY_REQUEST);
    ms = raw === undefined ? undefined : parseUint64(raw);
  } else if (delay.fixedDelay !== undefined) {
    ms = Math.floor(delay.fixedDelay);
  }
  return ms !== undefined && ms > 0 ? ms : undefined;
}

function abortStatus(f: CompiledFault, req: RouteRequest, random: RandomSource): FaultAbortDecision | undefined {
  const abort = f.fault.abort;
  if (abort === undefined) return undefined;
  const percent = abort.headerAbort
    ? headerPercentage(req, FAULT_ABORT_REQUEST_PERCENTAGE, abort.percentage)
    : abort.percentage;
  if (!fractionalPercentHit(percent, random())) return undefined;
  let http: number | undefined;
  let grpc: number | undefined;
  if (abort.headerAbort) {
    const rawHttp = header(req, FAULT_ABORT_REQUEST);
    const code = rawHttp === undefined ? undefined : parseUint64(rawHttp);
    if (code !== undefined && code >= 200 && code < 600) http = code;
    if (http === undefined) {
      const rawGrpc = header(req, FAULT_ABORT_GRPC_REQUEST);
      grpc = rawGrpc === undefined ? undefined : parseUint64(rawGrpc);
    }
  } else {
    http = abort.httpStatus;
    grpc = abort.grpcStatus;
  }
  if (http !== undefined) return { httpStatus: http, grpcStatus: undefined };
  if (grpc !== undefined) return { httpStatus: 200, grpcStatus: grpc };
  return undefined;
}

/** One request's fault state. Created by decideFault() only when a fault was injected. */
export class FaultInjection {
  /** inject this delay (ms) before forwarding, then call afterDelay() */
  readonly delayMs: number | undefined;
  #abort: FaultAbortDecision | undefined;
  #pendingAbort: boolean;
  #holdsSlot = true;
  readonly #fault: CompiledFault;
  readonly #req: RouteRequest;
  readonly #ctx: FaultContext;

  /** @internal */
  constructor(
    fault: CompiledFault,
    req: RouteRequest,
    ctx: FaultContext,
    delayMs: number | undefined,
    abort: FaultAbortDecision | undefined,
  ) {
    this.#fault = fault;
    this.#req = req;
    this.#ctx = ctx;
    this.delayMs = delayMs;
    this.#abort = abort;
    this.#pendingAbort = delayMs !== undefined;
  }

  /** The abort to reply with: decided at once without a delay, by afterDelay() after one. */
  get abort(): FaultAbortDecision | undefined {
    return this.#abort;
  }

  get responseFlags(): readonly FaultResponseFlag[] {
    if (this.delayMs !== undefined) return this.#abort !== undefined ? ['DI', 'FI'] : ['DI'];
    return this.#abort !== undefined ? ['FI'] : [];
  }

  /**
   * Call once the delay has elapsed: decides whether the delayed request is now aborted
   * (FaultFilter::postDelayInjection). Without an abort the request's fault slot is given back.
   */
  afterDelay(): FaultAbortDecision | undefined {
    if (!this.#pendingAbort) return this.#abort;
    this.#pendingAbort = false;
    this.#abort = abortStatus(this.#fault, this.#req, this.#ctx.random);
    if (this.#abort !== undefined) this.#ctx.faults.abortsInjected++;
    else this.release();
    return this.#abort;
  }

  /** Call when the request ends (FaultFilter::onDestroy). Idempotent. */
  release(): void {
    if (!this.#holdsSlot) return;
    this.#holdsSlot = false;
    this.#ctx.faults.active--;
  }
}

function takeSlot(f: CompiledFault, faults: ActiveFaults): boolean {
  if (faults.active >= f.maxActiveFaults) {
    faults.overflows++;
    return false;
  }
  faults.active++;
  return true;
}

/**
 * Decides the fault for a request under `fault` (the most specific per-route override, else the
 * HCM filter's config). undefined: nothing injected, forward as usual.
 */
export function decideFault(fault: CompiledFault, req: RouteRequest, ctx: FaultContext): FaultInjection | undefined {
  const f = fault.fault;
  if (f.upstreamCluster !== '' && ctx.clusterName !== f.upstreamCluster) return undefined;
  if (fault.downstreamNodes.size > 0) {
    const node = joinedHeaderValue(req.headers(DOWNSTREAM_SERVICE_NODE));
    if (node === undefined || !fault.downstreamNodes.has(node)) return undefined;
  }
  if (!fault.headersMatch(req)) return undefined;

  const delayMs = delayDuration(fault, req, ctx.random);
  if (delayMs !== undefined && takeSlot(fault, ctx.faults)) {
    ctx.faults.delaysInjected++;
    return new FaultInjection(fault, req, ctx, delayMs, undefined);
  }
  const abort = abortStatus(fault, req, ctx.random);
  if (abort !== undefined && takeSlot(fault, ctx.faults)) {
    ctx.faults.abortsInjected++;
    return new FaultInjection(fault, req, ctx, undefined, abort);
  }
  return undefined;
}

/** The fault config that applies: the most specific per-route override, else the filter's own. */
export function selectFault(
  filterLevel: CompiledFault | undefined,
  routeOverride: CompiledFault | undefined,
): CompiledFault | undefined {
  return routeOverride ?? filterLevel;
}
