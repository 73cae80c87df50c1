// Circuit breakers of one cluster, per routing priority (Envoy's ResourceManagerImpl): plain
// counters compared with a maximum. An acquire either succeeds or reports overflow (the only
// wait is the bounded pending queue of requests waiting for a connection), and the caller fails the request fast with 503 and response flag UO (Envoy also
// sets `x-envoy-overloaded: true` on that local reply).
//
// How Envoy's HTTP pools use them: a new connection needs `connections` (if full, the request
// waits as pending instead of failing), except that a host whose pool has no connection at all
// always opens one; a request waiting for a connection needs `pendingRequests` (overflow → UO);
// a request needs `requests` when it is attached to a connection (overflow → UO), so a waiting
// request holds no `requests` unit; a scheduled retry needs `retries` (overflow → the retry is
// skipped, flag UO, and the last failure is returned).

import type { CircuitBreakerThresholds } from '@inboard/xds';
import type { Host } from './host.ts';

export type RoutingPriority = 'DEFAULT' | 'HIGH';

export class ResourceLimit {
  // A fixed limit is a plain number, so the per-request check is one comparison; only a retry
  // budget needs a function.
  readonly #fixed: number;
  readonly #fn: (() => number) | undefined;
  count = 0;

  constructor(limit: number | (() => number)) {
    if (typeof limit === 'number') {
      this.#fixed = limit;
      this.#fn = undefined;
    } else {
      this.#fixed = 0;
      this.#fn = limit;
    }
  }

  get max(): number {
    return this.#fn === undefined ? this.#fixed : this.#fn();
  }

  get remaining(): number {
    return Math.max(0, this.max - this.count);
  }

  canCreate(): boolean {
    return this.count < this.max;
  }

  /** Takes one unit; false (and nothing taken) on overflow. */
  tryAcquire(): boolean {
    if (this.count >= this.max) return false;
    this.count++;
    return true;
  }

  /** Takes one unit regardless of the limit (after a canCreate() check made elsewhere). */
  acquire(): void {
    this.count++;
  }

  release(): void {
    if (this.count > 0) this.count--;
  }
}

/** CircuitBreakers.Thresholds.RetryBudget (the cluster's, or an embedder's for a cluster without one). */
export interface RetryBudget {
  /** percent of active + pending requests that may be retries, default 20 */
  readonly budgetPercent?: number;
  /** floor on concurrent retries, default 3 */
  readonly minRetryConcurrency?: number;
}

/** A request parked until a connection of its cluster frees up. */
export interface PendingRequest {
  /** the host the request goes to */
  readonly host: Host;
  /** a connection is free: send the request (the `connections` unit is already taken) */
  proceed(): void;
}

export class PriorityCircuitBreakers {
  readonly priority: RoutingPriority;
  readonly connections: ResourceLimit;
  readonly pendingRequests: ResourceLimit;
  readonly requests: ResourceLimit;
  readonly retries: ResourceLimit;
  /**
   * Requests waiting for a connection (HTTP/1.1, `connections` full), oldest first; each holds
   * a `pendingRequests` unit. The limits layer owns the entries.
   */
  readonly pendingQueue: PendingRequest[] = [];
  /** which of a host's connection cells counts for these breakers (one per priority) */
  readonly slot: 0 | 1;

  constructor(priority: RoutingPriority, t: Omit<CircuitBreakerThresholds, 'priority'>, budget?: RetryBudget) {
    this.priority = priority;
    this.slot = priority === 'HIGH' ? 1 : 0;
    this.connections = new ResourceLimit(t.maxConnections);
    this.pendingRequests = new ResourceLimit(t.maxPendingRequests);
    this.requests = new ResourceLimit(t.maxRequests);
    if (budget === undefined) {
      this.retries = new ResourceLimit(t.maxRetries);
    } else {
      // A budget replaces max_retries: a share of the requests in flight, never below the floor.
      const percent = budget.budgetPercent ?? 20;
      const floor = budget.minRetryConcurrency ?? 3;
      this.retries = new ResourceLimit(() =>
        Math.max(Math.floor((percent / 100) * (this.requests.count + this.pendingRequests.count)), floor),
      );
    }
  }
}

/**
 * `connections` units one host holds against one set of breakers: a host with none may always
 * take one. The cell lives on the Host (a field read instead of a map lookup by address, twice
 * per request); it counts for the breakers that own it, and a cluster update's new breakers take
 * it over at 0, as their own counts start at 0. (Requests still parked with the old breakers may
 * take it back as they proceed: at worst a host gets one connection over the limit while both
 * sets of breakers have traffic.)
 */
export class HostConnections {
  owner: PriorityCircuitBreakers | undefined = undefined;
  held = 0;
}

function cellOf(b: PriorityCircuitBreakers, host: Host): HostConnections {
  const cell = host.connections[b.slot]!;
  if (cell.owner !== b) {
    cell.owner = b;
    cell.held = 0;
  }
  return cell;
}

/**
 * Takes a `connections` unit for an HTTP/1.1 attempt to `host`: within the limit, or over it
 * when the host holds none (Envoy's pool always opens a first connection to a host, so pending
 * requests never queue where nothing can serve them). False: the attempt must wait.
 */
export function takeConnection(b: PriorityCircuitBreakers, host: Host): boolean {
  const cell = cellOf(b, host);
  if (!b.connections.tryAcquire()) {
    if (cell.held > 0) return false;
    b.connections.acquire();
  }
  cell.held++;
  return true;
}

/** Moves a held `connections` unit's per-host count (the unit itself stays taken). */
export function moveConnection(b: PriorityCircuitBreakers, from: Host, to: Host): void {
  if (from === to) return;
  dropHostConnection(b, from);
  cellOf(b, to).held++;
}

/** Gives back a `connections` unit held for `host`. */
export function releaseConnection(b: PriorityCircuitBreakers, host: Host): void {
  dropHostConnection(b, host);
  b.connections.release();
}

function dropHostConnection(b: PriorityCircuitBreakers, host: Host): void {
  const cell = host.connections[b.slot]!;
  if (cell.owner === b && cell.held > 0) cell.held--;
}

/** Envoy's defaults when a priority has no Thresholds entry. */
export const DEFAULT_THRESHOLDS: Omit<CircuitBreakerThresholds, 'priority'> = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
};

export class CircuitBreakers {
  readonly default: PriorityCircuitBreakers;
  readonly high: PriorityCircuitBreakers;

  constructor(
    thresholds: readonly CircuitBreakerThresholds[],
    retryBudgets?: Partial<Record<RoutingPriority, RetryBudget>>,
  ) {
    // The first Thresholds entry for a priority wins.
    const find = (p: RoutingPriority) => thresholds.find((t) => t.priority === p) ?? DEFAULT_THRESHOLDS;
    // The cluster's retry_budget, else an embedder's budget, else max_retries.
    const d = find('DEFAULT');
    const h = find('HIGH');
    this.default = new PriorityCircuitBreakers('DEFAULT', d, d.retryBudget ?? retryBudgets?.DEFAULT);
    this.high = new PriorityCircuitBreakers('HIGH', h, h.retryBudget ?? retryBudgets?.HIGH);
  }

  forPriority(priority: RoutingPriority): PriorityCircuitBreakers {
    return priority === 'HIGH' ? this.high : this.default;
  }
}
