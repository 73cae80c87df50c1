// The client identity of a connection: the verified certificate of a TLS socket, parsed once per
// connection (keep-alive requests share it). An unverified certificate (requestCert without
// rejectUnauthorized) gives no identity: RBAC must not trust what it did not verify.

import type { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { PeerCertificate } from '../rbac/rbac-request.ts';

export interface ConnectionSecurity {
  readonly tls: boolean;
  readonly peer: PeerCertificate | undefined;
  /** SNI sent by the client, '' when none */
  readonly serverName: string;
  /** negotiated ALPN protocol, '' when none */
  readonly alpn: string;
  /**
   * With a verified client certificate: this hop's `x-forwarded-client-cert` element as Istio's
   * sidecar configures Envoy (`By` the local URI SANs, `Hash` of the client certificate, then
   * `Subject`, `URI` and `DNS` of the client)
   */
  readonly clientCertDetails?: string | undefined;
}

const PLAINTEXT: ConnectionSecurity = Object.freeze({ tls: false, peer: undefined, serverName: '', alpn: '' });
const cache = new WeakMap<Socket, ConnectionSecurity>();

/** A certificate's SANs by type, as Node prints them (an IP as `0:0:0:0:0:0:0:1` for IPv6). */
export interface SubjectAltNames {
  readonly uri: string[];
  readonly dns: string[];
  readonly email: string[];
  readonly ip: string[];
}

/**
 * Splits Node's `subjectAltName` (`URI:spiffe://a, DNS:b, IP Address:10.0.0.1, email:c`). Node
 * quotes a value that contains a separator or quote as a JSON string (`URI:"spiffe://a,b"`).
 */
export function parseSubjectAltNames(text: string | undefined): SubjectAltNames {
  const uri: string[] = [];
  const dns: string[] = [];
  const email: string[] = [];
  const ip: string[] = [];
  if (text === undefined || text === '') return { uri, dns, email, ip };
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const kind = text.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (text.charCodeAt(colon + 1) === 34 /* " */) {
      // a JSON string: find its closing quote, skipping escapes
      let j = colon + 2;
      while (j < text.length && text.charCodeAt(j) !== 34) j += text.charCodeAt(j) === 92 ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        value = text.slice(colon + 2, j);
      }
      next = text.indexOf(',', j + 1);
    } else {
      next = text.indexOf(', ', colon + 1);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    if (kind === 'URI') uri.push(value);
    else if (kind === 'DNS') dns.push(value);
    else if (kind === 'IP Address') ip.push(value);
    else if (kind === 'email') email.push(value);
    if (next < 0) break;
    i = next + 1;
    while (text.charCodeAt(i) === 32) i++;
  }
  return { uri, dns, email, ip };
}

/** `CN=a\nO=b` (Node, certificate order) → `O=b,CN=a` (RFC 2253 order, as Envoy prints it). */
function rfc2253(subject: string | undefined): string {
  if (subject === undefined || subject === '') return '';
  return subject.split('\n').reverse().join(',');
}

function readSecurity(socket: TLSSocket): ConnectionSecurity {
  const serverName = typeof socket.servername === 'string' ? socket.servername : '';
  const alpn = typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : '';
  let peer: PeerCertificate | undefined;
  let clientCertDetails: string | undefined;
  if (socket.authorized) {
    const cert = socket.getPeerX509Certificate();
    if (cert !== undefined) {
      const sans = parseSubjectAltNames(cert.subjectAltName);
      peer = Object.freeze({ uriSans: sans.uri, dnsSans: sans.dns, subject: rfc2253(cert.subject) });
      clientCertDetails = currentClientCertDetails(socket, cert, peer);
    }
  }
  return Object.freeze({ tls: true, peer, serverName, alpn, clientCertDetails });
}

/**
 * Envoy's element for this hop of x-forwarded-client-cert under Istio's sidecar settings
 * (forward_client_cert_details APPEND_FORWARD, set_current_client_cert_details subject, uri and
 * dns): `By=<local URI SAN>` each, `Hash=<hex SHA-256 of the client certificate>`,
 * `Subject="<client subject>"`, `URI=<client URI SAN>` each (`URI=` when none), `DNS=<SAN>` each.
 */
function currentClientCertDetails(socket: TLSSocket, cert: X509Certificate, peer: PeerCertificate): string {
  const parts: string[] = [];
  const local = socket.getX509Certificate();
  for (const uri of parseSubjectAltNames(local?.subjectAltName).uri) parts.push(`By=${uri}`);
  parts.push(`Hash=${cert.fingerprint256.replaceAll(':', '').toLowerCase()}`);
  parts.push(`Subject="${peer.subject}"`);
  if (peer.uriSans.length === 0) parts.push('URI=');
  for (const uri of peer.uriSans) parts.push(`URI=${uri}`);
  for (const dns of peer.dnsSans) parts.push(`DNS=${dns}`);
  return parts.join(';');
}

/** TLS state and verified client identity of a request's socket (cached per connection). */
export function connectionSecurity(socket: Socket | undefined | null): ConnectionSecurity {
  if (socket === undefined || socket === null || (socket as TLSSocket).encrypted !== true) return PLAINTEXT;
  let s = cache.get(socket);
  if (s === undefined) {
    s = readSecurity(socket as TLSSocket);
    cache.set(socket, s);
  }
  return s;
}

/** The principal Istio reports (source_principal): the first URI SAN of the peer. */
export function peerPrincipal(peer: PeerCertificate | undefined): string | undefined {
  return peer?.uriSans[0];
}
