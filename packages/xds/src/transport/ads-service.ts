// The AggregatedDiscoveryService as a grpc-js service definition over our own codecs
// (no proto-loader): the client and the embedded control plane both use it.
import type { ServiceDefinition } from '@grpc/grpc-js';
import {
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryRequestIn,
  type DeltaDiscoveryResponse,
  type DeltaDiscoveryResponseIn,
  type DiscoveryRequest,
  type DiscoveryRequestIn,
  type DiscoveryResponse,
  type DiscoveryResponseIn,
  decodeMessage,
  encodeMessage,
} from '../codec.ts';

const REQ = 'envoy.service.discovery.v3.DiscoveryRequest';
const RES = 'envoy.service.discovery.v3.DiscoveryResponse';
const DREQ = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
const DRES = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';

export const ADS_SOTW_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
export const ADS_DELTA_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

export const serializeDiscoveryRequest = (m: DiscoveryRequestIn): Buffer => Buffer.from(encodeMessage(REQ, m));
export const deserializeDiscoveryRequest = (b: Buffer): DiscoveryRequest => decodeMessage(REQ, b);
export const serializeDiscoveryResponse = (m: DiscoveryResponseIn): Buffer => Buffer.from(encodeMessage(RES, m));
export const deserializeDiscoveryResponse = (b: Buffer): DiscoveryResponse => decodeMessage(RES, b);
export const serializeDeltaDiscoveryRequest = (m: DeltaDiscoveryRequestIn): Buffer =>
  Buffer.from(encodeMessage(DREQ, m));
export const deserializeDeltaDiscoveryRequest = (b: Buffer): DeltaDiscoveryRequest => decodeMessage(DREQ, b);
export const serializeDeltaDiscoveryResponse = (m: DeltaDiscoveryResponseIn): Buffer =>
  Buffer.from(encodeMessage(DRES, m));
export const deserializeDeltaDiscoveryResponse = (b: Buffer): DeltaDiscoveryResponse => decodeMessage(DRES, b);

/** Server-side definition for grpc-js `Server.addService`. */
export const aggregatedDiscoveryServiceDefinition: ServiceDefinition = {
  StreamAggregatedResources: {
    path: ADS_SOTW_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: serializeDiscoveryRequest,
    requestDeserialize: deserializeDiscoveryRequest,
    responseSerialize: serializeDiscoveryResponse,
    responseDeserialize: deserializeDiscoveryResponse,
  },
  DeltaAggregatedResources: {
    path: ADS_DELTA_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: serializeDeltaDiscoveryRequest,
    requestDeserialize: deserializeDeltaDiscoveryRequest,
    responseSerialize: serializeDeltaDiscoveryResponse,
    responseDeserialize: deserializeDeltaDiscoveryResponse,
  },
};
