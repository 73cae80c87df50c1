// Server identity for upstream TLS, as Envoy's default certificate validator checks it once the
// chain has verified against the cluster's CA:
// - match_subject_alt_names: one of the server certificate's SANs must satisfy one of the
//   matchers. Envoy turns each (untyped) matcher into one per SAN type it reads, DNS, URI, email
//   and IP address; for a DNS SAN an exact matcher follows DNS rules (one-label wildcard, case).
// - auto_san_validation: the request's host (its SAN list override) must equal one of the SANs,
//   again with DNS rules for a DNS SAN and an exact comparison for every other type (an IP host
//   against the certificate's IP SANs).
// There is no hostname check otherwise: Istio certificates carry only a SPIFFE URI SAN, and the
// connection goes to an IP.
import { isIPv4 } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import type { StringMatcher } from '@inboard/xds';
import { UpstreamSanMismatchError } from '../dispatch/errors.ts';
import { parseSubjectAltNames } from '../inbound/peer-identity.ts';
import { asciiLower } from '../route/ascii-case.ts';
import { compileStringMatcher, type StringPredicate } from '../route/string-matcher.ts';

/** Node's `checkServerIdentity` signature: an Error rejects the handshake. */
export type ServerIdentityCheck = (hostname: string, cert: PeerCertificate) => Error | undefined;

/**
 * Envoy's dnsNameMatch: a name equals a DNS SAN, or a DNS SAN wildcard covers it (`*.example.com`
 * for `api.example.com`, one label), case-insensitively.
 */
function dnsNameMatch(name: string, san: string): boolean {
  const n = asciiLower(name);
  const p = asciiLower(san);
  if (n === p) return true;
  if (p.length < 2 || !p.startsWith('*.') || n.length <= p.length - 1) return false;
  const off = n.length - p.length + 1;
  return !n.slice(0, off).includes('.') && n.slice(off) === p.slice(1);
}

/**
 * An IP SAN as Envoy writes it (inet_ntop): Node prints IPv6 as eight upper-case groups
 * (`0:0:0:0:0:0:0:1`); Envoy compresses the longest run of zero groups (`::1`), in lower case,
 * with an IPv4-mapped or -compatible tail in dotted form.
 */
export function ipSanText(node: string): string {
  if (isIPv4(node)) return node;
  const groups = node.split(':');
  if (groups.length !== 8) return asciiLower(node);
  const words = groups.map((g) => Number.parseInt(g, 16));
  if (words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return asciiLower(node);
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && !out.endsWith(':')) out += ':';
    const dotted =
      i === 6 &&
      bestBase === 0 &&
      (bestLen === 6 || (bestLen === 7 && words[7] !== 1) || (bestLen === 5 && words[5] === 0xffff));
    if (dotted) {
      out += `${words[6]! >> 8}.${words[6]! & 0xff}.${words[7]! >> 8}.${words[7]! & 0xff}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  return out;
}

interface CertSans {
  readonly uri: readonly string[];
  readonly dns: readonly string[];
  readonly email: readonly string[];
  /** as Envoy writes them */
  readonly ip: readonly string[];
}

function certSans(cert: PeerCertificate): CertSans {
  const s = parseSubjectAltNames(cert.subjectaltname);
  return { uri: s.uri, dns: s.dns, email: s.email, ip: s.ip.map(ipSanText) };
}

/** The certificate's SANs for an error message, `DNS:...` / `URI:...` / `email:...` / `IP:...`. */
function sanList(s: CertSans): string[] {
  return [
    ...s.dns.map((v) => `DNS:${v}`),
    ...s.uri.map((v) => `URI:${v}`),
    ...s.email.map((v) => `email:${v}`),
    ...s.ip.map((v) => `IP:${v}`),
  ];
}

interface CompiledSanMatcher {
  /** URI, email and IP SANs */
  readonly other: StringPredicate;
  readonly dns: StringPredicate;
}

function compile(m: StringMatcher): CompiledSanMatcher {
  const match = compileStringMatcher(m);
  if (m.kind !== 'exact') return { other: match, dns: match };
  const want = m.value;
  return { other: match, dns: (san) => dnsNameMatch(want, san) };
}

/**
 * The checkServerIdentity for a context's match_subject_alt_names (empty: any certificate the
 * CA verified). Throws Re2SyntaxError for a regex that does not compile.
 */
export function serverIdentityCheck(matchers: readonly StringMatcher[]): ServerIdentityCheck {
  if (matchers.length === 0) return () => undefined;
  const compiled = matchers.map(compile);
  return (_hostname, cert) => {
    const sans = certSans(cert);
    for (const m of compiled) {
      for (const san of sans.dns) if (m.dns(san)) return undefined;
      for (const san of sans.uri) if (m.other(san)) return undefined;
      for (const san of sans.email) if (m.other(san)) return undefined;
      for (const san of sans.ip) if (m.other(san)) return undefined;
    }
    return new UpstreamSanMismatchError(sanList(sans));
  };
}

/**
 * The auto_san_validation check for one request host (a DNS name or an IP literal, IPv6 without
 * brackets): Envoy's SAN list override, compared with every SAN of the certificate.
 */
export function requestHostCheck(host: string): ServerIdentityCheck {
  return (_hostname, cert) => {
    const sans = certSans(cert);
    for (const san of sans.dns) if (dnsNameMatch(host, san)) return undefined;
    for (const list of [sans.uri, sans.email, sans.ip]) for (const san of list) if (san === host) return undefined;
    return new UpstreamSanMismatchError(sanList(sans), [host]);
  };
}
