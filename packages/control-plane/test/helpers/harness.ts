// Starts an AdsServer on an OS-chosen loopback port with a raw client, closed after the test.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { AdsServer, type AdsServerOptions, Snapshot } from '@inboard/control-plane';
import type { DeltaStream, SotwStream } from './ads-client.ts';
import { TestAdsClient } from './ads-client.ts';
import { cluster, endpoints, listener, route } from './resources.ts';

export async function setup(
  t: TestContext,
  options: AdsServerOptions = {},
): Promise<{ server: AdsServer; client: TestAdsClient }> {
  const server = new AdsServer(options);
  await server.start({ host: '127.0.0.1', port: 0 });
  const client = new TestAdsClient(server.address);
  t.after(async () => {
    client.close();
    await server.stop({ graceMs: 1000 });
  });
  return { server, client };
}

/** Listeners a,b → routes route-a/route-b; routes ra, rb; clusters c1, c2; endpoints c1. */
export function baseSnapshot(version = 'v1'): Snapshot {
  return Snapshot.fromMessages({
    version,
    listeners: [listener('a'), listener('b')],
    routes: [route('ra'), route('rb')],
    clusters: [cluster('c1'), cluster('c2')],
    endpoints: [endpoints('c1')],
  });
}

export const BARRIER_TYPE = 'type.googleapis.com/inboard.test.Barrier';
let barrierSeq = 0;

/**
 * Proves the server sent nothing on this stream before now: a request for a throwaway type is
 * always answered, and streams are ordered, so its response must be the next message.
 */
export async function sotwBarrier(stream: SotwStream): Promise<void> {
  stream.send({ type_url: BARRIER_TYPE, resource_names: [`barrier-${++barrierSeq}`] });
  const res = await stream.next();
  assert.equal(res.type_url, BARRIER_TYPE, `unexpected ${res.type_url} response (version ${res.version_info})`);
}

export async function deltaBarrier(stream: DeltaStream): Promise<void> {
  const name = `barrier-${++barrierSeq}`;
  stream.send({ type_url: BARRIER_TYPE, resource_names_subscribe: [name] });
  const res = await stream.next();
  assert.equal(res.type_url, BARRIER_TYPE, `unexpected ${res.type_url} response (version ${res.system_version_info})`);
  assert.deepEqual(res.removed_resources, [name]);
}
