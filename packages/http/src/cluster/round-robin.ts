// ROUND_ROBIN: plain rotation when all weights are equal, an EDF schedule (smooth weighted
// round robin) when they differ. Both start at a random point (Envoy seeds each load balancer).

import { EdfScheduler, prePicks } from './edf-scheduler.ts';
import type { Host } from './host.ts';
import { EMPTY_PICKER, type HostPicker, weightsAreEqual } from './host-picker.ts';

const weightOf = (h: Host): number => h.weight;

class UnweightedRoundRobin implements HostPicker {
  private readonly hosts: readonly Host[];
  private index: number;

  constructor(hosts: readonly Host[], seed: number) {
    this.hosts = hosts;
    this.index = seed % hosts.length;
  }

  pick(): Host | undefined {
    const h = this.hosts[this.index];
    this.index = this.index + 1 === this.hosts.length ? 0 : this.index + 1;
    return h;
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

export function roundRobinPicker(hosts: readonly Host[], seed: number): HostPicker {
  if (hosts.length === 0) return EMPTY_PICKER;
  return weightsAreEqual(hosts) ? new UnweightedRoundRobin(hosts, seed) : new WeightedRoundRobin(hosts, seed);
}
