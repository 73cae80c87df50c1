// A picker chooses one host from a fixed host list (one "hosts source" of a priority level:
// healthy, degraded, all, or one locality's healthy/degraded hosts). Built when the cluster's
// host set or health changes; picked per request.

import type { Host } from './host.ts';

export interface HostPicker {
  /**
   * @param randomHash the random value the load balancer already drew for this pick
   *   (RANDOM uses it for the host index, as Envoy does)
   */
  pick(randomHash: number): Host | undefined;
}

export function weightsAreEqual(hosts: readonly Host[]): boolean {
  if (hosts.length <= 1) return true;
  const w = hosts[0]!.weight;
  for (let i = 1; i < hosts.length; i++) if (hosts[i]!.weight !== w) return false;
  return true;
}

export const EMPTY_PICKER: HostPicker = { pick: () => undefined };
