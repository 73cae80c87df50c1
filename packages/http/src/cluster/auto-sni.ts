// Envoy's upstream_http_protocol_options.auto_sni / auto_san_validation: the SNI of a new upstream
// connection (and the name its certificate must carry) is the request's host, without port. The
// endpoint interceptor hands it to the TLS connector as undici's servername.
import { isIP } from 'node:net';

/**
 * The servername undici carries for a TLS cluster when the SNI does not come from the request:
 * the connector never sends it (undici compares servernames, so a constant keeps pooled
 * connections when the Host changes).
 */
export const NO_REQUEST_SNI = 'inboard';

/** A request's host as auto_sni takes it: the Host without port; none for an IP (RFC 6066). */
export function autoSniHost(authority: string): string {
  const colon = authority.startsWith('[') ? authority.indexOf(']:') + 1 : authority.lastIndexOf(':');
  const host = colon > 0 ? authority.slice(0, colon) : authority;
  return host === '' || isIP(host.startsWith('[') ? host.slice(1, -1) : host) !== 0 ? NO_REQUEST_SNI : host;
}
