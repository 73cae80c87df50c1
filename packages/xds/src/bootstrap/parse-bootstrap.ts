// The gRPC xDS bootstrap (gRFC A27) as istio-agent writes it, plus A29 certificate providers,
// A65 `tls` channel creds and A97 `jwt_token_file` call creds → our normalized Bootstrap.
// Every bad field is collected with its JSON path; one BootstrapError reports them all.
import type { JsonValue } from '../codec.ts';
import { BootstrapError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { deepFreeze } from './deep-freeze.ts';
import { parseDurationJson } from './duration-json.ts';
import {
  describeJson,
  isRecord,
  type JsonRecord,
  joinPath,
  ProblemList,
  readArray,
  readObject,
  readString,
  readStringArray,
  setOwn,
} from './json-fields.ts';
import { parseServerUri } from './server-target.ts';
import type {
  Bootstrap,
  BootstrapNode,
  CallCredsConfig,
  ChannelCredsConfig,
  FileWatcherCertificateProvider,
  JsonObject,
  Locality,
  XdsServerConfig,
} from './types.ts';
import { bootstrapNode } from './user-agent.ts';

const log = createLogger('xds.bootstrap');

export const SUPPORTED_CHANNEL_CREDS: readonly string[] = ['insecure', 'tls'];
/** gRFC A29 / A65 default for `refresh_interval`. */
export const DEFAULT_CERT_REFRESH_INTERVAL_MS = 10 * 60_000;
export const DEFAULT_CLIENT_LISTENER_TEMPLATE = '%s';

/**
 * Validates a parsed bootstrap JSON document. `source` names where it came from (a file path or
 * "GRPC_XDS_BOOTSTRAP_CONFIG") and prefixes every error line. Unknown fields are ignored, as gRPC does.
 * The node is not checked against istiod's rules here (see `validateNodeForIstiod`).
 */
export function parseBootstrap(json: unknown, source: string): Bootstrap {
  if (!isRecord(json)) {
    throw BootstrapError.fromProblems(source, [
      { field: '$', message: `expected a JSON object, got ${describeJson(json)}` },
    ]);
  }
  const problems = new ProblemList();
  const xdsServers = parseXdsServers(json, problems);
  const node = parseNode(json, problems);
  const certificateProviders = parseCertificateProviders(json, problems);
  const serverListenerResourceNameTemplate = readString(json, 'server_listener_resource_name_template', '', problems);
  const clientDefaultListenerResourceNameTemplate =
    readString(json, 'client_default_listener_resource_name_template', '', problems) ??
    DEFAULT_CLIENT_LISTENER_TEMPLATE;
  if (problems.size > 0) throw BootstrapError.fromProblems(source, problems.items);
  const bootstrap: Bootstrap = {
    xdsServers,
    node,
    certificateProviders,
    serverListenerResourceNameTemplate,
    clientDefaultListenerResourceNameTemplate,
  };
  return deepFreeze(bootstrap);
}

function parseXdsServers(json: JsonRecord, problems: ProblemList): XdsServerConfig[] {
  const list = readArray(json, 'xds_servers', '', problems, true);
  if (list === undefined) return [];
  if (list.length === 0) problems.add('xds_servers', 'must list at least one xDS server');
  const out: XdsServerConfig[] = [];
  list.forEach((entry, i) => {
    const base = joinPath('xds_servers', i);
    if (!isRecord(entry)) {
      problems.add(
        base,
        `expected an object like {"server_uri": ..., "channel_creds": [...]}, got ${describeJson(entry)}`,
      );
      return;
    }
    const server = parseXdsServer(entry, base, problems);
    if (server !== undefined) out.push(server);
  });
  return out;
}

function parseXdsServer(entry: JsonRecord, base: string, problems: ProblemList): XdsServerConfig | undefined {
  const serverUri = readString(entry, 'server_uri', base, problems, { required: true, nonEmpty: true });
  if (serverUri !== undefined) {
    const parsed = parseServerUri(serverUri);
    if (typeof parsed === 'string')
      problems.add(joinPath(base, 'server_uri'), `${parsed}, got ${describeJson(serverUri)}`);
  }
  const channelCreds = parseChannelCreds(entry, base, problems);
  const callCreds = parseCallCreds(entry, base, problems);
  const serverFeatures = readStringArray(entry, 'server_features', base, problems);
  if (serverUri === undefined || channelCreds === undefined) return undefined;
  return { serverUri, channelCreds, callCreds, serverFeatures, headers: {} };
}

/** gRPC semantics: the first supported type wins, unsupported ones before it are skipped, later ones unread. */
function parseChannelCreds(entry: JsonRecord, base: string, problems: ProblemList): ChannelCredsConfig | undefined {
  const field = joinPath(base, 'channel_creds');
  const list = readArray(entry, 'channel_creds', base, problems, true);
  if (list === undefined) return undefined;
  if (list.length === 0) {
    problems.add(
      field,
      `must list at least one channel credential type (supported: ${SUPPORTED_CHANNEL_CREDS.join(', ')})`,
    );
    return undefined;
  }
  let chosen: ChannelCredsConfig | undefined;
  let found = false;
  let malformed = false;
  const skipped: string[] = [];
  list.forEach((creds, i) => {
    const credsBase = joinPath(field, i);
    if (!isRecord(creds)) {
      problems.add(credsBase, `expected an object like {"type": "insecure"}, got ${describeJson(creds)}`);
      malformed = true;
      return;
    }
    const type = readString(creds, 'type', credsBase, problems, { required: true, nonEmpty: true });
    if (type === undefined) {
      malformed = true;
      return;
    }
    if (found) return;
    if (type === 'insecure') {
      found = true;
      chosen = { type: 'insecure' };
    } else if (type === 'tls') {
      found = true;
      chosen = parseTlsCreds(creds, credsBase, problems);
    } else {
      skipped.push(type);
    }
  });
  if (!found && !malformed) {
    problems.add(
      field,
      `no supported type among ${JSON.stringify(skipped)} (supported: ${SUPPORTED_CHANNEL_CREDS.join(', ')})`,
    );
  }
  if (found && skipped.length > 0) log.debug('skipped unsupported channel_creds types', { field, skipped });
  return chosen;
}

function parseTlsCreds(creds: JsonRecord, base: string, problems: ProblemList): ChannelCredsConfig {
  const config = readObject(creds, 'config', base, problems);
  if (config === undefined) return { type: 'tls' };
  const configBase = joinPath(base, 'config');
  const files = readCertificateFiles(config, configBase, problems);
  const refreshIntervalMs = readRefreshInterval(config, configBase, problems);
  return { type: 'tls', ...files, refreshIntervalMs };
}

interface CertificateFiles {
  certificateFile: string | undefined;
  privateKeyFile: string | undefined;
  caCertificateFile: string | undefined;
}

/** The file-watcher fields shared by A29 providers and A65 `tls` creds. */
function readCertificateFiles(config: JsonRecord, base: string, problems: ProblemList): CertificateFiles {
  const certificateFile = readString(config, 'certificate_file', base, problems, { nonEmpty: true });
  const privateKeyFile = readString(config, 'private_key_file', base, problems, { nonEmpty: true });
  const caCertificateFile = readString(config, 'ca_certificate_file', base, problems, { nonEmpty: true });
  const hasCert = config['certificate_file'] !== undefined && config['certificate_file'] !== null;
  const hasKey = config['private_key_file'] !== undefined && config['private_key_file'] !== null;
  if (hasCert !== hasKey) {
    problems.add(
      joinPath(base, hasCert ? 'private_key_file' : 'certificate_file'),
      'certificate_file and private_key_file must be set together',
    );
  }
  return { certificateFile, privateKeyFile, caCertificateFile };
}

function readRefreshInterval(config: JsonRecord, base: string, problems: ProblemList): number {
  const v = config['refresh_interval'];
  if (v === undefined || v === null) return DEFAULT_CERT_REFRESH_INTERVAL_MS;
  const ms = typeof v === 'string' ? parseDurationJson(v) : undefined;
  if (ms === undefined || ms <= 0) {
    problems.add(
      joinPath(base, 'refresh_interval'),
      `expected a positive proto JSON Duration string like "900s", got ${describeJson(v)}`,
    );
    return DEFAULT_CERT_REFRESH_INTERVAL_MS;
  }
  return ms;
}

/** gRFC A97: every supported entry applies, unsupported types are ignored, the field is optional. */
function parseCallCreds(entry: JsonRecord, base: string, problems: ProblemList): CallCredsConfig[] {
  const field = joinPath(base, 'call_creds');
  const list = readArray(entry, 'call_creds', base, problems);
  if (list === undefined) return [];
  const out: CallCredsConfig[] = [];
  list.forEach((creds, i) => {
    const credsBase = joinPath(field, i);
    if (!isRecord(creds)) {
      problems.add(
        credsBase,
        `expected an object like {"type": "jwt_token_file", "config": {...}}, got ${describeJson(creds)}`,
      );
      return;
    }
    const type = readString(creds, 'type', credsBase, problems, { required: true, nonEmpty: true });
    if (type !== 'jwt_token_file') {
      if (type !== undefined) log.debug('ignoring unsupported call_creds type', { field: credsBase, type });
      return;
    }
    const config = readObject(creds, 'config', credsBase, problems, true);
    if (config === undefined) return;
    const jwtTokenFile = readString(config, 'jwt_token_file', joinPath(credsBase, 'config'), problems, {
      required: true,
      nonEmpty: true,
    });
    if (jwtTokenFile !== undefined) out.push({ type: 'jwt_token_file', jwtTokenFile });
  });
  if (out.length > 1) {
    // Each would set `authorization`; grpc-js fails calls carrying two of them.
    problems.add(field, 'at most one jwt_token_file entry is supported: each one sets the authorization header');
  }
  return out;
}

function parseNode(json: JsonRecord, problems: ProblemList): BootstrapNode {
  const node = readObject(json, 'node', '', problems) ?? {};
  const id = readString(node, 'id', 'node', problems) ?? '';
  const cluster = readString(node, 'cluster', 'node', problems) ?? '';
  const rawMetadata = readObject(node, 'metadata', 'node', problems);
  const metadata = rawMetadata === undefined ? {} : toJsonObject(rawMetadata, 'node.metadata', problems);
  const rawLocality = readObject(node, 'locality', 'node', problems);
  let locality: Locality | undefined;
  if (rawLocality !== undefined) {
    locality = {
      region: readString(rawLocality, 'region', 'node.locality', problems) ?? '',
      zone: readString(rawLocality, 'zone', 'node.locality', problems) ?? '',
      // proto JSON accepts the field name and its lowerCamelCase json_name.
      subZone:
        readString(rawLocality, 'sub_zone', 'node.locality', problems) ??
        readString(rawLocality, 'subZone', 'node.locality', problems) ??
        '',
    };
  }
  // user_agent_*, client_features: gRFC A27 says the client fills them, so the file's values are ignored.
  return bootstrapNode(id, cluster, metadata, locality);
}

/** Copies a value that must be representable as google.protobuf.Value. */
function toJsonValue(v: unknown, field: string, problems: ProblemList): JsonValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v;
    problems.add(field, `expected a finite number, got ${v}`);
    return null;
  }
  if (Array.isArray(v)) return v.map((item, i) => toJsonValue(item, joinPath(field, i), problems));
  if (isRecord(v)) return toJsonObject(v, field, problems);
  problems.add(field, `expected a JSON value, got ${describeJson(v)}`);
  return null;
}

function toJsonObject(o: JsonRecord, field: string, problems: ProblemList): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    setOwn(out, k, toJsonValue(v, joinPath(field, k), problems));
  }
  return out;
}

function parseCertificateProviders(
  json: JsonRecord,
  problems: ProblemList,
): Record<string, FileWatcherCertificateProvider> {
  const out: Record<string, FileWatcherCertificateProvider> = {};
  const providers = readObject(json, 'certificate_providers', '', problems);
  if (providers === undefined) return out;
  for (const [name, provider] of Object.entries(providers)) {
    const base = joinPath('certificate_providers', name);
    if (!isRecord(provider)) {
      problems.add(
        base,
        `expected an object like {"plugin_name": "file_watcher", "config": {...}}, got ${describeJson(provider)}`,
      );
      continue;
    }
    const pluginName = readString(provider, 'plugin_name', base, problems, { required: true, nonEmpty: true });
    if (pluginName !== 'file_watcher') {
      // gRPC ignores plugins it does not know; a resource that references one is rejected later.
      if (pluginName !== undefined) log.debug('ignoring unsupported certificate provider plugin', { name, pluginName });
      continue;
    }
    const config = readObject(provider, 'config', base, problems, true);
    if (config === undefined) continue;
    const configBase = joinPath(base, 'config');
    const files = readCertificateFiles(config, configBase, problems);
    const present = (key: string) => config[key] !== undefined && config[key] !== null;
    if (!present('certificate_file') && !present('ca_certificate_file')) {
      problems.add(
        configBase,
        'file_watcher needs certificate_file (with private_key_file), ca_certificate_file, or both',
      );
    }
    const refreshIntervalMs = readRefreshInterval(config, configBase, problems);
    setOwn(out, name, { pluginName: 'file_watcher', ...files, refreshIntervalMs });
  }
  return out;
}
