// RANDOM: the same random value that chose the priority picks the host (`random % n`), as in
// Envoy's RandomLoadBalancer.

import type { Host } from './host.ts';
import { EMPTY_PICKER, type HostPicker } from './host-picker.ts';

class RandomPicker implements HostPicker {
  private readonly hosts: readonly Host[];

  constructor(hosts: readonly Host[]) {
    this.hosts = hosts;
  }

  pick(randomHash: number): Host | undefined {
    return this.hosts[randomHash % this.hosts.length];
  }
}

export function randomPicker(hosts: readonly Host[]): HostPicker {
  return hosts.length === 0 ? EMPTY_PICKER : new RandomPicker(hosts);
}
