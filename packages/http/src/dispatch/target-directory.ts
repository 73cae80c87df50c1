// What the route interceptor needs from the mesh: for a dispatch's origin, the mesh target
// (`host:port`) and its compiled state. Implemented by the mesh (OutboundMesh); kept as an
// interface so the dispatch chain does not depend on how targets are resolved.
import type { CompiledTarget } from '../mesh/compiled-target.ts';

/** resolving: waiting for the first snapshot; ready: in the mesh; absent: not in the mesh */
export type TargetState = 'resolving' | 'ready' | 'absent';

export interface MeshTargetView {
  /** `host:port`, the xDS target (listener) name */
  readonly key: string;
  readonly state: TargetState;
  /** the current compiled snapshot (undefined unless ready) */
  readonly compiled: CompiledTarget | undefined;
  /** Resolves once the target is ready or absent, or when waiting for it timed out. */
  settled(): Promise<void>;
  /**
   * The mesh's idle sweeps since the target was last used: every request sets it to 0 (one store,
   * the whole cost of idle tracking on the request path), the sweep counts up.
   */
  unusedSweeps: number;
}

/** A target's requests in flight through the mesh: counted up and down by each exchange. */
export interface TargetUsage {
  active: number;
}

/** One dispatch origin (`http://reviews:9080`), parsed once. */
export interface OriginInfo {
  readonly scheme: 'http' | 'https';
  /** the origin's authority as a Host header: host, plus `:port` when not the scheme's default */
  readonly authority: string;
  readonly hostname: string;
  readonly target: MeshTargetView;
}

export interface TargetDirectory {
  /** undefined for origins the mesh never handles (not http/https, no origin) */
  lookup(origin: string | URL | undefined): OriginInfo | undefined;
}
