// Upstream/DownstreamTlsContext through a transport socket. Certificates come from the bootstrap's
// certificate provider instances (as istiod's proxyless generator sends them; both the current
// fields and the deprecated ones istiod < 1.29 sends are read, current winning) or, upstream only,
// from DataSources: trusted_ca, tls_certificates, crl and system_root_certs, the form of a
// DestinationRule SIMPLE / MUTUAL (TLS origination). A DataSource file is read here, when the
// cluster is decoded, as Envoy reads it when it builds the cluster: a file that cannot be read or
// is not PEM NACKs the update, and the last good cluster keeps serving.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type {
  config_core_v3_DataSource,
  config_core_v3_TransportSocket,
  extensions_transport_sockets_tls_v3_CertificateValidationContext,
  extensions_transport_sockets_tls_v3_CommonTlsContext,
  extensions_transport_sockets_tls_v3_TlsCertificate,
  type_matcher_v3_StringMatcher,
} from '../gen/envoy.ts';
import { stringMatcher } from './matchers.ts';
import type { CertificateProviderInstance, PemSource, StringMatcher, TlsCertificatePair, TlsContext } from './model.ts';
import type { Problems } from './problems.ts';
import { anyMessageName, EMPTY, unpack } from './proto-values.ts';
import type { DecodeContext } from './resource-type.ts';

const TLS_SOCKET = 'envoy.transport_sockets.tls';
const RAW_BUFFER_SOCKET = 'envoy.transport_sockets.raw_buffer';
const UPSTREAM = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const DOWNSTREAM = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const RAW_BUFFER = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
const SAN_URI = 3;
const SAN_DNS = 2;

/** The PEM text of a DataSource; a file is read now. Undefined (and a problem) when it cannot be had. */
function pemSource(d: config_core_v3_DataSource, path: string, p: Problems): PemSource | undefined {
  if (d.watched_directory !== undefined) p.add(`${path}.watched_directory`, 'is not supported');
  if (d.filename !== undefined) {
    if (d.filename === '') {
      p.add(`${path}.filename`, 'must not be empty');
      return undefined;
    }
    try {
      return { source: d.filename, pem: readFileSync(d.filename, 'utf8') };
    } catch (err) {
      p.add(`${path}.filename`, `cannot read ${JSON.stringify(d.filename)}: ${(err as Error).message}`);
      return undefined;
    }
  }
  if (d.inline_bytes !== undefined) return { source: 'inline', pem: Buffer.from(d.inline_bytes).toString('utf8') };
  if (d.inline_string !== undefined) return { source: 'inline', pem: d.inline_string };
  if (d.environment_variable !== undefined) {
    const v = process.env[d.environment_variable];
    if (v === undefined) {
      p.add(`${path}.environment_variable`, `${JSON.stringify(d.environment_variable)} is not set`);
      return undefined;
    }
    return { source: `env:${d.environment_variable}`, pem: v };
  }
  p.add(path, 'a filename, inline_bytes, inline_string or environment_variable is required');
  return undefined;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Envoy fails the cluster when trusted_ca holds no certificate it can load; so does this. */
function checkCaBundle(ca: PemSource, path: string, p: Problems): void {
  const blocks = ca.pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    p.add(path, `failed to load trusted CA certificates from ${ca.source}: no PEM certificate`);
    return;
  }
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (err) {
      p.add(path, `failed to load trusted CA certificates from ${ca.source}: ${(err as Error).message}`);
      return;
    }
  }
}

function certificatePair(
  t: extensions_transport_sockets_tls_v3_TlsCertificate,
  path: string,
  p: Problems,
): TlsCertificatePair | undefined {
  if (t.pkcs12 !== undefined) p.add(`${path}.pkcs12`, 'is not supported');
  if (t.watched_directory !== undefined) p.add(`${path}.watched_directory`, 'is not supported');
  if (t.private_key_provider !== undefined) p.add(`${path}.private_key_provider`, 'is not supported');
  if (t.password !== undefined) p.add(`${path}.password`, 'encrypted private keys are not supported');
  if (t.ocsp_staple !== undefined) p.add(`${path}.ocsp_staple`, 'is not supported');
  if (t.signed_certificate_timestamp.length > 0) p.add(`${path}.signed_certificate_timestamp`, 'is not supported');
  if (t.certificate_chain === undefined) p.add(`${path}.certificate_chain`, 'is required');
  if (t.private_key === undefined) p.add(`${path}.private_key`, 'is required');
  if (t.certificate_chain === undefined || t.private_key === undefined) return undefined;
  const chain = pemSource(t.certificate_chain, `${path}.certificate_chain`, p);
  const key = pemSource(t.private_key, `${path}.private_key`, p);
  if (chain === undefined || key === undefined) return undefined;
  try {
    // a chain that is not PEM, a key that is not, or a key that is not the certificate's
    createSecureContext({ cert: chain.pem, key: key.pem });
  } catch (err) {
    p.add(
      path,
      `failed to load certificate chain from ${chain.source} and private key from ${key.source}: ${(err as Error).message}`,
    );
    return undefined;
  }
  return { certificateChain: chain, privateKey: key };
}

/** What a validation context says about trust, besides SAN matchers. */
interface Validation {
  root: CertificateProviderInstance | undefined;
  trustedCa: PemSource | undefined;
  crl: PemSource | undefined;
  systemRootCerts: boolean;
}

function instance(
  i: { instance_name: string; certificate_name: string },
  path: string,
  p: Problems,
  ctx: DecodeContext,
): CertificateProviderInstance {
  const known = ctx.certificateProviders;
  if (known !== undefined && !known.has(i.instance_name)) {
    p.add(
      `${path}.instance_name`,
      `certificate provider instance ${JSON.stringify(i.instance_name)} is not in the bootstrap`,
    );
  }
  return { instanceName: i.instance_name, certificateName: i.certificate_name };
}

function validationContext(
  v: extensions_transport_sockets_tls_v3_CertificateValidationContext,
  path: string,
  p: Problems,
  ctx: DecodeContext,
  sans: StringMatcher[],
  side: 'upstream' | 'downstream',
): Validation {
  const out: Validation = { root: undefined, trustedCa: undefined, crl: undefined, systemRootCerts: false };
  if (v.watched_directory !== undefined) p.add(`${path}.watched_directory`, 'is not supported');
  if (v.custom_validator_config !== undefined) p.add(`${path}.custom_validator_config`, 'is not supported');
  if (v.verify_certificate_spki.length > 0) p.add(`${path}.verify_certificate_spki`, 'is not supported');
  if (v.verify_certificate_hash.length > 0) p.add(`${path}.verify_certificate_hash`, 'is not supported');
  if (v.allow_expired_certificate) p.add(`${path}.allow_expired_certificate`, 'is not supported');
  if (v.trust_chain_verification !== 0)
    p.add(`${path}.trust_chain_verification`, 'only VERIFY_TRUST_CHAIN is supported');
  if (v.only_verify_leaf_cert_crl) p.add(`${path}.only_verify_leaf_cert_crl`, 'is not supported');
  if (side === 'downstream') {
    // listeners take certificates only from the bootstrap's provider instances (istio-agent's files)
    if (v.trusted_ca !== undefined) p.add(`${path}.trusted_ca`, 'only certificate provider instances are supported');
    if (v.crl !== undefined) p.add(`${path}.crl`, 'CRLs are not supported');
    if (v.system_root_certs !== undefined) p.add(`${path}.system_root_certs`, 'is not supported');
  } else {
    if (v.trusted_ca !== undefined) {
      out.trustedCa = pemSource(v.trusted_ca, `${path}.trusted_ca`, p);
      if (out.trustedCa !== undefined) checkCaBundle(out.trustedCa, `${path}.trusted_ca`, p);
    }
    out.systemRootCerts = v.system_root_certs !== undefined;
    if (v.crl !== undefined) {
      out.crl = pemSource(v.crl, `${path}.crl`, p);
      if (out.crl !== undefined) {
        try {
          createSecureContext({ crl: out.crl.pem });
        } catch (err) {
          p.add(`${path}.crl`, `failed to load CRL from ${out.crl.source}: ${(err as Error).message}`);
        }
      }
    }
  }
  const legacy: readonly type_matcher_v3_StringMatcher[] = v.match_subject_alt_names;
  for (let i = 0; i < legacy.length; i++) {
    sans.push(stringMatcher(legacy[i]!, `${path}.match_subject_alt_names[${i}]`, p));
  }
  const typed = v.match_typed_subject_alt_names;
  for (let i = 0; i < typed.length; i++) {
    const t = typed[i]!;
    const at = `${path}.match_typed_subject_alt_names[${i}]`;
    if (t.san_type !== SAN_URI && t.san_type !== SAN_DNS) {
      p.add(`${at}.san_type`, 'only URI and DNS subject alt names are supported');
    } else if (t.matcher === undefined) {
      p.add(`${at}.matcher`, 'must be set');
    } else {
      sans.push(stringMatcher(t.matcher, `${at}.matcher`, p));
    }
  }
  const ca = v.ca_certificate_provider_instance;
  if (ca !== undefined) out.root = instance(ca, `${path}.ca_certificate_provider_instance`, p, ctx);
  return out;
}

interface Common extends Validation {
  identity: CertificateProviderInstance | undefined;
  tlsCertificate: TlsCertificatePair | undefined;
  /** a validation context (of any form) is present */
  validates: boolean;
  sans: readonly StringMatcher[];
  alpn: readonly string[];
}

function commonTlsContext(
  c: extensions_transport_sockets_tls_v3_CommonTlsContext | undefined,
  path: string,
  p: Problems,
  ctx: DecodeContext,
  side: 'upstream' | 'downstream',
): Common {
  const none: Common = {
    identity: undefined,
    tlsCertificate: undefined,
    root: undefined,
    trustedCa: undefined,
    crl: undefined,
    systemRootCerts: false,
    validates: false,
    sans: EMPTY,
    alpn: EMPTY,
  };
  if (c === undefined) return none;
  let tlsCertificate: TlsCertificatePair | undefined;
  if (c.tls_certificates.length > 0) {
    if (side === 'downstream') {
      p.add(`${path}.tls_certificates`, 'only certificate provider instances are supported');
    } else if (c.tls_certificates.length > 1) {
      p.add(`${path}.tls_certificates`, 'only one certificate is supported');
    } else {
      tlsCertificate = certificatePair(c.tls_certificates[0]!, `${path}.tls_certificates[0]`, p);
    }
  }
  if (c.tls_certificate_sds_secret_configs.length > 0) {
    p.add(`${path}.tls_certificate_sds_secret_configs`, 'SDS is not supported');
  }
  if (c.tls_certificate_certificate_provider !== undefined) {
    p.add(`${path}.tls_certificate_certificate_provider`, 'is not supported');
  }
  if (c.validation_context_sds_secret_config !== undefined)
    p.add(`${path}.validation_context_sds_secret_config`, 'SDS is not supported');
  if (c.validation_context_certificate_provider !== undefined) {
    p.add(`${path}.validation_context_certificate_provider`, 'is not supported');
  }
  if (c.custom_handshaker !== undefined) p.add(`${path}.custom_handshaker`, 'is not supported');

  let identity: CertificateProviderInstance | undefined;
  if (c.tls_certificate_provider_instance !== undefined) {
    identity = instance(c.tls_certificate_provider_instance, `${path}.tls_certificate_provider_instance`, p, ctx);
  } else if (c.tls_certificate_certificate_provider_instance !== undefined) {
    identity = instance(
      c.tls_certificate_certificate_provider_instance,
      `${path}.tls_certificate_certificate_provider_instance`,
      p,
      ctx,
    );
  }
  if (identity !== undefined && c.tls_certificates.length > 0) {
    p.add(`${path}.tls_certificates`, 'cannot be combined with a certificate provider instance');
  }

  const sans: StringMatcher[] = [];
  let v: Validation = { root: undefined, trustedCa: undefined, crl: undefined, systemRootCerts: false };
  let validates = false;
  if (c.validation_context !== undefined) {
    validates = true;
    v = validationContext(c.validation_context, `${path}.validation_context`, p, ctx, sans, side);
  } else if (c.combined_validation_context !== undefined) {
    validates = true;
    const cv = c.combined_validation_context;
    const at = `${path}.combined_validation_context`;
    if (cv.validation_context_sds_secret_config !== undefined)
      p.add(`${at}.validation_context_sds_secret_config`, 'SDS is not supported');
    if (cv.validation_context_certificate_provider !== undefined) {
      p.add(`${at}.validation_context_certificate_provider`, 'is not supported');
    }
    if (cv.default_validation_context !== undefined) {
      v = validationContext(cv.default_validation_context, `${at}.default_validation_context`, p, ctx, sans, side);
    }
    if (v.root === undefined && cv.validation_context_certificate_provider_instance !== undefined) {
      v.root = instance(
        cv.validation_context_certificate_provider_instance,
        `${at}.validation_context_certificate_provider_instance`,
        p,
        ctx,
      );
    }
  } else if (c.validation_context_certificate_provider_instance !== undefined) {
    validates = true;
    v.root = instance(
      c.validation_context_certificate_provider_instance,
      `${path}.validation_context_certificate_provider_instance`,
      p,
      ctx,
    );
  }
  return {
    ...v,
    identity,
    tlsCertificate,
    validates,
    sans: sans.length === 0 ? EMPTY : sans,
    alpn: c.alpn_protocols.length === 0 ? EMPTY : c.alpn_protocols,
  };
}

/**
 * The trust of an upstream context, checked as Envoy checks it when it builds the cluster: one
 * source of trust; SAN matchers and a CRL need one (Envoy refuses SAN verification without a
 * trusted CA as insecure); a validation context that names none verifies nothing (istiod's
 * insecureSkipVerify form). No validation context at all is refused: Inboard never originates
 * TLS without the control plane having said how to verify the server.
 */
function upstreamTrust(c: Common, at: string, p: Problems): boolean {
  const sources = [c.root !== undefined, c.trustedCa !== undefined, c.systemRootCerts].filter(Boolean).length;
  if (!c.validates) {
    p.add(at, 'a validation context (trusted_ca, system_root_certs or a CA certificate provider instance) is required');
    return true;
  }
  if (sources > 1) {
    p.add(at, 'only one of trusted_ca, system_root_certs and a CA certificate provider instance may be set');
  }
  if (sources === 0) {
    if (c.sans.length > 0) {
      p.add(at, 'SAN-based verification of peer certificates without a trusted CA is insecure and not allowed');
    }
    if (c.crl !== undefined) p.add(at, 'a CRL without a trusted CA is not allowed');
    return false;
  }
  return true;
}

/**
 * Where an upstream context takes its certificates: either certificate provider instances (Istio
 * mTLS, both identity and CA read from the bootstrap's instances) or DataSources in the context
 * (TLS origination). Envoy would honour a mix, the connector does not (it would verify with no CA,
 * or silently present no client certificate, or skip the CRL): a mix is refused with the reason.
 */
function upstreamSources(c: Common, at: string, p: Problems): void {
  if (c.identity === undefined && c.root === undefined) return;
  const inline: string[] = [];
  if (c.tlsCertificate !== undefined && c.identity === undefined) inline.push('tls_certificates');
  if (c.trustedCa !== undefined) inline.push('trusted_ca');
  if (c.systemRootCerts) inline.push('system_root_certs');
  if (c.crl !== undefined) inline.push('crl');
  for (const name of inline) {
    p.add(
      at,
      `${name} cannot be combined with a certificate provider instance: the certificates come either from certificate provider instances or from the context's DataSources`,
    );
  }
  if (c.identity !== undefined && c.root === undefined && c.trustedCa === undefined && !c.systemRootCerts) {
    p.add(
      at,
      'an identity certificate provider instance needs a CA certificate provider instance (validation_context.ca_certificate_provider_instance) to verify servers with',
    );
  }
}

/**
 * The TLS context of a transport socket; undefined for plaintext (no socket or raw_buffer).
 * `side` says which context the socket must carry: clusters upstream, filter chains downstream.
 */
export function transportSocketTls(
  ts: config_core_v3_TransportSocket | undefined,
  side: 'upstream' | 'downstream',
  path: string,
  p: Problems,
  ctx: DecodeContext,
): TlsContext | undefined {
  if (ts === undefined) return undefined;
  const any = ts.typed_config;
  const type = any === undefined ? '' : anyMessageName(any);
  if (type === RAW_BUFFER || (type === '' && ts.name === RAW_BUFFER_SOCKET)) return undefined;
  const expected = side === 'upstream' ? UPSTREAM : DOWNSTREAM;
  if (any === undefined || type !== expected) {
    p.add(
      path,
      ts.name === TLS_SOCKET || type === UPSTREAM || type === DOWNSTREAM
        ? `typed_config must be ${expected}`
        : `unsupported transport socket ${JSON.stringify(ts.name)}`,
    );
    return undefined;
  }
  const at = `${path}.typed_config`;
  if (side === 'upstream') {
    const u = unpack(any, UPSTREAM, at, p);
    if (u === undefined) return undefined;
    const c = commonTlsContext(u.common_tls_context, `${at}.common_tls_context`, p, ctx, side);
    const verifyPeer = upstreamTrust(c, `${at}.common_tls_context`, p);
    upstreamSources(c, `${at}.common_tls_context`, p);
    return {
      identityCertificate: c.identity,
      rootCertificate: c.root,
      tlsCertificate: c.tlsCertificate,
      trustedCa: c.trustedCa,
      systemRootCerts: c.systemRootCerts,
      crl: c.crl,
      verifyPeer,
      matchSubjectAltNames: c.sans,
      sni: u.sni === '' ? undefined : u.sni,
      autoSni: false,
      autoSanValidation: false,
      alpnProtocols: c.alpn,
      requireClientCertificate: false,
    };
  }
  const d = unpack(any, DOWNSTREAM, at, p);
  if (d === undefined) return undefined;
  const c = commonTlsContext(d.common_tls_context, `${at}.common_tls_context`, p, ctx, side);
  const requireClientCertificate = d.require_client_certificate?.value ?? false;
  if (c.identity === undefined) {
    p.add(`${at}.common_tls_context`, 'an identity certificate provider instance is required');
  }
  if (requireClientCertificate && c.root === undefined) {
    p.add(
      `${at}.common_tls_context`,
      'require_client_certificate needs a validation context with a CA certificate provider instance',
    );
  }
  return {
    identityCertificate: c.identity,
    rootCertificate: c.root,
    tlsCertificate: undefined,
    trustedCa: undefined,
    systemRootCerts: false,
    crl: undefined,
    verifyPeer: c.root !== undefined,
    matchSubjectAltNames: c.sans,
    sni: undefined,
    autoSni: false,
    autoSanValidation: false,
    alpnProtocols: c.alpn,
    requireClientCertificate,
  };
}
