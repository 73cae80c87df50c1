// The TLS contexts istiod's proxyless generator builds (grpcgen buildCommonTLSContext): certificates
// only by reference to the bootstrap's certificate provider instance "default" (cert "default" =
// workload identity, "ROOTCA" = trust bundle), in both the current and the deprecated fields so
// old and new gRPC clients read them.
import type { envoy } from '@inboard/xds/codec';
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
