// Server TLS options from a DownstreamTlsContext: istiod names certificate provider instances of
// the bootstrap (file_watcher plugins pointing at the files istio-agent keeps rotated), so the
// workload key, certificate and mesh root are read from those files. No SAN check on clients
// (istiod sets none for servers); authorization is RBAC's job. The engine keeps the servers it
// serves current as the files rotate (server-certificates.ts).
import type { FileWatcherCertificateProvider, TlsContext } from '@inboard/xds';
import { InboardError } from '@inboard/xds';
import { readCertificateFile, type TlsConfigErrorFactory } from '../cluster/certificate-files.ts';

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

export const inboundTlsConfigError: TlsConfigErrorFactory = (message, cause) =>
  new InboundTlsConfigError(message, cause === undefined ? undefined : { cause });

/** The server options for `tls` with these files' contents. */
export function serverTlsOptionsOf(
  tls: TlsContext,
  files: { readonly key: Buffer; readonly cert: Buffer; readonly ca: Buffer | undefined },
): ServerTlsOptions {
  return {
    key: files.key,
    cert: files.cert,
    ca: files.ca,
    requestCert: tls.requireClientCertificate || files.ca !== undefined,
    rejectUnauthorized: tls.requireClientCertificate,
    minVersion: 'TLSv1.2',
    ALPNProtocols: tls.alpnProtocols.length > 0 ? [...tls.alpnProtocols] : undefined,
  };
}

/** Reads the files once: a server created from these options alone does not see rotations. */
export function serverTlsOptions(
  tls: TlsContext,
  providers: Readonly<Record<string, FileWatcherCertificateProvider>>,
): ServerTlsOptions {
  const id = tls.identityCertificate;
  if (id === undefined) throw new InboundTlsConfigError('the filter chain has no identity certificate provider');
  const root = tls.rootCertificate;
  const fail = inboundTlsConfigError;
  const ca = root === undefined ? undefined : readCertificateFile(providers, root.instanceName, 'CA certificate', fail);
  return serverTlsOptionsOf(tls, {
    key: readCertificateFile(providers, id.instanceName, 'private key', fail),
    cert: readCertificateFile(providers, id.instanceName, 'certificate', fail),
    ca,
  });
}
