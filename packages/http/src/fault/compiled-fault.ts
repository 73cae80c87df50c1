// An HttpFault (the HCM fault filter's config, or a per-route override) with its header
// matchers compiled. Compiled once per fault object: a route table precompiles every override it
// holds, so a bad regex fails the table, not a request.
import { type HttpFault, InboardError } from '@inboard/xds';
import { allOf, compileHeaderMatcher, type RequestPredicate } from '../route/header-matcher.ts';

export class FaultCompileError extends InboardError {
  /** model path inside the HttpFault, e.g. `headers[0]` */
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('INBOARD_FAULT_COMPILE', `fault: ${field}: ${message}`, options);
    this.field = field;
  }
}

export interface CompiledFault {
  readonly fault: HttpFault;
  /** HTTPFault.headers: all must match for any fault to apply */
  readonly headersMatch: RequestPredicate;
  readonly downstreamNodes: ReadonlySet<string>;
  /** max_active_faults; Infinity when unset */
  readonly maxActiveFaults: number;
}

const cache = new WeakMap<HttpFault, CompiledFault>();

/** Throws FaultCompileError. */
export function compileFault(fault: HttpFault): CompiledFault {
  const hit = cache.get(fault);
  if (hit !== undefined) return hit;
  const preds = fault.headers.map((h, i) => {
    try {
      return compileHeaderMatcher(h);
    } catch (err) {
      throw new FaultCompileError(`headers[${i}]`, err instanceof Error ? err.message : String(err), { cause: err });
    }
  });
  const compiled: CompiledFault = {
    fault,
    headersMatch: allOf(preds),
    downstreamNodes: new Set(fault.downstreamNodes),
    maxActiveFaults: fault.maxActiveFaults ?? Number.POSITIVE_INFINITY,
  };
  cache.set(fault, compiled);
  return compiled;
}
