// Envoy's slow start (round robin and least request; Istio `warmupDurationSecs` / `warmup`): while
// a healthy host is younger than the slow start window, its load balancing weight is scaled by
// `max(min_weight, time_factor ^ (1 / aggression))`, where time_factor is the host's age in whole
// milliseconds (at least 1) over the window in milliseconds. Envoy evaluates this each time the
// EDF scheduler re-inserts a host; Inboard evaluates it on a timer (see slowStartRefreshMs) so a
// pick never computes a power.

import type { SlowStartConfig } from '@inboard/xds';

/**
 * The factor a host `ageMs` into its slow start gets: 1 once the window has passed.
 * (Envoy: EdfLoadBalancerBase::applySlowStartFactor.)
 */
export function slowStartFactor(config: SlowStartConfig, ageMs: number): number {
  const window = config.windowMs;
  if (!(ageMs < window)) return 1;
  // Envoy counts whole milliseconds of the host's time in the healthy state, at least one
  const timeFactor = Math.max(1, Math.floor(ageMs)) / window;
  const a = config.aggression;
  const scaled = a === 1 ? timeFactor : timeFactor ** (1 / a);
  return Math.max(scaled, config.minWeightFraction);
}

/**
 * How often the cluster recomputes slow start weights while a host is in its window: a
 * hundredth of the window (so a linear ramp moves by at most one percentage point between
 * refreshes), at least 10 ms and at most 1 s.
 */
export function slowStartRefreshMs(config: SlowStartConfig): number {
  return Math.min(1000, Math.max(10, Math.ceil(config.windowMs / 100)));
}
