// Upstream/DownstreamTlsContext through a transport socket. Certificates come only from the
// bootstrap's certificate provider instances (as istiod's proxyless generator sends them); both
// the current fields and the deprecated ones istiod < 1.29 sends are read, current winning.
import type {
  config_core_v3_TransportSocket,
  extensions_transport_sockets_tls_v3_CertificateValidationContext,
  extensions_transport_sockets_tls_v3_CommonTlsContext,
  type_matcher_v3_StringMatcher,
} from '../gen/envoy.ts';
import { stringMatcher } from './matchers.ts';
import type { CertificateProviderInstance, StringMatcher, TlsContext } from './model.ts';
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
): CertificateProviderInstance | undefined {
  if (v.trusted_ca !== undefined) p.add(`${path}.trusted_ca`, 'only certificate provider instances are supported');
  if (v.watched_directory !== undefined) p.add(`${path}.watched_directory`, 'is not supported');
  if (v.crl !== undefined) p.add(`${path}.crl`, 'CRLs are not supported');
  if (v.custom_validator_config !== undefined) p.add(`${path}.custom_validator_config`, 'is not supported');
  if (v.verify_certificate_spki.length > 0) p.add(`${path}.verify_certificate_spki`, 'is not supported');
  if (v.verify_certificate_hash.length > 0) p.add(`${path}.verify_certificate_hash`, 'is not supported');
  if (v.system_root_certs !== undefined) p.add(`${path}.system_root_certs`, 'is not supported');
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
  return ca === undefined ? undefined : instance(ca, `${path}.ca_certificate_provider_instance`, p, ctx);
}

function commonTlsContext(
  c: extensions_transport_sockets_tls_v3_CommonTlsContext | undefined,
  path: string,
  p: Problems,
  ctx: DecodeContext,
): {
  identity: CertificateProviderInstance | undefined;
  root: CertificateProviderInstance | undefined;
  sans: readonly StringMatcher[];
  alpn: readonly string[];
} {
  if (c === undefined) return { identity: undefined, root: undefined, sans: EMPTY, alpn: EMPTY };
  if (c.tls_certificates.length > 0)
    p.add(`${path}.tls_certificates`, 'only certificate provider instances are supported');
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

  const sans: StringMatcher[] = [];
  let root: CertificateProviderInstance | undefined;
  if (c.validation_context !== undefined) {
    root = validationContext(c.validation_context, `${path}.validation_context`, p, ctx, sans);
  } else if (c.combined_validation_context !== undefined) {
    const cv = c.combined_validation_context;
    const at = `${path}.combined_validation_context`;
    if (cv.validation_context_sds_secret_config !== undefined)
      p.add(`${at}.validation_context_sds_secret_config`, 'SDS is not supported');
    if (cv.validation_context_certificate_provider !== undefined) {
      p.add(`${at}.validation_context_certificate_provider`, 'is not supported');
    }
    if (cv.default_validation_context !== undefined) {
      root = validationContext(cv.default_validation_context, `${at}.default_validation_context`, p, ctx, sans);
    }
    if (root === undefined && cv.validation_context_certificate_provider_instance !== undefined) {
      root = instance(
        cv.validation_context_certificate_provider_instance,
        `${at}.validation_context_certificate_provider_instance`,
        p,
        ctx,
      );
    }
  } else if (c.validation_context_certificate_provider_instance !== undefined) {
    root = instance(
      c.validation_context_certificate_provider_instance,
      `${path}.validation_context_certificate_provider_instance`,
      p,
      ctx,
    );
  }
  return {
    identity,
    root,
    sans: sans.length === 0 ? EMPTY : sans,
    alpn: c.alpn_protocols.length === 0 ? EMPTY : c.alpn_protocols,
  };
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
    const c = commonTlsContext(u.common_tls_context, `${at}.common_tls_context`, p, ctx);
    if (c.root === undefined) {
      p.add(`${at}.common_tls_context`, 'a validation context with a CA certificate provider instance is required');
    }
    return {
      identityCertificate: c.identity,
      rootCertificate: c.root,
      matchSubjectAltNames: c.sans,
      sni: u.sni === '' ? undefined : u.sni,
      alpnProtocols: c.alpn,
      requireClientCertificate: false,
    };
  }
  const d = unpack(any, DOWNSTREAM, at, p);
  if (d === undefined) return undefined;
  const c = commonTlsContext(d.common_tls_context, `${at}.common_tls_context`, p, ctx);
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
    matchSubjectAltNames: c.sans,
    sni: undefined,
    alpnProtocols: c.alpn,
    requireClientCertificate,
  };
}
