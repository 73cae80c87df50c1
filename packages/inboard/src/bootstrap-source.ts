// Where Inboard.start finds its control plane, first match wins:
//   1. `bootstrap` (a ready Bootstrap), `istiod` (direct to istiod:15012) or `controlPlane` options;
//   2. GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG, what istio-agent gives a proxyless pod;
//   3. INBOARD_CONTROL_PLANE=host:port, Inboard's embedded control plane (insecure channel).
import {
  BOOTSTRAP_CONFIG_ENV,
  BOOTSTRAP_FILE_ENV,
  type Bootstrap,
  DEFAULT_CLIENT_LISTENER_TEMPLATE,
  type Env,
  hasBootstrapEnv,
  ISTIO_SERVER_LISTENER_TEMPLATE,
  type IstiodBootstrapOptions,
  istiodBootstrap,
  loadBootstrap,
} from '@inboard/xds';
import { InboardOptionError, NoControlPlaneError } from './errors.ts';
import { type InboardNodeOptions, inboardNode } from './node-options.ts';

export const CONTROL_PLANE_ENV = 'INBOARD_CONTROL_PLANE';

export interface BootstrapSourceOptions {
  /** a complete bootstrap (wins over everything else) */
  readonly bootstrap?: Bootstrap;
  /** talk to istiod directly on 15012 with TLS and the service-account token (true: the defaults) */
  readonly istiod?: IstiodBootstrapOptions | true;
  /** `host:port` of Inboard's embedded control plane (plaintext, as istiod's 15010) */
  readonly controlPlane?: string;
  /** the node identity for `controlPlane` / INBOARD_CONTROL_PLANE (and `istiod`, unless it sets `node`) */
  readonly node?: InboardNodeOptions;
  /** environment to read (default process.env) */
  readonly env?: Env;
}

export type BootstrapSourceKind =
  | 'bootstrap'
  | 'istiod'
  | 'controlPlane'
  | typeof BOOTSTRAP_FILE_ENV
  | typeof BOOTSTRAP_CONFIG_ENV
  | typeof CONTROL_PLANE_ENV;

export interface ResolvedBootstrap {
  readonly bootstrap: Bootstrap;
  /** which source won */
  readonly source: BootstrapSourceKind;
}

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

/** A bootstrap for the embedded control plane at `address` (insecure channel, like istiod's 15010). */
export function controlPlaneBootstrap(
  address: string,
  node: InboardNodeOptions = {},
  env: Env = process.env,
): Bootstrap {
  const m = HOST_PORT.exec(address.trim());
  if (m === null || Number(m[1]) === 0 || Number(m[1]) > 65535) {
    throw new InboardOptionError('controlPlane', `expected host:port, got ${JSON.stringify(address)}`);
  }
  const bootstrap: Bootstrap = {
    xdsServers: [
      {
        serverUri: address.trim(),
        channelCreds: { type: 'insecure' },
        callCreds: [],
        serverFeatures: ['xds_v3'],
        headers: {},
      },
    ],
    node: inboardNode(node, env),
    certificateProviders: {},
    serverListenerResourceNameTemplate: ISTIO_SERVER_LISTENER_TEMPLATE,
    clientDefaultListenerResourceNameTemplate: DEFAULT_CLIENT_LISTENER_TEMPLATE,
  };
  return Object.freeze(bootstrap);
}

export async function resolveBootstrap(options: BootstrapSourceOptions = {}): Promise<ResolvedBootstrap> {
  const env = options.env ?? process.env;
  if (options.bootstrap !== undefined) return { bootstrap: options.bootstrap, source: 'bootstrap' };
  if (options.istiod !== undefined) {
    const o = options.istiod === true ? {} : options.istiod;
    return { bootstrap: istiodBootstrap({ env, ...o }), source: 'istiod' };
  }
  if (options.controlPlane !== undefined) {
    return { bootstrap: controlPlaneBootstrap(options.controlPlane, options.node, env), source: 'controlPlane' };
  }
  if (hasBootstrapEnv(env)) {
    const file = env[BOOTSTRAP_FILE_ENV];
    return {
      bootstrap: await loadBootstrap({ env }),
      source: file !== undefined && file !== '' ? BOOTSTRAP_FILE_ENV : BOOTSTRAP_CONFIG_ENV,
    };
  }
  const cp = env[CONTROL_PLANE_ENV];
  if (cp !== undefined && cp !== '') {
    return { bootstrap: controlPlaneBootstrap(cp, options.node, env), source: CONTROL_PLANE_ENV };
  }
  throw new NoControlPlaneError();
}
