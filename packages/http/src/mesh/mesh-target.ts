// One `host:port` the application calls, as the mesh sees it: its TargetResolver (LDS → RDS →
// CDS → EDS) and the compiled form of its latest snapshot. Every snapshot is compiled once, here,
// and swapped in with one assignment; requests read `compiled` once and keep that object.
// A target whose listener does not exist is not in the mesh ('absent'); it stays watched, so it
// joins the mesh if the control plane starts serving it. The mesh releases a target nobody used
// for its idle timeout (close()), as gRPC drops the resolver of an idle channel.
import { isIP } from 'node:net';
import type { BootstrapNode, Clock, TargetResolver, TargetSnapshot, TimerHandle, Xds } from '@inboard/xds';
import { createLogger, ResourceDoesNotExistError } from '@inboard/xds';
import type { MeshTargetView, TargetState, TargetUsage } from '../dispatch/target-directory.ts';
import { ActiveFaults } from '../fault/active-faults.ts';
import type { RandomSource } from '../route/random.ts';
import type { ClusterManager } from './cluster-manager.ts';
import { type CompiledTarget, compileTarget } from './compiled-target.ts';

const log = createLogger('http.mesh-target');

export interface MeshTargetOptions {
  readonly clock: Clock;
  readonly random: RandomSource;
  /** how long a request waits for the first snapshot before treating the host as unknown */
  readonly resolveTimeoutMs: number;
  /** called after every successful compile (tests, introspection) */
  readonly onCompiled?: (target: MeshTarget) => void;
}

export class MeshTarget implements MeshTargetView, TargetUsage {
  readonly key: string;
  state: TargetState = 'resolving';
  compiled: CompiledTarget | undefined;
  /** requests in flight through the mesh (counted by their exchanges) */
  active = 0;
  /** the mesh's idle sweeps since the last use (a request, `target()`, `ready()`) */
  unusedSweeps = 0;
  /** the fault filter's active_faults gauge and counters, kept across snapshots */
  readonly faults = new ActiveFaults();
  /** the last snapshot that failed to compile, with the reason */
  compileError: Error | undefined;
  readonly #xds: Xds;
  readonly #resolver: TargetResolver;
  readonly #clusters: ClusterManager;
  readonly #options: MeshTargetOptions;
  readonly #unsubscribe: () => void;
  /** this workload's IP (the node's INSTANCE_IPS, else its id's), for header value commands */
  readonly #localAddress: string | undefined;
  #waiters: (() => void)[] = [];
  #timer: TimerHandle | undefined;
  #waitedOut = false;
  #closed = false;

  constructor(key: string, xds: Xds, clusters: ClusterManager, options: MeshTargetOptions) {
    this.key = key;
    this.#xds = xds;
    this.#clusters = clusters;
    this.#options = options;
    this.#localAddress = instanceIpOf(xds.bootstrap?.node);
    this.#resolver = xds.resolve(key);
    this.#unsubscribe = this.#resolver.subscribe({
      onSnapshot: (s) => this.#onSnapshot(s),
      onError: (e) => this.#onError(e),
    });
    const now = this.#resolver.current();
    if (now !== undefined) this.#onSnapshot(now);
    else if (this.#resolver.error() instanceof ResourceDoesNotExistError) this.#onError(this.#resolver.error()!);
  }

  /** Requests are waiting for the first snapshot (such a target is not idle). */
  get waiting(): boolean {
    return this.#waiters.length > 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  settled(): Promise<void> {
    if (this.state !== 'resolving' || this.#waitedOut || this.#closed) return Promise.resolve();
    this.#timer ??= this.#options.clock.setTimeout(() => {
      this.#timer = undefined;
      // Later requests stop waiting too, until a snapshot (or a does-not-exist) arrives.
      this.#waitedOut = true;
      log.warn('no xDS answer for target in time; treating it as outside the mesh', { target: this.key });
      this.#settle();
    }, this.#options.resolveTimeoutMs);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #settle(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #onSnapshot(s: TargetSnapshot): void {
    if (this.#closed || s === this.compiled?.snapshot) return;
    try {
      this.compiled = compileTarget(
        s,
        (name, cluster) => {
          const res = s.clusters.get(name);
          return this.#clusters.use(this, name, cluster, res?.status === 'ok' ? res.endpoints : undefined);
        },
        this.faults,
        this,
        this.#options.random,
        this.#localAddress,
      );
      this.#clusters.release(this, s.clusters);
      this.compileError = undefined;
      this.state = 'ready';
      this.#waitedOut = false;
    } catch (err) {
      // Keep serving the last good compile; without one the target cannot be routed.
      this.compileError = err instanceof Error ? err : new Error(String(err));
      log.error('snapshot does not compile; keeping the previous one', {
        target: this.key,
        generation: s.generation,
        error: this.compileError.message,
      });
      if (this.compiled === undefined) this.state = 'absent';
    }
    this.#settle();
    if (this.compiled?.snapshot === s) this.#options.onCompiled?.(this);
  }

  #onError(e: Error): void {
    if (this.#closed) return;
    if (!(e instanceof ResourceDoesNotExistError) || this.#resolver.current() !== undefined) return;
    this.compiled = undefined;
    this.state = 'absent';
    this.#clusters.release(this, new Set());
    this.#settle();
  }

  /**
   * Stops following the target: its subscription ends and the cluster states only it used are
   * disposed. `release`: the resolver is closed too unless someone else subscribes to it, so the
   * xDS client drops the watches (and the resources) nobody else has; a mesh closing keeps the
   * resolvers of an Xds it shares.
   */
  close(release = false): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    if (release) this.#xds.releaseUnused(this.key);
    this.#clusters.release(this, new Set());
    this.#settle();
  }
}

/** The first of the node's INSTANCE_IPS, else the IP in its id (`sidecar~<ip>~...`). */
function instanceIpOf(node: BootstrapNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  const listed = node.metadata.INSTANCE_IPS;
  const ip = typeof listed === 'string' ? listed.split(',')[0]!.trim() : node.id.split('~')[1];
  return ip !== undefined && isIP(ip) !== 0 ? ip : undefined;
}
