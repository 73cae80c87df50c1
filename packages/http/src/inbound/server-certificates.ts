// The inbound side's certificates, kept current. istio-agent rotates the workload certificate
// (and the mesh roots) in the files the bootstrap's file_watcher provider instances name, about
// every half-life of a 24 h certificate; Envoy's SDS and gRPC's file_watcher provider (gRFC A29)
// re-read those files every refresh_interval. A server that read them once would present an
// expired certificate a day after it started, and every mTLS handshake would fail.
//
// One per engine: the files are read the first time they are needed and re-read when a TLS server
// the engine serves accepts a connection after the refresh interval has passed (as the upstream
// connector does, without a timer); identical files keep the material. The new material is
// installed with tls.Server#setSecureContext before the connection's handshake starts, so the
// connection that noticed the rotation is the first to get it. A re-read that fails (a file
// half-written, a key that does not match the certificate) keeps the previous material and is
// tried again on the next connection. Connections already open keep what they started with.
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import type { Clock, TlsContext } from '@inboard/xds';
import { createLogger } from '@inboard/xds';
import {
  type CertificateProviders,
  certificateProvider,
  readCertificateFile,
  sameFiles,
} from '../cluster/certificate-files.ts';
import { InboundTlsConfigError, inboundTlsConfigError } from './tls-options.ts';

const log = createLogger('inbound');

/** One reading of the files a DownstreamTlsContext names. */
export interface ServerTlsMaterial {
  /** the provider instances it was read from */
  readonly instances: string;
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly ca: Buffer | undefined;
}

/** What tls.Server keeps of its options (node sets these from the options it was created with). */
interface TlsServerFields {
  cert?: unknown;
}

export class ServerCertificates {
  readonly #providers: CertificateProviders;
  readonly #clock: Clock;
  #material: ServerTlsMaterial | undefined;
  #loadedAt = 0;
  /** every certificate buffer handed out: a server created with one of them is ours to keep current */
  readonly #issued = new WeakSet<Buffer>();
  readonly #servers = new Map<TlsServer, () => void>();

  constructor(providers: CertificateProviders, clock: Clock) {
    this.#providers = providers;
    this.#clock = clock;
  }

  /**
   * The material for `tls`: read the first time, re-read once the refresh interval has passed.
   * Throws InboundTlsConfigError while no usable files were read.
   */
  current(tls: TlsContext): ServerTlsMaterial {
    const id = tls.identityCertificate;
    if (id === undefined) throw new InboundTlsConfigError('the filter chain has no identity certificate provider');
    const root = tls.rootCertificate;
    const instances = root === undefined ? id.instanceName : `${id.instanceName}/${root.instanceName}`;
    const now = this.#clock.now();
    const m = this.#material?.instances === instances ? this.#material : undefined;
    if (m !== undefined && now - this.#loadedAt < this.#refreshIntervalMs(tls)) return m;
    try {
      const next = this.#read(tls, instances, m);
      this.#material = next;
      this.#loadedAt = now;
      this.#issued.add(next.cert);
      return next;
    } catch (err) {
      if (m === undefined) throw err;
      log.warn('cannot re-read the inbound TLS certificates, keeping the previous ones', {
        error: (err as Error).message,
      });
      return m;
    }
  }

  /** Whether `server` was created with certificates from this engine (tlsServerOptions()). */
  issued(server: TlsServer): boolean {
    const cert = (server as TlsServerFields).cert;
    return Buffer.isBuffer(cert) && this.#issued.has(cert);
  }

  /**
   * Keeps `server`'s certificates current for the policy `tls()` returns (undefined: plaintext,
   * nothing to do). Returns the function that stops it.
   */
  attach(server: TlsServer, tls: () => TlsContext | undefined): () => void {
    const attached = this.#servers.get(server);
    if (attached !== undefined) return attached;
    let applied: ServerTlsMaterial | undefined;
    const onConnection = (): void => {
      const context = tls();
      if (context === undefined) return;
      let m: ServerTlsMaterial;
      try {
        m = this.current(context);
      } catch (err) {
        log.warn('no usable inbound TLS certificates; the server keeps the ones it has', {
          error: (err as Error).message,
        });
        return;
      }
      if (m === applied) return;
      applied = m;
      if ((server as TlsServerFields).cert === m.cert) return; // created with exactly these
      // only the context's own fields: requestCert / rejectUnauthorized / ALPN stay the server's
      server.setSecureContext({ key: m.key, cert: m.cert, ca: m.ca, minVersion: 'TLSv1.2' });
    };
    // ahead of tls.Server's own listener, which wraps the socket with the current context
    server.prependListener('connection', onConnection);
    const detach = () => {
      server.removeListener('connection', onConnection);
      this.#servers.delete(server);
    };
    this.#servers.set(server, detach);
    return detach;
  }

  /** Stops keeping every attached server current. */
  close(): void {
    for (const detach of [...this.#servers.values()]) detach();
  }

  #refreshIntervalMs(tls: TlsContext): number {
    let ms = Number.POSITIVE_INFINITY;
    for (const p of [tls.identityCertificate, tls.rootCertificate]) {
      if (p !== undefined)
        ms = Math.min(
          ms,
          certificateProvider(this.#providers, p.instanceName, inboundTlsConfigError).refreshIntervalMs,
        );
    }
    return ms;
  }

  #read(tls: TlsContext, instances: string, previous: ServerTlsMaterial | undefined): ServerTlsMaterial {
    const id = tls.identityCertificate!;
    const root = tls.rootCertificate;
    const fail = inboundTlsConfigError;
    const ca =
      root === undefined ? undefined : readCertificateFile(this.#providers, root.instanceName, 'CA certificate', fail);
    const cert = readCertificateFile(this.#providers, id.instanceName, 'certificate', fail);
    const key = readCertificateFile(this.#providers, id.instanceName, 'private key', fail);
    if (previous !== undefined && sameFiles(previous, { ca, cert, key })) return previous;
    try {
      // a key that does not match the certificate (files caught mid-rotation) fails here, not in a handshake
      createSecureContext({ key, cert, ca, minVersion: 'TLSv1.2' });
    } catch (err) {
      throw fail(
        `the files of certificate provider instance ${JSON.stringify(instances)} are not a usable key, certificate and CA: ${(err as Error).message}`,
        err,
      );
    }
    return { instances, key, cert, ca };
  }
}
