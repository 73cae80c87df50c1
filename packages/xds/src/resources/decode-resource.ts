// The steps every resource type shares: check the Any's type URL, decode the payload with the
// generated codec, validate into the model and collect every problem.
import { type Any, type Decoded, decodeMessage, type MessageName } from '../codec.ts';
import { Problems } from './problems.ts';
import type { DecodeContext, DecodeResult } from './resource-type.ts';

export function decodeResource<N extends MessageName, T>(
  resource: Any,
  typeUrl: string,
  message: N,
  nameOf: (m: Decoded<N>) => string,
  validate: (m: Decoded<N>, p: Problems, context: DecodeContext) => T,
  context: DecodeContext,
): DecodeResult<T> {
  if (resource.type_url !== typeUrl) {
    return {
      ok: false,
      name: undefined,
      errors: [`unexpected type URL ${JSON.stringify(resource.type_url)} (expected ${JSON.stringify(typeUrl)})`],
    };
  }
  let m: Decoded<N>;
  try {
    m = decodeMessage(message, resource.value);
  } catch (e) {
    return { ok: false, name: undefined, errors: [`malformed ${message}: ${(e as Error).message}`] };
  }
  const name = nameOf(m);
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
