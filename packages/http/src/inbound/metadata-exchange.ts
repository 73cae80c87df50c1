// This workload's side of Istio's HTTP metadata exchange on inbound requests: what the server
// answers a caller that sent x-envoy-peer-metadata(-id). Telemetry sets it (it knows the node);
// without it, callers are still read but get no answer.
export interface MetadataExchangeHeaders {
  /** x-envoy-peer-metadata-id: the node id */
  readonly id: string;
  /** x-envoy-peer-metadata: base64 of a google.protobuf.Struct of the node metadata */
  readonly metadata: string;
}

let local: MetadataExchangeHeaders | undefined;

/** Sets (or clears, with undefined) the headers inbound responses carry. Returns the previous value. */
export function setInboundMetadataExchange(
  headers: MetadataExchangeHeaders | undefined,
): MetadataExchangeHeaders | undefined {
  const previous = local;
  local = headers;
  return previous;
}

export function localMetadataExchange(): MetadataExchangeHeaders | undefined {
  return local;
}
