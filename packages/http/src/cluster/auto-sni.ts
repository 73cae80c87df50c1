// Envoy's upstream_http_protocol_options.auto_sni / auto_san_validation: the router takes the
// request's host as the route leaves it (after a host rewrite), without port. A DNS name is both
// the SNI of a new upstream connection and the name its certificate must carry; an IP literal is
// sent as no SNI (RFC 6066) but is still the name the certificate must carry, as an IP SAN. The
// endpoint interceptor (and a request mirror) hands it to the TLS connector as undici's
// servername, which decides between the two.
import { isIP } from 'node:net';

/**
 * The servername undici carries when the SNI does not come from the request (plaintext, a TLS
 * cluster without auto_sni / auto_san_validation, a request without a host): the connector never
 * sends it. undici compares servernames, so a constant keeps pooled connections when the Host
 * changes; it must be truthy (undici derives a name from the Host header for a falsy one). It
 * holds a control character, which no Host header and no URL host can carry (undici, fetch and
 * the mesh's HTTP/1.1 writer refuse it), so no request host is ever mistaken for it.
 */
export const NO_REQUEST_SNI = '\u0001no-sni';

/** An authority (`host[:port]`, `[v6][:port]`) without its port. */
export function authorityHost(authority: string): string {
  const colon = authority.startsWith('[') ? authority.indexOf(']:') + 1 : authority.lastIndexOf(':');
  return colon > 0 ? authority.slice(0, colon) : authority;
}

/**
 * A request's host as auto_sni / auto_san_validation take it: the Host without port, an IPv6
 * literal without its brackets (as Envoy's parseAuthority); NO_REQUEST_SNI for an empty host.
 */
export function autoSniHost(authority: string): string {
  let host = authorityHost(authority);
  if (host.startsWith('[') && host.endsWith(']') && isIP(host.slice(1, -1)) === 6) host = host.slice(1, -1);
  return host === '' ? NO_REQUEST_SNI : host;
}
