import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeMessage, jsToStruct, packAny, structToJs, TypeUrl } from '@inboard/xds/codec';

test('a Listener survives encode → decode with nested Any', () => {
  const hcm = packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
    rds: { route_config_name: 'outbound|9080||reviews.default.svc.cluster.local', config_source: { ads: {} } },
  });
  const bytes = encodeMessage('envoy.config.listener.v3.Listener', {
    name: 'reviews:9080',
    api_listener: { api_listener: hcm },
  });
  const l = decodeMessage('envoy.config.listener.v3.Listener', bytes);
  assert.equal(l.name, 'reviews:9080');
  assert.equal(l.api_listener?.api_listener?.type_url, TypeUrl.HttpConnectionManager);
  const back = decodeMessage(
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    l.api_listener!.api_listener!.value,
  );
  assert.equal(back.rds?.route_config_name, 'outbound|9080||reviews.default.svc.cluster.local');
});

test('Struct round trip keeps JSON values', () => {
  const s = { GENERATOR: 'grpc', LABELS: { app: 'reviews', version: 'v2' }, n: 3.5, ok: true, list: ['a', null] };
  const bytes = encodeMessage('google.protobuf.Struct', jsToStruct(s));
  assert.deepEqual(structToJs(decodeMessage('google.protobuf.Struct', bytes)), s);
});
