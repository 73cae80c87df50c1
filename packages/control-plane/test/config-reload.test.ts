// Reloading: a bad edit never takes good config away (the previous valid version keeps serving
// and the problem is reported), and every reload says exactly which objects changed.
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigStore, formatProblem, type ObjectRef, type VirtualService } from '@inboard/control-plane';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'inboard-reload-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function reviewsVs(subset: string, hostLine = 'host: reviews'): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        ${hostLine}
        subset: ${subset}
`;
}

const DR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`;

const refs = (list: readonly ObjectRef[]) => list.map((r) => `${r.kind} ${r.namespace}/${r.name}`);

function subsetOf(snapshot: { istio: readonly { kind: string }[] }): string | undefined {
  const vs = snapshot.istio.find((o): o is VirtualService => o.kind === 'VirtualService');
  return vs?.spec.http?.[0]?.route?.[0]?.destination.subset;
}

test('a bad edit keeps the previous valid document serving; fixing it serves the fix', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'reviews.yaml');
  await writeFile(file, `${DR}---\n${reviewsVs('v1')}`);
  const store = new ConfigStore({ cwd: dir });

  const first = await store.load(['.']);
  assert.deepEqual(first.problems, []);
  assert.equal(subsetOf(first.snapshot), 'v1');
  assert.deepEqual(refs(first.changes.added), ['DestinationRule default/reviews', 'VirtualService default/reviews']);

  // The edit drops the destination host: that document is rejected, the old one keeps serving.
  await writeFile(file, `${DR}---\n${reviewsVs('v2', 'hostname: reviews')}`);
  const bad = await store.load(['.']);
  assert.deepEqual(bad.problems.map(formatProblem), [
    'reviews.yaml: document 2 (line 16): VirtualService default/reviews: spec.http[0].route[0].destination.host: Required',
  ]);
  assert.deepEqual(bad.warnings.map(formatProblem), [
    'reviews.yaml: document 2 (line 16): VirtualService default/reviews: warning: the invalid edit is rejected; the previous valid version keeps serving',
    'reviews.yaml: document 2 (line 17): VirtualService default/reviews: spec.http[0].route[0].destination.hostname: warning: unknown field, ignored by Inboard',
  ]);
  assert.equal(subsetOf(bad.snapshot), 'v1');
  assert.equal(bad.snapshot, first.snapshot, 'nothing changed: the same snapshot object, same version');
  assert.equal(bad.changes.empty, true);

  await writeFile(file, `${DR}---\n${reviewsVs('v2')}`);
  const fixed = await store.load(['.']);
  assert.deepEqual([...fixed.problems, ...fixed.warnings], []);
  assert.equal(subsetOf(fixed.snapshot), 'v2');
  assert.deepEqual(refs(fixed.changes.updated), ['VirtualService default/reviews']);
  assert.deepEqual([fixed.changes.added, fixed.changes.removed], [[], []]);
  assert.equal(fixed.snapshot.version, '2');
});

test('a document that was never valid is not served; a YAML syntax error keeps that document only', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config.yaml');
  await writeFile(file, `${reviewsVs('v1')}---\n${DR}`);
  const store = new ConfigStore({ cwd: dir });
  await store.load(['config.yaml']);

  // Document 1 becomes unparseable while document 2 changes validly: the old document 1 stays,
  // the new document 2 is served.
  const brokenYaml = reviewsVs('v1').replace('hosts: [reviews]', 'hosts: [reviews');
  await writeFile(
    file,
    `${brokenYaml}---\n${DR.replace('{name: v2, labels: {version: v2}}', '{name: v3, labels: {version: v3}}')}`,
  );
  const r = await store.load(['config.yaml']);
  assert.equal(r.problems.length, 1);
  assert.match(formatProblem(r.problems[0]!), /^config\.yaml: document 1 \(line \d+\): YAML syntax error: /);
  assert.equal(subsetOf(r.snapshot), 'v1');
  const dr = r.snapshot.istio.find((o) => o.kind === 'DestinationRule');
  assert.deepEqual(dr?.kind === 'DestinationRule' ? dr.spec.subsets?.map((s) => s.name) : [], ['v1', 'v3']);
  assert.deepEqual(refs(r.changes.updated), ['DestinationRule default/reviews']);

  // A new object that is invalid from the start has nothing to fall back on.
  const fresh = new ConfigStore({ cwd: dir });
  const never = await fresh.load(['config.yaml']);
  assert.equal(
    never.snapshot.istio.some((o) => o.kind === 'VirtualService'),
    false,
  );
});

test('an edit that breaks the object name falls back by position; a registry service by its name', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'vs.yaml'), reviewsVs('v1'));
  const registry = (port: string) => `apiVersion: inboard.dev/v1alpha1
kind: Registry
spec:
  services:
  - name: reviews
    ports: [{name: http, port: ${port}}]
    endpoints: [{address: 127.0.0.1, port: 19082}]
`;
  await writeFile(join(dir, 'registry.yaml'), registry('9080'));
  const store = new ConfigStore({ cwd: dir });
  await store.load(['.']);

  await writeFile(join(dir, 'vs.yaml'), reviewsVs('v1').replace('name: reviews', 'name: 42'));
  await writeFile(join(dir, 'registry.yaml'), registry('"http"'));
  const r = await store.load(['.']);
  assert.deepEqual(
    r.problems.map((p) => `${p.file} ${p.field}: ${p.message}`),
    [
      'registry.yaml spec.services[0].ports[0].port: expected number, received string',
      'vs.yaml metadata.name: expected string, received number',
    ],
  );
  assert.equal(subsetOf(r.snapshot), 'v1');
  assert.deepEqual(
    r.snapshot.services.map((s) => `${s.name}:${s.ports[0]?.port}`),
    ['reviews:9080'],
  );
  assert.equal(r.changes.empty, true);
});

test('deleting a file removes its objects; adding one adds them; endpoints changes are reported', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'dr.yaml'), DR);
  await writeFile(join(dir, 'vs.yaml'), reviewsVs('v1'));
  const store = new ConfigStore({ cwd: dir });
  await store.load(['.']);

  await unlink(join(dir, 'vs.yaml'));
  await writeFile(
    join(dir, 'registry.yaml'),
    'apiVersion: inboard.dev/v1alpha1\nkind: Registry\nspec:\n  services:\n  - name: reviews\n    ports: [{port: 9080}]\n    endpoints: [{address: 127.0.0.1}]\n',
  );
  const r = await store.load(['.']);
  assert.deepEqual(refs(r.changes.removed), ['VirtualService default/reviews']);
  assert.deepEqual(refs(r.changes.added), ['Service default/reviews', 'Endpoints default/reviews']);
  assert.deepEqual(r.changes.kinds, ['Endpoints', 'Service', 'VirtualService']);

  await writeFile(
    join(dir, 'registry.yaml'),
    'apiVersion: inboard.dev/v1alpha1\nkind: Registry\nspec:\n  services:\n  - name: reviews\n    ports: [{port: 9080}]\n    endpoints: [{address: 127.0.0.1}, {address: 127.0.0.2}]\n',
  );
  const more = await store.load(['.']);
  assert.deepEqual(refs(more.changes.updated), ['Endpoints default/reviews']);
  assert.deepEqual(more.changes.kinds, ['Endpoints']);
});
