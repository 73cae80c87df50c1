// Inbound engines for tests, without an ADS server: a scripted XdsClient delivers the resources
// (the ADS path is covered by packages/http/test/inbound-engine.test.ts), and istiod-shaped
// listeners to deliver.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createInboundEngine, INBOUND_CHANNEL, type InboundEngine, type InboundRequestEvent } from '@inboard/http';
import type { Listener, ResourceType, ResourceWatcher, XdsClient } from '@inboard/xds';
import { resourceTypes } from '@inboard/xds';
import { type HttpConnectionManagerIn, type ListenerIn, packAny } from '@inboard/xds/codec';
import { ROUTER_FILTER } from './istio-shaped.ts';

type HttpFilterIn = NonNullable<HttpConnectionManagerIn['http_filters']>[number];

/** An XdsClient stand-in: the test delivers resources to whoever watches them. */
export class ScriptedClient {
  readonly watchers = new Map<string, ResourceWatcher<unknown>>();
  watch<T>(type: ResourceType<T>, name: string, w: ResourceWatcher<T>): () => void {
    const key = `${type.typeUrl} ${name}`;
    this.watchers.set(key, w as ResourceWatcher<unknown>);
    return () => this.watchers.delete(key);
  }
  deliver<T>(type: ResourceType<T>, name: string, value: T): void {
    this.watchers.get(`${type.typeUrl} ${name}`)?.onResourceChanged(value, name);
  }
  absent<T>(type: ResourceType<T>, name: string): void {
    this.watchers.get(`${type.typeUrl} ${name}`)?.onResourceDoesNotExist(name);
  }
  watching<T>(type: ResourceType<T>, name: string): boolean {
    return this.watchers.has(`${type.typeUrl} ${name}`);
  }
}

export function decodeListener(l: ListenerIn): Listener {
  const r = resourceTypes.listener.decode(packAny('envoy.config.listener.v3.Listener', l), {
    certificateProviders: undefined,
  });
  if (!r.ok) assert.fail(r.errors.join('\n'));
  return r.value;
}

/** An engine for `ip:port` that has its listener already. */
export function scriptedEngine(listener: ListenerIn, ip: string, port: number): InboundEngine {
  const client = new ScriptedClient();
  const engine = createInboundEngine({ client: client as unknown as XdsClient, listenAddress: { ip, port } });
  client.deliver(resourceTypes.listener, engine.listenerName, decodeListener(listener));
  return engine;
}

/** istiod's plaintext inbound listener for `ip:port`: one inline route configuration, these HTTP filters. */
export function plaintextInboundListener(
  ip: string,
  port: number,
  httpFilters: readonly HttpFilterIn[],
  /** more HttpConnectionManager fields (generate_request_id…) */
  hcmExtra: Record<string, unknown> = {},
): ListenerIn {
  return {
    name: `xds.istio.io/grpc/lds/inbound/${ip}:${port}`,
    address: { socket_address: { address: ip, port_value: port } },
    filter_chains: [
      {
        name: 'inbound-plaintext',
        filters: [
          {
            name: 'inbound-hcmplaintext',
            typed_config: packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
              route_config: {
                name: 'inbound',
                virtual_hosts: [
                  {
                    name: 'inbound',
                    domains: ['*'],
                    routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }],
                  },
                ],
              },
              http_filters: [...httpFilters],
              ...hcmExtra,
            }),
          },
        ],
      },
    ],
  };
}

/**
 * istiod's mTLS (PeerAuthentication STRICT) inbound listener: the workload certificate and root
 * from the `default` certificate provider instance, client certificates required.
 */
export function strictInboundListener(ip: string, port: number, httpFilters: readonly HttpFilterIn[]): ListenerIn {
  const listener = plaintextInboundListener(ip, port, httpFilters);
  const chain = listener.filter_chains![0]!;
  return {
    ...listener,
    filter_chains: [
      {
        ...chain,
        name: 'inbound-mtls',
        filters: chain.filters!.map((f) => ({ ...f, name: 'inbound-hcmmtls' })),
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: packAny('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', {
            common_tls_context: {
              tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
              combined_validation_context: {
                default_validation_context: {
                  ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
                },
              },
            },
            require_client_certificate: { value: true },
          }),
        },
      },
    ],
  };
}

/** The plaintext inbound listener with an AuthorizationPolicy denying a path prefix. */
export function plaintextListenerDenying(ip: string, port: number, policy: string, pathPrefix: string): ListenerIn {
  return plaintextInboundListener(ip, port, [
    {
      name: 'envoy.filters.http.rbac.DENY',
      typed_config: packAny('envoy.extensions.filters.http.rbac.v3.RBAC', {
        rules: {
          action: 1, // DENY
          policies: {
            [policy]: { permissions: [{ url_path: { path: { prefix: pathPrefix } } }], principals: [{ any: true }] },
          } as never,
        },
      }),
    },
    ROUTER_FILTER,
  ]);
}

/** The next inbound event (INBOUND_CHANNEL) that matches. */
export function nextInboundEvent(pred: (e: InboundRequestEvent) => boolean): Promise<InboundRequestEvent> {
  return new Promise((resolve) => {
    const fn = (msg: unknown) => {
      const e = msg as InboundRequestEvent;
      if (!pred(e)) return;
      unsubscribe(INBOUND_CHANNEL, fn);
      resolve(e);
    };
    subscribe(INBOUND_CHANNEL, fn);
  });
}
