import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  BootstrapError,
  loadBootstrap,
  parseBootstrap,
  parseServerUri,
  targetFor,
  validateNodeForIstiod,
} from '@inboard/xds';
import { parseDurationJson } from '../src/bootstrap/duration-json.ts';
import { parseJsonText } from '../src/bootstrap/json-text.ts';
import { USER_AGENT_NAME } from '../src/bootstrap/user-agent.ts';

const AGENT_BOOTSTRAP = fileURLToPath(new URL('./fixtures/istio-agent-grpc-bootstrap.json', import.meta.url));

function bootstrapError(fn: () => unknown): BootstrapError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BootstrapError, `expected BootstrapError, got ${String(err)}`);
    assert.equal(err.code, 'INBOARD_BOOTSTRAP_INVALID');
    return err;
  }
  assert.fail('expected a BootstrapError');
}

async function bootstrapErrorAsync(p: Promise<unknown>): Promise<BootstrapError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BootstrapError, `expected BootstrapError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a BootstrapError');
}

/** A minimal valid bootstrap to break one field at a time. */
function minimal(): Record<string, unknown> {
  return { xds_servers: [{ server_uri: 'unix:///etc/istio/proxy/XDS', channel_creds: [{ type: 'insecure' }] }] };
}

test('the bootstrap istio-agent writes loads from GRPC_XDS_BOOTSTRAP', async () => {
  const b = await loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP: AGENT_BOOTSTRAP } });
  assert.deepEqual(b.xdsServers, [
    {
      serverUri: 'unix:///etc/istio/proxy/XDS',
      channelCreds: { type: 'insecure' },
      callCreds: [],
      serverFeatures: ['xds_v3'],
      headers: {},
    },
  ]);
  assert.equal(targetFor(b.xdsServers[0]!.serverUri), 'unix:///etc/istio/proxy/XDS');
  assert.equal(b.node.id, 'sidecar~10.244.1.17~reviews-v2-7d79d8b5f4-x2x9q.bookinfo~bookinfo.svc.cluster.local');
  assert.equal(b.node.cluster, '');
  assert.equal(b.node.metadata['GENERATOR'], 'grpc');
  assert.equal(b.node.metadata['INSTANCE_IPS'], '10.244.1.17');
  assert.equal(b.node.metadata['ENVOY_STATUS_PORT'], 15021);
  assert.deepEqual(b.node.metadata['PILOT_SAN'], ['istiod.istio-system.svc']);
  assert.deepEqual((b.node.metadata['LABELS'] as Record<string, string>)['version'], 'v2');
  assert.deepEqual(b.node.locality, { region: '', zone: '', subZone: '' });
  assert.equal(b.node.userAgentName, USER_AGENT_NAME);
  assert.match(b.node.userAgentVersion, /^\d+\.\d+\.\d+/);
  assert.deepEqual(b.certificateProviders, {
    default: {
      pluginName: 'file_watcher',
      certificateFile: '/var/lib/istio/data/cert-chain.pem',
      privateKeyFile: '/var/lib/istio/data/key.pem',
      caCertificateFile: '/var/lib/istio/data/root-cert.pem',
      refreshIntervalMs: 900_000,
    },
  });
  assert.equal(b.serverListenerResourceNameTemplate, 'xds.istio.io/grpc/lds/inbound/%s');
  assert.equal(b.clientDefaultListenerResourceNameTemplate, '%s');
  // What the agent writes is what istiod accepts.
  assert.deepEqual(validateNodeForIstiod(b.node), []);
  assert.ok(Object.isFrozen(b) && Object.isFrozen(b.xdsServers[0]) && Object.isFrozen(b.node.metadata));
});

test('GRPC_XDS_BOOTSTRAP wins over GRPC_XDS_BOOTSTRAP_CONFIG; the inline JSON is used alone', async () => {
  const inline = JSON.stringify({
    ...minimal(),
    xds_servers: [{ server_uri: 'istiod.istio-system.svc:15010', channel_creds: [{ type: 'insecure' }] }],
  });
  const fromFile = await loadBootstrap({
    env: { GRPC_XDS_BOOTSTRAP: '/boot.json', GRPC_XDS_BOOTSTRAP_CONFIG: inline },
    readFile: async (path) => {
      assert.equal(path, '/boot.json');
      return JSON.stringify(minimal());
    },
  });
  assert.equal(fromFile.xdsServers[0]!.serverUri, 'unix:///etc/istio/proxy/XDS');

  const fromInline = await loadBootstrap({
    env: { GRPC_XDS_BOOTSTRAP: '', GRPC_XDS_BOOTSTRAP_CONFIG: inline },
    readFile: () => assert.fail('no file should be read'),
  });
  assert.equal(fromInline.xdsServers[0]!.serverUri, 'istiod.istio-system.svc:15010');
  assert.equal(targetFor(fromInline.xdsServers[0]!.serverUri), 'dns:///istiod.istio-system.svc:15010');

  const bad = await bootstrapErrorAsync(loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: '{"xds_servers": 1}' } }));
  assert.equal(bad.message, 'GRPC_XDS_BOOTSTRAP_CONFIG: xds_servers: expected an array, got 1');
});

test('without a bootstrap, or with an unreadable file, the error says what to set / which file', async () => {
  const none = await bootstrapErrorAsync(loadBootstrap({ env: {} }));
  assert.match(none.message, /GRPC_XDS_BOOTSTRAP .*GRPC_XDS_BOOTSTRAP_CONFIG/);

  const missing = await bootstrapErrorAsync(
    loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP: '/nonexistent/inboard/grpc-bootstrap.json' } }),
  );
  assert.equal(missing.source, '/nonexistent/inboard/grpc-bootstrap.json');
  assert.match(missing.message, /^\/nonexistent\/inboard\/grpc-bootstrap\.json: \$: cannot read .*ENOENT/);
});

test('invalid JSON: the error names the file and the line and column of the mistake', async () => {
  const cases: [string, string][] = [
    // V8 gives no position for this one; we still do.
    ['{\n  "xds_servers": [\n    {"server_uri": }\n  ]\n}', 'line 3, column 20 (offset 40): unexpected character "}"'],
    ['{\n  "xds_servers": [],\n}', 'line 3, column 1 (offset 23): trailing comma in object'],
    ['{"node": {"id": "x" "cluster": ""}}', `line 1, column 21 (offset 20): expected ',' or '}' after property value`],
    ['{"node": {"id": tru}}', 'line 1, column 20 (offset 19): invalid literal, expected true'],
    ['', 'line 1, column 1 (offset 0): unexpected end of input, expected a value'],
    ['{"a": 1} x', 'line 1, column 10 (offset 9): unexpected text after the JSON value'],
  ];
  for (const [text, where] of cases) {
    const err = await bootstrapErrorAsync(
      loadBootstrap({
        env: { GRPC_XDS_BOOTSTRAP: '/etc/istio/proxy/grpc-bootstrap.json' },
        readFile: async () => text,
      }),
    );
    assert.equal(err.message, `/etc/istio/proxy/grpc-bootstrap.json: $: invalid JSON at ${where}`, text);
  }
  // A byte-order mark is not a syntax error.
  assert.deepEqual(parseJsonText('\ufeff{"a": 1}', 'x'), { a: 1 });
});

test('every bad field is reported at once, each with the source and its JSON path', () => {
  const source = '/etc/istio/proxy/grpc-bootstrap.json';
  const err = bootstrapError(() =>
    parseBootstrap(
      {
        xds_servers: [
          {
            server_uri: '',
            channel_creds: [
              { type: 'google_default' },
              { type: 'tls', config: { ca_certificate_file: 42, certificate_file: '/etc/certs/cert.pem' } },
            ],
            call_creds: [{ type: 'jwt_token_file', config: {} }],
            server_features: ['xds_v3', 7],
          },
          'istiod:15012',
        ],
        node: { id: 5, metadata: 'GENERATOR=grpc', locality: { zone: ['a'] } },
        certificate_providers: {
          default: { plugin_name: 'file_watcher', config: { refresh_interval: '15m' } },
        },
        server_listener_resource_name_template: false,
      },
      source,
    ),
  );
  const expected = [
    ['xds_servers[0].server_uri', 'expected a non-empty string, got ""'],
    ['xds_servers[0].channel_creds[1].config.ca_certificate_file', 'expected a string, got 42'],
    [
      'xds_servers[0].channel_creds[1].config.private_key_file',
      'certificate_file and private_key_file must be set together',
    ],
    ['xds_servers[0].call_creds[0].config.jwt_token_file', 'required: expected a non-empty string'],
    ['xds_servers[0].server_features[1]', 'expected a string, got 7'],
    ['xds_servers[1]', 'expected an object like {"server_uri": ..., "channel_creds": [...]}, got "istiod:15012"'],
    ['node.id', 'expected a string, got 5'],
    ['node.metadata', 'expected an object, got "GENERATOR=grpc"'],
    ['node.locality.zone', 'expected a string, got an array'],
    [
      'certificate_providers.default.config',
      'file_watcher needs certificate_file (with private_key_file), ca_certificate_file, or both',
    ],
    [
      'certificate_providers.default.config.refresh_interval',
      'expected a positive proto JSON Duration string like "900s", got "15m"',
    ],
    ['server_listener_resource_name_template', 'expected a string, got false'],
  ];
  assert.deepEqual(
    err.problems.map((p) => [p.field, p.message]),
    expected,
  );
  assert.equal(err.source, source);
  assert.equal(err.field, 'xds_servers[0].server_uri');
  const lines = err.message.split('\n');
  assert.equal(lines[0], `${source}: ${expected.length} problems`);
  assert.ok(
    lines.includes(
      `  ${source}: xds_servers[0].channel_creds[1].config.ca_certificate_file: expected a string, got 42`,
    ),
    err.message,
  );
  assert.equal(lines.length, expected.length + 1);
});

test('channel_creds: the first supported type wins; unsupported ones are skipped; none supported is an error', () => {
  const withCreds = (creds: unknown) =>
    parseBootstrap({ xds_servers: [{ server_uri: 'istiod:15012', channel_creds: creds }] }, 'inline');

  const tls = withCreds([
    { type: 'google_default' },
    {
      type: 'tls',
      config: {
        ca_certificate_file: '/ca.pem',
        certificate_file: '/c.pem',
        private_key_file: '/k.pem',
        refresh_interval: '1.5s',
      },
    },
    { type: 'insecure' },
  ]);
  assert.deepEqual(tls.xdsServers[0]!.channelCreds, {
    type: 'tls',
    caCertificateFile: '/ca.pem',
    certificateFile: '/c.pem',
    privateKeyFile: '/k.pem',
    refreshIntervalMs: 1500,
  });
  // A65: no config at all = TLS with the system roots.
  assert.deepEqual(withCreds([{ type: 'tls' }]).xdsServers[0]!.channelCreds, { type: 'tls' });
  // Entries after the winner are not read (as in gRPC), so their config does not matter.
  assert.deepEqual(
    withCreds([{ type: 'insecure' }, { type: 'tls', config: { ca_certificate_file: 1 } }]).xdsServers[0]!.channelCreds,
    {
      type: 'insecure',
    },
  );

  assert.equal(
    bootstrapError(() =>
      parseBootstrap(
        {
          xds_servers: [
            {
              server_uri: 'istiod:15012',
              channel_creds: [{ type: 'google_default' }, { type: 'tls', config: { ca_certificate_file: 42 } }],
            },
          ],
        },
        '/etc/istio/proxy/grpc-bootstrap.json',
      ),
    ).message,
    '/etc/istio/proxy/grpc-bootstrap.json: xds_servers[0].channel_creds[1].config.ca_certificate_file: expected a string, got 42',
  );
  assert.equal(
    bootstrapError(() => withCreds([{ type: 'google_default' }, { type: 'alts' }])).message,
    'inline: xds_servers[0].channel_creds: no supported type among ["google_default","alts"] (supported: insecure, tls)',
  );
  assert.equal(
    bootstrapError(() => withCreds([])).message,
    'inline: xds_servers[0].channel_creds: must list at least one channel credential type (supported: insecure, tls)',
  );
  assert.equal(
    bootstrapError(() => withCreds([{ config: {} }])).message,
    'inline: xds_servers[0].channel_creds[0].type: required: expected a non-empty string',
  );
  assert.equal(
    bootstrapError(() => parseBootstrap({ xds_servers: [{ server_uri: 'istiod:15012' }] }, 'inline')).message,
    'inline: xds_servers[0].channel_creds: required: expected an array',
  );
});

test('call_creds: jwt_token_file is read (gRFC A97), unknown types are ignored, two tokens are refused', () => {
  const withCallCreds = (call: unknown) =>
    parseBootstrap(
      { xds_servers: [{ server_uri: 'istiod:15012', channel_creds: [{ type: 'tls' }], call_creds: call }] },
      'inline',
    );
  assert.deepEqual(
    withCallCreds([
      { type: 'access_token', config: { token: 'x' } },
      { type: 'jwt_token_file', config: { jwt_token_file: '/var/run/secrets/tokens/istio-token' } },
    ]).xdsServers[0]!.callCreds,
    [{ type: 'jwt_token_file', jwtTokenFile: '/var/run/secrets/tokens/istio-token' }],
  );
  assert.equal(
    bootstrapError(() => withCallCreds([{ type: 'jwt_token_file' }])).message,
    'inline: xds_servers[0].call_creds[0].config: required: expected an object',
  );
  assert.match(
    bootstrapError(() =>
      withCallCreds([
        { type: 'jwt_token_file', config: { jwt_token_file: '/a' } },
        { type: 'jwt_token_file', config: { jwt_token_file: '/b' } },
      ]),
    ).message,
    /^inline: xds_servers\[0\]\.call_creds: at most one jwt_token_file entry/,
  );
});

test('defaults and optional parts: no node, no locality, templates, unknown fields', () => {
  const b = parseBootstrap({ ...minimal(), authorities: {}, some_future_field: true }, 'inline');
  assert.equal(b.node.id, '');
  assert.deepEqual(b.node.metadata, {});
  assert.equal(b.node.locality, undefined);
  assert.deepEqual(b.certificateProviders, {});
  assert.equal(b.serverListenerResourceNameTemplate, undefined);
  assert.equal(b.clientDefaultListenerResourceNameTemplate, '%s');

  const c = parseBootstrap(
    {
      ...minimal(),
      node: { id: 'n', locality: { region: 'us-east1', zone: 'us-east1-b', subZone: 'rack7' } },
      client_default_listener_resource_name_template: 'xdstp://example/envoy.config.listener.v3.Listener/%s',
      certificate_providers: {
        default: { plugin_name: 'file_watcher', config: { ca_certificate_file: '/root.pem' } },
        meshca: { plugin_name: 'google_mesh_ca', config: {} },
      },
    },
    'inline',
  );
  assert.deepEqual(c.node.locality, { region: 'us-east1', zone: 'us-east1-b', subZone: 'rack7' });
  assert.equal(c.clientDefaultListenerResourceNameTemplate, 'xdstp://example/envoy.config.listener.v3.Listener/%s');
  // Unknown plugins are skipped, like gRPC does; the default refresh interval is 10 minutes.
  assert.deepEqual(c.certificateProviders, {
    default: {
      pluginName: 'file_watcher',
      certificateFile: undefined,
      privateKeyFile: undefined,
      caCertificateFile: '/root.pem',
      refreshIntervalMs: 600_000,
    },
  });

  assert.equal(
    bootstrapError(() => parseBootstrap([minimal()], 'inline')).message,
    'inline: $: expected a JSON object, got an array',
  );
  assert.equal(
    bootstrapError(() => parseBootstrap({ xds_servers: [] }, 'inline')).message,
    'inline: xds_servers: must list at least one xDS server',
  );
});

test('server URIs: unix sockets and host:port become grpc-js targets; nonsense is rejected', () => {
  const ok: [string, string][] = [
    ['unix:///etc/istio/proxy/XDS', 'unix:///etc/istio/proxy/XDS'],
    ['unix:relative/XDS', 'unix:relative/XDS'],
    ['istiod.istio-system.svc:15012', 'dns:///istiod.istio-system.svc:15012'],
    ['localhost:15010', 'dns:///localhost:15010'],
    ['dns:///istiod.istio-system.svc:15012', 'dns:///istiod.istio-system.svc:15012'],
    ['127.0.0.1:15010', 'dns:///127.0.0.1:15010'],
    ['[::1]:15010', 'dns:///[::1]:15010'],
  ];
  for (const [uri, target] of ok) assert.equal(targetFor(uri), target, uri);
  assert.deepEqual(parseServerUri('dns:///[fd00::1]:15012'), {
    target: 'dns:///[fd00::1]:15012',
    host: 'fd00::1',
    port: 15012,
  });

  const bad: [string, RegExp][] = [
    ['http://istiod:15012', /unsupported scheme "http"/],
    ['xds:///istiod', /unsupported scheme "xds"/],
    ['::1:15010', /IPv6 addresses must be in brackets/],
    ['istiod:99999', /port 99999 is out of range/],
    ['unix://host/path', /unix URIs take no authority/],
  ];
  for (const [uri, message] of bad) assert.throws(() => targetFor(uri), message, uri);
  assert.equal(
    bootstrapError(() =>
      parseBootstrap(
        { xds_servers: [{ server_uri: 'https://istiod:15012', channel_creds: [{ type: 'tls' }] }] },
        'inline',
      ),
    ).message,
    'inline: xds_servers[0].server_uri: unsupported scheme "https" (use unix:///path, dns:///host:port or host:port), got "https://istiod:15012"',
  );
});

test('proto JSON durations', () => {
  assert.equal(parseDurationJson('900s'), 900_000);
  assert.equal(parseDurationJson('1.5s'), 1500);
  assert.equal(parseDurationJson('0.000000001s'), 0.000001);
  assert.equal(parseDurationJson('-2s'), -2000);
  for (const bad of ['15m', '900', 's', '1.1234567890s', ' 1s', '315576000001s']) {
    assert.equal(parseDurationJson(bad), undefined, bad);
  }
});
