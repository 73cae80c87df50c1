// Letting go of a target on a shared Xds: releaseUnused() closes a resolver (its watches end, the
// LDS request no longer names it) only when nobody subscribes to it any more, so one user of the
// Xds (an OutboundMesh releasing an idle target) never pulls a target from under another.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBootstrap, resourceTypes, Xds } from '@inboard/xds';
import { RecordingTransport } from './recording-transport.ts';

const turn = () => new Promise((r) => setImmediate(r));

test('releaseUnused closes a resolver nobody subscribes to, and only such a one', async () => {
  const transport = new RecordingTransport();
  const xds = new Xds({
    bootstrap: parseBootstrap(
      {
        xds_servers: [{ server_uri: 'xds.example.com:443', channel_creds: [{ type: 'insecure' }] }],
        node: { id: 'sidecar~10.0.0.1~app.default~default.svc.cluster.local' },
      },
      'test',
    ),
    transport,
  });
  const lds = () => transport.sent.filter((r) => r.type_url === resourceTypes.listener.typeUrl).at(-1)?.resource_names;
  try {
    const kept = xds.resolve('kept:80');
    const off = kept.subscribe({});
    const idle = xds.resolve('idle:80');
    const offIdle = idle.subscribe({});
    await turn();
    assert.deepEqual([...(lds() ?? [])].sort(), ['idle:80', 'kept:80']);
    assert.equal(idle.subscribers, 1);

    assert.equal(xds.releaseUnused('idle:80'), false, 'still subscribed');
    offIdle();
    assert.equal(idle.subscribers, 0);
    assert.equal(xds.releaseUnused('idle:80'), true);
    assert.equal(xds.releaseUnused('kept:80'), false);
    assert.equal(xds.releaseUnused('never:80'), false);
    await turn();
    assert.deepEqual(lds(), ['kept:80']);

    assert.notEqual(xds.resolve('idle:80'), idle, 'resolving again starts afresh');
    assert.equal(xds.resolve('kept:80'), kept);
    off();
  } finally {
    xds.close();
  }
});
