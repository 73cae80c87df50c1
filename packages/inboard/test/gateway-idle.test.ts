// The gateway's listener targets and the outbound mesh's idle release: a gateway follows its
// listeners for good (a quiet port keeps its config current), and one given an idle timeout
// resolves a released listener again on the next request instead of routing on the closed
// target's last snapshot. Real control plane, real upstreams on loopback; the mesh's clock is a
// ManualClock.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock, Xds } from '@inboard/xds';
import { IngressGateway } from 'inboard';
import { request } from 'undici';
import { GatewayMesh, gatewayListenerName } from '../src/gateway/gateway-mesh.ts';
import { GATEWAY, registry, TestControlPlane, upstream } from './helpers.ts';

const VS = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo}
spec:
  hosts: ["bookinfo.example.com"]
  gateways: [bookinfo-gateway]
  http:
  - route:
    - destination: {host: productpage, port: {number: 9080}}
`;

const cp = new TestControlPlane();
let oldPod: Awaited<ReturnType<typeof upstream>>;
let newPod: Awaited<ReturnType<typeof upstream>>;
let gw: IngressGateway;

before(async () => {
  oldPod = await upstream('old-pod');
  newPod = await upstream('new-pod');
  await cp.start({
    'gateway.yaml': GATEWAY('bookinfo-gateway', 80, ['bookinfo.example.com']),
    'vs.yaml': VS,
    'registry.yaml': registry([{ name: 'productpage', endpoints: [{ port: oldPod.port, version: 'v1' }] }]),
  });
  // for its bootstrap: a router node the control plane serves 0.0.0.0_80 to
  gw = await IngressGateway.start({ env: {}, controlPlane: cp.address, host: '127.0.0.1', ports: { default: 0 } });
  await gw.ready();
});

after(async () => {
  await gw.close();
  await oldPod.close();
  await newPod.close();
  await cp.stop();
});

async function get(mesh: GatewayMesh): Promise<string> {
  const r = await request(`${mesh.listenerOrigin(80)}/productpage`, {
    dispatcher: mesh.dispatcher,
    headers: { host: 'bookinfo.example.com' },
  });
  return `${r.statusCode} ${(await r.body.text()).split(' ')[0]}`;
}

test("a gateway's listener targets are never released for being idle", async () => {
  const clock = new ManualClock();
  const mesh = new GatewayMesh({ xds: new Xds({ bootstrap: gw.xds.bootstrap }), clock });
  try {
    assert.equal(await get(mesh), '200 old-pod');
    const target = mesh.find(gatewayListenerName(80));
    assert.ok(target !== undefined);
    clock.advance(2 * 60 * 60 * 1000); // two hours without a request, four times gRPC's idle timeout
    assert.equal(mesh.find(gatewayListenerName(80)), target);
    assert.equal(clock.pending, 0, 'no idle sweep is even scheduled');
  } finally {
    await mesh.close();
  }
});

test('with an idle timeout, a released listener is resolved again by the next request and follows new config', async () => {
  const clock = new ManualClock();
  const mesh = new GatewayMesh({ xds: new Xds({ bootstrap: gw.xds.bootstrap }), clock, idleTimeoutMs: 1000 });
  try {
    assert.equal(await get(mesh), '200 old-pod');
    clock.advance(1500);
    assert.equal(mesh.find(gatewayListenerName(80)), undefined, 'released');
    // the pod moves while nothing watches the listener
    await cp.apply({
      'registry.yaml': registry([{ name: 'productpage', endpoints: [{ port: newPod.port, version: 'v1' }] }]),
    });
    assert.equal(await get(mesh), '200 new-pod');
    assert.ok(mesh.find(gatewayListenerName(80)) !== undefined, 'followed again');
  } finally {
    await mesh.close();
    await cp.apply({
      'registry.yaml': registry([{ name: 'productpage', endpoints: [{ port: oldPod.port, version: 'v1' }] }]),
    });
  }
});
