// What the XdsClient needs to know about a resource type: how to decode + validate one
// serialized resource into the model, and how SotW treats absence.
import type { Any } from '../codec.ts';

export type DecodeResult<T> =
  | { readonly ok: true; readonly name: string; readonly value: T }
  /** name is known when the message decoded far enough to read it */
  | { readonly ok: false; readonly name: string | undefined; readonly errors: readonly string[] };

export interface DecodeContext {
  /** the bootstrap's certificate provider instance names, to validate TLS references */
  readonly certificateProviders: ReadonlySet<string> | undefined;
}

export interface ResourceType<T> {
  readonly typeUrl: string;
  /** LDS, RDS, CDS, EDS */
  readonly shortName: string;
  /** LDS and CDS: a SotW response carries every subscribed resource, so absence means deletion. */
  readonly allResourcesRequiredInSotW: boolean;
  decode(resource: Any, context: DecodeContext): DecodeResult<T>;
  /** cheap structural equality on the model, used to suppress no-op updates */
  equals(a: T, b: T): boolean;
}
