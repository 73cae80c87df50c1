// Bookinfo as a MeshConfigSnapshot: the registry (services + endpoints) and the Istio samples'
// VirtualServices / DestinationRules / Gateway, shared by the translator tests.
import type {
  IstioObject,
  MeshConfigSnapshot,
  RegistryService,
  RegistryServiceEndpoints,
  VirtualService,
} from '@inboard/control-plane';

export const NS = 'default';

export function service(name: string, port = 9080, extra: Partial<RegistryService> = {}): RegistryService {
  return {
    name,
    namespace: NS,
    ports: [{ name: 'http', port, targetPort: port }],
    selector: { app: name },
    labels: { app: name, service: name },
    ...extra,
  };
}

export const SERVICES: readonly RegistryService[] = [
  service('productpage', 9080, { clusterIP: '10.96.0.10' }),
  service('reviews', 9080, { clusterIP: '10.96.0.11' }),
  service('ratings', 9080, { clusterIP: '10.96.0.12' }),
  service('details', 9080, { clusterIP: '10.96.0.13' }),
];

function ep(app: string, version: string, address: string, port = 9080) {
  return {
    address,
    ports: { http: port },
    labels: { app, version, 'security.istio.io/tlsMode': 'istio' },
    serviceAccount: `bookinfo-${app}`,
    workloadName: `${app}-${version}`,
    locality: 'us-east1/us-east1-b',
  };
}

export function bookinfoEndpoints(port = (_app: string, _v: string) => 9080): RegistryServiceEndpoints[] {
  return [
    {
      service: 'productpage',
      namespace: NS,
      endpoints: [ep('productpage', 'v1', '10.0.0.10', port('productpage', 'v1'))],
    },
    {
      service: 'reviews',
      namespace: NS,
      endpoints: [
        ep('reviews', 'v1', '10.0.0.21', port('reviews', 'v1')),
        ep('reviews', 'v2', '10.0.0.22', port('reviews', 'v2')),
        ep('reviews', 'v3', '10.0.0.23', port('reviews', 'v3')),
      ],
    },
    { service: 'ratings', namespace: NS, endpoints: [ep('ratings', 'v1', '10.0.0.31', port('ratings', 'v1'))] },
    { service: 'details', namespace: NS, endpoints: [ep('details', 'v1', '10.0.0.41', port('details', 'v1'))] },
  ];
}

const meta = (name: string, namespace = NS) => ({ name, namespace });

export function destinationRules(): IstioObject[] {
  const versions: Record<string, string[]> = {
    productpage: ['v1'],
    reviews: ['v1', 'v2', 'v3'],
    ratings: ['v1', 'v2'],
    details: ['v1', 'v2'],
  };
  return Object.entries(versions).map(([host, vs]) => ({
    kind: 'DestinationRule',
    metadata: meta(host),
    spec: { host, subsets: vs.map((v) => ({ name: v, labels: { version: v } })) },
  }));
}

export function vs(name: string, spec: VirtualService['spec'], namespace = NS): VirtualService {
  return { kind: 'VirtualService', metadata: meta(name, namespace), spec };
}

/** samples/bookinfo/networking/virtual-service-reviews-test-v2.yaml */
export const reviewsJasonV2 = vs('reviews', {
  hosts: ['reviews'],
  http: [
    {
      match: [{ headers: { 'end-user': { exact: 'jason' } } }],
      route: [{ destination: { host: 'reviews', subset: 'v2' } }],
    },
    { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
  ],
});

/** virtual-service-reviews-50-v3.yaml */
export const reviews5050 = vs('reviews', {
  hosts: ['reviews'],
  http: [
    {
      route: [
        { destination: { host: 'reviews', subset: 'v1' }, weight: 50 },
        { destination: { host: 'reviews', subset: 'v3' }, weight: 50 },
      ],
    },
  ],
});

/** virtual-service-reviews-80-20.yaml */
export const reviews8020 = vs('reviews', {
  hosts: ['reviews'],
  http: [
    {
      route: [
        { destination: { host: 'reviews', subset: 'v1' }, weight: 80 },
        { destination: { host: 'reviews', subset: 'v2' }, weight: 20 },
      ],
    },
  ],
});

/** virtual-service-ratings-test-delay.yaml */
export const ratingsDelay = vs('ratings', {
  hosts: ['ratings'],
  http: [
    {
      match: [{ headers: { 'end-user': { exact: 'jason' } } }],
      fault: { delay: { percentage: { value: 100.0 }, fixedDelay: '7s' } },
      route: [{ destination: { host: 'ratings', subset: 'v1' } }],
    },
    { route: [{ destination: { host: 'ratings', subset: 'v1' } }] },
  ],
});

/** virtual-service-ratings-test-abort.yaml */
export const ratingsAbort = vs('ratings', {
  hosts: ['ratings'],
  http: [
    {
      match: [{ headers: { 'end-user': { exact: 'jason' } } }],
      fault: { abort: { percentage: { value: 100.0 }, httpStatus: 500 } },
      route: [{ destination: { host: 'ratings', subset: 'v1' } }],
    },
    { route: [{ destination: { host: 'ratings', subset: 'v1' } }] },
  ],
});

/** bookinfo-gateway.yaml */
export const bookinfoGateway: IstioObject[] = [
  {
    kind: 'Gateway',
    metadata: meta('bookinfo-gateway'),
    spec: {
      selector: { istio: 'ingressgateway' },
      servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }],
    },
  },
  vs('bookinfo', {
    hosts: ['*'],
    gateways: ['bookinfo-gateway'],
    http: [
      {
        match: [
          { uri: { exact: '/productpage' } },
          { uri: { prefix: '/static' } },
          { uri: { exact: '/login' } },
          { uri: { exact: '/logout' } },
          { uri: { prefix: '/api/v1/products' } },
        ],
        route: [{ destination: { host: 'productpage', port: { number: 9080 } } }],
      },
    ],
  }),
];

export function bookinfo(istio: readonly IstioObject[] = []): MeshConfigSnapshot {
  return { istio: [...destinationRules(), ...istio], services: SERVICES, endpoints: bookinfoEndpoints() };
}

export const PRODUCTPAGE_NODE = {
  id: 'sidecar~10.0.0.10~productpage-v1-abc.default~default.svc.cluster.local',
  metadata: { GENERATOR: 'grpc', NAMESPACE: 'default', LABELS: { app: 'productpage', version: 'v1' } },
};

export const GATEWAY_NODE = {
  id: 'router~10.0.0.99~istio-ingressgateway-1.istio-system~istio-system.svc.cluster.local',
  metadata: {
    GENERATOR: 'grpc',
    NAMESPACE: 'istio-system',
    LABELS: { istio: 'ingressgateway', app: 'istio-ingressgateway' },
  },
};
