// Reading google.protobuf / envoy.type values out of decoded messages, with the checks Envoy's
// proto validation would make (durations in range, percent denominators, ports).
import { type Decoded, decodeMessage, type MessageName, messageNameOf } from '../codec.ts';
import type {
  google_protobuf_Any,
  google_protobuf_Duration,
  google_protobuf_Struct,
  type_v3_FractionalPercent,
} from '../gen/envoy.ts';
import type { FractionalPercent, Millis } from './model.ts';
import type { Problems } from './problems.ts';

const MAX_DURATION_SECONDS = 315_576_000_000;

/** A Duration as milliseconds; undefined when unset. Negative or malformed durations are errors. */
export function durationMs(d: google_protobuf_Duration | undefined, path: string, p: Problems): Millis | undefined {
  if (d === undefined) return undefined;
  const { seconds, nanos } = d;
  if (seconds < 0 || nanos < 0 || nanos > 999_999_999 || seconds > MAX_DURATION_SECONDS) {
    p.add(path, `invalid duration (seconds ${seconds}, nanos ${nanos}): must be non-negative and in range`);
    return undefined;
  }
  return seconds * 1000 + nanos / 1e6;
}

/** A Duration that Envoy requires to be strictly positive when set. */
export function positiveDurationMs(
  d: google_protobuf_Duration | undefined,
  path: string,
  p: Problems,
): Millis | undefined {
  const ms = durationMs(d, path, p);
  if (ms === 0) p.add(path, 'must be greater than 0');
  return ms;
}

const DENOMINATORS: readonly number[] = [100, 10_000, 1_000_000];

export function fractionalPercent(fp: type_v3_FractionalPercent, path: string, p: Problems): FractionalPercent {
  const denominator = DENOMINATORS[fp.denominator];
  if (denominator === undefined) {
    p.add(`${path}.denominator`, `unknown denominator ${fp.denominator} (expected HUNDRED, TEN_THOUSAND or MILLION)`);
    return { numerator: fp.numerator, denominator: 100 };
  }
  return { numerator: fp.numerator, denominator };
}

/** FractionalPercent that Envoy reads with a default instance when unset: 0 %. */
export const ZERO_PERCENT: FractionalPercent = Object.freeze({ numerator: 0, denominator: 100 });

/**
 * Decodes an Any's payload with the generated codec of `name`; a malformed payload is reported
 * at `path` and yields undefined. The caller has already checked the type URL.
 */
export function unpack<N extends MessageName>(
  any: google_protobuf_Any,
  name: N,
  path: string,
  p: Problems,
): Decoded<N> | undefined {
  try {
    return decodeMessage(name, any.value);
  } catch (e) {
    p.add(path, `malformed ${name}: ${(e as Error).message}`);
    return undefined;
  }
}

/** The full message name an Any carries (Envoy accepts any host part in the type URL). */
export function anyMessageName(any: google_protobuf_Any): string {
  return messageNameOf(any.type_url);
}

/** filter_metadata[filter][key] when it is a string. */
export function metadataString(
  filterMetadata: Record<string, google_protobuf_Struct> | undefined,
  filter: string,
  key: string,
): string | undefined {
  if (filterMetadata === undefined) return undefined;
  const s = filterMetadata[filter];
  if (s === undefined) return undefined;
  const v = s[key];
  return typeof v === 'string' ? v : undefined;
}

export const EMPTY: readonly never[] = Object.freeze([]);
