// ROUND_ROBIN: plain rotation when all weights are equal, an EDF schedule (smooth weighted
// round robin) when they differ. Both start at a random point (Envoy seeds each load balancer).
// The rotation's position lives in a cell the cluster keeps per hosts source across host set
// refreshes (EDS updates, ejections), as Envoy's round robin keeps its per-source index; the
// EDF schedule is rebuilt from the seed on every refresh, as Envoy's is.

import { EdfScheduler, prePicks } from './edf-scheduler.ts';
import type { Host } from './host.ts';
import { EMPTY_PICKER, type HostPicker, weightsAreEqual } from './host-picker.ts';

const weightOf = (h: Host): number => h.weight;

/** The position of one hosts source's rotation, taken modulo the current host count when it changed. */
export interface RoundRobinIndex {
  index: number;
}

class UnweightedRoundRobin implements HostPicker {
  private readonly hosts: readonly Host[];
  private readonly cell: RoundRobinIndex;

  constructor(hosts: readonly Host[], cell: RoundRobinIndex) {
    this.hosts = hosts;
    this.cell = cell;
  }

  pick(): Host | undefined {
    const n = this.hosts.length;
    let i = this.cell.index;
    // the cell may come from a larger host set: fold it in once, then count within [0, n)
    if (i >= n) i %= n;
    this.cell.index = i + 1 === n ? 0 : i + 1;
    return this.hosts[i];
  }
}

class WeightedRoundRobin implements HostPicker {
  private readonly edf: EdfScheduler<Host>;

  constructor(hosts: readonly Host[], seed: number) {
    this.edf = EdfScheduler.create(hosts, weightOf, prePicks(seed, hosts.map(weightOf)));
  }

  pick(): Host | undefined {
    return this.edf.pickAndAdd(weightOf);
  }
}

/**
 * @param cell the source's rotation position, kept by the caller across refreshes; a new source
 *   starts at `seed % hosts` (default: a fresh cell there)
 */
export function roundRobinPicker(
  hosts: readonly Host[],
  seed: number,
  cell: RoundRobinIndex = { index: seed % Math.max(1, hosts.length) },
): HostPicker {
  if (hosts.length === 0) return EMPTY_PICKER;
  return weightsAreEqual(hosts) ? new UnweightedRoundRobin(hosts, cell) : new WeightedRoundRobin(hosts, seed);
}
