// Snapshots by node key, like go-control-plane's SnapshotCache. A node's effective snapshot is,
// in order: the one set for its key, the one a generator computed for it (cached until refresh),
// the default snapshot, or none. The ADS server watches nodes and diffs on every change.
import type { Node } from '@inboard/xds/codec';
import type { Snapshot } from './snapshot.ts';

/** Maps a node to the key its snapshot is stored under. */
export type NodeKeyFunction = (node: Node) => string;

/** Computes a node's snapshot on demand (the future Istio translator's per-node view). */
export type SnapshotGenerator = (node: Node, key: string) => Snapshot | undefined;

export interface SnapshotCacheOptions {
  /** Default: the node id. */
  readonly nodeKey?: NodeKeyFunction | undefined;
  /** Served to nodes with no snapshot of their own and no generated one. */
  readonly defaultSnapshot?: Snapshot | undefined;
  /** Called lazily for nodes with no snapshot set; its result is cached until `refresh`. */
  readonly generate?: SnapshotGenerator | undefined;
}

export const nodeIdKey: NodeKeyFunction = (node) => node.id;

export class SnapshotCache {
  readonly nodeKey: NodeKeyFunction;
  readonly #explicit = new Map<string, Snapshot>();
  readonly #generated = new Map<string, Snapshot | undefined>();
  readonly #watchers = new Map<string, Set<() => void>>();
  #default: Snapshot | undefined;
  #generate: SnapshotGenerator | undefined;

  constructor(options: SnapshotCacheOptions = {}) {
    this.nodeKey = options.nodeKey ?? nodeIdKey;
    this.#default = options.defaultSnapshot;
    this.#generate = options.generate;
  }

  /** Stores the snapshot for a key and notifies every stream of that key's nodes. */
  setSnapshot(key: string, snapshot: Snapshot): void {
    this.#explicit.set(key, snapshot);
    this.#notify(key);
  }

  /** The snapshot set for, or generated for, a key (not the default snapshot). */
  getSnapshot(key: string): Snapshot | undefined {
    return this.#explicit.get(key) ?? this.#generated.get(key);
  }

  /**
   * Forgets the snapshot of a key. Connected nodes fall back to a generated or the default snapshot;
   * with neither they keep what they have (nothing is pushed, like a control plane that lost state).
   */
  clearSnapshot(key: string): void {
    this.#explicit.delete(key);
    this.#generated.delete(key);
    this.#notify(key);
  }

  setDefaultSnapshot(snapshot: Snapshot | undefined): void {
    this.#default = snapshot;
    for (const key of this.#watchers.keys()) this.#notify(key);
  }

  get defaultSnapshot(): Snapshot | undefined {
    return this.#default;
  }

  setGenerator(generate: SnapshotGenerator | undefined): void {
    this.#generate = generate;
    this.refresh();
  }

  /** Drops generated snapshots (of one key or all) so they are recomputed, and notifies watchers. */
  refresh(key?: string): void {
    if (key !== undefined) {
      this.#generated.delete(key);
      this.#notify(key);
      return;
    }
    this.#generated.clear();
    for (const k of this.#watchers.keys()) this.#notify(k);
  }

  /** The snapshot a node is served right now. */
  resolve(node: Node): Snapshot | undefined {
    const key = this.nodeKey(node);
    const explicit = this.#explicit.get(key);
    if (explicit !== undefined) return explicit;
    if (this.#generate !== undefined) {
      if (!this.#generated.has(key)) this.#generated.set(key, this.#generate(node, key));
      const generated = this.#generated.get(key);
      if (generated !== undefined) return generated;
    }
    return this.#default;
  }

  /** Calls `onChange` whenever the node's snapshot may have changed. Returns the unwatch function. */
  watch(node: Node, onChange: () => void): () => void {
    const key = this.nodeKey(node);
    let set = this.#watchers.get(key);
    if (set === undefined) this.#watchers.set(key, (set = new Set()));
    // A fresh function per watch, so one stream watching twice gets two entries.
    const watcher = () => onChange();
    set.add(watcher);
    return () => {
      const current = this.#watchers.get(key);
      if (current === undefined) return;
      current.delete(watcher);
      if (current.size === 0) this.#watchers.delete(key);
    };
  }

  /** Keys that have a snapshot set or generated, or a connected node. */
  keys(): string[] {
    return [...new Set([...this.#explicit.keys(), ...this.#generated.keys(), ...this.#watchers.keys()])];
  }

  #notify(key: string): void {
    const set = this.#watchers.get(key);
    if (set === undefined) return;
    // Copy: a watcher may unwatch (stream closed) while we iterate.
    for (const w of [...set]) w();
  }
}
