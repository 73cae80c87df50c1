// What an RBAC policy reads from a request and its connection. The HTTP part is a RouteRequest,
// so header matchers compiled for routes read it directly; the rest is the connection as Envoy's
// RBAC engine sees it (Network::Connection + StreamInfo).
import type { RouteRequest } from '../route/route-request.ts';

/** The verified client certificate of a TLS connection (Ssl::ConnectionInfo). */
export interface PeerCertificate {
  /** URI SANs, e.g. `spiffe://cluster.local/ns/default/sa/productpage` */
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  /** the subject in RFC 2253 order (`CN=...,O=...`), '' when empty (Istio certificates) */
  readonly subject: string;
}

export interface RbacRequest extends RouteRequest {
  /** the normalised path without query and fragment: what url_path matchers see */
  readonly urlPath: string;
  /** the connection's peer address (source_ip and direct_remote_ip) */
  readonly sourceIp: string;
  /** the downstream remote address after X-Forwarded-For processing (remote_ip) */
  readonly remoteIp: string;
  /** the connection's local address and port (destination_ip, destination_port) */
  readonly destinationIp: string;
  readonly destinationPort: number;
  /** SNI of a TLS connection, '' for plaintext or no SNI */
  readonly requestedServerName: string;
  /** the connection is TLS (authenticated{} without principal_name matches any TLS connection) */
  readonly tls: boolean;
  /** undefined: plaintext, or no verified client certificate */
  readonly peer: PeerCertificate | undefined;
}
