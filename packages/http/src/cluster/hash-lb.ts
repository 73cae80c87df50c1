// Common shape of the consistent-hash tables (ring hash, maglev).

import type { Host } from './host.ts';

export interface HashingTable {
  /**
   * @param hi,lo the 64-bit request hash
   * @param attempt 0 for the first selection; > 0 when a retry host predicate rejected the
   *   previous choice and an alternate host is wanted
   */
  chooseHost(hi: number, lo: number, attempt: number): Host | undefined;
}

export const EMPTY_TABLE: HashingTable = { chooseHost: () => undefined };
