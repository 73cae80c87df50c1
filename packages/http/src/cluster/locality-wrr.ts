// Locality weighted round robin (Envoy's LocalityWrr): a locality's effective weight is its EDS
// weight × min(1, overprovisioning_factor/100 × eligible hosts / (hosts − excluded hosts)), so a
// partly unhealthy locality sheds load to the others while its draining (excluded) hosts do not
// count against it; localities are then picked by EDF on those weights.

import { EdfScheduler, prePicks } from './edf-scheduler.ts';
import type { Host } from './host.ts';

interface LocalityEntry {
  readonly index: number;
  readonly weight: number;
}

const entryWeight = (e: LocalityEntry): number => e.weight;

export function effectiveLocalityWeight(
  weight: number,
  eligible: number,
  hosts: number,
  overprovisioningFactor: number,
  excluded = 0,
): number {
  const counted = hosts - excluded;
  if (counted <= 0) return 0;
  return weight * Math.min(1, (overprovisioningFactor / 100) * (eligible / counted));
}

function excludedCount(hosts: readonly Host[]): number {
  let n = 0;
  for (const h of hosts) if (h.excluded) n++;
  return n;
}

export class LocalityScheduler {
  private readonly edf: EdfScheduler<LocalityEntry>;

  private constructor(edf: EdfScheduler<LocalityEntry>) {
    this.edf = edf;
  }

  /**
   * Returns undefined when no locality has a positive effective weight (then the caller falls back
   * to balancing over the priority's hosts without locality weighting, as Envoy does).
   */
  static build(
    eligiblePerLocality: readonly (readonly Host[])[],
    hostsPerLocality: readonly (readonly Host[])[],
    localityWeights: readonly number[],
    overprovisioningFactor: number,
    seed: number,
  ): LocalityScheduler | undefined {
    const entries: LocalityEntry[] = [];
    for (let i = 0; i < hostsPerLocality.length; i++) {
      const w = effectiveLocalityWeight(
        localityWeights[i] ?? 0,
        eligiblePerLocality[i]?.length ?? 0,
        hostsPerLocality[i]!.length,
        overprovisioningFactor,
        excludedCount(hostsPerLocality[i]!),
      );
      if (w > 0) entries.push({ index: i, weight: w });
    }
    if (entries.length === 0) return undefined;
    return new LocalityScheduler(EdfScheduler.create(entries, entryWeight, prePicks(seed, entries.map(entryWeight))));
  }

  /** The chosen locality index. */
  choose(): number {
    return this.edf.pickAndAdd(entryWeight)!.index;
  }
}
