import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ClusterLoadAssignmentIn, jsToStruct, packAny } from '@inboard/xds/codec';
import { clusterLoadAssignmentType, type DecodeContext } from '../src/resources/index.ts';

const ctx: DecodeContext = { certificateProviders: undefined };

function decode(c: ClusterLoadAssignmentIn) {
  return clusterLoadAssignmentType.decode(packAny('envoy.config.endpoint.v3.ClusterLoadAssignment', c), ctx);
}
function decodeOk(c: ClusterLoadAssignmentIn) {
  const r = decode(c);
  if (!r.ok) assert.fail(`expected a valid resource, got:\n${r.errors.join('\n')}`);
  return r.value;
}
function errorsOf(c: ClusterLoadAssignmentIn): readonly string[] {
  const r = decode(c);
  if (r.ok) assert.fail('expected validation errors');
  return r.errors;
}

const NAME = 'outbound|9080|v2|reviews.default.svc.cluster.local';
const endpoint = (ip: string, extra: object = {}) => ({
  endpoint: { address: { socket_address: { address: ip, port_value: 9080 } } },
  ...extra,
});

/** istiod EDS: localities with weights, failover priorities, Istio endpoint metadata. */
const cla: ClusterLoadAssignmentIn = {
  cluster_name: NAME,
  endpoints: [
    {
      locality: { region: 'us-east1', zone: 'us-east1-b', sub_zone: 'rack1' },
      load_balancing_weight: { value: 2 },
      lb_endpoints: [
        endpoint('10.0.0.1', {
          health_status: 1,
          load_balancing_weight: { value: 3 },
          metadata: {
            filter_metadata: {
              'envoy.transport_socket_match': jsToStruct({ tlsMode: 'istio' }),
              istio: jsToStruct({ workload: 'reviews-v2;default;reviews;v2;Kubernetes' }),
            },
          },
        }),
        {
          endpoint: {
            address: { socket_address: { address: '10.0.0.2', port_value: 9080 } },
            additional_addresses: [{ address: { socket_address: { address: 'fd00::2', port_value: 9080 } } }],
            hostname: 'reviews-v2-1',
          },
          health_status: 3,
        },
      ],
    },
    { locality: { region: 'us-west1' }, priority: 1, lb_endpoints: [endpoint('10.1.0.1')] },
  ],
  policy: {
    overprovisioning_factor: { value: 200 },
    drop_overloads: [{ category: 'throttle', drop_percentage: { numerator: 5, denominator: 2 } }],
  },
};

test('an istiod ClusterLoadAssignment decodes with localities, priorities and Istio metadata', () => {
  const a = decodeOk(cla);
  assert.equal(a.clusterName, NAME);
  assert.equal(a.overprovisioningFactor, 200);
  assert.deepEqual(a.dropOverloads, [
    { category: 'throttle', dropPercentage: { numerator: 5, denominator: 1_000_000 } },
  ]);
  assert.deepEqual(a.endpoints[0], {
    locality: { region: 'us-east1', zone: 'us-east1-b', subZone: 'rack1' },
    loadBalancingWeight: 2,
    priority: 0,
    lbEndpoints: [
      {
        address: { address: '10.0.0.1', port: 9080 },
        additionalAddresses: [],
        hostname: '',
        healthStatus: 'HEALTHY',
        loadBalancingWeight: 3,
        tlsMode: 'istio',
        istioWorkload: 'reviews-v2;default;reviews;v2;Kubernetes',
      },
      {
        address: { address: '10.0.0.2', port: 9080 },
        additionalAddresses: [{ address: 'fd00::2', port: 9080 }],
        hostname: 'reviews-v2-1',
        healthStatus: 'DRAINING',
        loadBalancingWeight: 1,
        tlsMode: undefined,
        istioWorkload: undefined,
      },
    ],
  });
  assert.deepEqual(a.endpoints[1]?.locality, { region: 'us-west1', zone: '', subZone: '' });
  assert.equal(a.endpoints[1]?.priority, 1);
  assert.equal(a.endpoints[1]?.loadBalancingWeight, undefined);
  assert.ok(clusterLoadAssignmentType.equals(a, decodeOk(cla)));
});

test('an empty assignment (unknown cluster) is valid with defaults', () => {
  assert.deepEqual(decodeOk({ cluster_name: NAME }), {
    clusterName: NAME,
    endpoints: [],
    overprovisioningFactor: 140,
    dropOverloads: [],
  });
});

test('every problem of an invalid assignment is reported with its field path', () => {
  assert.deepEqual(
    errorsOf({
      cluster_name: NAME,
      endpoints: [
        {
          priority: 2,
          load_balancing_weight: { value: 0 },
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '10.0.0.1' } } } },
            endpoint('10.0.0.2', { load_balancing_weight: { value: 0 } }),
            { endpoint: { address: { pipe: { path: '/tmp/sock' } } } },
            { endpoint: { address: { socket_address: { address: '10.0.0.3', port_value: 70000 } } } },
            { endpoint_name: 'named' },
          ],
        },
      ],
      policy: { overprovisioning_factor: { value: 0 } },
    }),
    [
      'cluster_load_assignment.endpoints[0].load_balancing_weight: must be at least 1',
      'cluster_load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address: port_value is required',
      'cluster_load_assignment.endpoints[0].lb_endpoints[1].load_balancing_weight: must be at least 1',
      'cluster_load_assignment.endpoints[0].lb_endpoints[2].endpoint.address: socket_address is required',
      'cluster_load_assignment.endpoints[0].lb_endpoints[3].endpoint.address.socket_address.port_value: 70000 is not in [1, 65535]',
      'cluster_load_assignment.endpoints[0].lb_endpoints[4]: endpoint_name is not supported',
      'cluster_load_assignment.endpoints: priorities must be contiguous from 0: priority 0 is missing (highest is 2)',
      'cluster_load_assignment.policy.overprovisioning_factor: must be greater than 0',
    ],
  );
  assert.deepEqual(
    errorsOf({
      cluster_name: '',
      endpoints: [
        { priority: 0, lb_endpoints: [endpoint('10.0.0.1')] },
        { priority: 2, lb_endpoints: [endpoint('10.0.0.2')] },
      ],
    }),
    [
      'cluster_load_assignment.cluster_name: must not be empty',
      'cluster_load_assignment.endpoints: priorities must be contiguous from 0: priority 1 is missing (highest is 2)',
    ],
  );
});
