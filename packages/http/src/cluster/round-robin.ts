// ROUND_ROBIN: plain rotation when all weights are equal, an EDF schedule (smooth weighted
// round robin) when they differ. Both start at a random point (Envoy seeds each load balancer).
// The rotation's position lives in a cell the cluster keeps per hosts source across host set
// refreshes (EDS updates, ejections), as Envoy's round robin keeps its per-source index; the
// EDF schedule is rebuilt from the seed on every refresh, as Envoy's is. While a host is in slow
// start the EDF schedule runs even with equal weights (as Envoy's does), on the slow-start-scaled
// weights, which the cluster updates in place: a host's new weight takes effect when it is next
// re-inserted, as in Envoy.

import { EdfScheduler, prePicks } from './edf-scheduler.ts';
import { type Host, slowStartWeightOf, weightOf } from './host.ts';
import { EMPTY_PICKER, type HostPicker, weightsAreEqual } from './host-picker.ts';

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
  private readonly weightOf: (h: Host) => number;

  constructor(hosts: readonly Host[], seed: number, weight: (h: Host) => number) {
    this.weightOf = weight;
    this.edf = EdfScheduler.create(hosts, weight, prePicks(seed, hosts.map(weight)));
  }

  pick(): Host | undefined {
    return this.edf.pickAndAdd(this.weightOf);
  }
}

/**
 * @param cell the source's rotation position, kept by the caller across refreshes; a new source
 *   starts at `seed % hosts` (default: a fresh cell there)
 * @param slowStart some host of the cluster is in slow start: schedule on `slowStartWeight`
 */
export function roundRobinPicker(
  hosts: readonly Host[],
  seed: number,
  cell: RoundRobinIndex = { index: seed % Math.max(1, hosts.length) },
  slowStart = false,
): HostPicker {
  if (hosts.length === 0) return EMPTY_PICKER;
  if (slowStart) return new WeightedRoundRobin(hosts, seed, slowStartWeightOf);
  return weightsAreEqual(hosts) ? new UnweightedRoundRobin(hosts, cell) : new WeightedRoundRobin(hosts, seed, weightOf);
}
