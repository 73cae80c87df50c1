// Every supported kind parses into the translator's contract types: minimal and full examples,
// unknown fields as warnings, unsupported kinds skipped with a note, List and Registry wrappers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConfigLoadResult, formatProblem } from '@inboard/control-plane';
import { parse as parseYaml } from 'yaml';
import { load } from './config-fixtures.ts';

const lines = (r: ConfigLoadResult) => [...r.problems, ...r.warnings].map(formatProblem);

function objectYaml(apiVersion: string, kind: string, name: string, spec: string, namespace = 'default'): string {
  return `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
}

const FULL_VIRTUAL_SERVICE = `
hosts: [reviews, reviews.default.svc.cluster.local]
gateways: [mesh, istio-system/ingress]
exportTo: ["."]
http:
- name: jason
  match:
  - name: by-user
    uri: {prefix: /reviews}
    method: {exact: GET}
    authority: {regex: "reviews(:9080)?"}
    scheme: {exact: http}
    headers:
      end-user: {exact: jason}
      x-canary: {}
    withoutHeaders:
      x-skip: {prefix: "1"}
    queryParams:
      debug: {exact: "1"}
    ignoreUriCase: true
    port: 9080
    sourceLabels: {app: productpage}
    sourceNamespace: default
  route:
  - destination: {host: reviews, subset: v2, port: {number: 9080}}
    weight: 90
    headers:
      request: {set: {x-route: v2}}
      response: {remove: [x-internal]}
  - destination: {host: reviews, subset: v3}
    weight: 10
  timeout: 1.5s
  retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,connect-failure,503", retryRemoteLocalities: true, backoff: 25ms}
  fault:
    delay: {fixedDelay: 100ms, percentage: {value: 0.5}}
    abort: {httpStatus: 503, percentage: {value: 1}}
  mirror: {host: reviews-shadow}
  mirrorPercentage: {value: 25}
  corsPolicy:
    allowOrigins: [{exact: "https://example.com"}, {regex: "https://.*\\\\.example\\\\.org"}]
    allowMethods: [GET, POST]
    allowHeaders: [x-custom]
    exposeHeaders: ["*"]
    maxAge: 24h
    allowCredentials: true
  headers:
    request: {add: {x-mesh: inboard}}
- name: moved
  match: [{uri: {exact: /old}}]
  redirect: {uri: /new, authority: reviews.example.com, redirectCode: 308}
- name: teapot
  match: [{uri: {exact: /tea}}]
  directResponse: {status: 418, body: {string: "I'm a teapot"}}
- match: [{uri: {prefix: /v1}}]
  rewrite: {uriRegexRewrite: {match: "^/v1/(.*)$", rewrite: "/\\\\1"}}
  route: [{destination: {host: reviews}}]
- route: [{destination: {host: reviews, subset: v1}}]
`;

test('a VirtualService with every supported field round-trips unchanged into the snapshot', async (t) => {
  const r = await load(t, {
    'vs.yaml': objectYaml('networking.istio.io/v1', 'VirtualService', 'reviews', FULL_VIRTUAL_SERVICE),
  });
  assert.deepEqual(lines(r), []);
  const [vs] = r.snapshot.istio;
  assert.equal(vs?.kind, 'VirtualService');
  assert.deepEqual(vs?.spec, parseYaml(FULL_VIRTUAL_SERVICE));
  assert.deepEqual(vs?.metadata, { name: 'reviews', namespace: 'default' });
});

test('minimal objects of every kind load, in every supported apiVersion', async (t) => {
  const docs = [
    objectYaml(
      'networking.istio.io/v1alpha3',
      'Gateway',
      'gw',
      'servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: ["*"]',
    ),
    objectYaml(
      'networking.istio.io/v1beta1',
      'VirtualService',
      'vs',
      'hosts: [reviews]\nhttp:\n- route: [{destination: {host: reviews}}]',
    ),
    objectYaml('networking.istio.io/v1', 'DestinationRule', 'dr', 'host: reviews'),
    objectYaml(
      'networking.istio.io/v1',
      'ServiceEntry',
      'se',
      'hosts: [api.example.com]\nports: [{number: 443, name: https, protocol: TLS}]\nresolution: DNS',
    ),
    objectYaml('networking.istio.io/v1', 'WorkloadEntry', 'we', 'address: 10.0.0.7'),
    objectYaml('networking.istio.io/v1', 'Sidecar', 'default', 'egress:\n- hosts: ["./*", "istio-system/*"]'),
    objectYaml('security.istio.io/v1', 'PeerAuthentication', 'pa', 'mtls: {mode: STRICT}'),
    objectYaml('security.istio.io/v1beta1', 'AuthorizationPolicy', 'allow-nothing', '{}'),
    objectYaml(
      'security.istio.io/v1',
      'RequestAuthentication',
      'jwt',
      'jwtRules:\n- issuer: https://issuer.example.com',
    ),
  ];
  const r = await load(t, { 'all.yaml': docs.join('---\n') });
  assert.deepEqual(lines(r), []);
  assert.deepEqual(
    r.snapshot.istio.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`),
    [
      'Gateway/default/gw',
      'VirtualService/default/vs',
      'DestinationRule/default/dr',
      'ServiceEntry/default/se',
      'WorkloadEntry/default/we',
      'Sidecar/default/default',
      'PeerAuthentication/default/pa',
      'AuthorizationPolicy/default/allow-nothing',
      'RequestAuthentication/default/jwt',
    ],
  );
  assert.deepEqual(r.snapshot.istio[2]?.spec, { host: 'reviews' });
  assert.deepEqual(r.snapshot.istio[7]?.spec, {});
});

test('full DestinationRule, Gateway, ServiceEntry, WorkloadEntry and Sidecar keep every field', async (t) => {
  const specs: Record<string, [string, string]> = {
    DestinationRule: [
      'networking.istio.io/v1',
      `host: reviews.default.svc.cluster.local
exportTo: ["*"]
trafficPolicy:
  loadBalancer:
    consistentHash: {httpCookie: {name: user, ttl: 0s, path: /}, ringHash: {minimumRingSize: 1024}}
    localityLbSetting: {enabled: true, failover: [{from: us-east1, to: us-west1}]}
    warmup: {duration: 30s, minimumPercent: 10, aggression: 1.5}
  connectionPool:
    tcp: {maxConnections: 100, connectTimeout: 250ms, tcpKeepalive: {probes: 3, time: 2h, interval: 75s}, idleTimeout: 1h}
    http: {http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRequestsPerConnection: 5, maxRetries: 3, idleTimeout: 30s, h2UpgradePolicy: UPGRADE}
  outlierDetection: {consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50, minHealthPercent: 20}
  tls: {mode: ISTIO_MUTUAL, sni: reviews.default.svc.cluster.local}
  portLevelSettings:
  - port: {number: 9080}
    loadBalancer: {simple: LEAST_REQUEST}
subsets:
- name: v1
  labels: {version: v1}
- name: v2
  labels: {version: v2}
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    tls: {mode: MUTUAL, clientCertificate: /etc/certs/cert.pem, privateKey: /etc/certs/key.pem, caCertificates: /etc/certs/ca.pem, subjectAltNames: [spiffe://cluster.local/ns/default/sa/reviews]}`,
    ],
    Gateway: [
      'networking.istio.io/v1',
      `selector: {istio: ingressgateway}
servers:
- port: {number: 443, name: https, protocol: HTTPS}
  hosts: [bookinfo/reviews.example.com, "*/*.example.org"]
  tls: {mode: SIMPLE, credentialName: reviews-cert, minProtocolVersion: TLSV1_2}
  name: secure
- port: {number: 80, name: http, protocol: HTTP}
  hosts: ["*"]
  tls: {httpsRedirect: true}
  bind: 0.0.0.0`,
    ],
    ServiceEntry: [
      'networking.istio.io/v1',
      `hosts: [db.internal]
addresses: [10.1.0.0/24]
ports: [{number: 5432, name: tcp-postgres, protocol: TCP, targetPort: 15432}]
location: MESH_INTERNAL
resolution: STATIC
endpoints:
- {address: 10.1.0.5, ports: {tcp-postgres: 15433}, labels: {version: v1}, locality: eu/west/a, weight: 3, serviceAccount: db, network: net1}
exportTo: [".", payments]
subjectAltNames: [spiffe://cluster.local/ns/db/sa/postgres]`,
    ],
    WorkloadEntry: [
      'networking.istio.io/v1',
      'address: vm-1.example.com\nports: {http: 8080}\nlabels: {app: ratings, version: v2}\nlocality: us/east/1\nweight: 10\nserviceAccount: bookinfo-ratings\nnetwork: vm-net',
    ],
    Sidecar: [
      'networking.istio.io/v1',
      `workloadSelector: {labels: {app: reviews}}
ingress:
- port: {number: 9080, protocol: HTTP, name: http}
  defaultEndpoint: 127.0.0.1:8080
  captureMode: DEFAULT
egress:
- port: {number: 9080, protocol: HTTP, name: egress-http}
  hosts: [./ratings.default.svc.cluster.local]
- hosts: ["istio-system/*", "~/*"]
outboundTrafficPolicy: {mode: REGISTRY_ONLY}`,
    ],
  };
  const docs = Object.entries(specs).map(([kind, [api, spec]]) => objectYaml(api, kind, kind.toLowerCase(), spec));
  const r = await load(t, { 'full.yaml': docs.join('---\n') });
  assert.deepEqual(lines(r), []);
  for (const [i, [, spec]] of Object.values(specs).entries())
    assert.deepEqual(r.snapshot.istio[i]?.spec, parseYaml(spec));
});

test('full security policies keep every field', async (t) => {
  const specs: Record<string, string> = {
    PeerAuthentication:
      'selector: {matchLabels: {app: reviews}}\nmtls: {mode: PERMISSIVE}\nportLevelMtls:\n  "9080": {mode: STRICT}',
    AuthorizationPolicy: `selector: {matchLabels: {app: reviews}}
action: DENY
rules:
- from:
  - source: {principals: [cluster.local/ns/default/sa/productpage], namespaces: [default], ipBlocks: [10.0.0.0/8], notRemoteIpBlocks: [1.2.3.4]}
  to:
  - operation: {methods: [GET], paths: [/admin/*], ports: ["9080"], notHosts: [evil.example.com]}
  when:
  - key: request.headers[x-token]
    notValues: [""]
  - key: source.ip
    values: [10.1.2.3]`,
    RequestAuthentication: `targetRef: {kind: Service, group: "", name: reviews}
jwtRules:
- issuer: https://issuer.example.com
  audiences: [bookinfo]
  jwksUri: https://issuer.example.com/jwks.json
  fromHeaders: [{name: x-jwt, prefix: "Bearer "}]
  fromParams: [token]
  fromCookies: [session]
  outputPayloadToHeader: x-jwt-payload
  forwardOriginalToken: true
  outputClaimToHeaders: [{header: x-user, claim: sub}]
  timeout: 5s`,
  };
  const docs = Object.entries(specs).map(([kind, spec]) =>
    objectYaml('security.istio.io/v1', kind, kind.toLowerCase(), spec),
  );
  const r = await load(t, { 'security.yaml': docs.join('---\n') });
  assert.deepEqual(lines(r), []);
  for (const [i, spec] of Object.values(specs).entries()) assert.deepEqual(r.snapshot.istio[i]?.spec, parseYaml(spec));
});

test('unknown fields are warnings with their path; the object still loads without them', async (t) => {
  const r = await load(t, {
    'vs.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  uid: 1234
spec:
  hosts: [reviews]
  futureField: true
  http:
  - route:
    - destination: {host: reviews}
      shinyNewOption: 1
status: {observedGeneration: 3}
`,
  });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.warnings.map(formatProblem), [
    'vs.yaml: document 1 (line 8): VirtualService default/reviews: spec.futureField: warning: unknown field, ignored by Inboard',
    'vs.yaml: document 1 (line 12): VirtualService default/reviews: spec.http[0].route[0].shinyNewOption: warning: unknown field, ignored by Inboard',
  ]);
  assert.deepEqual(r.snapshot.istio[0]?.spec, {
    hosts: ['reviews'],
    http: [{ route: [{ destination: { host: 'reviews' } }] }],
  });
});

test('unsupported and unknown kinds are skipped with a note; other documents still load', async (t) => {
  const r = await load(t, {
    'mixed.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: lua}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: k8s-tcp}
---
${objectYaml('networking.istio.io/v1', 'DestinationRule', 'reviews', 'host: reviews')}`,
  });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.warnings.map(formatProblem), [
    'mixed.yaml: document 1 (line 1): Deployment default/reviews-v1: warning: skipped: unknown kind Deployment (apps/v1)',
    'mixed.yaml: document 2 (line 5): EnvoyFilter default/lua: warning: skipped: EnvoyFilter (networking.istio.io/v1alpha3) is not supported by Inboard',
    'mixed.yaml: document 3 (line 9): TCPRoute default/k8s-tcp: warning: skipped: TCPRoute (gateway.networking.k8s.io/v1alpha2) is not supported by Inboard',
  ]);
  assert.deepEqual(
    r.snapshot.istio.map((o) => o.kind),
    ['DestinationRule'],
  );
});

test('a List is read item by item, JSON files too, and items default to the "default" namespace', async (t) => {
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'a' }, spec: { host: 'a' } },
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'b', namespace: 'other' },
        spec: { host: 'b' },
      },
      { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'c' }, spec: {} },
    ],
  };
  const r = await load(t, { 'list.json': JSON.stringify(list, null, 2) });
  assert.deepEqual(
    r.snapshot.istio.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
    ['default/a', 'other/b'],
  );
  assert.deepEqual(r.problems.map(formatProblem), [
    'list.json: document 1 (line 32): DestinationRule default/c: items[2].spec.host: Required',
  ]);
});

test('Kubernetes Service, EndpointSlice, Endpoints and Pod become registry services and endpoints', async (t) => {
  const r = await load(t, {
    'k8s.yaml': `apiVersion: v1
kind: Service
metadata:
  name: reviews
  labels: {app: reviews}
  annotations: {networking.istio.io/exportTo: ".,istio-system"}
spec:
  selector: {app: reviews}
  clusterIP: 10.96.0.12
  sessionAffinity: None
  ports:
  - {name: http, port: 9080, targetPort: 9081, protocol: TCP, appProtocol: http}
  - {name: grpc, port: 7070, targetPort: grpc}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: reviews-abc12
  labels: {kubernetes.io/service-name: reviews}
addressType: IPv4
ports:
- {name: http, port: 9081, protocol: TCP}
- {name: grpc, port: 7071}
endpoints:
- addresses: [10.244.0.5]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: reviews-v1-xyz, namespace: default}
- addresses: [10.244.0.6]
  conditions: {ready: false, serving: true, terminating: true}
---
apiVersion: v1
kind: Pod
metadata:
  name: reviews-v1-xyz
  labels: {app: reviews, version: v1, security.istio.io/tlsMode: istio, istio-locality: us-east1.us-east1-b}
spec:
  serviceAccountName: bookinfo-reviews
status:
  podIP: 10.244.0.5
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec:
  ports: [{port: 9080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: ratings}
subsets:
- addresses: [{ip: 10.244.1.9}]
  notReadyAddresses: [{ip: 10.244.1.10}]
  ports: [{port: 9080}]
`,
  });
  assert.deepEqual(lines(r), []);
  assert.deepEqual(r.snapshot.services, [
    {
      name: 'reviews',
      namespace: 'default',
      labels: { app: 'reviews' },
      selector: { app: 'reviews' },
      clusterIP: '10.96.0.12',
      exportTo: ['.', 'istio-system'],
      ports: [
        { name: 'http', port: 9080, targetPort: 9081, protocol: 'TCP', appProtocol: 'http' },
        { name: 'grpc', port: 7070, targetPort: 'grpc' },
      ],
    },
    { name: 'ratings', namespace: 'default', ports: [{ port: 9080 }] },
  ]);
  assert.deepEqual(r.snapshot.endpoints, [
    {
      service: 'reviews',
      namespace: 'default',
      endpoints: [
        {
          address: '10.244.0.5',
          ports: { http: 9081, grpc: 7071 },
          labels: {
            app: 'reviews',
            version: 'v1',
            'security.istio.io/tlsMode': 'istio',
            'istio-locality': 'us-east1.us-east1-b',
          },
          serviceAccount: 'bookinfo-reviews',
          tlsMode: 'istio',
          locality: 'us-east1/us-east1-b',
        },
        { address: '10.244.0.6', ports: { http: 9081, grpc: 7071 }, health: 'DRAINING' },
      ],
    },
    {
      service: 'ratings',
      namespace: 'default',
      endpoints: [
        { address: '10.244.1.9', ports: { '9080': 9080 } },
        { address: '10.244.1.10', ports: { '9080': 9080 }, health: 'UNHEALTHY' },
      ],
    },
  ]);
});

test('the Inboard Registry: services with ports and endpoints; `port` is the shorthand for every port', async (t) => {
  const r = await load(t, {
    'registry.yaml': `apiVersion: inboard.dev/v1alpha1
kind: Registry
metadata: {name: local, namespace: shop}
spec:
  services:
  - name: cart
    ports: [{name: http, port: 8080}, {name: grpc, port: 9090, appProtocol: grpc}]
    labels: {app: cart}
    exportTo: ["*"]
    endpoints:
    - address: 127.0.0.1
      port: 18080
      ports: {grpc: 19090}
      labels: {version: v1}
      locality: eu-west1/eu-west1-a/rack1
      weight: 5
      serviceAccount: cart
      tlsMode: istio
    - {address: localhost, ports: {"8080": 28080}, health: DRAINING, workloadName: cart-v2, network: n1, clusterId: c1}
  - name: prices
    namespace: pricing
    ports: [{port: 80, targetPort: 8080}]
`,
  });
  assert.deepEqual(lines(r), []);
  assert.deepEqual(r.snapshot.services, [
    {
      name: 'cart',
      namespace: 'shop',
      labels: { app: 'cart' },
      exportTo: ['*'],
      ports: [
        { name: 'http', port: 8080 },
        { name: 'grpc', port: 9090, appProtocol: 'grpc' },
      ],
    },
    { name: 'prices', namespace: 'pricing', ports: [{ port: 80, targetPort: 8080 }] },
  ]);
  assert.deepEqual(r.snapshot.endpoints, [
    {
      service: 'cart',
      namespace: 'shop',
      endpoints: [
        {
          address: '127.0.0.1',
          ports: { http: 18080, grpc: 19090 },
          labels: { version: 'v1' },
          locality: 'eu-west1/eu-west1-a/rack1',
          weight: 5,
          serviceAccount: 'cart',
          tlsMode: 'istio',
        },
        {
          address: 'localhost',
          ports: { http: 28080 },
          health: 'DRAINING',
          workloadName: 'cart-v2',
          network: 'n1',
          clusterId: 'c1',
        },
      ],
    },
    { service: 'prices', namespace: 'pricing', endpoints: [] },
  ]);
});

test('a MeshConfig document sets the mesh settings of the snapshot', async (t) => {
  const r = await load(t, {
    'mesh.yaml': `apiVersion: inboard.dev/v1alpha1
kind: MeshConfig
spec:
  trustDomain: example.org
  rootNamespace: mesh-root
  defaultHttpRetryPolicy: {attempts: 1, retryOn: gateway-error}
`,
  });
  assert.deepEqual(lines(r), []);
  assert.deepEqual(r.snapshot.meshConfig, {
    trustDomain: 'example.org',
    rootNamespace: 'mesh-root',
    defaultHttpRetryPolicy: { attempts: 1, retryOn: 'gateway-error' },
  });
});

test('a Registry inside a List is read service by service, with item paths', async (t) => {
  const r = await load(t, {
    'list.yaml': `apiVersion: v1
kind: List
items:
- apiVersion: inboard.dev/v1alpha1
  kind: Registry
  spec:
    services:
    - {name: a, ports: [{port: 80}]}
    - {name: b, ports: []}
`,
  });
  assert.deepEqual(
    r.snapshot.services.map((s) => s.name),
    ['a'],
  );
  assert.deepEqual(r.problems.map(formatProblem), [
    'list.yaml: document 1 (line 9): Service default/b: items[0].spec.services[1].ports: a service needs at least one port',
  ]);
});
