// The LDS name an xDS-enabled server subscribes to (gRFC A36): the bootstrap's
// server_listener_resource_name_template with `%s` replaced by the listening `ip:port`, IPv6 in
// brackets (`[::]:8080`). For an `xdstp:` template the address is percent-encoded (gRFC A47).
import { isIPv6 } from 'node:net';

/** istiod's template, used when neither the caller nor the bootstrap sets one. */
export const DEFAULT_SERVER_LISTENER_TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';

export interface ListenAddress {
  /** the address the server listens on, e.g. `0.0.0.0`, `::`, `10.0.0.7` */
  readonly ip: string;
  readonly port: number;
}

export function hostPort(a: ListenAddress): string {
  return isIPv6(a.ip) ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`;
}

export function inboundListenerName(address: ListenAddress, template?: string): string {
  const t = template === undefined || template === '' ? DEFAULT_SERVER_LISTENER_TEMPLATE : template;
  const hp = hostPort(address);
  const value = t.startsWith('xdstp:') ? encodeURIComponent(hp).replaceAll('%3A', ':') : hp;
  return t.replaceAll('%s', value);
}
