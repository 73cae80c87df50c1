// The decision core never calls Math.random directly: every random draw goes through a
// RandomSource so tests can replay exact sequences.

/**
 * Returns a uniformly distributed non-negative integer: 32 bits or more (up to 2^53, like the
 * route module's source) both work, since the core only takes it modulo small numbers or keeps
 * its low 32 bits.
 */
export type RandomSource = () => number;

/** The production source. */
export const mathRandom: RandomSource = () => (Math.random() * 4294967296) >>> 0;

/**
 * A small deterministic generator (mulberry32) for tests and benchmarks. Not for anything that
 * needs unpredictability.
 */
export function seededRandom(seed: number): RandomSource {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** `random() % 100 < percent`: Envoy's runtime featureEnabled() check for a percentage. */
export function percentEnabled(random: RandomSource, percent: number): boolean {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  return random() % 100 < percent;
}
