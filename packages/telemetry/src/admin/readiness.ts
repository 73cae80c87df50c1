// /ready: Envoy answers LIVE once its initial xDS fetch is done. Here: every resource the xDS
// client subscribes to has been answered (ACKed, NACKed or said not to exist), and every extra
// readiness source (an inbound engine waiting for its listener) is ready.
import type { XdsClient } from '@inboard/xds';

export interface Readiness {
  readonly ready: boolean;
  /** what is still awaited, as `type/name` */
  readonly pending: readonly string[];
}

export function readiness(client: XdsClient | undefined, sources: readonly { readonly isReady: boolean }[]): Readiness {
  const pending: string[] = [];
  if (client !== undefined) {
    for (const r of client.dump()) {
      if (r.status === 'REQUESTED') pending.push(`${r.typeUrl.slice(r.typeUrl.lastIndexOf('.') + 1)}/${r.name}`);
    }
  }
  sources.forEach((s, i) => {
    if (!s.isReady) pending.push(`readiness source #${i}`);
  });
  return { ready: pending.length === 0, pending };
}
