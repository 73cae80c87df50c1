// LEAST_REQUEST: with equal weights, Envoy samples `choice_count` hosts at random (with
// replacement) and keeps the one with the fewest active requests (power of two choices by
// default; the first sampled wins ties). With unequal weights it runs an EDF schedule where a
// host's weight is `weight / (active_requests + 1) ^ active_request_bias`, re-evaluated each
// time the host is re-inserted after a pick. While a host is in slow start the EDF schedule runs
// even with equal weights (as Envoy's does), with `weight` scaled by the host's slow start factor
// (kept up to date by the cluster, so no pick computes it).

import { EdfScheduler, prePicks } from './edf-scheduler.ts';
import { type Host, slowStartWeightOf, weightOf } from './host.ts';
import { EMPTY_PICKER, type HostPicker, weightsAreEqual } from './host-picker.ts';
import type { RandomSource } from './random-source.ts';

class ChoicesLeastRequest implements HostPicker {
  private readonly hosts: readonly Host[];
  private readonly random: RandomSource;
  private readonly choiceCount: number;

  constructor(hosts: readonly Host[], random: RandomSource, choiceCount: number) {
    this.hosts = hosts;
    this.random = random;
    this.choiceCount = choiceCount;
  }

  pick(): Host | undefined {
    const hosts = this.hosts;
    let candidate = hosts[this.random() % hosts.length]!;
    for (let i = 1; i < this.choiceCount; i++) {
      const sampled = hosts[this.random() % hosts.length]!;
      if (sampled.activeRequests < candidate.activeRequests) candidate = sampled;
    }
    return candidate;
  }
}

class WeightedLeastRequest implements HostPicker {
  private readonly edf: EdfScheduler<Host>;
  private readonly weightOf: (h: Host) => number;

  constructor(hosts: readonly Host[], bias: number, seed: number, slowStart: boolean) {
    const base = slowStart ? slowStartWeightOf : weightOf;
    this.weightOf =
      bias === 0
        ? base
        : bias === 1
          ? (h) => base(h) / (h.activeRequests + 1)
          : (h) => base(h) / (h.activeRequests + 1) ** bias;
    this.edf = EdfScheduler.create(hosts, this.weightOf, prePicks(seed, hosts.map(base)));
  }

  pick(): Host | undefined {
    return this.edf.pickAndAdd(this.weightOf);
  }
}

export interface LeastRequestOptions {
  /** choice_count, default 2, at least 2 */
  readonly choiceCount: number;
  /** active_request_bias, default 1.0 */
  readonly activeRequestBias: number;
}

/** @param slowStart some host of the cluster is in slow start: schedule on `slowStartWeight` */
export function leastRequestPicker(
  hosts: readonly Host[],
  random: RandomSource,
  seed: number,
  options: LeastRequestOptions,
  slowStart = false,
): HostPicker {
  if (hosts.length === 0) return EMPTY_PICKER;
  if (!slowStart && weightsAreEqual(hosts)) {
    return new ChoicesLeastRequest(hosts, random, Math.max(2, options.choiceCount));
  }
  return new WeightedLeastRequest(hosts, options.activeRequestBias, seed, slowStart);
}
