// Which filter chain of an inbound listener serves a connection, by Envoy's FilterChainMatch
// rules: criteria are applied in order (destination port, destination IP, transport protocol,
// application protocols, source IP); at each step the most specific chains that match survive and
// chains that leave the field unset are only a fallback. No survivor: the default filter chain,
// else none (Envoy closes the connection and logs NR). server_names, source_type and source ports
// are rejected when the listener is decoded, so they never reach here.
import type { CidrRange, FilterChainMatch } from '@inboard/xds';
import { compileCidr, type IpPredicate } from '../rbac/cidr-matcher.ts';

export interface ConnectionFacts {
  readonly destinationIp: string;
  readonly destinationPort: number;
  readonly sourceIp: string;
  /** `tls` or `raw_buffer`, as Envoy's tls_inspector names them */
  readonly transportProtocol: 'tls' | 'raw_buffer';
  /** negotiated ALPN, '' when none */
  readonly alpn: string;
}

interface Candidate<C> {
  readonly chain: C;
  readonly match: FilterChainMatch | undefined;
}

// model objects are immutable and live as long as their listener: compile each range once
const compiled = new WeakMap<CidrRange, IpPredicate>();

function contains(r: CidrRange, ip: string): boolean {
  let test = compiled.get(r);
  if (test === undefined) {
    test = compileCidr(r);
    compiled.set(r, test);
  }
  return test(ip);
}

/** Longest prefix among `ranges` containing `ip`; -1 when none does. */
function longestMatch(ranges: readonly CidrRange[], ip: string): number {
  let best = -1;
  for (const r of ranges) if (r.prefixLen > best && contains(r, ip)) best = r.prefixLen;
  return best;
}

/** Keeps the candidates scoring highest (score >= 0 means "specific match", -1 "unset", -2 "no match"). */
function narrow<C>(list: readonly Candidate<C>[], score: (m: FilterChainMatch | undefined) => number): Candidate<C>[] {
  let best = -2;
  for (const c of list) best = Math.max(best, score(c.match));
  if (best === -2) return [];
  return list.filter((c) => score(c.match) === best);
}

export function selectFilterChain<C>(
  chains: readonly C[],
  matchOf: (c: C) => FilterChainMatch | undefined,
  defaultChain: C | undefined,
  conn: ConnectionFacts,
): C | undefined {
  let list: Candidate<C>[] = chains.map((chain) => ({ chain, match: matchOf(chain) }));
  list = narrow(list, (m) => {
    const p = m?.destinationPort;
    if (p === undefined) return -1;
    return p === conn.destinationPort ? 0 : -2;
  });
  list = narrow(list, (m) => {
    if (m === undefined || m.prefixRanges.length === 0) return -1;
    const l = longestMatch(m.prefixRanges, conn.destinationIp);
    return l < 0 ? -2 : l;
  });
  list = narrow(list, (m) => {
    const t = m?.transportProtocol ?? '';
    if (t === '') return -1;
    return t === conn.transportProtocol ? 0 : -2;
  });
  list = narrow(list, (m) => {
    if (m === undefined || m.applicationProtocols.length === 0) return -1;
    return m.applicationProtocols.includes(conn.alpn) ? 0 : -2;
  });
  list = narrow(list, (m) => {
    if (m === undefined || m.sourcePrefixRanges.length === 0) return -1;
    const l = longestMatch(m.sourcePrefixRanges, conn.sourceIp);
    return l < 0 ? -2 : l;
  });
  return list.length > 0 ? list[0]!.chain : defaultChain;
}
