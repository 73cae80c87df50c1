// Counts for humans: what a snapshot holds, per kind, and each service with its endpoints.
import type { MeshConfigSnapshot } from './istio-types.ts';

export interface SnapshotSummary {
  /** Istio kinds plus "Service" and "Endpoint" (the number of endpoints, not of lists). */
  readonly counts: Readonly<Record<string, number>>;
  readonly services: readonly {
    readonly name: string;
    readonly namespace: string;
    readonly ports: readonly number[];
    readonly endpoints: number;
  }[];
}

export function summarizeSnapshot(snapshot: MeshConfigSnapshot): SnapshotSummary {
  const counts: Record<string, number> = {};
  for (const o of snapshot.istio) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
  if (snapshot.services.length > 0) counts['Service'] = snapshot.services.length;
  const endpointCount = (ns: string, name: string) =>
    snapshot.endpoints
      .filter((e) => e.namespace === ns && e.service === name)
      .reduce((n, e) => n + e.endpoints.length, 0);
  const services = snapshot.services.map((s) => ({
    name: s.name,
    namespace: s.namespace,
    ports: s.ports.map((p) => p.port),
    endpoints: endpointCount(s.namespace, s.name),
  }));
  const total = services.reduce((n, s) => n + s.endpoints, 0);
  if (total > 0) counts['Endpoint'] = total;
  return { counts, services };
}

/** "1 Gateway, 4 DestinationRule, 4 Service, 7 Endpoint" in a stable order. */
export function formatCounts(counts: Readonly<Record<string, number>>): string {
  const keys = Object.keys(counts).sort();
  return keys.length === 0 ? 'nothing' : keys.map((k) => `${counts[k]} ${k}`).join(', ');
}
