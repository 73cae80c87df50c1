// A root VirtualService that delegates /reviews to a delegate VirtualService in another file, loaded by
// the embedded control plane: an Inboard mesh's fetch follows the delegate's routes (narrowed to the
// root's prefix, with the root's headers) to real loopback upstreams, and an edit of the delegate's
// file alone re-pushes the root's routes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Inboard } from 'inboard';
import { registry, reviewsByVersion, snapshotWhere, TestControlPlane, upstream } from './helpers.ts';

const ROOT = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - name: reviews
    match: [{uri: {prefix: /reviews}}]
    headers:
      request:
        set: {x-root: "yes"}
    delegate: {name: reviews-routes}
  - name: rest
    route: [{destination: {host: reviews-v1}}]
`;

const DELEGATE = (catchAll: string) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-routes}
spec:
  http:
  - name: one
    match: [{uri: {exact: /reviews/1}}]
    route: [{destination: {host: reviews-v1}}]
  - name: others
    route: [{destination: {host: ${catchAll}}}]
`;

describe('Inboard mesh routed by a delegate VirtualService merged into its root by the embedded control plane', () => {
  const cp = new TestControlPlane();
  const upstreams: Awaited<ReturnType<typeof upstream>>[] = [];
  let mesh: Inboard;

  before(async () => {
    for (const v of ['v1', 'v2', 'v3']) upstreams.push(await upstream(`reviews-${v}`));
    const [v1, v2, v3] = upstreams as [(typeof upstreams)[0], (typeof upstreams)[0], (typeof upstreams)[0]];
    await cp.start({
      'root.yaml': ROOT,
      'delegate.yaml': DELEGATE('reviews-v2'),
      'registry.yaml': registry(reviewsByVersion([v1.port, v2.port, v3.port])),
    });
    mesh = await Inboard.start({ env: { INBOARD_CONTROL_PLANE: cp.address, INBOARD_APP: 'productpage' } });
  });

  after(async () => {
    await mesh.close();
    for (const u of upstreams) await u.close();
    await cp.stop();
  });

  const last = (i: number) => upstreams[i]!.seen.at(-1)!;

  test("the delegate's routes, narrowed to the root's /reviews prefix, carry the root's request headers", async () => {
    assert.equal(await (await mesh.fetch('http://reviews:9080/reviews/1')).text(), 'reviews-v1 GET /reviews/1');
    assert.equal(last(0).headers['x-root'], 'yes');
    assert.equal(await (await mesh.fetch('http://reviews:9080/reviews/2')).text(), 'reviews-v2 GET /reviews/2');
    assert.equal(last(1).headers['x-root'], 'yes');
    // outside /reviews the delegate's catch-all does not apply: the root's next route does
    assert.equal(await (await mesh.fetch('http://reviews:9080/details')).text(), 'reviews-v1 GET /details');
    assert.equal(last(0).headers['x-root'], undefined);
  });

  test("an edit of the delegate's file alone is pushed in the root's routes", async () => {
    await cp.apply({ 'delegate.yaml': DELEGATE('reviews-v3') });
    await snapshotWhere(mesh.xds.resolve('reviews:9080'), (s) =>
      s.clusters.has('outbound|9080||reviews-v3.default.svc.cluster.local'),
    );
    assert.equal(await (await mesh.fetch('http://reviews:9080/reviews/2')).text(), 'reviews-v3 GET /reviews/2');
    assert.equal(await (await mesh.fetch('http://reviews:9080/reviews/1')).text(), 'reviews-v1 GET /reviews/1');
  });

  test('a delegate that goes away takes its routes with it: /reviews answers from the root route after it', async () => {
    await cp.apply({ 'delegate.yaml': '' });
    await snapshotWhere(
      mesh.xds.resolve('reviews:9080'),
      (s) => !s.clusters.has('outbound|9080||reviews-v3.default.svc.cluster.local'),
    );
    assert.equal(await (await mesh.fetch('http://reviews:9080/reviews/2')).text(), 'reviews-v1 GET /reviews/2');
  });
});
