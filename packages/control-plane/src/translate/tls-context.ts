// The TLS contexts istiod's proxyless generator builds (grpcgen buildCommonTLSContext): certificates
// only by reference to the bootstrap's certificate provider instance "default" (cert "default" =
// workload identity, "ROOTCA" = trust bundle), in both the current and the deprecated fields so
// old and new gRPC clients read them.
//
// And TLS origination (DestinationRule tls SIMPLE / MUTUAL), which istiod's proxyless generator
// does not send at all: the UpstreamTlsContext istiod builds for Envoy sidecars (cluster_tls.go
// constructUpstreamTLS), with the files as DataSource file names where istiod has istio-agent serve
// them over SDS (`file-root:` / `file-cert:` resources), which the client cannot fetch.

import type { envoy } from '@inboard/xds/codec';
import type { ClientTLSSettings } from '../config/istio-types.ts';
import { TLS_TRANSPORT_SOCKET } from './envoy-names.ts';

type CommonTlsContextIn = envoy.extensions_transport_sockets_tls_v3_CommonTlsContext$In;

const IDENTITY = { instance_name: 'default', certificate_name: 'default' };
const ROOT_CA = { instance_name: 'default', certificate_name: 'ROOTCA' };

export function commonTlsContext(subjectAltNames: readonly string[]): CommonTlsContextIn {
  const validation: envoy.extensions_transport_sockets_tls_v3_CertificateValidationContext$In = {
    ca_certificate_provider_instance: ROOT_CA,
  };
  if (subjectAltNames.length > 0) validation.match_subject_alt_names = subjectAltNames.map((exact) => ({ exact }));
  return {
    tls_certificate_provider_instance: IDENTITY,
    tls_certificate_certificate_provider_instance: IDENTITY,
    combined_validation_context: {
      default_validation_context: validation,
      validation_context_certificate_provider_instance: ROOT_CA,
    },
  };
}

type Pack = (typeName: string, message: unknown) => envoy.google_protobuf_Any$In;

/** ISTIO_MUTUAL upstream: verify the server against the service accounts backing the service. */
export function upstreamTlsSocket(
  subjectAltNames: readonly string[],
  pack: Pack,
): envoy.config_core_v3_TransportSocket$In {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: pack('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
      common_tls_context: commonTlsContext(subjectAltNames),
    }),
  };
}

/** STRICT inbound: require a client certificate from the mesh CA (no SAN matching on the server). */
export function downstreamTlsSocket(pack: Pack): envoy.config_core_v3_TransportSocket$In {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: pack('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', {
      common_tls_context: commonTlsContext([]),
      require_client_certificate: { value: true },
    }),
  };
}

/**
 * SIMPLE / MUTUAL: `sni` as set (else the cluster gets auto SNI, see originationProtocolOptions);
 * the client certificate and key for MUTUAL; verification against caCertificates, else the system
 * roots (istiod's "system" default, VERIFY_CERTIFICATE_AT_CLIENT), nothing with insecureSkipVerify
 * (an empty validation context); subjectAltNames (else, for a ServiceEntry, its own) as exact
 * matchers; caCrl as the CRL. ALPN is not set: these clusters speak HTTP/1.1 (istiod offers h2
 * only to HTTP/2 clusters).
 */
export function originationTlsSocket(
  tls: ClientTLSSettings,
  defaultSubjectAltNames: readonly string[],
  pack: Pack,
): envoy.config_core_v3_TransportSocket$In {
  const common: envoy.extensions_transport_sockets_tls_v3_CommonTlsContext$In = {};
  if (tls.mode === 'MUTUAL') {
    common.tls_certificates = [
      { certificate_chain: { filename: tls.clientCertificate }, private_key: { filename: tls.privateKey } },
    ];
  }
  if (tls.insecureSkipVerify === true) {
    common.validation_context = {};
  } else {
    const sans = (tls.subjectAltNames ?? []).length > 0 ? tls.subjectAltNames! : defaultSubjectAltNames;
    const v: envoy.extensions_transport_sockets_tls_v3_CertificateValidationContext$In =
      (tls.caCertificates ?? '') !== '' ? { trusted_ca: { filename: tls.caCertificates } } : { system_root_certs: {} };
    if (sans.length > 0) v.match_subject_alt_names = sans.map((exact) => ({ exact }));
    if ((tls.caCrl ?? '') !== '') v.crl = { filename: tls.caCrl };
    common.validation_context = v;
  }
  const context: envoy.extensions_transport_sockets_tls_v3_UpstreamTlsContext$In = { common_tls_context: common };
  if ((tls.sni ?? '') !== '') context.sni = tls.sni;
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: pack('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', context),
  };
}

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/**
 * istiod's setAutoSniAndAutoSanValidation: without `sni` the SNI is the request's host (auto_sni),
 * and without subjectAltNames either, unless insecureSkipVerify, the server certificate must match
 * that host (auto_san_validation). Undefined when neither applies.
 */
export function originationProtocolOptions(
  tls: ClientTLSSettings,
  pack: Pack,
): Record<string, envoy.google_protobuf_Any$In> | undefined {
  const autoSni = (tls.sni ?? '') === '';
  const autoSan = autoSni && (tls.subjectAltNames ?? []).length === 0 && tls.insecureSkipVerify !== true;
  if (!autoSni) return undefined;
  const up: envoy.config_core_v3_UpstreamHttpProtocolOptions$In = { auto_sni: true };
  if (autoSan) up.auto_san_validation = true;
  return {
    [HTTP_PROTOCOL_OPTIONS]: pack(HTTP_PROTOCOL_OPTIONS, {
      // HTTP/1.1, as these clusters speak without http2_protocol_options (the oneof is required)
      explicit_http_config: { http_protocol_options: {} },
      upstream_http_protocol_options: up,
    }),
  };
}
