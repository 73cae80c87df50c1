// Envoy's priority load computation (LoadBalancerBase::recalculatePerPriorityState and
// recalculatePerPriorityPanic), in the same integer arithmetic so the percentages match Envoy's
// exactly:
//   health(P)   = min(100, overprovisioning_factor × healthy / (total − excluded))   (factor in percent)
//   degraded(P) = min(100, overprovisioning_factor × degraded / (total − excluded))
//   normalized  = min(100, Σ health + Σ degraded)
//   healthy load is handed out greedily from P0, each level taking health × 100 / normalized,
//   then degraded load the same way; the rounding remainder goes to the first level with
//   healthy availability (else the first with degraded availability).
// Panic: only when normalized < 100, a level whose (healthy + degraded) share of its non-excluded
// hosts is below the panic threshold balances across all of its hosts (excluded ones included).
// When every level is in panic, load is split by host count (excluded hosts counted, as Envoy's
// recalculateLoadInTotalPanic counts every host).

export interface PriorityLevelCounts {
  /** hosts in the level (any health) */
  readonly total: number;
  readonly healthy: number;
  readonly degraded: number;
  /** Envoy's excluded hosts (EDS DRAINING), part of total; absent → 0 */
  readonly excluded?: number;
  /** this level's own overprovisioning factor (percent), when levels differ (aggregate clusters) */
  readonly overprovisioningFactor?: number;
}

export interface PriorityLoad {
  /** per level, 0..100 */
  readonly health: readonly number[];
  readonly degraded: readonly number[];
  /** per level; together with degradedLoad sums to 100 */
  readonly healthyLoad: readonly number[];
  readonly degradedLoad: readonly number[];
  /** per level: balance across all hosts, ignoring health */
  readonly panic: readonly boolean[];
  readonly totalPanic: boolean;
}

function distribute(
  load: number[],
  availability: readonly number[],
  totalLoad: number,
  normalized: number,
): { first: number; remaining: number } {
  let first = -1;
  for (let i = 0; i < availability.length; i++) {
    const a = availability[i]!;
    if (first < 0 && a > 0) first = i;
    const l = Math.min(totalLoad, Math.floor((a * 100) / normalized));
    load[i] = l;
    totalLoad -= l;
  }
  return { first, remaining: totalLoad };
}

/**
 * @param overprovisioningFactor percent (Envoy default 140)
 * @param panicThreshold percent (Envoy default 50; 0 disables panic)
 */
export function computePriorityLoad(
  levels: readonly PriorityLevelCounts[],
  overprovisioningFactor: number,
  panicThreshold: number,
): PriorityLoad {
  const n = Math.max(1, levels.length);
  const health = new Array<number>(n).fill(0);
  const degraded = new Array<number>(n).fill(0);
  const healthyLoad = new Array<number>(n).fill(0);
  const degradedLoad = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);

  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    const counted = l.total - (l.excluded ?? 0);
    const factor = l.overprovisioningFactor ?? overprovisioningFactor;
    if (counted > 0) {
      health[i] = Math.min(100, Math.floor((factor * l.healthy) / counted));
      degraded[i] = Math.min(100, Math.floor((factor * l.degraded) / counted));
    }
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += health[i]! + degraded[i]!;
  const normalized = Math.min(100, sum);

  if (normalized > 0) {
    const h = distribute(healthyLoad, health, 100, normalized);
    const d = distribute(degradedLoad, degraded, h.remaining, normalized);
    if (d.remaining !== 0) {
      if (h.first !== -1) healthyLoad[h.first]! += d.remaining;
      else degradedLoad[d.first]! += d.remaining;
    }
  }

  const threshold = Math.min(100, Math.max(0, Math.round(panicThreshold)));
  if (threshold === 0 && normalized === 0) {
    // Nothing is available and panic is off: keep the loads summing to 100 on P0; the pick
    // finds no healthy host there and fails with "no healthy upstream".
    healthyLoad[0] = 100;
    return { health, degraded, healthyLoad, degradedLoad, panic, totalPanic: false };
  }

  let totalPanic = true;
  for (let i = 0; i < n; i++) {
    const l = levels[i];
    let inPanic = false;
    if (normalized !== 100) {
      const total = (l?.total ?? 0) - (l?.excluded ?? 0);
      const healthyPct = total === 0 ? 0 : (100 * (l?.healthy ?? 0)) / total;
      const degradedPct = total === 0 ? 0 : (100 * (l?.degraded ?? 0)) / total;
      inPanic = healthyPct + degradedPct < threshold;
    }
    panic[i] = inPanic;
    totalPanic = totalPanic && inPanic;
  }

  if (totalPanic) {
    let totalHosts = 0;
    for (const l of levels) totalHosts += l.total;
    healthyLoad.fill(0);
    degradedLoad.fill(0);
    if (totalHosts === 0) {
      healthyLoad[0] = 100;
    } else {
      let remaining = 100;
      let firstNonEmpty = -1;
      for (let i = 0; i < n; i++) {
        const hosts = levels[i]?.total ?? 0;
        if (firstNonEmpty === -1 && hosts !== 0) firstNonEmpty = i;
        const l = Math.floor((100 * hosts) / totalHosts);
        healthyLoad[i] = l;
        remaining -= l;
      }
      healthyLoad[firstNonEmpty]! += remaining;
    }
  }
  return { health, degraded, healthyLoad, degradedLoad, panic, totalPanic };
}

/**
 * Envoy's choosePriority: `hash % 100 + 1` walks the healthy loads, then the degraded loads.
 * Returns `priority * 2 + (degraded ? 1 : 0)` (no allocation on the pick path).
 * @param hashMod100 the hash (or random value) modulo 100
 */
export function choosePriority(hashMod100: number, load: PriorityLoad): number {
  const h = hashMod100 + 1;
  let acc = 0;
  const hl = load.healthyLoad;
  for (let p = 0; p < hl.length; p++) {
    acc += hl[p]!;
    if (h <= acc) return p * 2;
  }
  const dl = load.degradedLoad;
  for (let p = 0; p < dl.length; p++) {
    acc += dl[p]!;
    if (h <= acc) return p * 2 + 1;
  }
  return 0;
}
