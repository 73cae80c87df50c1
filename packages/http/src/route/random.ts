// The injected random source of the decision core. Envoy draws one uint64 per stream and uses
// it for runtime_fraction route matches and the weighted-cluster pick; callers that want the
// same correlation pass one value to both.

/** Returns a non-negative integer below 2^53. */
export type RandomSource = () => number;

const TWO_POW_53 = 2 ** 53;

export const defaultRandom: RandomSource = () => Math.floor(Math.random() * TWO_POW_53);
