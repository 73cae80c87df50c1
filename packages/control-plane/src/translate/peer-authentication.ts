// The mTLS mode a workload accepts on a port, from PeerAuthentication (authn policy applier):
// workload policy (port level, then its own mode) over namespace policy over mesh policy (root
// namespace); UNSET inherits; no policy at all means PERMISSIVE. Among equals the oldest wins.
import type { MutualTLSMode, PeerAuthentication } from '../config/istio-types.ts';
import { labelsMatch, type MeshIndex } from './mesh-index.ts';

export type MtlsMode = Exclude<MutualTLSMode, 'UNSET'>;

function hasSelector(pa: PeerAuthentication): boolean {
  return Object.keys(pa.spec.selector?.matchLabels ?? {}).length > 0;
}

function set(mode: MutualTLSMode | undefined): MtlsMode | undefined {
  return mode === undefined || mode === 'UNSET' ? undefined : mode;
}

export function peerAuthenticationMode(
  index: MeshIndex,
  namespace: string,
  labels: Readonly<Record<string, string>>,
  port: number,
): MtlsMode {
  const root = index.settings.rootNamespace;
  let workload: PeerAuthentication | undefined;
  let ns: PeerAuthentication | undefined;
  let mesh: PeerAuthentication | undefined;
  // peerAuthentications are sorted oldest first: keep the first of each kind
  for (const pa of index.peerAuthentications) {
    const paNs = pa.metadata.namespace;
    if (hasSelector(pa)) {
      // selector policies in the root namespace are ignored
      if (
        paNs === namespace &&
        paNs !== root &&
        workload === undefined &&
        labelsMatch(pa.spec.selector?.matchLabels, labels)
      ) {
        workload = pa;
      }
    } else if (paNs === namespace && paNs !== root) {
      ns ??= pa;
    } else if (paNs === root) {
      mesh ??= pa;
    }
  }
  if (workload !== undefined) {
    const portMode = set(workload.spec.portLevelMtls?.[String(port)]?.mode);
    if (portMode !== undefined) return portMode;
    const own = set(workload.spec.mtls?.mode);
    if (own !== undefined) return own;
  }
  return set(ns?.spec.mtls?.mode) ?? set(mesh?.spec.mtls?.mode) ?? 'PERMISSIVE';
}
