// Checks across objects that istiod's analyzers make: the ones where istiod silently picks one
// object over another, so the user would not otherwise know a config has no effect.

import { type ConfigEntry, entryProblem } from './config-entry.ts';
import type { ConfigProblem } from './config-problem.ts';
import type { MeshConfig } from './istio-types.ts';

export function crossObjectWarnings(
  entries: readonly ConfigEntry[],
  meshConfig: MeshConfig | undefined,
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const mesh = entries.find((e) => e.body.type === 'mesh-config');
  const rootNamespace =
    (mesh?.body.type === 'mesh-config' ? mesh.body.meshConfig.rootNamespace : undefined) ??
    meshConfig?.rootNamespace ??
    'istio-system';
  const firstBy = new Map<string, ConfigEntry>();
  const note = (e: ConfigEntry, group: string, message: (first: ConfigEntry) => string) => {
    const first = firstBy.get(group);
    if (first === undefined) {
      firstBy.set(group, e);
      return;
    }
    out.push(entryProblem(e, 'warning', message(first)));
  };
  for (const e of entries) {
    if (e.body.type !== 'istio') continue;
    const o = e.body.object;
    if (o.kind === 'Sidecar' && o.spec.workloadSelector === undefined) {
      note(
        e,
        `sidecar/${o.metadata.namespace}`,
        (f) =>
          `more than one Sidecar without workloadSelector in namespace ${o.metadata.namespace}; only ${f.ref.name} applies`,
      );
    }
    if (o.kind === 'PeerAuthentication' && o.spec.selector === undefined) {
      const scope = o.metadata.namespace === rootNamespace ? 'mesh-wide' : `namespace-wide (${o.metadata.namespace})`;
      note(
        e,
        `pa/${o.metadata.namespace}`,
        (f) => `more than one ${scope} PeerAuthentication; only ${f.ref.name} applies`,
      );
    }
  }
  return out;
}
