// Delegate VirtualServices in config files: istiod's validation errors (a delegate route naming a
// delegate) and load warnings for what merging them into their roots leaves out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProblem } from '@inboard/control-plane';
import { load } from './config-fixtures.ts';

const vs = (name: string, spec: string, namespace = 'default') => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${namespace}}
spec:
${spec}`;

const ROOT = vs(
  'reviews',
  `  hosts: [reviews]
  http:
  - name: mine
    match: [{uri: {prefix: /reviews}}]
    delegate: {name: reviews-mine}
  - name: missing
    match: [{uri: {prefix: /missing}}]
    delegate: {name: nowhere}
  - name: private
    match: [{uri: {prefix: /team}}]
    delegate: {name: reviews-team, namespace: team}
  - route: [{destination: {host: reviews}}]
`,
);

test('a delegate route naming a delegate is refused as istiod refuses it (one level of delegation)', async (t) => {
  const r = await load(t, {
    'vs.yaml': vs(
      'reviews-mine',
      `  http:
  - match: [{uri: {prefix: /reviews/deep}}]
    delegate: {name: deeper}
  - route: [{destination: {host: reviews}}]
`,
    ),
  });
  assert.deepEqual(r.problems.map(formatProblem), [
    'vs.yaml: document 1 (line 7): VirtualService default/reviews-mine: spec.http[0].delegate: delegate HTTP route cannot contain delegate',
  ]);
});

test('warnings: a delegate not found, one not exported to the root, and a delegate route whose match is outside the root route', async (t) => {
  const r = await load(t, {
    'root.yaml': ROOT,
    'delegates.yaml': [
      vs(
        'reviews-mine',
        `  http:
  - match: [{uri: {exact: /reviews/1}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{uri: {prefix: /ratings}}]
    route: [{destination: {host: ratings}}]
`,
      ),
      vs(
        'reviews-team',
        `  exportTo: ["."]
  http:
  - route: [{destination: {host: reviews}}]
`,
        'team',
      ),
    ].join('---\n'),
  });
  assert.deepEqual(r.problems.map(formatProblem), []);
  assert.deepEqual(r.warnings.map(formatProblem), [
    'root.yaml: document 1 (line 1): VirtualService default/reviews: spec.http[1].delegate: warning: delegate VirtualService default/nowhere not found: the route is dropped',
    'root.yaml: document 1 (line 1): VirtualService default/reviews: spec.http[2].delegate: warning: delegate VirtualService team/reviews-team is not exported to namespace default: the route is dropped',
    'delegates.yaml: document 1 (line 1): VirtualService default/reviews-mine: spec.http[1].match: warning: a match is not within the match of root VirtualService default/reviews spec.http[0]: the route is dropped from it',
  ]);
});

test("no warning when every delegate is found, visible and within its root's match", async (t) => {
  const r = await load(t, {
    'root.yaml': vs(
      'reviews',
      `  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /team}}]
    delegate: {name: reviews-team, namespace: team}
`,
    ),
    'delegate.yaml': vs(
      'reviews-team',
      `  exportTo: [default]
  http:
  - match: [{uri: {prefix: /team/a}}]
    route: [{destination: {host: reviews}}]
`,
      'team',
    ),
  });
  assert.deepEqual([...r.problems, ...r.warnings].map(formatProblem), []);
});
