// grpc-js credentials for an xDS server: insecure (istio-agent's UDS) or TLS verified against the
// configured roots (istiod:15012), optionally mTLS, composed with the token/headers call credentials.
// There is no way to skip server verification, on purpose.
import { X509Certificate } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import { type ChannelCredentials, type ClientOptions, credentials } from '@grpc/grpc-js';
import { XdsCredentialsError } from '../errors.ts';
import { createCallCredentials, type ReadFile } from './call-credentials.ts';
import { xdsChannelOptions } from './channel-options.ts';
import { targetFor } from './server-target.ts';
import type { XdsServerConfig } from './types.ts';

export interface CredentialsIo {
  /** Defaults to `fs.promises.readFile`. Used for CA/cert/key now and for the token on every call. */
  readFile?: ReadFile;
}

const defaultReadFile: ReadFile = (path) => fsReadFile(path);

export async function createChannelCredentials(
  server: XdsServerConfig,
  io: CredentialsIo = {},
): Promise<ChannelCredentials> {
  const readFile = io.readFile ?? defaultReadFile;
  const creds = server.channelCreds;
  if (creds.type === 'insecure') {
    if (server.callCreds.length > 0) {
      throw new XdsCredentialsError(
        `${server.serverUri}: call credentials (${server.callCreds.map((c) => c.type).join(', ')}) need TLS channel credentials: a token is never sent in plaintext`,
      );
    }
    // Static headers on an insecure channel travel through the interceptor of xdsChannelOptions.
    return credentials.createInsecure();
  }
  const [ca, key, cert] = await Promise.all([
    creds.caCertificateFile === undefined ? null : readPem(creds.caCertificateFile, 'CA certificate', readFile),
    creds.privateKeyFile === undefined ? null : readPem(creds.privateKeyFile, 'private key', readFile),
    creds.certificateFile === undefined ? null : readPem(creds.certificateFile, 'certificate', readFile),
  ]);
  if (ca !== null) checkCertificates(ca, creds.caCertificateFile!);
  if (cert !== null) checkCertificates(cert, creds.certificateFile!);
  let channel: ChannelCredentials;
  try {
    // rootCerts null = the system roots (gRFC A65); verification itself always stays on.
    channel = credentials.createSsl(ca, key, cert);
  } catch (err) {
    const files = [creds.caCertificateFile, creds.certificateFile, creds.privateKeyFile].filter((f) => f !== undefined);
    throw new XdsCredentialsError(
      `${server.serverUri}: invalid TLS material in ${files.join(', ')}: ${err instanceof Error ? err.message : String(err)}`,
      undefined,
      { cause: err },
    );
  }
  const call = createCallCredentials(server, readFile);
  return call === undefined ? channel : channel.compose(call);
}

/** Everything needed to open a grpc-js Client to the server. */
export interface XdsChannelConfig {
  readonly target: string;
  readonly credentials: ChannelCredentials;
  readonly options: ClientOptions;
}

export async function xdsChannelConfig(server: XdsServerConfig, io: CredentialsIo = {}): Promise<XdsChannelConfig> {
  return {
    target: targetFor(server.serverUri),
    credentials: await createChannelCredentials(server, io),
    options: xdsChannelOptions(server),
  };
}

async function readPem(path: string, what: string, readFile: ReadFile): Promise<Buffer> {
  let content: string | Uint8Array;
  try {
    content = await readFile(path);
  } catch (err) {
    throw new XdsCredentialsError(
      `cannot read ${what} file ${path}: ${err instanceof Error ? err.message : String(err)}`,
      path,
      { cause: err },
    );
  }
  return Buffer.from(content);
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Node silently ignores a CA file without certificates, which then fails every handshake obscurely. */
function checkCertificates(pem: Buffer, path: string): void {
  const blocks = pem.toString('latin1').match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new XdsCredentialsError(`${path} holds no PEM certificate`, path);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new XdsCredentialsError(
        `${path} holds an unreadable certificate: ${err instanceof Error ? err.message : String(err)}`,
        path,
        { cause: err },
      );
    }
  }
}
