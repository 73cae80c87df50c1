// A Gateway API HTTPRoute for the mesh (GAMMA: its parentRef is the reviews Service) loaded by the
// embedded control plane, and an Inboard mesh whose fetch follows it to real loopback upstreams:
// a header match, a path-segment prefix with its prefix stripped, redirects that replace a prefix, a backend that does not exist
// (500, as istiod configures it), and the default rule.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Inboard } from 'inboard';
import { registry, reviewsByVersion, snapshotWhere, TestControlPlane, upstream } from './helpers.ts';

const ROUTE = (defaultBackend: string) => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews}
spec:
  parentRefs:
  - {group: "", kind: Service, name: reviews, port: 9080}
  rules:
  - matches:
    - headers: [{name: end-user, value: jason}]
    backendRefs: [{name: reviews-v2, port: 9080}]
  - matches:
    - path: {type: PathPrefix, value: /api}
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}
    backendRefs: [{name: reviews-v2, port: 9080}]
  - matches:
    - path: {type: PathPrefix, value: /old}
    filters:
    - type: RequestRedirect
      requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}
  - matches:
    - path: {type: PathPrefix, value: /older}
    filters:
    - type: RequestRedirect
      requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new/}}
  - matches:
    - path: {type: PathPrefix, value: /oldest}
    filters:
    - type: RequestRedirect
      requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: ""}}
  - matches:
    - path: {type: PathPrefix, value: /gone}
    backendRefs: [{name: gone, port: 9080}]
  - backendRefs: [{name: ${defaultBackend}, port: 9080}]
`;

describe('Inboard mesh routed by a Gateway API HTTPRoute (GAMMA) from the embedded control plane', () => {
  const cp = new TestControlPlane();
  let v1: Awaited<ReturnType<typeof upstream>>;
  let v2: Awaited<ReturnType<typeof upstream>>;
  let mesh: Inboard;

  before(async () => {
    v1 = await upstream('reviews-v1');
    v2 = await upstream('reviews-v2');
    await cp.start({
      'route.yaml': ROUTE('reviews-v1'),
      'registry.yaml': registry(reviewsByVersion([v1.port, v2.port])),
    });
    mesh = await Inboard.start({ env: { INBOARD_CONTROL_PLANE: cp.address, INBOARD_APP: 'productpage' } });
  });

  after(async () => {
    await mesh.close();
    await v1.close();
    await v2.close();
    await cp.stop();
  });

  test('a header match sends jason to reviews-v2; everyone else takes the default rule to reviews-v1', async () => {
    const jason = await mesh.fetch('http://reviews:9080/reviews/0', { headers: { 'end-user': 'jason' } });
    assert.equal(await jason.text(), 'reviews-v2 GET /reviews/0');
    for (const user of ['alice', undefined]) {
      const res = await mesh.fetch(
        'http://reviews:9080/reviews/0',
        user === undefined ? {} : { headers: { 'end-user': user } },
      );
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'reviews-v1 GET /reviews/0');
    }
  });

  test('PathPrefix /api matches /api and /api/… (not /apix), and ReplacePrefixMatch "/" strips it', async () => {
    assert.equal(await (await mesh.fetch('http://reviews:9080/api/items?x=1')).text(), 'reviews-v2 GET /items?x=1');
    assert.equal(await (await mesh.fetch('http://reviews:9080/api')).text(), 'reviews-v2 GET /');
    assert.equal(await (await mesh.fetch('http://reviews:9080/apix')).text(), 'reviews-v1 GET /apix');
  });

  test('a RequestRedirect ReplacePrefixMatch follows the spec\'s table: "/" and "" remove the prefix, "/new/" replaces it', async () => {
    const location = async (path: string) => {
      const res = await mesh.fetch(`http://reviews:9080${path}`, { redirect: 'manual' });
      await res.arrayBuffer();
      assert.equal(res.status, 302);
      return res.headers.get('location');
    };
    assert.equal(await location('/old/a/b?z=1'), 'http://reviews:9080/a/b?z=1');
    assert.equal(await location('/old'), 'http://reviews:9080/');
    assert.equal(await location('/old/'), 'http://reviews:9080/');
    assert.equal(await location('/older/a'), 'http://reviews:9080/new/a');
    assert.equal(await location('/older'), 'http://reviews:9080/new');
    // not a redirect to itself
    assert.equal(await location('/oldest/a'), 'http://reviews:9080/a');
  });

  test('a backendRef to a Service that does not exist answers 500 and reaches no upstream', async () => {
    const seen = v1.seen.length + v2.seen.length;
    const res = await mesh.fetch('http://reviews:9080/gone/1');
    assert.equal(res.status, 500);
    await res.arrayBuffer();
    assert.equal(v1.seen.length + v2.seen.length, seen);
  });

  test('an edited HTTPRoute is pushed and applies without a restart', async () => {
    await cp.apply({ 'route.yaml': ROUTE('reviews-v2') });
    // the default rule was the only one sending to reviews-v1
    await snapshotWhere(
      mesh.xds.resolve('reviews:9080'),
      (s) => !s.clusters.has('outbound|9080||reviews-v1.default.svc.cluster.local'),
    );
    assert.equal(await (await mesh.fetch('http://reviews:9080/reviews/1')).text(), 'reviews-v2 GET /reviews/1');
  });
});
