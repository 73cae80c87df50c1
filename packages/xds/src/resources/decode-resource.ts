// The steps every resource type shares: unwrap an envoy.service.discovery.v3.Resource, check the
// Any's type URL, decode the payload with the generated codec, validate into the model and
// collect every problem.
import { type Any, type Decoded, decodeMessage, type MessageName, TYPE_URL_PREFIX } from '../codec.ts';
import { decodeservice_discovery_v3_Resource } from '../gen/envoy.ts';
import { decodeBytes } from '../proto/wire.ts';
import { Problems } from './problems.ts';
import type { DecodeContext, DecodeResult } from './resource-type.ts';

const RESOURCE_WRAPPER_TYPE_URL = `${TYPE_URL_PREFIX}envoy.service.discovery.v3.Resource`;

/**
 * A SotW response may carry each resource wrapped in an envoy.service.discovery.v3.Resource
 * (servers that also speak Delta, or that attach TTLs, do). gRPC C-core unwraps it and takes the
 * wrapper's name as the resource's name; so do we.
 */
function unwrap(resource: Any): { any: Any; name: string | undefined } | { error: string; name: string | undefined } {
  if (resource.type_url !== RESOURCE_WRAPPER_TYPE_URL) return { any: resource, name: undefined };
  let wrapper: ReturnType<typeof decodeservice_discovery_v3_Resource>;
  try {
    wrapper = decodeBytes(decodeservice_discovery_v3_Resource, resource.value);
  } catch (e) {
    return { error: `malformed envoy.service.discovery.v3.Resource wrapper: ${(e as Error).message}`, name: undefined };
  }
  const name = wrapper.name === '' ? undefined : wrapper.name;
  if (wrapper.resource === undefined) {
    return { error: 'envoy.service.discovery.v3.Resource wrapper holds no resource', name };
  }
  return { any: wrapper.resource, name };
}

export function decodeResource<N extends MessageName, T>(
  resource: Any,
  typeUrl: string,
  message: N,
  nameOf: (m: Decoded<N>) => string,
  validate: (m: Decoded<N>, p: Problems, context: DecodeContext) => T,
  context: DecodeContext,
): DecodeResult<T> {
  const unwrapped = unwrap(resource);
  if ('error' in unwrapped) return { ok: false, name: unwrapped.name, errors: [unwrapped.error] };
  const { any, name: wrapperName } = unwrapped;
  if (any.type_url !== typeUrl) {
    return {
      ok: false,
      name: wrapperName,
      errors: [`unexpected type URL ${JSON.stringify(any.type_url)} (expected ${JSON.stringify(typeUrl)})`],
    };
  }
  let m: Decoded<N>;
  try {
    m = decodeMessage(message, any.value);
  } catch (e) {
    return { ok: false, name: wrapperName, errors: [`malformed ${message}: ${(e as Error).message}`] };
  }
  const name = wrapperName ?? nameOf(m);
  const p = new Problems();
  let value: T;
  try {
    value = validate(m, p, context);
  } catch (e) {
    // a validator bug must not take the client down: NACK the resource instead
    return { ok: false, name, errors: [...p.errors, `internal error while validating: ${(e as Error).message}`] };
  }
  if (p.count > 0) return { ok: false, name, errors: p.errors };
  return { ok: true, name, value };
}
