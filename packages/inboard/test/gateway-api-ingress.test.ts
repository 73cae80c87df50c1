// A Gateway API Gateway (class istio) and an HTTPRoute attached to it, loaded by the embedded
// control plane, served by an Inboard IngressGateway whose node carries the label istiod's gateway
// deployment gets (gateway.networking.k8s.io/gateway-name): Host and path pick the backend; a
// host no listener admits gets 404 NR; nodes of other gateways are not served.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IngressGateway } from 'inboard';
import { request } from 'undici';
import { registry, TestControlPlane, upstream } from './helpers.ts';

const GATEWAY = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: "*.example.com"}
`;
const ROUTE = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: web, sectionName: http}]
  hostnames: [shop.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /cart}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-via, value: gateway-api}]}
    backendRefs: [{name: reviews-v2, port: 9080}]
  - backendRefs: [{name: reviews-v1, port: 9080}]
`;

describe('inboard gateway serving a Gateway API Gateway and its HTTPRoute', () => {
  const cp = new TestControlPlane();
  let v1: Awaited<ReturnType<typeof upstream>>;
  let v2: Awaited<ReturnType<typeof upstream>>;
  let gateway: IngressGateway;
  let base: string;

  before(async () => {
    v1 = await upstream('reviews-v1');
    v2 = await upstream('reviews-v2');
    await cp.start({
      'gateway.yaml': GATEWAY,
      'route.yaml': ROUTE,
      'registry.yaml': registry([
        { name: 'reviews-v1', endpoints: [{ port: v1.port, version: 'v1' }] },
        { name: 'reviews-v2', endpoints: [{ port: v2.port, version: 'v2' }] },
      ]),
    });
    gateway = await IngressGateway.start({
      env: {},
      controlPlane: cp.address,
      host: '127.0.0.1',
      ports: { default: 0 },
      node: { name: 'web-istio-1', namespace: 'default', labels: { 'gateway.networking.k8s.io/gateway-name': 'web' } },
    });
    await gateway.ready();
    base = gateway.ports()[0]!.url;
  });

  after(async () => {
    await gateway.close();
    await v1.close();
    await v2.close();
    await cp.stop();
  });

  test('the listener port is served; Host and path select the rule; the filter applies', async () => {
    assert.deepEqual(
      gateway.ports().map((p) => p.gatewayPort),
      [80],
    );
    const cart = await request(`${base}/cart/items`, { headers: { host: 'shop.example.com' } });
    assert.equal(cart.statusCode, 200);
    assert.equal(await cart.body.text(), 'reviews-v2 GET /cart/items');
    assert.equal(v2.seen.at(-1)?.headers['x-via'], 'gateway-api');
    // /cartoon is not in the /cart path segment
    const other = await request(`${base}/cartoon`, { headers: { host: 'shop.example.com' } });
    assert.equal(await other.body.text(), 'reviews-v1 GET /cartoon');
  });

  test('a host the route does not name gets 404 NR', async () => {
    const r = await request(`${base}/cart`, { headers: { host: 'blog.example.com' } });
    assert.equal(r.statusCode, 404);
    assert.equal(r.headers['x-inboard-response-flags'], 'NR');
    await r.body.dump();
  });

  test('a gateway node with another gateway-name is not given the listener', async () => {
    const stranger = await IngressGateway.start({
      env: {},
      controlPlane: cp.address,
      host: '127.0.0.1',
      ports: { default: 0 },
      node: {
        name: 'other-istio-1',
        namespace: 'default',
        labels: { 'gateway.networking.k8s.io/gateway-name': 'other' },
      },
    });
    try {
      await stranger.ready();
      assert.deepEqual(stranger.ports(), []);
    } finally {
      await stranger.close();
    }
  });
});
