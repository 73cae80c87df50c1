// Upstream TLS from a cluster's UpstreamTlsContext, as Envoy and proxyless gRPC originate Istio
// mTLS (ISTIO_MUTUAL): the client certificate and key of the identity provider instance, the CA
// of the root instance, the chain verified (rejectUnauthorized), then the server's SANs against
// match_subject_alt_names instead of a hostname check (the connection goes to an endpoint IP and
// Istio certificates carry only a SPIFFE URI). SNI only when the context sets one; ALPN from the
// context (else h2 / http/1.1 for an HTTP/2 cluster, as undici offers).
//
// One connector per pool group (one per distinct TLS context): it owns the certificates. They are
// read on the first connection and re-read, on a later new connection, once the providers'
// refresh_interval has passed (gRFC A29's file_watcher semantics, without a timer); identical
// files keep the SecureContext. A re-read that fails keeps the previous certificates and is tried
// again on the next connection. Connections already open keep the certificates they started with.
//
// TLS origination (a DestinationRule tls SIMPLE / MUTUAL, as the embedded control plane sends it)
// carries its certificates in the context itself: trusted_ca (or system_root_certs: Node's default
// CA set), an optional client certificate, an optional CRL, all read by the xDS layer when the
// cluster was decoded; a cluster update re-reads them. As in Envoy, the chain is verified unless
// the validation context names no trust at all (insecureSkipVerify), SANs are checked only against
// match_subject_alt_names (never the hostname), the SNI is `sni`, else with auto_sni the request's
// host, else none (an IP host is never sent as SNI); auto_san_validation also checks the server
// certificate against that host, an IP against its IP SANs.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { type ConnectionOptions, connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import type { Clock, PemSource, TlsContext } from '@inboard/xds';
import { createLogger } from '@inboard/xds';
import { type buildConnector, errors } from 'undici';
import { UpstreamTlsConfigError, UpstreamTlsHandshakeError } from '../dispatch/errors.ts';
import { NO_REQUEST_SNI } from './auto-sni.ts';
import {
  type CertificateProviders,
  certificateProvider,
  readCertificateFile,
  sameFiles,
  type TlsConfigErrorFactory,
} from './certificate-files.ts';
import { requestHostCheck, type ServerIdentityCheck, serverIdentityCheck } from './san-matcher.ts';

const log = createLogger('http.upstream-tls');

/** undici's default connect timeout, for clusters without one */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_INITIAL_DELAY_MS = 60_000;
const MAX_HOST_CHECKS = 256;

const fail: TlsConfigErrorFactory = (message, cause) =>
  new UpstreamTlsConfigError(message, cause === undefined ? undefined : { cause });

export interface UpstreamTlsOptions {
  /** the bootstrap's certificate provider instances (or the mesh's `certificateProviders`) */
  readonly providers: CertificateProviders;
  /** for the refresh interval and the connect timeout */
  readonly clock: Clock;
  /** the cluster's connect_timeout, covering TCP and the handshake (0: undici's default, 10 s) */
  readonly connectTimeoutMs: number;
  /** the cluster speaks HTTP/2: offer h2 when the context names no ALPN */
  readonly h2: boolean;
}

const digest = (d: PemSource | undefined) =>
  d === undefined ? undefined : createHash('sha256').update(d.pem).digest('base64');

/** Everything of a TLS context that shapes a connection: clusters that differ here never share pools. */
export function upstreamTlsKey(tls: TlsContext): string {
  return JSON.stringify([
    tls.identityCertificate?.instanceName,
    tls.identityCertificate?.certificateName,
    tls.rootCertificate?.instanceName,
    tls.rootCertificate?.certificateName,
    digest(tls.trustedCa),
    digest(tls.tlsCertificate?.certificateChain),
    digest(tls.tlsCertificate?.privateKey),
    digest(tls.crl),
    tls.systemRootCerts,
    tls.verifyPeer,
    tls.matchSubjectAltNames,
    tls.sni,
    tls.autoSni,
    tls.autoSanValidation,
    tls.alpnProtocols,
  ]);
}

/** The context names its certificates itself (TLS origination), not by provider instance. */
function inlineMaterial(tls: TlsContext): boolean {
  return tls.identityCertificate === undefined && tls.rootCertificate === undefined;
}

interface Material {
  readonly key: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly ca: Buffer;
  readonly context: SecureContext;
}

export class UpstreamTlsConnector {
  readonly #tls: TlsContext;
  readonly #providers: CertificateProviders;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #alpn: string[] | undefined;
  readonly #check: ServerIdentityCheck | UpstreamTlsConfigError;
  /** auto_san_validation: the check for each request host seen */
  readonly #hostChecks = new Map<string, ServerIdentityCheck>();
  #material: Material | undefined;
  #loadedAt = 0;

  constructor(tls: TlsContext, options: UpstreamTlsOptions) {
    this.#tls = tls;
    this.#providers = options.providers;
    this.#clock = options.clock;
    this.#timeoutMs = options.connectTimeoutMs > 0 ? options.connectTimeoutMs : DEFAULT_CONNECT_TIMEOUT_MS;
    this.#alpn = tls.alpnProtocols.length > 0 ? [...tls.alpnProtocols] : options.h2 ? ['h2', 'http/1.1'] : undefined;
    let check: ServerIdentityCheck | UpstreamTlsConfigError;
    try {
      check = serverIdentityCheck(tls.matchSubjectAltNames);
    } catch (err) {
      check = new UpstreamTlsConfigError(`match_subject_alt_names: ${(err as Error).message}`, { cause: err });
    }
    this.#check = check;
  }

  /**
   * The SecureContext for a new connection: the files are read the first time and re-read once
   * the refresh interval has passed. Throws UpstreamTlsConfigError while no usable files were read.
   */
  secureContext(): SecureContext {
    if (inlineMaterial(this.#tls)) {
      // read by the xDS layer when the cluster was decoded; never refreshed here
      this.#material ??= this.#inline();
      return this.#material.context;
    }
    const now = this.#clock.now();
    const m = this.#material;
    if (m !== undefined && now - this.#loadedAt < this.#refreshIntervalMs()) return m.context;
    try {
      const next = this.#read(m);
      this.#material = next;
      this.#loadedAt = now;
      return next.context;
    } catch (err) {
      if (m === undefined) throw err;
      log.warn('cannot re-read the upstream TLS certificates, keeping the previous ones', {
        error: (err as Error).message,
      });
      return m.context;
    }
  }

  #refreshIntervalMs(): number {
    const id = this.#tls.identityCertificate;
    const root = this.#tls.rootCertificate;
    let ms = Number.POSITIVE_INFINITY;
    if (id !== undefined)
      ms = Math.min(ms, certificateProvider(this.#providers, id.instanceName, fail).refreshIntervalMs);
    if (root !== undefined)
      ms = Math.min(ms, certificateProvider(this.#providers, root.instanceName, fail).refreshIntervalMs);
    return ms;
  }

  #read(previous: Material | undefined): Material {
    const tls = this.#tls;
    const root = tls.rootCertificate;
    // Never a connection without server verification (the xDS layer rejects such contexts too).
    if (root === undefined) throw fail('the cluster has no CA certificate provider instance to verify servers with');
    const ca = readCertificateFile(this.#providers, root.instanceName, 'CA certificate', fail);
    const id = tls.identityCertificate;
    const cert =
      id === undefined ? undefined : readCertificateFile(this.#providers, id.instanceName, 'certificate', fail);
    const key =
      id === undefined ? undefined : readCertificateFile(this.#providers, id.instanceName, 'private key', fail);
    if (previous !== undefined && sameFiles(previous, { ca, cert, key })) return previous;
    let context: SecureContext;
    try {
      context = createSecureContext({ ca, cert, key, minVersion: 'TLSv1.2' });
    } catch (err) {
      const names = id === undefined ? root.instanceName : `${id.instanceName}/${root.instanceName}`;
      throw fail(
        `the files of certificate provider instance ${JSON.stringify(names)} are not a usable key, certificate and CA: ${(err as Error).message}`,
        err,
      );
    }
    return { key, cert, ca, context };
  }

  /** A DestinationRule's certificates, as the xDS layer read them (it has checked them too). */
  #inline(): Material {
    const tls = this.#tls;
    const ca = tls.trustedCa === undefined ? undefined : Buffer.from(tls.trustedCa.pem);
    const cert = tls.tlsCertificate === undefined ? undefined : Buffer.from(tls.tlsCertificate.certificateChain.pem);
    const key = tls.tlsCertificate === undefined ? undefined : Buffer.from(tls.tlsCertificate.privateKey.pem);
    try {
      // no `ca` with system_root_certs (or without verification): Node's default CA set
      const context = createSecureContext({ ca, cert, key, crl: tls.crl?.pem, minVersion: 'TLSv1.2' });
      return { key, cert, ca: ca ?? Buffer.alloc(0), context };
    } catch (err) {
      throw fail(`the cluster's certificates are not usable: ${(err as Error).message}`, err);
    }
  }

  /**
   * The identity check of one connection: the context's SAN matchers and, with auto_san_validation,
   * the request's host too (Envoy's default validator checks its SAN list override and the
   * configured matchers, both).
   */
  #identityCheck(host: string | undefined): ServerIdentityCheck | UpstreamTlsConfigError {
    const configured = this.#check;
    if (host === undefined || configured instanceof Error) return configured;
    let check = this.#hostChecks.get(host);
    if (check === undefined) {
      const byHost = requestHostCheck(host);
      check = (hostname, cert) => byHost(hostname, cert) ?? configured(hostname, cert);
      // hosts come from requests: keep the cache bounded
      if (this.#hostChecks.size >= MAX_HOST_CHECKS) this.#hostChecks.clear();
      this.#hostChecks.set(host, check);
    }
    return check;
  }

  /** undici's connector: TCP, then the TLS handshake, both within the connect timeout. */
  readonly connect: buildConnector.connector = (params, callback) => {
    const tls = this.#tls;
    const requestHost =
      (tls.autoSni || tls.autoSanValidation) &&
      typeof params.servername === 'string' &&
      params.servername !== '' &&
      params.servername !== NO_REQUEST_SNI
        ? params.servername
        : undefined;
    const check = this.#identityCheck(tls.autoSanValidation ? requestHost : undefined);
    let secureContext: SecureContext;
    try {
      if (check instanceof Error) throw check;
      secureContext = this.secureContext();
    } catch (err) {
      queueMicrotask(() => callback(err as Error, null));
      return;
    }
    const options: ConnectionOptions = {
      host: params.hostname,
      port: Number(params.port) || 443,
      secureContext,
      // false only for a validation context without trust (insecureSkipVerify), as Envoy
      rejectUnauthorized: tls.verifyPeer,
      checkServerIdentity: check,
      ALPNProtocols: this.#alpn,
    };
    // Envoy's router sets no SNI for an IP host (RFC 6066), while its SAN check still takes it
    const sni =
      tls.sni ?? (tls.autoSni && requestHost !== undefined && isIP(requestHost) === 0 ? requestHost : undefined);
    if (sni !== undefined) options.servername = sni;
    if (params.localAddress != null) (options as { localAddress?: string }).localAddress = params.localAddress;
    const socket: TLSSocket = connect(options);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEP_ALIVE_INITIAL_DELAY_MS);
    let done = false;
    let handshaking = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      timer.cancel();
      if (err === null) callback(null, socket);
      else callback(err, null);
    };
    const timer = this.#clock.setTimeout(() => {
      const err = new errors.ConnectTimeoutError(
        `Connect Timeout Error (attempted address: ${params.hostname}:${options.port}, timeout: ${this.#timeoutMs}ms)`,
      );
      finish(err);
      socket.destroy(err);
    }, this.#timeoutMs);
    socket.once('connect', () => {
      handshaking = true;
    });
    socket.once('secureConnect', () => finish(null));
    socket.on('error', (err) => finish(handshaking ? new UpstreamTlsHandshakeError(err) : err));
    return socket;
  };
}
