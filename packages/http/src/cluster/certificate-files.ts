// The bootstrap's certificate provider instances (gRFC A29 file_watcher: the files istio-agent
// keeps rotated) as both TLS sides read them: find the instance a TlsContext names, read one of
// its files. Each side reports failures with its own error class, so the caller passes the
// factory; messages name the instance and the file.
import { readFileSync } from 'node:fs';
import type { FileWatcherCertificateProvider } from '@inboard/xds';

export type CertificateProviders = Readonly<Record<string, FileWatcherCertificateProvider>>;

/** Builds the caller's config error (InboundTlsConfigError, UpstreamTlsConfigError...). */
export type TlsConfigErrorFactory = (message: string, cause?: unknown) => Error;

export function certificateProvider(
  providers: CertificateProviders,
  instance: string,
  fail: TlsConfigErrorFactory,
): FileWatcherCertificateProvider {
  const p = Object.hasOwn(providers, instance) ? providers[instance] : undefined;
  if (p === undefined) throw fail(`certificate provider instance ${JSON.stringify(instance)} is not in the bootstrap`);
  return p;
}

export type CertificateFileKind = 'certificate' | 'private key' | 'CA certificate';

export function certificateFileOf(p: FileWatcherCertificateProvider, what: CertificateFileKind): string | undefined {
  switch (what) {
    case 'certificate':
      return p.certificateFile;
    case 'private key':
      return p.privateKeyFile;
    case 'CA certificate':
      return p.caCertificateFile;
  }
}

/** Reads the `what` file of provider instance `instance`. */
export function readCertificateFile(
  providers: CertificateProviders,
  instance: string,
  what: CertificateFileKind,
  fail: TlsConfigErrorFactory,
): Buffer {
  const file = certificateFileOf(certificateProvider(providers, instance, fail), what);
  if (file === undefined) {
    throw fail(`certificate provider instance ${JSON.stringify(instance)} has no ${what} file`);
  }
  try {
    return readFileSync(file);
  } catch (err) {
    throw fail(
      `cannot read ${what} file ${file} of certificate provider instance ${JSON.stringify(instance)}: ${(err as Error).message}`,
      err,
    );
  }
}

/** The files a TLS context was built from (undefined: not configured). */
export interface CertificateFiles {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

/** Whether the files read now are those `previous` was built from (nothing rotated). */
export function sameFiles(previous: CertificateFiles, now: CertificateFiles): boolean {
  return sameBytes(previous.ca, now.ca) && sameBytes(previous.cert, now.cert) && sameBytes(previous.key, now.key);
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
