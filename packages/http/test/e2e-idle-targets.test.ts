// Targets the application stopped calling are released, as gRPC drops the resolver of a channel
// idle for its idle timeout: after `idleTimeoutMs` without a request, a target's xDS watches end
// (the control plane sees the names unsubscribed), the mesh forgets it and the cluster states only
// it used, and the next request resolves it again like a first one. A target with a request in
// flight is not idle; a host outside the mesh is released the same way. The mesh's clock is a
// ManualClock stepped past the timeout.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { RequestEvent } from '@inboard/control-plane';
import { ManualClock, resourceTypes } from '@inboard/xds';
import { request, upgrade } from 'undici';
import { MeshOptionError, type OutboundMesh } from '../src/index.ts';
import { ControlPlane, cluster, forward, respond, type ServiceConfig, Upstream } from './e2e-fixtures.ts';

const IDLE = 60_000;
const a = new Upstream('a');
const k = new Upstream('k');
const direct = new Upstream('direct');
const cp = new ControlPlane();
const clock = new ManualClock();
let mesh: OutboundMesh;
const CA = cluster('svc', 9080);
const CK = cluster('keep', 9080);
let stopKeeping: () => void;

const service = (name: string, to: string): ServiceConfig => ({
  name,
  port: 9080,
  routes: [{ name: 'all', match: { prefix: '/' }, route: forward(to) }],
});

/** The names of the latest request of each type the control plane received. */
const requested = new Map<string, readonly string[]>();
const requestWaiters: { typeUrl: string; pred: (names: readonly string[]) => boolean; resolve: () => void }[] = [];

/** Resolves on the next request of `typeUrl` whose names satisfy `pred`. */
function nextRequest(typeUrl: string, pred: (names: readonly string[]) => boolean): Promise<void> {
  return new Promise((resolve) => requestWaiters.push({ typeUrl, pred, resolve }));
}

async function get(url: string): Promise<string> {
  const r = await request(url, { dispatcher: mesh.dispatcher });
  return `${r.statusCode} ${await r.body.text()}`;
}

before(async () => {
  for (const u of [a, k, direct]) await u.start();
  // a WebSocket-style upgrade: 101, then the socket echoes
  a.server.on('upgrade', (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d));
    socket.on('end', () => socket.end()); // the server's sockets allow half-open: close with the client
    socket.on('error', () => {});
  });
  await cp.start(
    [service('svc', CA), service('keep', CK)],
    [
      { name: CA, endpoints: [{ port: a.port }] },
      { name: CK, endpoints: [{ port: k.port }] },
    ],
  );
  cp.server.on('request', (e: RequestEvent) => {
    requested.set(e.typeUrl, e.resourceNames);
    for (const w of requestWaiters.splice(0)) {
      if (w.typeUrl === e.typeUrl && w.pred(e.resourceNames)) w.resolve();
      else requestWaiters.push(w);
    }
  });
  // Another user of the shared Xds follows keep:9080 throughout: what it subscribes to stays.
  stopKeeping = cp.xds.resolve('keep:9080').subscribe({});
  await cp.snapshotWhere('keep:9080', () => true);
  mesh = cp.mesh({ clock, idleTimeoutMs: IDLE });
});

after(async () => {
  stopKeeping();
  await mesh.close();
  await cp.stop();
  for (const u of [a, k, direct]) await u.stop();
});

const LDS = resourceTypes.listener.typeUrl;
const CDS = resourceTypes.cluster.typeUrl;
const EDS = resourceTypes.clusterLoadAssignment.typeUrl;

describe('idle targets', () => {
  test('a target unused for the idle timeout is released: its names are unsubscribed, the mesh forgets it, the next request resolves it again', async () => {
    assert.equal(await get('http://svc:9080/one'), '200 a');
    assert.equal(await get('http://keep:9080/one'), '200 k');
    const before = mesh.find('svc:9080');
    assert.equal(before?.state, 'ready');
    assert.ok(requested.get(LDS)?.includes('svc:9080'));
    assert.ok(requested.get(EDS)?.includes(CA));

    const ldsDropped = nextRequest(LDS, (n) => !n.includes('svc:9080') && n.includes('keep:9080'));
    const cdsDropped = nextRequest(CDS, (n) => !n.includes(CA) && n.includes(CK));
    const edsDropped = nextRequest(EDS, (n) => !n.includes(CA) && n.includes(CK));
    clock.advance(IDLE - 1);
    assert.equal(mesh.find('svc:9080'), before, 'not released before the timeout');
    // released within an eighth of the timeout after it (one sweep per eighth)
    clock.advance(IDLE / 8 + 1);
    assert.equal(mesh.find('svc:9080'), undefined);
    assert.equal(before.closed, true);
    // keep:9080 is released by the mesh too, but the other subscriber's watches stay
    assert.equal(mesh.find('keep:9080'), undefined);
    await Promise.all([ldsDropped, cdsDropped, edsDropped]);
    const cached = cp.xds.client.dump().map((r) => r.name);
    assert.ok(!cached.includes('svc:9080') && !cached.includes(CA), 'the xDS client forgot its resources');
    assert.ok(cached.includes('keep:9080') && cached.includes(CK));

    // The next request waits for the resolution, as a first one does.
    const ldsAgain = nextRequest(LDS, (n) => n.includes('svc:9080'));
    assert.equal(await get('http://svc:9080/two'), '200 a');
    await ldsAgain;
    const again = mesh.find('svc:9080');
    assert.ok(again !== undefined && again !== before);
    assert.equal(again.state, 'ready');
    assert.equal(a.seen.at(-1)?.url, '/two');
  });

  test('a target with a request in flight is not released; it is idle from when the request ended, and a cluster still used by another target stays', async () => {
    let held: ServerResponse | undefined;
    a.handler = (req, res) => {
      if (req.url === '/slow') held = res;
      else respond(res, 200, 'a');
    };
    // two targets (listener aliases of one service) sharing the cluster CA
    assert.equal(await get('http://svc:9080/x'), '200 a');
    const seen = a.seen.length;
    const slow = request('http://svc.default:9080/slow', { dispatcher: mesh.dispatcher });
    await a.received(seen + 1);
    const busy = mesh.find('svc.default:9080')!;
    const state = busy.compiled!.clusters.get(CA);
    assert.ok(state?.kind === 'cluster');

    clock.advance(IDLE * 2);
    assert.equal(mesh.find('svc:9080'), undefined, 'the unused alias is released');
    assert.equal(mesh.find('svc.default:9080'), busy, 'the one with a request in flight is not');
    // svc:9080 comes back with the cluster state the busy target kept alive
    assert.equal(await get('http://svc:9080/y'), '200 a');
    const shared = mesh.find('svc:9080')!.compiled!.clusters.get(CA);
    assert.ok(shared?.kind === 'cluster');
    assert.equal(shared.state, state.state);

    respond(held!, 200, 'slow done');
    const r = await slow;
    assert.equal(r.statusCode, 200);
    assert.equal(await r.body.text(), 'slow done');
    clock.advance(IDLE - 1);
    assert.equal(mesh.find('svc.default:9080'), busy, 'idle from the end of its request, not from its start');
    clock.advance(IDLE / 4 + 1);
    assert.equal(mesh.find('svc.default:9080'), undefined);
    assert.equal(mesh.find('svc:9080'), undefined);

    // Nobody uses CA any more: its state was disposed, a new resolution builds a new one.
    assert.equal(await get('http://svc.default:9080/z'), '200 a');
    const fresh = mesh.find('svc.default:9080')!.compiled!.clusters.get(CA);
    assert.ok(fresh?.kind === 'cluster');
    assert.notEqual(fresh.state, state.state);
    a.handler = (_req, res) => respond(res, 200, 'a');
  });

  test('a host outside the mesh is released too, and a later call still passes through', async () => {
    const target = `127.0.0.1:${direct.port}`;
    assert.equal(await get(`http://${target}/out`), '200 direct');
    const outside = mesh.find(target);
    assert.equal(outside?.state, 'absent');
    assert.ok(requested.get(LDS)?.includes(target));

    const dropped = nextRequest(LDS, (n) => !n.includes(target));
    clock.advance(IDLE + IDLE / 4);
    assert.equal(mesh.find(target), undefined);
    await dropped;

    assert.equal(await get(`http://${target}/again`), '200 direct');
    assert.equal(direct.seen.at(-1)?.url, '/again');
    assert.equal(mesh.find(target)?.state, 'absent');
    assert.notEqual(mesh.find(target), outside);
  });

  test('an upgraded connection held open keeps its target in use until it closes', async () => {
    const u = await upgrade('http://svc:9080/ws', { dispatcher: mesh.dispatcher, protocol: 'websocket' });
    const t = mesh.find('svc:9080');
    assert.ok(t !== undefined);
    clock.advance(2 * IDLE);
    assert.equal(mesh.find('svc:9080'), t, 'not released while the socket is open');
    u.socket.write('ping');
    const [echo] = (await once(u.socket, 'data')) as [Buffer];
    assert.equal(String(echo), 'ping');
    u.socket.destroy();
    await once(u.socket, 'close');
    clock.advance(2 * IDLE);
    assert.equal(mesh.find('svc:9080'), undefined, 'released once the socket closed and the timeout passed');
  });

  test('ready() counts as a use; find() does not', async () => {
    await mesh.ready('svc:9080');
    const t = mesh.find('svc:9080');
    clock.advance(IDLE - 1);
    assert.ok((await mesh.ready('svc:9080')) !== undefined);
    clock.advance(IDLE - 1);
    assert.equal(mesh.find('svc:9080'), t, 'kept by the second ready()');
    clock.advance(IDLE / 4 + 1);
    assert.equal(mesh.find('svc:9080'), undefined);
  });
});

describe('idleTimeoutMs', () => {
  test('0 never releases a target', async () => {
    const manual = new ManualClock();
    const never = cp.mesh({ clock: manual, idleTimeoutMs: 0 });
    try {
      const r = await request('http://svc:9080/never', { dispatcher: never.dispatcher });
      assert.equal(await r.body.text(), 'a');
      const t = never.find('svc:9080');
      manual.advance(365 * 24 * 3600_000);
      assert.equal(never.find('svc:9080'), t);
      assert.equal(manual.pending, 0, 'no sweep timer');
    } finally {
      await never.close();
    }
  });

  test('bad values are refused with the option named', () => {
    for (const bad of [-1, 999, Number.NaN, Number.POSITIVE_INFINITY, '60000']) {
      assert.throws(
        () => cp.mesh({ idleTimeoutMs: bad as number }),
        (err: unknown) =>
          err instanceof MeshOptionError &&
          err.code === 'INBOARD_HTTP_OPTION_INVALID' &&
          err.option === 'idleTimeoutMs' &&
          err.message.includes('idleTimeoutMs'),
        String(bad),
      );
    }
  });
});
