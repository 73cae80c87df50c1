// xDS server URIs as bootstraps write them → grpc-js channel targets.
// istio-agent writes `unix:///etc/istio/proxy/XDS`; direct connections use `host:port` or `dns:///host:port`.
import { BootstrapError } from '../errors.ts';

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s;
const HOST_PORT = /^(\[[0-9A-Za-z:.%]+\]|[^:/[\]\s]+)(?::(\d{1,5}))?$/;

export interface ParsedServerUri {
  /** What to hand to grpc-js (`new Client(target, ...)`). */
  readonly target: string;
  /** Host name (no brackets for IPv6) when the target is a network address; undefined for sockets. */
  readonly host: string | undefined;
  readonly port: number | undefined;
}

function hostPort(authority: string): { host: string; port: number | undefined } | string {
  const m = HOST_PORT.exec(authority);
  if (m === null) {
    return (authority.match(/:/g)?.length ?? 0) > 1
      ? 'IPv6 addresses must be in brackets, like [::1]:15012'
      : 'expected host:port';
  }
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return `port ${m[2]} is out of range`;
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port };
}

/** Parses a server URI; returns a message saying what is wrong instead of throwing. */
export function parseServerUri(uri: string): ParsedServerUri | string {
  if (uri.trim() !== uri || uri === '') return 'expected a URI without surrounding spaces';
  const m = SCHEME.exec(uri);
  const scheme = m?.[1]?.toLowerCase();
  const rest = m?.[2] ?? '';
  switch (scheme) {
    case 'unix': {
      // unix:///abs/path, unix:/abs/path or unix:relative/path (grpc naming); no authority allowed.
      const path = rest.startsWith('//') ? rest.slice(2) : rest;
      if (rest.startsWith('//') && !path.startsWith('/'))
        return 'unix URIs take no authority: use unix:///absolute/path';
      if (path === '') return 'missing socket path';
      return { target: uri, host: undefined, port: undefined };
    }
    case 'unix-abstract':
      if (rest === '') return 'missing abstract socket name';
      return { target: uri, host: undefined, port: undefined };
    case 'dns': {
      // dns:host:port, dns:///host:port or dns://resolver/host:port
      let authority = rest;
      if (rest.startsWith('//')) {
        const slash = rest.indexOf('/', 2);
        if (slash < 0) return 'expected dns:///host:port';
        authority = rest.slice(slash + 1);
      }
      const hp = hostPort(authority);
      if (typeof hp === 'string') return hp;
      return { target: uri, host: hp.host, port: hp.port };
    }
    case 'ipv4':
    case 'ipv6':
      if (rest === '') return 'missing address';
      return { target: uri, host: undefined, port: undefined };
    case undefined:
      break;
    default:
      // `localhost:15010` parses as scheme "localhost" – only a `scheme://` form is a real unknown scheme.
      if (rest.startsWith('//'))
        return `unsupported scheme "${m![1]}" (use unix:///path, dns:///host:port or host:port)`;
  }
  const hp = hostPort(uri);
  if (typeof hp === 'string') return hp;
  return { target: `dns:///${uri}`, host: hp.host, port: hp.port };
}

/**
 * The grpc-js target for an xDS server URI: `unix:` / `unix-abstract:` / `dns:` / `ipv4:` / `ipv6:` URIs are
 * kept as they are, `host:port` becomes `dns:///host:port`. Throws BootstrapError for anything else.
 */
export function targetFor(serverUri: string): string {
  const parsed = parseServerUri(serverUri);
  if (typeof parsed === 'string') throw new BootstrapError(JSON.stringify(serverUri), 'server_uri', parsed);
  return parsed.target;
}
