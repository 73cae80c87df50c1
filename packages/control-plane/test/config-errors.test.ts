// Every problem names the file, the document (and line), the object and the field path, so a
// user can fix it without searching; an invalid document is rejected while the rest loads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConfigLoadResult, formatProblem } from '@inboard/control-plane';
import { load } from './config-fixtures.ts';

const errors = (r: ConfigLoadResult) => r.problems.map(formatProblem);

/** One VirtualService document whose first HTTP route is `route` (YAML at the route's indentation). */
function vs(name: string, http: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [${name}]
  http:
${http.replace(/^/gm, '  ')}
`;
}

test('the documented example: file, document index and line, object, field path, message', async (t) => {
  const r = await load(t, {
    'config/reviews.yaml': `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        subset: v1
`,
  });
  assert.deepEqual(errors(r), [
    'config/reviews.yaml: document 2 (line 14): VirtualService default/reviews: spec.http[0].route[0].destination.host: Required',
  ]);
  // The invalid document is rejected; the valid one next to it loads.
  assert.deepEqual(
    r.snapshot.istio.map((o) => `${o.kind}/${o.metadata.name}`),
    ['DestinationRule/reviews'],
  );
  const [p] = r.problems;
  assert.deepEqual(
    {
      file: p?.file,
      document: p?.document,
      line: p?.line,
      kind: p?.kind,
      namespace: p?.namespace,
      name: p?.name,
      field: p?.field,
      message: p?.message,
    },
    {
      file: 'config/reviews.yaml',
      document: 2,
      line: 14,
      kind: 'VirtualService',
      namespace: 'default',
      name: 'reviews',
      field: 'spec.http[0].route[0].destination.host',
      message: 'Required',
    },
  );
});

test('value rules: RE2 regexes, durations, percentages, enums, types, ports, weights, retry policies', async (t) => {
  const docs = [
    vs('regex', '- match: [{uri: {regex: "/api/(?=v1)"}}]\n  route: [{destination: {host: a}}]'),
    vs('backref', '- match: [{headers: {x-id: {regex: "(a)\\\\1"}}}]\n  route: [{destination: {host: a}}]'),
    vs('duration', '- timeout: 10 seconds\n  route: [{destination: {host: a}}]'),
    vs('tiny', '- retries: {attempts: 2, perTryTimeout: 0.5ms}\n  route: [{destination: {host: a}}]'),
    vs('percent', '- fault: {abort: {httpStatus: 503, percentage: {value: 150}}}\n  route: [{destination: {host: a}}]'),
    vs('status', '- fault: {abort: {httpStatus: 99}}\n  route: [{destination: {host: a}}]'),
    vs('weights', '- route: [{destination: {host: a}, weight: 0}, {destination: {host: b}, weight: 0}]'),
    vs('retry-on', '- retries: {attempts: 2, retryOn: "5xx,bogus"}\n  route: [{destination: {host: a}}]'),
    vs('port', '- route: [{destination: {host: a, port: {number: 70000}}}]'),
    vs('conflict', '- redirect: {uri: /x}\n  route: [{destination: {host: a}}]'),
    vs('empty-route', '- match: [{uri: {prefix: /}}]'),
    vs('two-kinds', '- match: [{uri: {exact: /a, prefix: /b}}]\n  route: [{destination: {host: a}}]'),
    `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: hosts-type}
spec:
  hosts: reviews
`,
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: tls}
spec:
  host: reviews
  trafficPolicy:
    tls: {mode: STRICT}
`,
  ];
  const r = await load(t, { 'rules.yaml': docs.join('---\n') });
  assert.deepEqual(errors(r), [
    'rules.yaml: document 1 (line 7): VirtualService default/regex: spec.http[0].match[0].uri.regex: invalid RE2 regex: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    'rules.yaml: document 2 (line 16): VirtualService default/backref: spec.http[0].match[0].headers.x-id.regex: invalid RE2 regex: error parsing regexp: invalid escape sequence: `\\1`',
    'rules.yaml: document 3 (line 25): VirtualService default/duration: spec.http[0].timeout: invalid duration "10 seconds": expected a number with a unit (ns, us, ms, s, m, h) like "1.5s", "100ms" or "2m"',
    'rules.yaml: document 4 (line 34): VirtualService default/tiny: spec.http[0].retries.perTryTimeout: duration "0.5ms" must be at least 1ms',
    'rules.yaml: document 5 (line 43): VirtualService default/percent: spec.http[0].fault.abort.percentage.value: percentage must be between 0 and 100',
    'rules.yaml: document 6 (line 52): VirtualService default/status: spec.http[0].fault.abort.httpStatus: HTTP status must be in range 200-599',
    'rules.yaml: document 7 (line 61): VirtualService default/weights: spec.http[0].route: total destination weight = 0',
    'rules.yaml: document 8 (line 69): VirtualService default/retry-on: spec.http[0].retries.retryOn: "bogus" is not a valid retryOn policy',
    'rules.yaml: document 9 (line 78): VirtualService default/port: spec.http[0].route[0].destination.port.number: port must be in 1..65535',
    'rules.yaml: document 10 (line 86): VirtualService default/conflict: spec.http[0].redirect: HTTP route cannot contain both route and redirect',
    'rules.yaml: document 11 (line 95): VirtualService default/empty-route: spec.http[0].route: HTTP route, redirect, directResponse or delegate is required',
    'rules.yaml: document 12 (line 103): VirtualService default/two-kinds: spec.http[0].match[0].uri: only one of exact, prefix or regex may be set (found exact, prefix)',
    'rules.yaml: document 13 (line 110): VirtualService default/hosts-type: spec.hosts: expected array, received string',
    'rules.yaml: document 14 (line 118): DestinationRule default/tls: spec.trafficPolicy.tls.mode: Invalid option: expected one of "DISABLE"|"SIMPLE"|"MUTUAL"|"ISTIO_MUTUAL"',
  ]);
  assert.deepEqual(r.snapshot.istio, []);
});

test('document-level problems: YAML syntax, not an object, missing kind, unsupported apiVersion', async (t) => {
  const r = await load(t, {
    'broken.yaml': `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ok}
spec: {host: ok}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: bad
spec: {host: bad}
---
just a string
---
apiVersion: networking.istio.io/v1
metadata: {name: kindless}
---
apiVersion: networking.istio.io/v2
kind: VirtualService
metadata: {name: future}
spec: {}
`,
  });
  assert.deepEqual(errors(r), [
    'broken.yaml: document 2 (line 9): YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }',
    'broken.yaml: document 3 (line 11): expected a Kubernetes object (apiVersion, kind, metadata, spec)',
    'broken.yaml: document 4 (line 13): kind: Required',
    'broken.yaml: document 5 (line 16): VirtualService default/future: apiVersion: unsupported apiVersion "networking.istio.io/v2" for VirtualService (supported: networking.istio.io/v1, networking.istio.io/v1beta1, networking.istio.io/v1alpha3)',
  ]);
  assert.deepEqual(
    r.snapshot.istio.map((o) => o.metadata.name),
    ['ok'],
  );
});

test('a name used twice in one namespace is an error on the later object; other namespaces are fine', async (t) => {
  const dr = (name: string, ns: string) =>
    `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {host: ${name}}\n`;
  const r = await load(t, {
    'a.yaml': dr('reviews', 'default'),
    'b.yaml': `${dr('reviews', 'other')}---\n${dr('reviews', 'default')}`,
  });
  assert.deepEqual(errors(r), [
    'b.yaml: document 2 (line 6): DestinationRule default/reviews: duplicate name: already defined in a.yaml document 1 (line 1)',
  ]);
  assert.deepEqual(
    r.snapshot.istio.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
    ['default/reviews', 'other/reviews'],
  );
});

test('registry problems point into the Registry document and only reject that service', async (t) => {
  const r = await load(t, {
    'registry.yaml': `apiVersion: inboard.dev/v1alpha1
kind: Registry
spec:
  services:
  - name: details
    ports: [{name: http, port: 9080}]
  - name: reviews
    ports:
    - name: http
      port: 90800
    endpoints:
    - {address: 127.0.0.1, ports: {grpc: 7070}}
  - name: Bad_Name
    ports: [{port: 80}]
`,
  });
  assert.deepEqual(errors(r), [
    'registry.yaml: document 1 (line 10): Service default/reviews: spec.services[1].ports[0].port: port must be in 1..65535',
    'registry.yaml: document 1 (line 12): Service default/reviews: spec.services[1].endpoints[0].ports.grpc: "grpc" is not a port of service reviews (use a port name or number)',
    'registry.yaml: document 1 (line 13): Service default/Bad_Name: spec.services[2].name: "Bad_Name" is not a valid service name (a DNS-1123 label)',
  ]);
  assert.deepEqual(
    r.snapshot.services.map((s) => s.name),
    ['details'],
  );
});

test('cross-field and label checks, with label keys quoted in the field path', async (t) => {
  const r = await load(t, {
    'policy.yaml': `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ports-without-selector}
spec:
  portLevelMtls:
    "8080": {mode: DISABLE}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-nothing}
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: "*"}
  action: DENY
`,
  });
  assert.deepEqual(errors(r), [
    'policy.yaml: document 1 (line 5): PeerAuthentication default/ports-without-selector: spec.portLevelMtls: mesh/namespace peer authentication cannot have port level mTLS',
    'policy.yaml: document 2 (line 11): AuthorizationPolicy default/deny-nothing: spec.rules: DENY action without `rules` is meaningless as it will never be triggered; add an empty rule `{}` to trigger it for every request',
    'policy.yaml: document 2 (line 13): AuthorizationPolicy default/deny-nothing: spec.selector.matchLabels["app.kubernetes.io/name"]: invalid label value "*"',
    'policy.yaml: document 2 (line 13): AuthorizationPolicy default/deny-nothing: spec.selector.matchLabels["app.kubernetes.io/name"]: wildcard is not supported in selector: "app.kubernetes.io/name=*"',
  ]);
});

test('paths that do not exist are reported by name; the others still load', async (t) => {
  const r = await load(
    t,
    { 'dr.yaml': 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a}\nspec: {host: a}\n' },
    ['dr.yaml', 'missing-dir'],
  );
  assert.deepEqual(errors(r), ['missing-dir: no such file or directory']);
  assert.equal(r.snapshot.istio.length, 1);
});

test('formatProblem leaves out what is unknown', () => {
  assert.equal(
    formatProblem({ severity: 'error', file: 'a.yaml', message: 'cannot read: permission denied' }),
    'a.yaml: cannot read: permission denied',
  );
  assert.equal(
    formatProblem({ severity: 'error', file: 'a.yaml', document: 3, line: 9, message: 'YAML syntax error: x' }),
    'a.yaml: document 3 (line 9): YAML syntax error: x',
  );
  assert.equal(
    formatProblem({
      severity: 'warning',
      file: 'm.yaml',
      document: 1,
      line: 1,
      kind: 'MeshConfig',
      name: 'mesh',
      field: 'spec.x',
      message: 'unknown field, ignored by Inboard',
    }),
    'm.yaml: document 1 (line 1): MeshConfig mesh: spec.x: warning: unknown field, ignored by Inboard',
  );
});

test("DestinationRule tls: istiod's ValidateTLS refuses insecureSkipVerify with a CA or SANs, and files next to credentialName", async (t) => {
  const dr = (name: string, tls: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}}
spec:
  host: ${name}.example.com
  trafficPolicy:
    tls: ${tls}
`;
  const r = await load(t, {
    'dr.yaml': [
      dr('a', '{mode: SIMPLE, insecureSkipVerify: true, caCertificates: /etc/ca.pem}'),
      dr('b', '{mode: SIMPLE, insecureSkipVerify: true, subjectAltNames: [api.example.com]}'),
      dr('c', '{mode: SIMPLE, insecureSkipVerify: true, credentialName: api-ca}'),
      dr(
        'd',
        '{mode: MUTUAL, insecureSkipVerify: true, caCertificates: /etc/ca.pem, clientCertificate: /c.pem, privateKey: /k.pem}',
      ),
      dr('e', '{mode: SIMPLE, credentialName: api-ca, caCertificates: /etc/ca.pem}'),
      dr('f', '{mode: MUTUAL, credentialName: api-cert, caCrl: /etc/crl.pem}'),
      // accepted: MUTUAL may skip verification with credentialName; SIMPLE without a CA
      dr('g', '{mode: MUTUAL, insecureSkipVerify: true, credentialName: api-cert}'),
      dr('h', '{mode: SIMPLE, insecureSkipVerify: true, sni: api.example.com}'),
    ].join('---\n'),
  });
  assert.deepEqual(errors(r), [
    'dr.yaml: document 1 (line 7): DestinationRule default/a: spec.trafficPolicy.tls.insecureSkipVerify: cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true',
    'dr.yaml: document 2 (line 15): DestinationRule default/b: spec.trafficPolicy.tls.insecureSkipVerify: cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true',
    'dr.yaml: document 3 (line 23): DestinationRule default/c: spec.trafficPolicy.tls.insecureSkipVerify: cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true',
    'dr.yaml: document 4 (line 31): DestinationRule default/d: spec.trafficPolicy.tls.insecureSkipVerify: cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true',
    'dr.yaml: document 5 (line 39): DestinationRule default/e: spec.trafficPolicy.tls.credentialName: cannot specify client certificates or CA certificate or CA CRL If credentialName is set',
    'dr.yaml: document 6 (line 47): DestinationRule default/f: spec.trafficPolicy.tls.credentialName: cannot specify client certificates or CA certificate or CA CRL If credentialName is set',
  ]);
});

test('DestinationRule tls: MUTUAL needs its files; credentialName is warned about (no Secrets are read)', async (t) => {
  const r = await load(t, {
    'dr.yaml': `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api}
spec:
  host: api.example.com
  trafficPolicy:
    tls: {mode: MUTUAL, caCertificates: /etc/ca.pem}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api2}
spec:
  host: api2.example.com
  trafficPolicy:
    portLevelSettings:
    - port: {number: 443}
      tls: {mode: SIMPLE, credentialName: api2-ca}
`,
  });
  assert.deepEqual(errors(r), [
    'dr.yaml: document 1 (line 7): DestinationRule default/api: spec.trafficPolicy.tls.clientCertificate: client certificate required for mutual tls',
    'dr.yaml: document 1 (line 7): DestinationRule default/api: spec.trafficPolicy.tls.privateKey: private key required for mutual tls',
  ]);
  assert.deepEqual(r.warnings.map(formatProblem), [
    'dr.yaml: document 2 (line 17): DestinationRule default/api2: spec.trafficPolicy.portLevelSettings[0].tls.credentialName: warning: credentialName is not supported: Inboard reads no Secrets, so the cluster gets no TLS (as istiod for a sidecar without workloadSelector); use caCertificates / clientCertificate / privateKey files',
  ]);
});
