// envoy.extensions.filters.http.fault.v3.HTTPFault, as a listener filter or a per-route override.
// An unset `percentage` is Envoy's default FractionalPercent instance, i.e. 0 % (fault_config.cc
// copies the message as is); Istio always sets it when it configures a fault.
import type { extensions_filters_http_fault_v3_HTTPFault } from '../gen/envoy.ts';
import { headerMatchers } from './matchers.ts';
import type { FaultAbort, FaultDelay, HttpFault } from './model.ts';
import type { Problems } from './problems.ts';
import { EMPTY, fractionalPercent, positiveDurationMs, ZERO_PERCENT } from './proto-values.ts';

export function httpFault(f: extensions_filters_http_fault_v3_HTTPFault, path: string, p: Problems): HttpFault {
  let delay: FaultDelay | undefined;
  if (f.delay !== undefined) {
    const d = f.delay;
    const at = `${path}.delay`;
    const set = (d.fixed_delay !== undefined ? 1 : 0) + (d.header_delay !== undefined ? 1 : 0);
    if (set !== 1) p.add(at, 'exactly one of fixed_delay, header_delay must be set');
    delay = {
      fixedDelay: positiveDurationMs(d.fixed_delay, `${at}.fixed_delay`, p),
      headerDelay: d.header_delay !== undefined,
      percentage: d.percentage === undefined ? ZERO_PERCENT : fractionalPercent(d.percentage, `${at}.percentage`, p),
    };
  }
  let abort: FaultAbort | undefined;
  if (f.abort !== undefined) {
    const a = f.abort;
    const at = `${path}.abort`;
    const set =
      (a.http_status !== undefined ? 1 : 0) +
      (a.grpc_status !== undefined ? 1 : 0) +
      (a.header_abort !== undefined ? 1 : 0);
    if (set !== 1) p.add(at, 'exactly one of http_status, grpc_status, header_abort must be set');
    if (a.http_status !== undefined && (a.http_status < 200 || a.http_status >= 600)) {
      p.add(`${at}.http_status`, `${a.http_status} is not in [200, 600)`);
    }
    abort = {
      httpStatus: a.http_status,
      grpcStatus: a.grpc_status,
      headerAbort: a.header_abort !== undefined,
      percentage: a.percentage === undefined ? ZERO_PERCENT : fractionalPercent(a.percentage, `${at}.percentage`, p),
    };
  }
  return {
    delay,
    abort,
    upstreamCluster: f.upstream_cluster,
    headers: f.headers.length === 0 ? EMPTY : headerMatchers(f.headers, `${path}.headers`, p),
    downstreamNodes: f.downstream_nodes.length === 0 ? EMPTY : f.downstream_nodes,
    maxActiveFaults: f.max_active_faults?.value,
  };
}
