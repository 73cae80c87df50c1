import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BootstrapError,
  istiodBootstrap,
  type NodeIdentityOptions,
  nodeIdentityFromEnv,
  nodeToProto,
  validateNodeForIstiod,
} from '@inboard/xds';
import { decodeMessage, encodeMessage, structToJs } from '@inboard/xds/codec';
import { parseDownwardApi } from '../src/bootstrap/downward-api.ts';

const noLabelsFile: NodeIdentityOptions['readFileSync'] = (path) => {
  throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
};

const POD_ENV = {
  POD_NAME: 'reviews-v2-7d79d8b5f4-x2x9q',
  POD_NAMESPACE: 'bookinfo',
  INSTANCE_IP: '10.244.1.17',
  SERVICE_ACCOUNT: 'bookinfo-reviews',
  ISTIO_META_CLUSTER_ID: 'Kubernetes',
  ISTIO_VERSION: '1.27.1',
  ISTIO_META_MESH_ID: 'cluster.local',
  ISTIO_META_DNS_CAPTURE: 'true',
  PATH: '/usr/bin',
};

const LABELS_FILE = [
  'app="reviews"',
  'pod-template-hash="7d79d8b5f4"',
  'service.istio.io/canonical-name="reviews-svc"',
  'version="v2"',
  'note="say \\"hi\\" \\u00e9\\t\\x41"',
  '',
].join('\n');

function errorOf(fn: () => unknown): BootstrapError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BootstrapError, String(err));
    return err;
  }
  assert.fail('expected a BootstrapError');
}

test('a pod environment becomes the node istiod expects', () => {
  const files: string[] = [];
  const node = nodeIdentityFromEnv(POD_ENV, {
    readFileSync: (path) => {
      files.push(path);
      return LABELS_FILE;
    },
  });
  assert.deepEqual(files, ['/etc/istio/pod/labels']);
  assert.equal(node.id, 'sidecar~10.244.1.17~reviews-v2-7d79d8b5f4-x2x9q.bookinfo~bookinfo.svc.cluster.local');
  assert.equal(node.cluster, 'reviews-svc.bookinfo');
  assert.deepEqual(node.metadata, {
    GENERATOR: 'grpc',
    NAMESPACE: 'bookinfo',
    INSTANCE_IPS: '10.244.1.17',
    LABELS: {
      app: 'reviews',
      'pod-template-hash': '7d79d8b5f4',
      'service.istio.io/canonical-name': 'reviews-svc',
      version: 'v2',
      note: 'say "hi" é\tA',
    },
    NAME: 'reviews-v2-7d79d8b5f4-x2x9q',
    WORKLOAD_NAME: 'reviews-v2',
    CLUSTER_ID: 'Kubernetes',
    SERVICE_ACCOUNT: 'bookinfo-reviews',
    ISTIO_VERSION: '1.27.1',
    MESH_ID: 'cluster.local',
    DNS_CAPTURE: 'true',
  });
  assert.equal(node.locality, undefined);
  assert.deepEqual(validateNodeForIstiod(node), []);
  assert.ok(Object.isFrozen(node.metadata));
});

test('local development defaults: host name, 127.0.0.1, namespace "default"', () => {
  const node = nodeIdentityFromEnv({}, { hostname: 'dev-laptop.example.com', readFileSync: noLabelsFile });
  assert.equal(node.id, 'sidecar~127.0.0.1~dev-laptop.default~default.svc.cluster.local');
  assert.deepEqual(node.metadata, {
    GENERATOR: 'grpc',
    NAMESPACE: 'default',
    INSTANCE_IPS: '127.0.0.1',
    LABELS: {},
    NAME: 'dev-laptop',
    WORKLOAD_NAME: 'dev-laptop',
  });
  assert.equal(node.cluster, 'dev-laptop.default');
});

test('booleans always reach istiod as "true"/"false"; several IPs are one comma-separated string', () => {
  const node = nodeIdentityFromEnv(
    {
      INSTANCE_IP: '10.0.0.5,fd00::5',
      ISTIO_METAJSON_DNS_AUTO_ALLOCATE: 'true',
      ISTIO_METAJSON_ANNOTATIONS: '{"sidecar.istio.io/inject":"true"}',
    },
    {
      hostname: 'h',
      readFileSync: noLabelsFile,
      metadata: { ENABLE_HBONE: false, EXIT_ON_ZERO_ACTIVE_CONNECTIONS: true, ENVOY_STATUS_PORT: 15021 },
      labels: { app: 'ratings' },
      clusterDomain: 'corp.internal',
      locality: { region: 'eu-west1' },
    },
  );
  assert.equal(node.id, 'sidecar~10.0.0.5~h.default~default.svc.corp.internal');
  assert.equal(node.metadata['INSTANCE_IPS'], '10.0.0.5,fd00::5');
  assert.equal(node.metadata['DNS_AUTO_ALLOCATE'], 'true');
  assert.equal(node.metadata['ENABLE_HBONE'], 'false');
  assert.equal(node.metadata['EXIT_ON_ZERO_ACTIVE_CONNECTIONS'], 'true');
  assert.equal(node.metadata['ENVOY_STATUS_PORT'], 15021);
  assert.deepEqual(node.metadata['ANNOTATIONS'], { 'sidecar.istio.io/inject': 'true' });
  assert.deepEqual(node.metadata['LABELS'], { app: 'ratings' });
  assert.equal(node.cluster, 'ratings.default');
  assert.deepEqual(node.locality, { region: 'eu-west1', zone: '', subZone: '' });
  assert.deepEqual(validateNodeForIstiod(node), []);
});

test('a bad environment is rejected with every offending variable named', () => {
  const err = errorOf(() =>
    nodeIdentityFromEnv(
      {
        POD_NAME: 'web~1',
        POD_NAMESPACE: 'Team_A',
        INSTANCE_IP: '10.0.0.300',
        ISTIO_METAJSON_LABELS: '{app:',
        ISTIO_META_ENVOY_STATUS_PORT: '15021',
        ISTIO_META_GENERATOR: 'envoy',
      },
      { readFileSync: noLabelsFile },
    ),
  );
  assert.equal(err.source, 'environment');
  assert.deepEqual(
    err.problems.map((p) => p.field),
    [
      'POD_NAME',
      'POD_NAMESPACE',
      'INSTANCE_IP',
      'ISTIO_METAJSON_LABELS',
      'ISTIO_META_GENERATOR',
      'node.metadata.ENVOY_STATUS_PORT',
      'node.id', // the "~" in the pod name gives the id 5 parts
    ],
  );
  assert.match(
    err.message,
    /^ {2}environment: INSTANCE_IP: expected an IP address \(or a comma-separated list\), got "10\.0\.0\.300"$/m,
  );
  assert.match(err.message, /environment: node\.metadata\.ENVOY_STATUS_PORT: expected an integer, got "15021"/);
  assert.match(err.message, /environment: ISTIO_META_GENERATOR: Inboard needs istiod's "grpc" generator, got "envoy"/);
});

test('labels: an explicitly named labels file must exist; malformed lines are reported with their number', () => {
  const missing = errorOf(() =>
    nodeIdentityFromEnv({}, { hostname: 'h', labelsFile: '/pod/labels', readFileSync: noLabelsFile }),
  );
  assert.equal(missing.field, '/pod/labels');
  assert.match(missing.message, /cannot read the labels file: ENOENT/);

  const malformed = errorOf(() =>
    nodeIdentityFromEnv({}, { hostname: 'h', readFileSync: () => 'app="a"\nversion=v1\n"broken\n' }),
  );
  assert.deepEqual(malformed.problems, [
    { field: '/etc/istio/pod/labels:2', message: 'value of "version" is not a double-quoted string' },
    { field: '/etc/istio/pod/labels:3', message: 'expected key="value"' },
  ]);
  assert.deepEqual(parseDownwardApi('a="1"\r\n\r\nb="x=y"').values, { a: '1', b: 'x=y' });
});

test('validateNodeForIstiod mirrors how istiod parses the node id and metadata', () => {
  const id = 'sidecar~10.0.0.1~pod1.ns1~ns1.svc.cluster.local';
  const problems = (node: { id: string; metadata?: Record<string, unknown> }) =>
    validateNodeForIstiod(node).map((p) => `${p.field}: ${p.message}`);

  assert.deepEqual(problems({ id, metadata: { NAMESPACE: 'ns1', DNS_CAPTURE: 'True', ENVOY_STATUS_PORT: 15021 } }), []);
  assert.deepEqual(problems({ id: '' }), [
    'node.id: required: istiod rejects a stream whose first request has no node id',
  ]);
  assert.deepEqual(problems({ id: 'sidecar~10.0.0.1~pod1.ns1' }), [
    'node.id: expected 4 "~"-separated parts <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local, got 3 in "sidecar~10.0.0.1~pod1.ns1"',
  ]);
  assert.deepEqual(problems({ id: 'proxy~10.0.0.1~pod1.ns1~ns1.svc.cluster.local' }), [
    'node.id: unknown node type "proxy" (istiod accepts sidecar, router, waypoint, ztunnel, agentgateway)',
  ]);
  // The IP may come from INSTANCE_IPS instead of the id, as in istiod.
  const noIp = 'sidecar~pod-ip~pod1.ns1~ns1.svc.cluster.local';
  assert.deepEqual(problems({ id: noIp, metadata: { INSTANCE_IPS: '10.0.0.1,fd00::1' } }), []);
  assert.deepEqual(problems({ id: noIp, metadata: { INSTANCE_IPS: '' } }), [
    `node.id: no valid IP address: neither INSTANCE_IPS metadata ("") nor the id's second part ("pod-ip") is an IP address`,
  ]);
  // Wrong JSON types make istiod fail the stream with InvalidArgument.
  assert.deepEqual(
    problems({
      id,
      metadata: {
        INSTANCE_IPS: ['10.0.0.1'],
        DNS_CAPTURE: true,
        ENABLE_HBONE: 'yes',
        LABELS: { app: 'a', replicas: 3 },
        ENVOY_STATUS_PORT: '15021',
        namespace: 7, // Go's encoding/json matches keys case-insensitively
        PILOT_SAN: 'istiod.istio-system.svc',
        POD_PORTS: [{ containerPort: 80 }],
        SOMETHING_ELSE: { free: true },
      },
    }),
    [
      'node.metadata.INSTANCE_IPS: expected a comma-separated string, got an array',
      `node.metadata.DNS_CAPTURE: expected the string "true" or "false" (istiod's StringBool), got true`,
      `node.metadata.ENABLE_HBONE: expected the string "true" or "false" (istiod's StringBool), got "yes"`,
      'node.metadata.LABELS: expected an object of strings, but "replicas" is 3',
      'node.metadata.ENVOY_STATUS_PORT: expected an integer, got "15021"',
      'node.metadata.namespace: expected a string, got 7',
      'node.metadata.PILOT_SAN: expected an array of strings, got "istiod.istio-system.svc"',
      'node.metadata.POD_PORTS: expected a string holding a JSON array of {"name", "containerPort", "protocol"}, got an array',
    ],
  );
});

test('the node goes on the wire as envoy.config.core.v3.Node inside the first DiscoveryRequest', () => {
  const node = nodeIdentityFromEnv(POD_ENV, { labels: { app: 'reviews' }, locality: { region: 'r', zone: 'z' } });
  const bytes = encodeMessage('envoy.service.discovery.v3.DiscoveryRequest', { node: nodeToProto(node) });
  const back = decodeMessage('envoy.service.discovery.v3.DiscoveryRequest', bytes).node!;
  assert.equal(back.id, node.id);
  assert.equal(back.cluster, 'reviews.bookinfo');
  assert.deepEqual(structToJs(back.metadata), node.metadata);
  assert.deepEqual(back.locality, { region: 'r', zone: 'z', sub_zone: '' });
  assert.equal(back.user_agent_name, 'inboard');
  assert.equal(back.user_agent_version, node.userAgentVersion);
});

test('istiodBootstrap: TLS to istiod:15012 against the mesh root, token call credentials, clusterid', () => {
  const b = istiodBootstrap({ env: POD_ENV, node: { readFileSync: noLabelsFile } });
  assert.deepEqual(b.xdsServers, [
    {
      serverUri: 'istiod.istio-system.svc:15012',
      channelCreds: {
        type: 'tls',
        caCertificateFile: '/var/run/secrets/istio/root-cert.pem',
        certificateFile: undefined,
        privateKeyFile: undefined,
      },
      callCreds: [{ type: 'jwt_token_file', jwtTokenFile: '/var/run/secrets/tokens/istio-token' }],
      serverFeatures: ['xds_v3'],
      headers: { clusterid: 'Kubernetes' },
      tlsServerName: 'istiod.istio-system.svc',
    },
  ]);
  assert.equal(b.node.id, 'sidecar~10.244.1.17~reviews-v2-7d79d8b5f4-x2x9q.bookinfo~bookinfo.svc.cluster.local');
  assert.equal(b.serverListenerResourceNameTemplate, 'xds.istio.io/grpc/lds/inbound/%s');
  assert.equal(b.clientDefaultListenerResourceNameTemplate, '%s');

  const custom = istiodBootstrap({
    address: 'dns:///istiod-1-27.istio-system.svc',
    rootCertFile: '/certs/root.pem',
    tokenFile: '/tokens/t',
    clusterId: '',
    env: { POD_NAME: 'p', INSTANCE_IP: '10.1.1.1', CLUSTER_ID: 'east' },
    node: { readFileSync: noLabelsFile },
  });
  const server = custom.xdsServers[0]!;
  assert.equal(server.serverUri, 'dns:///istiod-1-27.istio-system.svc:15012');
  assert.equal(server.tlsServerName, 'istiod-1-27.istio-system.svc');
  assert.deepEqual(server.headers, {}, 'an explicitly empty cluster id sends no header');
  assert.deepEqual(server.callCreds, [{ type: 'jwt_token_file', jwtTokenFile: '/tokens/t' }]);
  assert.equal(custom.node.metadata['CLUSTER_ID'], 'east');

  assert.throws(
    () => istiodBootstrap({ address: 'unix:///etc/istio/proxy/XDS', env: {}, node: { readFileSync: noLabelsFile } }),
    /istiodBootstrap: address: expected host:port for istiod/,
  );
  assert.throws(
    () => istiodBootstrap({ certificateFile: '/c.pem', env: {}, node: { readFileSync: noLabelsFile } }),
    /certificateFile and privateKeyFile must be set together/,
  );
});
