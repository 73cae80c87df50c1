// Server TLS options from a DownstreamTlsContext: istiod names certificate provider instances of
// the bootstrap (file_watcher plugins pointing at the files istio-agent keeps rotated), so the
// workload key, certificate and mesh root are read from those files. No SAN check on clients
// (istiod sets none for servers); authorization is RBAC's job.
import { readFileSync } from 'node:fs';
import type { FileWatcherCertificateProvider, TlsContext } from '@inboard/xds';
import { InboardError } from '@inboard/xds';

export interface ServerTlsOptions {
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly ca: Buffer | undefined;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
  readonly minVersion: 'TLSv1.2';
  readonly ALPNProtocols: string[] | undefined;
}

export class InboundTlsConfigError extends InboardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INBOARD_INBOUND_TLS_CONFIG', message, options);
  }
}

function provider(
  providers: Readonly<Record<string, FileWatcherCertificateProvider>>,
  name: string,
): FileWatcherCertificateProvider {
  const p = providers[name];
  if (p === undefined)
    throw new InboundTlsConfigError(`certificate provider instance ${JSON.stringify(name)} is not in the bootstrap`);
  return p;
}

function read(file: string | undefined, what: string, instance: string): Buffer {
  if (file === undefined) {
    throw new InboundTlsConfigError(`certificate provider instance ${JSON.stringify(instance)} has no ${what} file`);
  }
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InboundTlsConfigError(`cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export function serverTlsOptions(
  tls: TlsContext,
  providers: Readonly<Record<string, FileWatcherCertificateProvider>>,
): ServerTlsOptions {
  const id = tls.identityCertificate;
  if (id === undefined) throw new InboundTlsConfigError('the filter chain has no identity certificate provider');
  const idProvider = provider(providers, id.instanceName);
  const root = tls.rootCertificate;
  const ca =
    root === undefined
      ? undefined
      : read(provider(providers, root.instanceName).caCertificateFile, 'CA certificate', root.instanceName);
  return {
    key: read(idProvider.privateKeyFile, 'private key', id.instanceName),
    cert: read(idProvider.certificateFile, 'certificate', id.instanceName),
    ca,
    requestCert: tls.requireClientCertificate || ca !== undefined,
    rejectUnauthorized: tls.requireClientCertificate,
    minVersion: 'TLSv1.2',
    ALPNProtocols: tls.alpnProtocols.length > 0 ? [...tls.alpnProtocols] : undefined,
  };
}
