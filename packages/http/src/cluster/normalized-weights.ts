// Host weights normalized to sum to 1 for the consistent-hash tables (Envoy's
// ThreadAwareLoadBalancerBase normalizeWeights): plain host weights, or — with locality weighted
// balancing — each locality's raw EDS weight share split across its hosts by host weight.
// Localities with weight 0 (or no weight) contribute no hosts.

import type { Host } from './host.ts';

export interface NormalizedWeights {
  readonly hosts: Host[];
  readonly weights: number[];
  min: number;
  max: number;
}

function addHosts(out: NormalizedWeights, hosts: readonly Host[], share: number): void {
  let sum = 0;
  for (const h of hosts) sum += h.weight;
  for (const h of hosts) {
    const w = (h.weight * share) / sum;
    out.hosts.push(h);
    out.weights.push(w);
    if (w < out.min) out.min = w;
    if (w > out.max) out.max = w;
  }
}

export function normalizeWeights(
  hosts: readonly Host[],
  perLocality: readonly (readonly Host[])[] | undefined,
  localityWeights: readonly number[] | undefined,
): NormalizedWeights {
  const out: NormalizedWeights = { hosts: [], weights: [], min: 1, max: 0 };
  if (perLocality === undefined || localityWeights === undefined || localityWeights.length === 0) {
    addHosts(out, hosts, 1);
    return out;
  }
  let sum = 0;
  for (const w of localityWeights) sum += w;
  if (sum === 0) return out;
  for (let i = 0; i < localityWeights.length; i++) {
    const w = localityWeights[i]!;
    if (w !== 0) addHosts(out, perLocality[i] ?? [], w / sum);
  }
  return out;
}
