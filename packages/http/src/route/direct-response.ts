// DirectResponseAction: the local reply a route answers with. Response header mutations
// (entry.responseHeaders) apply to it as to any response.
import type { RouteEntry } from './route-table.ts';

export interface DirectResponse {
  readonly status: number;
  readonly body: string | undefined;
}

/** undefined when the route does not answer directly. */
export function directResponse(entry: RouteEntry): DirectResponse | undefined {
  const a = entry.route.action;
  return a.kind === 'direct_response' ? { status: a.status, body: a.body } : undefined;
}
