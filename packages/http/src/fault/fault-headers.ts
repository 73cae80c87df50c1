// Request headers the fault filter reads (Filters::Common::Fault::HeaderNames). Only the first
// value of each is used ("implicitly untrusted" headers).

export const FAULT_DELAY_REQUEST = 'x-envoy-fault-delay-request';
export const FAULT_DELAY_REQUEST_PERCENTAGE = 'x-envoy-fault-delay-request-percentage';
export const FAULT_ABORT_REQUEST = 'x-envoy-fault-abort-request';
export const FAULT_ABORT_GRPC_REQUEST = 'x-envoy-fault-abort-grpc-request';
export const FAULT_ABORT_REQUEST_PERCENTAGE = 'x-envoy-fault-abort-request-percentage';
export const DOWNSTREAM_SERVICE_NODE = 'x-envoy-downstream-service-node';
