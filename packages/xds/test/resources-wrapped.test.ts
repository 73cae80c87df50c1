// Resources wrapped in envoy.service.discovery.v3.Resource inside a SotW response: unwrapped as
// gRPC C-core does, the wrapper's name being the resource's name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Any, type AnyIn, envoy, packAny, TypeUrl } from '@inboard/xds/codec';
import { encodeToBytes } from '../src/proto/wire.ts';
import { clusterType, type DecodeContext, listenerType } from '../src/resources/index.ts';

const ctx: DecodeContext = { certificateProviders: undefined };

function wrap(m: envoy.service_discovery_v3_Resource$In): Any {
  return {
    type_url: 'type.googleapis.com/envoy.service.discovery.v3.Resource',
    value: encodeToBytes(envoy.encodeservice_discovery_v3_Resource, m),
  };
}

const listener: AnyIn = packAny('envoy.config.listener.v3.Listener', {
  name: 'reviews:9080',
  api_listener: {
    api_listener: packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
      rds: { route_config_name: 'outbound|9080||reviews.default.svc.cluster.local', config_source: { ads: {} } },
      http_filters: [
        {
          name: 'envoy.filters.http.router',
          typed_config: packAny('envoy.extensions.filters.http.router.v3.Router', {}),
        },
      ],
    }),
  },
});
const cluster: AnyIn = packAny('envoy.config.cluster.v3.Cluster', {
  name: 'outbound|9080||reviews.default.svc.cluster.local',
  type: 3,
  eds_cluster_config: { service_name: 'outbound|9080||reviews.default.svc.cluster.local', eds_config: { ads: {} } },
});

test('a wrapped listener decodes like the bare one', () => {
  const bare = listenerType.decode(listener as Any, ctx);
  const wrapped = listenerType.decode(wrap({ name: 'reviews:9080', version: '7', resource: listener }), ctx);
  assert.ok(bare.ok && wrapped.ok, JSON.stringify(wrapped));
  assert.equal(wrapped.name, 'reviews:9080');
  assert.ok(listenerType.equals(bare.value, wrapped.value));
});

test("the wrapper's name is the resource's name; without one, the inner name", () => {
  const named = clusterType.decode(wrap({ name: 'outbound|9080||reviews', resource: cluster }), ctx);
  assert.ok(named.ok);
  assert.equal(named.name, 'outbound|9080||reviews');
  const unnamed = clusterType.decode(wrap({ resource: cluster }), ctx);
  assert.ok(unnamed.ok);
  assert.equal(unnamed.name, 'outbound|9080||reviews.default.svc.cluster.local');
});

test('a wrapper without a resource, or with one of another type, is rejected under its name', () => {
  const empty = listenerType.decode(wrap({ name: 'reviews:9080' }), ctx);
  assert.ok(!empty.ok);
  assert.equal(empty.name, 'reviews:9080');
  assert.match(empty.errors[0]!, /Resource wrapper holds no resource/);
  const other = listenerType.decode(wrap({ name: 'reviews:9080', resource: cluster }), ctx);
  assert.ok(!other.ok);
  assert.equal(other.name, 'reviews:9080');
  assert.match(other.errors[0]!, new RegExp(`unexpected type URL "${TypeUrl.Cluster}"`));
});
