// CidrRange → IP predicate. IPv4-mapped IPv6 peers (`::ffff:10.1.2.3`, what a dual-stack Node
// server reports for IPv4 clients) match IPv4 ranges, so a policy written for IPv4 holds whether
// the server listens on `0.0.0.0` or `::`. An address of the other family never matches.
import { BlockList, isIP } from 'node:net';
import type { CidrRange } from '@inboard/xds';

export type IpPredicate = (ip: string) => boolean;

export function compileCidr(c: CidrRange): IpPredicate {
  const family = isIP(c.addressPrefix);
  if (family === 0) return () => false;
  const list = new BlockList();
  // BlockList masks the prefix itself, as Envoy's CidrRange does (10.1.2.3/8 is 10.0.0.0/8).
  list.addSubnet(c.addressPrefix, c.prefixLen, family === 4 ? 'ipv4' : 'ipv6');
  return (ip) => {
    const f = isIP(ip);
    return f !== 0 && list.check(ip, f === 4 ? 'ipv4' : 'ipv6');
  };
}
