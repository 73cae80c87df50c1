// grpc-js channel options for an xDS server connection, chosen for istiod's server settings.
import { type ClientOptions, InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import type { XdsServerConfig } from './types.ts';

/** istiod enforces keepalive MinTime 15 s (without permit-without-stream); pinging faster gets us GOAWAY. */
export const XDS_KEEPALIVE_TIME_MS = 30_000;
export const XDS_KEEPALIVE_TIMEOUT_MS = 20_000;

export function xdsChannelOptions(server: XdsServerConfig): ClientOptions {
  const options: ClientOptions = {
    'grpc.keepalive_time_ms': XDS_KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': XDS_KEEPALIVE_TIMEOUT_MS,
    'grpc.keepalive_permit_without_calls': 0,
    // istiod responses can exceed grpc-js's 4 MiB default (istio-agent uses MaxInt32 for the same reason).
    'grpc.max_receive_message_length': -1,
  };
  if (server.channelCreds.type === 'tls' && server.tlsServerName !== undefined) {
    // Verify and send SNI for this name even when the target is an IP or another alias.
    options['grpc.ssl_target_name_override'] = server.tlsServerName;
  }
  if (server.channelCreds.type === 'insecure' && Object.keys(server.headers).length > 0) {
    // grpc-js cannot compose call credentials with insecure channel credentials; headers still apply.
    options.interceptors = [headersInterceptor(server.headers)];
  }
  return options;
}

function headersInterceptor(headers: Readonly<Record<string, string>>): Interceptor {
  return (callOptions, nextCall) =>
    new InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
        next(metadata, listener);
      },
    });
}
