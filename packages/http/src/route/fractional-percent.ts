// ProtobufPercentHelper::evaluateFractionalPercent: strict `r % D < N` (the proto comment says
// `<=`; Envoy's code, which we follow, uses `<`).
import type { FractionalPercent } from '@inboard/xds';

export function fractionalPercentHit(percent: FractionalPercent, random: number): boolean {
  return random % percent.denominator < percent.numerator;
}
