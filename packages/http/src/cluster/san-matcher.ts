// Server identity for upstream TLS, as Envoy's default certificate validator checks it: the chain
// has verified against the cluster's CA, then, when match_subject_alt_names is set, one of the
// server certificate's URI or DNS SANs must satisfy one of the matchers. There is no hostname
// check: Istio certificates carry only a SPIFFE URI SAN, and the connection goes to an IP.
import type { PeerCertificate } from 'node:tls';
import type { StringMatcher } from '@inboard/xds';
import { UpstreamSanMismatchError } from '../dispatch/errors.ts';
import { parseSubjectAltNames } from '../inbound/peer-identity.ts';
import { asciiLower } from '../route/ascii-case.ts';
import { compileStringMatcher, type StringPredicate } from '../route/string-matcher.ts';

/** Node's `checkServerIdentity` signature: an Error rejects the handshake. */
export type ServerIdentityCheck = (hostname: string, cert: PeerCertificate) => Error | undefined;

/**
 * Envoy's dnsNameMatch: an exact matcher also accepts a DNS SAN wildcard covering it
 * (`*.example.com` for `api.example.com`, one label), case-insensitively.
 */
function dnsNameMatch(name: string, san: string): boolean {
  const n = asciiLower(name);
  const p = asciiLower(san);
  if (n === p) return true;
  if (p.length < 2 || !p.startsWith('*.') || n.length <= p.length - 1) return false;
  const off = n.length - p.length + 1;
  return !n.slice(0, off).includes('.') && n.slice(off) === p.slice(1);
}

interface CompiledSanMatcher {
  readonly uri: StringPredicate;
  readonly dns: StringPredicate;
}

function compile(m: StringMatcher): CompiledSanMatcher {
  const match = compileStringMatcher(m);
  if (m.kind !== 'exact') return { uri: match, dns: match };
  const want = m.value;
  return { uri: match, dns: (san) => match(san) || dnsNameMatch(want, san) };
}

/**
 * The checkServerIdentity for a context's match_subject_alt_names (empty: any certificate the
 * CA verified). Throws Re2SyntaxError for a regex that does not compile.
 */
export function serverIdentityCheck(matchers: readonly StringMatcher[]): ServerIdentityCheck {
  if (matchers.length === 0) return () => undefined;
  const compiled = matchers.map(compile);
  return (_hostname, cert) => {
    const { uri, dns } = parseSubjectAltNames(cert.subjectaltname);
    for (const m of compiled) {
      for (const san of uri) if (m.uri(san)) return undefined;
      for (const san of dns) if (m.dns(san)) return undefined;
    }
    return new UpstreamSanMismatchError([...uri.map((s) => `URI:${s}`), ...dns.map((s) => `DNS:${s}`)]);
  };
}
