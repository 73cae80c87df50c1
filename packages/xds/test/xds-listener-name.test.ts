// How a target becomes its LDS name, and that name on the wire: the bootstrap's
// client_default_listener_resource_name_template, %-encoding the target in xdstp: templates
// (gRFC A47).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Bootstrap, parseBootstrap, Xds } from '@inboard/xds';
import { RecordingTransport } from './recording-transport.ts';

function bootstrapWith(template: string | undefined): Bootstrap {
  return parseBootstrap(
    {
      xds_servers: [{ server_uri: 'xds.example.com:443', channel_creds: [{ type: 'insecure' }] }],
      node: { id: 'sidecar~10.0.0.1~app.default~default.svc.cluster.local' },
      ...(template === undefined ? {} : { client_default_listener_resource_name_template: template }),
    },
    'test',
  );
}

async function requestedName(template: string | undefined, target: string): Promise<string | undefined> {
  const transport = new RecordingTransport();
  const xds = new Xds({ bootstrap: bootstrapWith(template), transport });
  try {
    xds.resolve(target);
    await new Promise((r) => setImmediate(r));
    return transport.sent[0]?.resource_names?.[0];
  } finally {
    xds.close();
  }
}

test('an xdstp: template %-encodes the target as a URI path', async () => {
  const template = 'xdstp://xds.example.com/envoy.config.listener.v3.Listener/%s';
  assert.equal(
    await requestedName(template, '[fd00::1]:8080'),
    'xdstp://xds.example.com/envoy.config.listener.v3.Listener/%5Bfd00::1%5D:8080',
  );
  assert.equal(
    await requestedName(template, 'reviews.default:9080'),
    'xdstp://xds.example.com/envoy.config.listener.v3.Listener/reviews.default:9080',
  );
  assert.equal(
    await requestedName(template, 'a b%c:80'),
    'xdstp://xds.example.com/envoy.config.listener.v3.Listener/a%20b%25c:80',
  );
});

test('an old-style template, and the default, take the target as it is', async () => {
  assert.equal(await requestedName(undefined, '[fd00::1]:8080'), '[fd00::1]:8080');
  assert.equal(await requestedName('mesh/%s', '[fd00::1]:8080'), 'mesh/[fd00::1]:8080');
});
