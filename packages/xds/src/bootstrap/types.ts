// Our normalized bootstrap: the gRPC xDS bootstrap (gRFC A27 + A29/A65/A97) after validation, in camelCase.
// Every other part of Inboard reads this, never the raw JSON.
import type { JsonValue } from '../codec.ts';

export type JsonObject = { [key: string]: JsonValue };

/** Transport security towards the xDS server. Verification of the server certificate cannot be turned off. */
export type ChannelCredsConfig =
  | { readonly type: 'insecure' }
  | {
      readonly type: 'tls';
      /** Roots that verify the server; the system roots when unset (gRFC A65). */
      readonly caCertificateFile?: string | undefined;
      /** Client certificate chain for mTLS; set together with `privateKeyFile`. */
      readonly certificateFile?: string | undefined;
      readonly privateKeyFile?: string | undefined;
      /** How often gRPC would re-read the files; we read them whenever the channel is (re)created. */
      readonly refreshIntervalMs?: number | undefined;
    };

/** gRFC A97: `authorization: Bearer <contents of the file>` on every call, re-read per call. */
export interface JwtTokenFileCallCreds {
  readonly type: 'jwt_token_file';
  readonly jwtTokenFile: string;
}

export type CallCredsConfig = JwtTokenFileCallCreds;

export interface XdsServerConfig {
  /** As written in the bootstrap (`unix:///etc/istio/proxy/XDS`, `istiod.istio-system.svc:15012`, ...). */
  readonly serverUri: string;
  readonly channelCreds: ChannelCredsConfig;
  /** All supported call credentials, applied together (gRFC A97). Never sent over an insecure channel. */
  readonly callCreds: readonly CallCredsConfig[];
  readonly serverFeatures: readonly string[];
  /** Extra gRPC metadata on every call to the server (e.g. `clusterid` for istiod). Lower-case keys. */
  readonly headers: Readonly<Record<string, string>>;
  /** TLS name to verify and send as SNI when it differs from the host in `serverUri`. */
  readonly tlsServerName?: string | undefined;
}

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

/** envoy.config.core.v3.Node in our form; `nodeToProto` turns it into the wire message. */
export interface BootstrapNode {
  readonly id: string;
  readonly cluster: string;
  /** google.protobuf.Struct as plain JSON. For istiod, booleans must be the strings "true"/"false". */
  readonly metadata: Readonly<JsonObject>;
  /** Optional: istiod only falls back to it when the pod's topology labels are unknown. */
  readonly locality?: Locality | undefined;
  readonly userAgentName: string;
  readonly userAgentVersion: string;
  readonly clientFeatures: readonly string[];
}

/** gRFC A29 file_watcher certificate provider: the files istio-agent keeps rotated (OUTPUT_CERTS). */
export interface FileWatcherCertificateProvider {
  readonly pluginName: 'file_watcher';
  readonly certificateFile?: string | undefined;
  readonly privateKeyFile?: string | undefined;
  readonly caCertificateFile?: string | undefined;
  readonly refreshIntervalMs: number;
}

export interface Bootstrap {
  readonly xdsServers: readonly XdsServerConfig[];
  readonly node: BootstrapNode;
  readonly certificateProviders: Readonly<Record<string, FileWatcherCertificateProvider>>;
  /** e.g. `xds.istio.io/grpc/lds/inbound/%s` (`%s` = listening `ip:port`); unset = no xDS server support. */
  readonly serverListenerResourceNameTemplate?: string | undefined;
  /** How a client target becomes an LDS name; `%s` = the target's authority (default '%s'). */
  readonly clientDefaultListenerResourceNameTemplate: string;
}

/** Process environment as read by the bootstrap helpers (defaults to `process.env`). */
export type Env = Readonly<Record<string, string | undefined>>;
