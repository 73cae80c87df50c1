// Talking to istiod directly (no istio-agent): what pilot-agent's own upstream connection uses —
// TLS to istiod:15012 verified against the mesh root, TLS name = host of the discovery address,
// `authorization: Bearer <projected SA token>` re-read per call, and the `clusterid` header.
import { BootstrapError } from '../errors.ts';
import { deepFreeze } from './deep-freeze.ts';
import { type NodeIdentityOptions, nodeIdentityFromEnv } from './node-identity.ts';
import { DEFAULT_CLIENT_LISTENER_TEMPLATE } from './parse-bootstrap.ts';
import { parseServerUri } from './server-target.ts';
import type { Bootstrap, Env, FileWatcherCertificateProvider, XdsServerConfig } from './types.ts';

export const ISTIOD_DEFAULT_ADDRESS = 'istiod.istio-system.svc:15012';
export const ISTIOD_DEFAULT_PORT = 15012;
/** Where injected pods mount the istio-ca-root-cert ConfigMap. */
export const DEFAULT_ROOT_CERT_FILE = '/var/run/secrets/istio/root-cert.pem';
/** Projected service-account token with audience istio-ca. */
export const DEFAULT_TOKEN_FILE = '/var/run/secrets/tokens/istio-token';
/** What istiod's grpc generator serves for server-side listeners (`%s` = ip:port). */
export const ISTIO_SERVER_LISTENER_TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';

export interface IstiodBootstrapOptions {
  /** `host:port` or `dns:///host:port`; the port defaults to 15012. */
  address?: string;
  /** PEM roots that verify istiod. There is deliberately no way to skip verification. */
  rootCertFile?: string;
  tokenFile?: string;
  /** TLS name to verify; default the host part of `address` (istio-agent's default PILOT_SAN). */
  tlsServerName?: string;
  /**
   * `clusterid` metadata: which cluster's API server reviews the token. Default: the node's CLUSTER_ID
   * metadata; no header when empty (istiod then uses its own cluster).
   */
  clusterId?: string;
  /** Optional workload certificate for mTLS to istiod (then the token is still sent). */
  certificateFile?: string;
  privateKeyFile?: string;
  /** Extra gRPC metadata for istiod. */
  headers?: Readonly<Record<string, string>>;
  env?: Env;
  node?: NodeIdentityOptions;
  certificateProviders?: Readonly<Record<string, FileWatcherCertificateProvider>>;
}

const SOURCE = 'istiodBootstrap';

export function istiodBootstrap(options: IstiodBootstrapOptions = {}): Bootstrap {
  const address = options.address ?? ISTIOD_DEFAULT_ADDRESS;
  const parsed = parseServerUri(address);
  if (typeof parsed === 'string')
    throw new BootstrapError(SOURCE, 'address', `${parsed}, got ${JSON.stringify(address)}`);
  if (parsed.host === undefined) {
    throw new BootstrapError(SOURCE, 'address', `expected host:port for istiod, got ${JSON.stringify(address)}`);
  }
  if ((options.certificateFile === undefined) !== (options.privateKeyFile === undefined)) {
    throw new BootstrapError(SOURCE, 'certificateFile', 'certificateFile and privateKeyFile must be set together');
  }
  const serverUri = parsed.port === undefined ? `${address}:${ISTIOD_DEFAULT_PORT}` : address;

  const node = nodeIdentityFromEnv(options.env ?? process.env, options.node);
  const nodeClusterId = node.metadata['CLUSTER_ID'];
  const clusterId = options.clusterId ?? (typeof nodeClusterId === 'string' ? nodeClusterId : '');

  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.headers ?? {})) {
    const key = k.toLowerCase();
    if (!/^[0-9a-z_.-]+$/.test(key) || key.endsWith('-bin')) {
      throw new BootstrapError(SOURCE, `headers[${JSON.stringify(k)}]`, 'not a valid gRPC ASCII metadata key');
    }
    headers[key] = v;
  }
  if (clusterId !== '') headers['clusterid'] = clusterId;

  const server: XdsServerConfig = {
    serverUri,
    channelCreds: {
      type: 'tls',
      caCertificateFile: options.rootCertFile ?? DEFAULT_ROOT_CERT_FILE,
      certificateFile: options.certificateFile,
      privateKeyFile: options.privateKeyFile,
    },
    callCreds: [{ type: 'jwt_token_file', jwtTokenFile: options.tokenFile ?? DEFAULT_TOKEN_FILE }],
    serverFeatures: ['xds_v3'],
    headers,
    tlsServerName: options.tlsServerName ?? parsed.host,
  };
  return deepFreeze({
    xdsServers: [server],
    node,
    certificateProviders: Object.fromEntries(
      Object.entries(options.certificateProviders ?? {}).map(([name, p]) => [name, { ...p }]),
    ),
    serverListenerResourceNameTemplate: ISTIO_SERVER_LISTENER_TEMPLATE,
    clientDefaultListenerResourceNameTemplate: DEFAULT_CLIENT_LISTENER_TEMPLATE,
  });
}
