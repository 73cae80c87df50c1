// Gateway API HTTPRoutes in config files: validated as the API server validates them against the
// Gateway API CRDs (plus what istiod refuses to translate), each problem naming file, document,
// line, object and field; an invalid route is rejected while the rest loads; references that
// resolve to nothing, and an HTTPRoute next to a VirtualService for the same host, are warnings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProblem } from '@inboard/control-plane';
import { load } from './config-fixtures.ts';

const REGISTRY = `apiVersion: inboard.dev/v1alpha1
kind: Registry
metadata: {name: test, namespace: default}
spec:
  services:
  - {name: reviews, ports: [{name: http, port: 9080}]}
  - {name: reviews-v1, ports: [{name: http, port: 9080}]}
  - {name: reviews-v2, ports: [{name: http, port: 9080}]}
`;

/** An HTTPRoute on the reviews Service whose rules are `rules` (YAML at the rules' indentation). */
function route(name: string, rules: string, apiVersion = 'gateway.networking.k8s.io/v1'): string {
  return `apiVersion: ${apiVersion}
kind: HTTPRoute
metadata: {name: ${name}}
spec:
  parentRefs:
  - {group: "", kind: Service, name: reviews, port: 9080}
  rules:
${rules.replace(/^/gm, '  ')}
`;
}

test('a valid HTTPRoute loads (v1 and v1beta1); v1alpha2 is an unsupported version', async (t) => {
  const r = await load(t, {
    'registry.yaml': REGISTRY,
    'routes.yaml': [
      route(
        'by-header',
        `- matches:
  - headers: [{name: end-user, value: jason}]
    path: {type: PathPrefix, value: /reviews}
  backendRefs: [{name: reviews-v2, port: 9080}]
- backendRefs:
  - {name: reviews-v1, port: 9080, weight: 90}
  - {name: reviews-v2, port: 9080, weight: 10}
  timeouts: {request: 10s, backendRequest: 2s}`,
      ),
      route('beta', '- backendRefs: [{name: reviews-v1, port: 9080}]', 'gateway.networking.k8s.io/v1beta1'),
      route('alpha', '- backendRefs: [{name: reviews-v1, port: 9080}]', 'gateway.networking.k8s.io/v1alpha2'),
    ].join('---\n'),
  });
  assert.deepEqual(r.problems.map(formatProblem), [
    'routes.yaml: document 3 (line 26): HTTPRoute default/alpha: apiVersion: unsupported apiVersion "gateway.networking.k8s.io/v1alpha2" for HTTPRoute (supported: gateway.networking.k8s.io/v1, gateway.networking.k8s.io/v1beta1)',
  ]);
  assert.deepEqual(r.warnings.map(formatProblem), []);
  assert.deepEqual(
    r.snapshot.istio.map((o) => `${o.kind}/${o.metadata.name}`),
    ['HTTPRoute/by-header', 'HTTPRoute/beta'],
  );
});

test('bad fields are errors naming file, document, line, object and field; the document is rejected', async (t) => {
  const r = await load(t, {
    'registry.yaml': REGISTRY,
    'bad.yaml': [
      route(
        'paths',
        `- matches:
  - path: {type: PathPrefix, value: reviews}
  - path: {type: Exact, value: /a//b}
  - path: {type: RegularExpression, value: "/(?=x)"}
  - headers: [{name: x, value: a}, {name: x, value: b}]
  - method: FETCH
  backendRefs: [{name: reviews-v1, port: 9080}]`,
      ),
      route(
        'backends',
        `- backendRefs:
  - {name: reviews-v1}
  - {name: reviews-v1.default.svc.cluster.local, port: 9080}
  - {name: reviews-v2, port: 9080, weight: 2000000}`,
      ),
      route(
        'filters',
        `- filters:
  - {type: RequestRedirect, requestRedirect: {statusCode: 399}}
  - type: URLRewrite
    urlRewrite: {path: {type: ReplaceFullPath, replacePrefixMatch: /x}}
  - {type: RequestHeaderModifier, responseHeaderModifier: {set: [{name: a, value: b}]}}
  - {type: ExtensionRef, extensionRef: {group: example.com, kind: Lua, name: x}}
  backendRefs: [{name: reviews-v1, port: 9080}]
  timeouts: {request: 1s, backendRequest: 2s}
- timeouts: {request: 1.5s}
  retry: {attempts: -1}`,
      ),
    ].join('---\n'),
  });
  assert.deepEqual(r.problems.map(formatProblem), [
    `bad.yaml: document 1 (line 9): HTTPRoute default/paths: spec.rules[0].matches[0].path.value: value must be an absolute path and start with '/' when type one of ["Exact", "PathPrefix"]`,
    `bad.yaml: document 1 (line 10): HTTPRoute default/paths: spec.rules[0].matches[1].path.value: value must not contain '//' when type one of ["Exact", "PathPrefix"]`,
    'bad.yaml: document 1 (line 11): HTTPRoute default/paths: spec.rules[0].matches[2].path.value: invalid RE2 regex: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    'bad.yaml: document 1 (line 12): HTTPRoute default/paths: spec.rules[0].matches[3].headers[1].name: duplicate header name "x"',
    'bad.yaml: document 1 (line 13): HTTPRoute default/paths: spec.rules[0].matches[4].method: method must be one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH',
    'bad.yaml: document 2 (line 24): HTTPRoute default/backends: spec.rules[0].backendRefs[0].port: Must have port for Service reference',
    'bad.yaml: document 2 (line 25): HTTPRoute default/backends: spec.rules[0].backendRefs[1].name: service name invalid; the name of the Service must be used, not the hostname',
    'bad.yaml: document 2 (line 26): HTTPRoute default/backends: spec.rules[0].backendRefs[2].weight: weight must be 0-1000000',
    'bad.yaml: document 3 (line 35): HTTPRoute default/filters: spec.rules[0].filters: May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both',
    'bad.yaml: document 3 (line 35): HTTPRoute default/filters: spec.rules[0].filters: RequestRedirect filter must not be used together with backendRefs',
    'bad.yaml: document 3 (line 36): HTTPRoute default/filters: spec.rules[0].filters[0].requestRedirect.statusCode: statusCode must be one of 301, 302, 303, 307, 308',
    "bad.yaml: document 3 (line 38): HTTPRoute default/filters: spec.rules[0].filters[1].urlRewrite.path.replaceFullPath: replaceFullPath must be specified when type is set to 'ReplaceFullPath'",
    "bad.yaml: document 3 (line 38): HTTPRoute default/filters: spec.rules[0].filters[1].urlRewrite.path.replacePrefixMatch: type must be 'ReplacePrefixMatch' when replacePrefixMatch is set",
    'bad.yaml: document 3 (line 39): HTTPRoute default/filters: spec.rules[0].filters[2].requestHeaderModifier: filter.requestHeaderModifier must be specified for RequestHeaderModifier filter.type',
    'bad.yaml: document 3 (line 39): HTTPRoute default/filters: spec.rules[0].filters[2].responseHeaderModifier: filter.responseHeaderModifier must be nil if the filter.type is not ResponseHeaderModifier',
    // istiod accepts the object but drops the route ("unsupported filter type"): an error here
    'bad.yaml: document 3 (line 40): HTTPRoute default/filters: spec.rules[0].filters[3].type: unsupported filter type "ExtensionRef"',
    'bad.yaml: document 3 (line 42): HTTPRoute default/filters: spec.rules[0].timeouts.backendRequest: backendRequest timeout cannot be longer than request timeout',
    'bad.yaml: document 3 (line 43): HTTPRoute default/filters: spec.rules[1].timeouts.request: invalid duration "1.5s": expected Gateway API form like "10s", "500ms" or "1h30m"',
    'bad.yaml: document 3 (line 44): HTTPRoute default/filters: spec.rules[1].retry.attempts: attempts must not be negative',
  ]);
  // every route document is rejected; the registry next to them loads
  assert.deepEqual(r.snapshot.istio, []);
  assert.deepEqual(
    r.snapshot.services.map((s) => s.name),
    ['reviews', 'reviews-v1', 'reviews-v2'],
  );
});

test("parentRefs to one parent must all name a section (or port) or none, and no two the same: the CRD's CEL rules", async (t) => {
  const doc = (kind: string, name: string, refs: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: ${kind}
metadata: {name: ${name}}
spec:
  parentRefs:
${refs.replace(/^/gm, '  ')}
`;
  const SVC = 'group: "", kind: Service, name: reviews';
  const r = await load(t, {
    'registry.yaml': REGISTRY,
    'refs.yaml': [
      doc('HTTPRoute', 'twice', `- {${SVC}}\n- {${SVC}}`),
      doc('HTTPRoute', 'one-section', '- {name: gw, sectionName: a}\n- {name: gw}'),
      doc('HTTPRoute', 'same-port', `- {${SVC}, port: 9080}\n- {${SVC}, port: 9080}`),
      doc('HTTPRoute', 'one-port', `- {${SVC}}\n- {${SVC}, port: 9080}`),
      doc('GRPCRoute', 'grpc-twice', `- {${SVC}}\n- {${SVC}}`),
      // distinct: other sections, other ports (the experimental channel's rule), another kind or namespace
      doc(
        'HTTPRoute',
        'sections',
        '- {name: gw, sectionName: a}\n- {name: gw, sectionName: b}\n- {name: gw, kind: Other}',
      ),
      doc('HTTPRoute', 'ports', `- {${SVC}, port: 9080}\n- {${SVC}, port: 9090}\n- {${SVC}, namespace: other}`),
    ].join('---\n'),
  });
  const same = 'when parentRefs includes 2 or more references to the same parent';
  assert.deepEqual(r.problems.map(formatProblem), [
    `refs.yaml: document 1 (line 7): HTTPRoute default/twice: spec.parentRefs[1]: sectionName must be unique ${same}`,
    `refs.yaml: document 2 (line 15): HTTPRoute default/one-section: spec.parentRefs[1]: sectionName must be specified ${same}`,
    `refs.yaml: document 3 (line 23): HTTPRoute default/same-port: spec.parentRefs[1]: sectionName or port must be unique ${same}`,
    `refs.yaml: document 4 (line 31): HTTPRoute default/one-port: spec.parentRefs[1]: sectionName or port must be specified ${same}`,
    `refs.yaml: document 5 (line 39): GRPCRoute default/grpc-twice: spec.parentRefs[1]: sectionName must be unique ${same}`,
  ]);
  assert.deepEqual(
    r.snapshot.istio.map((o) => o.metadata.name),
    ['sections', 'ports'],
  );
});

test('unknown fields and ignored settings are warnings; unresolved references and a VirtualService on the same host too', async (t) => {
  const r = await load(t, {
    'registry.yaml': REGISTRY,
    'warn.yaml': `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews}
spec:
  hostnames: [reviews.example.com]
  parentRefs:
  - {group: "", kind: Service, name: reviews, sectionName: http}
  - {kind: Service, name: reviews}
  - {name: my-gateway}
  - {group: "", kind: Service, name: ratings}
  rules:
  - sessionPersistence: {sessionName: s}
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 9080}}
    backendRefs:
    - {name: reviews-v3, port: 9080}
    - {group: example.com, kind: Bucket, name: b}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews-v1}
`,
  });
  assert.deepEqual(r.problems.map(formatProblem), []);
  assert.deepEqual(r.warnings.map(formatProblem), [
    'warn.yaml: document 1 (line 1): HTTPRoute default/reviews: warning: VirtualService default/reviews also routes reviews.default.svc.cluster.local: a client uses one of them (private or exported VirtualServices first, then HTTPRoutes of its own namespace, then the oldest)',
    'warn.yaml: document 1 (line 1): HTTPRoute default/reviews: warning: parent Gateway default/my-gateway not found: the route is not attached to it',
    'warn.yaml: document 1 (line 1): HTTPRoute default/reviews: warning: parent Service default/ratings not found: the route is not attached to it',
    'warn.yaml: document 1 (line 1): HTTPRoute default/reviews: warning: backendRef Service default/reviews-v3 not found: requests sent to it get 500',
    'warn.yaml: document 1 (line 1): HTTPRoute default/reviews: warning: mirror backendRef Service default/shadow not found: nothing is mirrored to it',
    'warn.yaml: document 1 (line 7): HTTPRoute default/reviews: spec.parentRefs[0].sectionName: warning: sectionName is ignored for a Service parent (as istiod does); use port',
    'warn.yaml: document 1 (line 8): HTTPRoute default/reviews: spec.parentRefs[1]: warning: kind Service without group "" is gateway.networking.k8s.io/Service, not a Service: set group: "" to route for it',
    'warn.yaml: document 1 (line 12): HTTPRoute default/reviews: spec.rules[0].sessionPersistence: warning: unknown field, ignored by Inboard',
    'warn.yaml: document 1 (line 18): HTTPRoute default/reviews: spec.rules[0].backendRefs[1]: warning: backendRef example.com/Bucket is not supported: requests sent to it get 500',
  ]);
  assert.deepEqual(
    r.snapshot.istio.map((o) => o.kind),
    ['HTTPRoute', 'VirtualService'],
  );
});

test('hostnames on a route whose parents are all Services are flagged as ignored', async (t) => {
  const r = await load(t, {
    'registry.yaml': REGISTRY,
    'route.yaml': `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews}]
  hostnames: [reviews.example.com]
  rules:
  - backendRefs: [{name: reviews-v1, port: 9080}]
`,
  });
  assert.deepEqual(r.warnings.map(formatProblem), [
    "route.yaml: document 1 (line 6): HTTPRoute default/reviews: spec.hostnames: warning: hostnames are ignored for Service parents: the route applies to the Service's host",
  ]);
});

test('a RegularExpression path behind a rule that matches every path is flagged as never matched (istiod ranks regexes last)', async (t) => {
  const r = await load(t, {
    'registry.yaml': REGISTRY,
    'routes.yaml': [
      route(
        'shadowed',
        `- matches:
  - path: {type: RegularExpression, value: "/api/v[0-9]+/.*"}
  - path: {type: Exact, value: /exact}
  backendRefs: [{name: reviews-v2, port: 9080}]
- matches:
  - path: {type: RegularExpression, value: "/r/.*"}
    headers: [{name: x-canary, value: "1"}]
  backendRefs: [{name: reviews-v2, port: 9080}]
- backendRefs: [{name: reviews-v1, port: 9080}]`,
      ),
      route(
        'explicit-default',
        `- matches: [{path: {type: RegularExpression, value: "/api/.*"}}]
  backendRefs: [{name: reviews-v2, port: 9080}]
- matches: [{path: {value: /}}]
  backendRefs: [{name: reviews-v1, port: 9080}]`,
      ),
      // a catch-all narrowed by a header, a method or a query parameter leaves the regex reachable
      route(
        'narrowed',
        `- matches: [{path: {type: RegularExpression, value: "/api/.*"}}]
  backendRefs: [{name: reviews-v2, port: 9080}]
- matches:
  - headers: [{name: end-user, value: jason}]
  - method: POST
  - queryParams: [{name: v, value: "2"}]
  backendRefs: [{name: reviews-v1, port: 9080}]`,
      ),
    ].join('---\n'),
  });
  assert.deepEqual(r.problems.map(formatProblem), []);
  const never = 'a RegularExpression path is never matched';
  const why = 'matches every path (PathPrefix /) and istiod orders every regex after every prefix';
  assert.deepEqual(
    r.warnings.map(formatProblem).filter((w) => !w.includes('also routes reviews')),
    [
      `routes.yaml: document 1 (line 9): HTTPRoute default/shadowed: spec.rules[0].matches[0].path: warning: ${never}: rule #2 ${why}`,
      `routes.yaml: document 1 (line 13): HTTPRoute default/shadowed: spec.rules[1].matches[0].path: warning: ${never}: rule #2 ${why}`,
      `routes.yaml: document 2 (line 25): HTTPRoute default/explicit-default: spec.rules[0].matches[0].path: warning: ${never}: rule #1 ${why}`,
    ],
  );
});

test('GRPCRoute (v1): service / method matches are validated like the CRD; filters istiod cannot translate are errors', async (t) => {
  const grpc = (name: string, rules: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: ${name}}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews}]
  rules:
${rules.replace(/^/gm, '  ')}
`;
  const r = await load(t, {
    'registry.yaml': REGISTRY,
    'grpc.yaml': [
      grpc(
        'good',
        `- matches:
  - method: {service: bookinfo.Reviews, method: Get}
  - method: {type: RegularExpression, service: "bookinfo\\\\..*"}
  backendRefs: [{name: reviews-v2, port: 9080}]`,
      ),
      grpc(
        'bad',
        `- matches:
  - method: {type: Exact}
  - method: {service: "bookinfo/Reviews", method: "Get()"}
  filters:
  - {type: ExtensionRef, extensionRef: {group: example.com, kind: Lua, name: x}}
  backendRefs: [{name: gone, port: 9080}]`,
      ),
    ].join('---\n'),
  });
  assert.deepEqual(r.problems.map(formatProblem), [
    "grpc.yaml: document 2 (line 19): GRPCRoute default/bad: spec.rules[0].matches[0].method: One or both of 'service' or 'method' must be specified",
    'grpc.yaml: document 2 (line 20): GRPCRoute default/bad: spec.rules[0].matches[1].method.service: service must only contain valid characters (matching ^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$)',
    'grpc.yaml: document 2 (line 20): GRPCRoute default/bad: spec.rules[0].matches[1].method.method: method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)',
    'grpc.yaml: document 2 (line 22): GRPCRoute default/bad: spec.rules[0].filters[0].type: unsupported filter type "ExtensionRef"',
  ]);
  assert.deepEqual(
    r.snapshot.istio.map((o) => `${o.kind}/${o.metadata.name}`),
    ['GRPCRoute/good'],
  );
});

test('Gateway (gateway.networking.k8s.io): listeners validated as the CRD does; kept apart from an Istio Gateway of the same name', async (t) => {
  const r = await load(t, {
    'registry.yaml': REGISTRY,
    'gateways.yaml': `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: https, port: 443, protocol: HTTPS, hostname: web.example.com, tls: {mode: Terminate}}
  - name: team
    port: 8080
    protocol: HTTP
    allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: a}}}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bad}
spec:
  gatewayClassName: other
  listeners:
  - {name: a, port: 80, protocol: HTTP, tls: {mode: Terminate}}
  - {name: a, port: 81, protocol: TCP, hostname: x.example.com}
  - {name: b, port: 82, protocol: HTTPS}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: team}
spec:
  parentRefs: [{name: web, namespace: default}]
  rules:
  - backendRefs: [{name: reviews-v1, namespace: default, port: 9080}]
`,
  });
  assert.deepEqual(r.problems.map(formatProblem), [
    'gateways.yaml: document 3 (line 29): Gateway.gateway.networking.k8s.io default/bad: spec.listeners[0].tls: tls must not be specified for protocols ["HTTP", "TCP", "UDP"]',
    'gateways.yaml: document 3 (line 30): Gateway.gateway.networking.k8s.io default/bad: spec.listeners[1].hostname: hostname must not be specified for protocols ["TCP", "UDP"]',
    'gateways.yaml: document 3 (line 30): Gateway.gateway.networking.k8s.io default/bad: spec.listeners[1].name: Listener name must be unique within the Gateway',
    'gateways.yaml: document 3 (line 31): Gateway.gateway.networking.k8s.io default/bad: spec.listeners[2].tls: tls must be specified for protocols ["HTTPS", "TLS"]',
  ]);
  assert.deepEqual(r.warnings.map(formatProblem), [
    'gateways.yaml: document 1 (line 8): Gateway.gateway.networking.k8s.io default/web: spec.listeners[1].protocol: warning: HTTPS listeners are not served by Inboard (plain-text HTTP only)',
    'gateways.yaml: document 1 (line 12): Gateway.gateway.networking.k8s.io default/web: spec.listeners[2].allowedRoutes.namespaces: warning: namespace selectors cannot be evaluated (config files carry no Namespace labels): no route attaches',
    'gateways.yaml: document 4 (line 33): HTTPRoute team/web: warning: backendRef Service default/reviews-v1 is in another namespace: through a Gateway that needs a ReferenceGrant, which Inboard does not read (requests sent to it get 500 there)',
  ]);
  assert.deepEqual(
    r.snapshot.istio.map((o) => `${o.kind}/${o.metadata.name}`),
    ['KubernetesGateway/web', 'Gateway/web', 'HTTPRoute/web'],
  );
});
