// `control-plane validate PATH...`: one line per problem, exit 1 when there is any, exit 0 with a
// short summary otherwise, exit 2 for usage errors.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '@inboard/control-plane';

const FIXTURES = fileURLToPath(new URL('./fixtures/config/', import.meta.url));

async function run(argv: string[], cwd = FIXTURES): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    cwd,
  });
  return { code, stdout, stderr };
}

test('valid config: exit 0 and a one-line summary', async () => {
  const r = await run(['validate', 'bookinfo/base', 'bookinfo/routing/virtual-service-reviews-test-v2.yaml']);
  assert.deepEqual(r, {
    code: 0,
    stdout: 'OK: 4 files: 4 DestinationRule, 6 Endpoint, 1 Gateway, 4 Service, 2 VirtualService\n',
    stderr: '',
  });
});

test('problems: one `file: document: object: field: message` line each, then a count, exit 1', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'inboard-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'reviews.yaml'),
    `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {regex: "(?i)/api/(?!v1)"}}]
    timeout: soon
    route:
    - destination: {host: reviews}
      weight: -1
      colour: blue
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
`,
  );
  const r = await run(['validate', 'reviews.yaml'], dir);
  assert.equal(r.code, 1);
  assert.equal(
    r.stdout,
    [
      'reviews.yaml: document 1 (line 7): VirtualService default/reviews: spec.http[0].match[0].uri.regex: invalid RE2 regex: error parsing regexp: invalid or unsupported Perl syntax: `(?!`',
      'reviews.yaml: document 1 (line 8): VirtualService default/reviews: spec.http[0].timeout: invalid duration "soon": expected a number with a unit (ns, us, ms, s, m, h) like "1.5s", "100ms" or "2m"',
      'reviews.yaml: document 1 (line 11): VirtualService default/reviews: spec.http[0].route[0].weight: weight must not be negative',
      'reviews.yaml: document 1 (line 12): VirtualService default/reviews: spec.http[0].route[0].colour: warning: unknown field, ignored by Inboard',
      '3 problems in 1 file',
      '',
    ].join('\n'),
  );
  assert.equal(r.stderr, '');

  const quiet = await run(['validate', '--quiet', 'reviews.yaml'], dir);
  assert.equal(quiet.code, 1);
  assert.doesNotMatch(quiet.stdout, /warning/);
});

test('warnings alone do not fail validation', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'inboard-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'x.yaml'),
    'apiVersion: networking.istio.io/v1\nkind: EnvoyFilter\nmetadata: {name: lua}\n',
  );
  const r = await run(['validate', '.'], dir);
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    'x.yaml: document 1 (line 1): EnvoyFilter default/lua: warning: skipped: EnvoyFilter (networking.istio.io/v1) is not supported by Inboard\nOK: 1 file: nothing (1 warning)\n',
  );
});

test('delegate VirtualServices: a missing delegate is a warning (istiod drops that route); a delegate of a delegate is an error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'inboard-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const vs = (name: string, spec: string) =>
    `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: ${name}}\nspec:\n${spec}`;
  await writeFile(
    join(dir, 'root.yaml'),
    vs('reviews', '  hosts: [reviews]\n  http:\n  - delegate: {name: reviews-routes}\n'),
  );
  const missing = await run(['validate', 'root.yaml'], dir);
  assert.deepEqual(missing, {
    code: 0,
    stdout:
      'root.yaml: document 1 (line 1): VirtualService default/reviews: spec.http[0].delegate: warning: delegate VirtualService default/reviews-routes not found: the route is dropped\nOK: 1 file: 1 VirtualService (1 warning)\n',
    stderr: '',
  });
  await writeFile(join(dir, 'delegate.yaml'), vs('reviews-routes', '  http:\n  - delegate: {name: deeper}\n'));
  const nested = await run(['validate', '.'], dir);
  assert.equal(nested.code, 1);
  // the refused delegate is not served, so the root's route has no delegate either
  assert.equal(
    nested.stdout,
    'delegate.yaml: document 1 (line 6): VirtualService default/reviews-routes: spec.http[0].delegate: delegate HTTP route cannot contain delegate\n' +
      'root.yaml: document 1 (line 1): VirtualService default/reviews: spec.http[0].delegate: warning: delegate VirtualService default/reviews-routes not found: the route is dropped\n' +
      '1 problem in 2 files\n',
  );
});

test('usage errors exit 2; a missing path is a problem (exit 1)', async () => {
  const none = await run(['validate']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^control-plane: validate needs at least one path\n/);
  assert.match(none.stderr, /Usage:/);

  const flag = await run(['validate', '--bogus', 'x']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /Unknown option '--bogus'/);

  const missing = await run(['validate', 'no-such-dir']);
  assert.deepEqual(missing, {
    code: 1,
    stdout: 'no-such-dir: no such file or directory\n1 problem in 0 files\n',
    stderr: '',
  });

  const serveWithoutConfig = await run([]);
  assert.equal(serveWithoutConfig.code, 2);
  assert.match(serveWithoutConfig.stderr, /--config is required/);
});
