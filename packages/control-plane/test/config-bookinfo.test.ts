// The bookinfo samples (test/fixtures/config/bookinfo, modelled on Istio's) load cleanly, and each
// classic routing task reaches the snapshot with the routes the Istio docs describe.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type ConfigLoadResult,
  ConfigStore,
  formatProblem,
  summarizeSnapshot,
  type VirtualService,
} from '@inboard/control-plane';

const FIXTURES = fileURLToPath(new URL('./fixtures/config/', import.meta.url));

async function loadBookinfo(routing?: string): Promise<ConfigLoadResult> {
  const paths = ['bookinfo/base', ...(routing === undefined ? [] : [`bookinfo/routing/${routing}.yaml`])];
  const r = await new ConfigStore({ cwd: FIXTURES }).load(paths);
  assert.deepEqual([...r.problems, ...r.warnings].map(formatProblem), []);
  return r;
}

function virtualService(r: ConfigLoadResult, name: string): VirtualService {
  const vs = r.snapshot.istio.find((o): o is VirtualService => o.kind === 'VirtualService' && o.metadata.name === name);
  assert.ok(vs !== undefined, `VirtualService ${name} loaded`);
  return vs;
}

test('base: the ingress Gateway and bookinfo VirtualService, the DestinationRules and the loopback registry', async () => {
  const r = await loadBookinfo();
  assert.deepEqual(r.files, [
    'bookinfo/base/bookinfo-gateway.yaml',
    'bookinfo/base/bookinfo-registry.yaml',
    'bookinfo/base/destination-rule-all.yaml',
  ]);
  const gw = r.snapshot.istio.find((o) => o.kind === 'Gateway');
  assert.deepEqual(gw?.kind === 'Gateway' ? gw.spec.servers : undefined, [
    { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] },
  ]);

  const bookinfo = virtualService(r, 'bookinfo');
  assert.deepEqual(bookinfo.spec.gateways, ['bookinfo-gateway']);
  assert.deepEqual(
    bookinfo.spec.http?.[0]?.match?.map((m) => m.uri),
    [
      { exact: '/productpage' },
      { prefix: '/static' },
      { exact: '/login' },
      { exact: '/logout' },
      { prefix: '/api/v1/products' },
    ],
  );
  assert.deepEqual(bookinfo.spec.http?.[0]?.route, [{ destination: { host: 'productpage', port: { number: 9080 } } }]);

  const subsets = Object.fromEntries(
    r.snapshot.istio.flatMap((o) =>
      o.kind === 'DestinationRule'
        ? [[o.spec.host, (o.spec.subsets ?? []).map((s) => `${s.name}=${s.labels?.['version']}`)]]
        : [],
    ),
  );
  assert.deepEqual(subsets, {
    productpage: ['v1=v1'],
    reviews: ['v1=v1', 'v2=v2', 'v3=v3'],
    ratings: ['v1=v1', 'v2=v2'],
    details: ['v1=v1', 'v2=v2'],
  });

  const summary = summarizeSnapshot(r.snapshot);
  assert.deepEqual(
    summary.services.map((s) => `${s.namespace}/${s.name}:${s.ports.join(',')}=${s.endpoints}`),
    ['default/productpage:9080=1', 'default/details:9080=1', 'default/reviews:9080=3', 'default/ratings:9080=1'],
  );
  const reviews = r.snapshot.endpoints.find((e) => e.service === 'reviews');
  assert.deepEqual(
    reviews?.endpoints.map((e) => `${e.address}:${e.ports?.['http']} ${e.labels?.['version']} ${e.serviceAccount}`),
    [
      '127.0.0.1:19082 v1 bookinfo-reviews',
      '127.0.0.1:19083 v2 bookinfo-reviews',
      '127.0.0.1:19084 v3 bookinfo-reviews',
    ],
  );
});

test('virtual-service-all-v1 routes every service to v1', async () => {
  const r = await loadBookinfo('virtual-service-all-v1');
  for (const name of ['productpage', 'reviews', 'ratings', 'details']) {
    assert.deepEqual(virtualService(r, name).spec.http, [{ route: [{ destination: { host: name, subset: 'v1' } }] }]);
  }
});

test('virtual-service-reviews-test-v2: end-user jason gets reviews v2, everyone else v1', async () => {
  const vs = virtualService(await loadBookinfo('virtual-service-reviews-test-v2'), 'reviews');
  assert.deepEqual(vs.spec.http, [
    {
      match: [{ headers: { 'end-user': { exact: 'jason' } } }],
      route: [{ destination: { host: 'reviews', subset: 'v2' } }],
    },
    { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
  ]);
});

test('virtual-service-reviews-50-v3 and -80-20 split traffic by weight', async () => {
  const split = async (file: string) =>
    virtualService(await loadBookinfo(file), 'reviews').spec.http?.[0]?.route?.map(
      (d) => `${d.destination.subset}:${d.weight}`,
    );
  assert.deepEqual(await split('virtual-service-reviews-50-v3'), ['v1:50', 'v3:50']);
  assert.deepEqual(await split('virtual-service-reviews-80-20'), ['v1:80', 'v2:20']);
});

test('ratings-test-delay and ratings-test-abort inject faults for jason only', async () => {
  const delay = virtualService(await loadBookinfo('virtual-service-ratings-test-delay'), 'ratings');
  assert.deepEqual(delay.spec.http?.[0]?.fault, { delay: { percentage: { value: 100 }, fixedDelay: '7s' } });
  assert.deepEqual(delay.spec.http?.[0]?.match, [{ headers: { 'end-user': { exact: 'jason' } } }]);
  assert.equal(delay.spec.http?.[1]?.fault, undefined);

  const abort = virtualService(await loadBookinfo('virtual-service-ratings-test-abort'), 'ratings');
  assert.deepEqual(abort.spec.http?.[0]?.fault, { abort: { percentage: { value: 100 }, httpStatus: 500 } });
});

test('loading every routing task at once reports the reused names as duplicates, keeping the first', async () => {
  const r = await new ConfigStore({ cwd: FIXTURES }).load(['bookinfo']);
  assert.deepEqual(
    r.problems.map((p) => `${p.file}: ${p.kind} ${p.name}: ${p.message}`),
    [
      'bookinfo/routing/virtual-service-ratings-test-abort.yaml: VirtualService ratings: duplicate name: already defined in bookinfo/routing/virtual-service-all-v1.yaml document 3 (line 27)',
      'bookinfo/routing/virtual-service-ratings-test-delay.yaml: VirtualService ratings: duplicate name: already defined in bookinfo/routing/virtual-service-all-v1.yaml document 3 (line 27)',
      'bookinfo/routing/virtual-service-reviews-50-v3.yaml: VirtualService reviews: duplicate name: already defined in bookinfo/routing/virtual-service-all-v1.yaml document 2 (line 14)',
      'bookinfo/routing/virtual-service-reviews-80-20.yaml: VirtualService reviews: duplicate name: already defined in bookinfo/routing/virtual-service-all-v1.yaml document 2 (line 14)',
      'bookinfo/routing/virtual-service-reviews-test-v2.yaml: VirtualService reviews: duplicate name: already defined in bookinfo/routing/virtual-service-all-v1.yaml document 2 (line 14)',
    ],
  );
  assert.deepEqual(virtualService(r, 'reviews').spec.http?.[0]?.route, [
    { destination: { host: 'reviews', subset: 'v1' } },
  ]);
});
