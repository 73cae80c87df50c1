// Where Inboard.start finds its control plane and which node identity it presents: what decides
// whether a service joins the right mesh as the right workload.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BootstrapError } from '@inboard/xds';
import {
  controlPlaneBootstrap,
  Inboard,
  type InboardOptionError,
  inboardNode,
  NoControlPlaneError,
  resolveBootstrap,
} from 'inboard';

const BOOTSTRAP_JSON = JSON.stringify({
  xds_servers: [
    { server_uri: 'unix:///etc/istio/proxy/XDS', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
  ],
  node: {
    id: 'sidecar~10.1.2.3~reviews-v2-abc-def.bookinfo~bookinfo.svc.cluster.local',
    metadata: { GENERATOR: 'grpc' },
  },
});

describe('resolveBootstrap', () => {
  test('without any source it fails with a code and says what to set', async () => {
    await assert.rejects(resolveBootstrap({ env: {} }), (err: NoControlPlaneError) => {
      assert.equal(err.code, 'INBOARD_NO_CONTROL_PLANE');
      assert.match(err.message, /GRPC_XDS_BOOTSTRAP/);
      assert.match(err.message, /INBOARD_CONTROL_PLANE=host:port/);
      return true;
    });
    await assert.rejects(Inboard.start({ env: {} }), NoControlPlaneError);
  });

  test('INBOARD_CONTROL_PLANE: the embedded control plane over an insecure channel', async () => {
    const { bootstrap, source } = await resolveBootstrap({
      env: {
        INBOARD_CONTROL_PLANE: '127.0.0.1:15010',
        INBOARD_APP: 'reviews',
        INBOARD_VERSION: 'v2',
        INBOARD_NAME: 'reviews-v2-a',
      },
    });
    assert.equal(source, 'INBOARD_CONTROL_PLANE');
    assert.equal(bootstrap.xdsServers[0]?.serverUri, '127.0.0.1:15010');
    assert.deepEqual(bootstrap.xdsServers[0]?.channelCreds, { type: 'insecure' });
    assert.equal(bootstrap.node.id, 'sidecar~127.0.0.1~reviews-v2-a.default~default.svc.cluster.local');
    assert.deepEqual(bootstrap.node.metadata['LABELS'], { app: 'reviews', version: 'v2' });
    assert.equal(bootstrap.node.metadata['WORKLOAD_NAME'], 'reviews-v2');
    assert.equal(bootstrap.node.metadata['GENERATOR'], 'grpc');
    assert.equal(bootstrap.serverListenerResourceNameTemplate, 'xds.istio.io/grpc/lds/inbound/%s');
  });

  test('GRPC_XDS_BOOTSTRAP_CONFIG (istio-agent) wins over INBOARD_CONTROL_PLANE', async () => {
    const { bootstrap, source } = await resolveBootstrap({
      env: { GRPC_XDS_BOOTSTRAP_CONFIG: BOOTSTRAP_JSON, INBOARD_CONTROL_PLANE: '127.0.0.1:15010' },
    });
    assert.equal(source, 'GRPC_XDS_BOOTSTRAP_CONFIG');
    assert.equal(bootstrap.xdsServers[0]?.serverUri, 'unix:///etc/istio/proxy/XDS');
    assert.equal(bootstrap.node.id, 'sidecar~10.1.2.3~reviews-v2-abc-def.bookinfo~bookinfo.svc.cluster.local');
  });

  test('the controlPlane option wins over the environment', async () => {
    const { source, bootstrap } = await resolveBootstrap({
      controlPlane: 'localhost:20000',
      node: { app: 'ratings' },
      env: { GRPC_XDS_BOOTSTRAP_CONFIG: BOOTSTRAP_JSON },
    });
    assert.equal(source, 'controlPlane');
    assert.equal(bootstrap.xdsServers[0]?.serverUri, 'localhost:20000');
    // without a name, each process gets its own pod name so workloads on one host stay distinct
    assert.match(bootstrap.node.id, new RegExp(`^sidecar~127\\.0\\.0\\.1~ratings-v1-${process.pid}\\.default~`));
  });

  test('istiod: TLS to istiod:15012 with the service-account token', async () => {
    const { source, bootstrap } = await resolveBootstrap({
      istiod: true,
      env: { POD_NAME: 'app-1', POD_NAMESPACE: 'shop' },
    });
    assert.equal(source, 'istiod');
    assert.equal(bootstrap.xdsServers[0]?.serverUri, 'istiod.istio-system.svc:15012');
    assert.equal(bootstrap.xdsServers[0]?.channelCreds.type, 'tls');
    assert.equal(bootstrap.xdsServers[0]?.callCreds[0]?.type, 'jwt_token_file');
  });

  test('a bad control-plane address is an option error, not a connection that never works', () => {
    for (const bad of ['15010', 'host', 'host:0', 'host:99999', 'http://host:15010']) {
      assert.throws(
        () => controlPlaneBootstrap(bad, {}, {}),
        (e: InboardOptionError) => e.code === 'INBOARD_OPTION_INVALID',
        bad,
      );
    }
    assert.equal(controlPlaneBootstrap('[::1]:15010', {}, {}).xdsServers[0]?.serverUri, '[::1]:15010');
  });
});

describe('inboardNode', () => {
  test('labels from INBOARD_LABELS, app and version on top; namespace, ip, locality', () => {
    const node = inboardNode(
      { namespace: 'shop', locality: 'eu-west1/eu-west1-b' },
      {
        INBOARD_LABELS: 'team=books, app=ignored',
        INBOARD_APP: 'reviews',
        INBOARD_IP: '10.0.0.7',
        INBOARD_NAME: 'r-1',
      },
    );
    assert.equal(node.id, 'sidecar~10.0.0.7~r-1.shop~shop.svc.cluster.local');
    assert.deepEqual(node.metadata['LABELS'], { team: 'books', app: 'reviews' });
    assert.equal(node.metadata['NAMESPACE'], 'shop');
    assert.equal(node.metadata['INSTANCE_IPS'], '10.0.0.7');
    assert.deepEqual(node.locality, { region: 'eu-west1', zone: 'eu-west1-b', subZone: '' });
  });

  test('a gateway presents itself as a router', () => {
    const node = inboardNode(
      { type: 'router', name: 'ingressgateway', namespace: 'istio-system', labels: { istio: 'ingressgateway' } },
      {},
    );
    assert.equal(node.id, 'router~127.0.0.1~ingressgateway.istio-system~istio-system.svc.cluster.local');
  });

  test('identities istiod would reject are rejected here, naming the field', () => {
    assert.throws(() => inboardNode({ name: 'a~b' }, {}), BootstrapError);
    assert.throws(() => inboardNode({ ip: 'not-an-ip' }, {}), BootstrapError);
    assert.throws(
      () => inboardNode({}, { INBOARD_LABELS: 'novalue' }),
      (e: InboardOptionError) => e.option === 'INBOARD_LABELS',
    );
  });
});
