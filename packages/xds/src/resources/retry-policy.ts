// RetryPolicy at route or virtual host level, with Envoy's defaults filled in.
import type { config_route_v3_RetryPolicy } from '../gen/envoy.ts';
import { headerMatchers } from './matchers.ts';
import type { RetryBackOff, RetryPolicy } from './model.ts';
import type { Problems } from './problems.ts';
import { durationMs, EMPTY } from './proto-values.ts';

function retryOn(s: string): readonly string[] {
  if (s === '') return EMPTY;
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const comma = s.indexOf(',', start);
    const part = (comma < 0 ? s.slice(start) : s.slice(start, comma)).trim();
    if (part !== '') out.push(part);
    if (comma < 0) return out;
    start = comma + 1;
  }
}

export function retryPolicy(r: config_route_v3_RetryPolicy, path: string, p: Problems): RetryPolicy {
  let backOff: RetryBackOff | undefined;
  if (r.retry_back_off !== undefined) {
    const at = `${path}.retry_back_off`;
    const base = durationMs(r.retry_back_off.base_interval, `${at}.base_interval`, p);
    const max = durationMs(r.retry_back_off.max_interval, `${at}.max_interval`, p);
    if (base === undefined) {
      if (r.retry_back_off.base_interval === undefined) p.add(`${at}.base_interval`, 'must be set');
    } else if (base <= 0) {
      p.add(`${at}.base_interval`, 'must be greater than 0');
    } else if (max !== undefined && max < base) {
      p.add(`${at}.max_interval`, 'must be greater than or equal to base_interval');
    } else if (max === 0) {
      p.add(`${at}.max_interval`, 'must be greater than 0');
    }
    const b = base ?? 25;
    backOff = { baseInterval: b, maxInterval: max ?? b * 10 };
  }
  const predicates = r.retry_host_predicate;
  let hostPredicates: readonly string[] = EMPTY;
  if (predicates.length > 0) {
    const names = new Array<string>(predicates.length);
    for (let i = 0; i < predicates.length; i++) {
      names[i] = predicates[i]!.name;
      if (names[i] === '') p.add(`${path}.retry_host_predicate[${i}].name`, 'must not be empty');
    }
    hostPredicates = names;
  }
  const hsAttempts = r.host_selection_retry_max_attempts;
  if (hsAttempts < 0) p.add(`${path}.host_selection_retry_max_attempts`, 'must not be negative');
  return {
    retryOn: retryOn(r.retry_on),
    // Envoy's default when a policy exists but num_retries is unset
    numRetries: r.num_retries?.value ?? 1,
    perTryTimeout: durationMs(r.per_try_timeout, `${path}.per_try_timeout`, p),
    perTryIdleTimeout: durationMs(r.per_try_idle_timeout, `${path}.per_try_idle_timeout`, p),
    retriableStatusCodes: r.retriable_status_codes.length === 0 ? EMPTY : r.retriable_status_codes,
    retriableHeaders:
      r.retriable_headers.length === 0 ? EMPTY : headerMatchers(r.retriable_headers, `${path}.retriable_headers`, p),
    retriableRequestHeaders:
      r.retriable_request_headers.length === 0
        ? EMPTY
        : headerMatchers(r.retriable_request_headers, `${path}.retriable_request_headers`, p),
    backOff,
    hostPredicates,
    hostSelectionRetryMaxAttempts: hsAttempts > 0 ? hsAttempts : 1,
    retryPriority: r.retry_priority?.name,
  };
}
