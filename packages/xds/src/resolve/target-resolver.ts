// Target resolution: `host:port` → LDS listener → HttpConnectionManager → RouteConfiguration
// (RDS or inline) → every cluster the routes name (aggregates expanded) → their endpoints (EDS).
// A snapshot is published only when the whole tree is resolved, so the data plane never sees a
// route pointing at a cluster whose config has not arrived (the idea of gRFC A74), and again, as a
// new immutable object, on every change anywhere in the tree.
import type { XdsClient } from '../client/xds-client.ts';
import { ResourceDoesNotExistError } from '../errors.ts';
import type {
  Cluster,
  ClusterLoadAssignment,
  HttpConnectionManager,
  Listener,
  RouteConfiguration,
} from '../resources/model.ts';
import type { ResourceType } from '../resources/resource-type.ts';

export interface ResolverResourceTypes {
  readonly listener: ResourceType<Listener>;
  readonly routeConfiguration: ResourceType<RouteConfiguration>;
  readonly cluster: ResourceType<Cluster>;
  readonly clusterLoadAssignment: ResourceType<ClusterLoadAssignment>;
}

export type ClusterResolution =
  | {
      readonly status: 'ok';
      readonly cluster: Cluster;
      /** EDS: the ClusterLoadAssignment (empty when the server said it does not exist); STATIC: inline */
      readonly endpoints: ClusterLoadAssignment | undefined;
      /** AGGREGATE: leaf cluster names in priority order (each also in `clusters`) */
      readonly leaves: readonly string[];
    }
  | { readonly status: 'missing'; readonly reason: string };

export interface TargetSnapshot {
  readonly target: string;
  readonly listenerName: string;
  readonly listener: Listener;
  readonly hcm: HttpConnectionManager;
  readonly routeConfig: RouteConfiguration;
  /** every cluster reachable from the routes, aggregate children included */
  readonly clusters: ReadonlyMap<string, ClusterResolution>;
  /** increases with every published snapshot of this resolver */
  readonly generation: number;
}

export interface TargetResolverEvents {
  onSnapshot?(snapshot: TargetSnapshot): void;
  /** transient or validation error with no usable snapshot yet, or the listener/route config does not exist */
  onError?(error: Error): void;
}

const MAX_AGGREGATE_DEPTH = 16;

interface Watched<T> {
  cancel: () => void;
  value: T | undefined;
  /** resolved: has a value or is known not to exist */
  missing: string | undefined;
}

export class TargetResolver {
  readonly target: string;
  readonly listenerName: string;
  private readonly client: XdsClient;
  private readonly types: ResolverResourceTypes;
  private readonly listeners = new Set<TargetResolverEvents>();
  private listener: Watched<Listener> | undefined;
  private routeName: string | undefined;
  private route: Watched<RouteConfiguration> | undefined;
  private readonly clusters = new Map<string, Watched<Cluster>>();
  private readonly endpoints = new Map<string, Watched<ClusterLoadAssignment>>();
  private snapshot: TargetSnapshot | undefined;
  private lastError: Error | undefined;
  private generation = 0;
  private closed = false;
  private pendingUpdate = false;

  constructor(client: XdsClient, types: ResolverResourceTypes, target: string, listenerName = target) {
    this.client = client;
    this.types = types;
    this.target = target;
    this.listenerName = listenerName;
    const state: Watched<Listener> = { cancel: () => {}, value: undefined, missing: undefined };
    this.listener = state;
    state.cancel = client.watch(types.listener, listenerName, {
      onResourceChanged: (l) => {
        state.value = l;
        state.missing = undefined;
        this.onListener(l);
      },
      onError: (e) => this.reportError(e, state.value !== undefined),
      onResourceDoesNotExist: (name) => {
        state.value = undefined;
        state.missing = 'does not exist';
        this.fail(new ResourceDoesNotExistError(types.listener.typeUrl, name));
      },
    });
  }

  /** How many subscriptions are open (Xds.releaseUnused closes a resolver only at 0). */
  get subscribers(): number {
    return this.listeners.size;
  }

  /** The latest complete snapshot, if any. */
  current(): TargetSnapshot | undefined {
    return this.snapshot;
  }

  subscribe(events: TargetResolverEvents): () => void {
    this.listeners.add(events);
    if (this.snapshot !== undefined) {
      const s = this.snapshot;
      queueMicrotask(() => {
        if (this.listeners.has(events) && this.snapshot === s) events.onSnapshot?.(s);
      });
    }
    return () => this.listeners.delete(events);
  }

  /** Resolves with the first complete snapshot; rejects if the target does not exist. */
  ready(): Promise<TargetSnapshot> {
    if (this.snapshot !== undefined) return Promise.resolve(this.snapshot);
    return new Promise((resolve, reject) => {
      const off = this.subscribe({
        onSnapshot: (s) => {
          off();
          resolve(s);
        },
        onError: (e) => {
          if (e instanceof ResourceDoesNotExistError) {
            off();
            reject(e);
          }
        },
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listener?.cancel();
    this.route?.cancel();
    for (const c of this.clusters.values()) c.cancel();
    for (const e of this.endpoints.values()) e.cancel();
    this.clusters.clear();
    this.endpoints.clear();
    this.listeners.clear();
  }

  // ------------------------------------------------------------------ tree maintenance

  private onListener(l: Listener): void {
    const hcm = l.apiListener;
    if (hcm === undefined) {
      this.fail(new Error(`listener ${JSON.stringify(l.name)} has no api_listener: it is not a client listener`));
      return;
    }
    if (hcm.routeConfigName !== undefined) {
      if (this.routeName !== hcm.routeConfigName) {
        this.route?.cancel();
        this.routeName = hcm.routeConfigName;
        const state: Watched<RouteConfiguration> = { cancel: () => {}, value: undefined, missing: undefined };
        this.route = state;
        state.cancel = this.client.watch(this.types.routeConfiguration, hcm.routeConfigName, {
          onResourceChanged: (rc) => {
            state.value = rc;
            state.missing = undefined;
            this.syncClusters();
          },
          onError: (e) => this.reportError(e, state.value !== undefined),
          onResourceDoesNotExist: (name) => {
            state.value = undefined;
            state.missing = 'does not exist';
            this.fail(new ResourceDoesNotExistError(this.types.routeConfiguration.typeUrl, name));
          },
        });
      }
    } else {
      this.route?.cancel();
      this.route = undefined;
      this.routeName = undefined;
    }
    this.syncClusters();
  }

  private currentRouteConfig(): RouteConfiguration | undefined {
    const hcm = this.listener?.value?.apiListener;
    if (hcm === undefined) return undefined;
    if (hcm.routeConfig !== undefined) return hcm.routeConfig;
    return this.route?.value;
  }

  /** Watches exactly the clusters the current route config (and aggregates) reach. */
  private syncClusters(): void {
    const rc = this.currentRouteConfig();
    const wanted = new Set<string>();
    if (rc !== undefined) {
      for (const name of clustersOfRouteConfig(rc)) this.collect(name, wanted, 0);
    }
    for (const [name, w] of this.clusters) {
      if (!wanted.has(name)) {
        w.cancel();
        this.clusters.delete(name);
      }
    }
    for (const name of wanted) if (!this.clusters.has(name)) this.watchCluster(name);
    // endpoints of clusters no longer wanted (or whose service name changed)
    const wantedEds = new Set<string>();
    for (const w of this.clusters.values()) {
      const c = w.value;
      if (c?.type === 'EDS') wantedEds.add(c.edsServiceName ?? c.name);
    }
    for (const [name, w] of this.endpoints) {
      if (!wantedEds.has(name)) {
        w.cancel();
        this.endpoints.delete(name);
      }
    }
    for (const name of wantedEds) if (!this.endpoints.has(name)) this.watchEndpoints(name);
    this.scheduleUpdate();
  }

  private collect(name: string, into: Set<string>, depth: number): void {
    if (into.has(name) || depth > MAX_AGGREGATE_DEPTH) return;
    into.add(name);
    const c = this.clusters.get(name)?.value;
    if (c?.type === 'AGGREGATE') for (const child of c.aggregateClusters) this.collect(child, into, depth + 1);
  }

  private watchCluster(name: string): void {
    this.clusters.set(
      name,
      this.watchLeaf(this.types.cluster, name, 'cluster does not exist', () => this.syncClusters()),
    );
  }

  private watchEndpoints(name: string): void {
    this.endpoints.set(
      name,
      this.watchLeaf(this.types.clusterLoadAssignment, name, 'endpoints do not exist', () => this.scheduleUpdate()),
    );
  }

  /**
   * Watches a cluster or its endpoints. An error only matters while nothing was received: it
   * turns the entry into "missing" so the snapshot can still be published.
   */
  private watchLeaf<T>(type: ResourceType<T>, name: string, missingReason: string, changed: () => void): Watched<T> {
    const state: Watched<T> = { cancel: () => {}, value: undefined, missing: undefined };
    state.cancel = this.client.watch(type, name, {
      onResourceChanged: (v) => {
        state.value = v;
        state.missing = undefined;
        changed();
      },
      onError: (e) => {
        if (state.value === undefined) {
          state.missing = e.message;
          this.scheduleUpdate();
        }
      },
      onResourceDoesNotExist: () => {
        state.value = undefined;
        state.missing = missingReason;
        changed();
      },
    });
    return state;
  }

  // ------------------------------------------------------------------ publishing

  /** Coalesces the updates of one xDS response into one snapshot. */
  private scheduleUpdate(): void {
    if (this.pendingUpdate || this.closed) return;
    this.pendingUpdate = true;
    queueMicrotask(() => {
      this.pendingUpdate = false;
      this.tryPublish();
    });
  }

  private tryPublish(): void {
    if (this.closed) return;
    const listener = this.listener?.value;
    const hcm = listener?.apiListener;
    const rc = this.currentRouteConfig();
    if (listener === undefined || hcm === undefined || rc === undefined) return;
    const clusters = new Map<string, ClusterResolution>();
    for (const [name, w] of this.clusters) {
      const c = w.value;
      if (c === undefined) {
        if (w.missing === undefined) return; // still waiting
        clusters.set(name, { status: 'missing', reason: w.missing });
        continue;
      }
      if (c.type === 'EDS') {
        const e = this.endpoints.get(c.edsServiceName ?? c.name);
        if (e === undefined || (e.value === undefined && e.missing === undefined)) return;
        const endpoints = e.value ?? emptyAssignment(c.edsServiceName ?? c.name);
        clusters.set(name, { status: 'ok', cluster: c, endpoints, leaves: [] });
      } else if (c.type === 'AGGREGATE') {
        const leaves: string[] = [];
        if (!this.leavesOf(c, leaves, new Set(), 0)) return;
        clusters.set(name, { status: 'ok', cluster: c, endpoints: undefined, leaves });
      } else {
        clusters.set(name, { status: 'ok', cluster: c, endpoints: c.loadAssignment, leaves: [] });
      }
    }
    this.generation++;
    this.lastError = undefined;
    this.snapshot = {
      target: this.target,
      listenerName: this.listenerName,
      listener,
      hcm,
      routeConfig: rc,
      clusters,
      generation: this.generation,
    };
    const s = this.snapshot;
    for (const l of [...this.listeners]) l.onSnapshot?.(s);
  }

  /** Flattens an aggregate cluster's children into leaf names; false while a child is unresolved. */
  private leavesOf(c: Cluster, out: string[], visiting: Set<string>, depth: number): boolean {
    if (depth > MAX_AGGREGATE_DEPTH || visiting.has(c.name)) return true; // cycles and depth: ignore the branch
    visiting.add(c.name);
    for (const child of c.aggregateClusters) {
      const w = this.clusters.get(child);
      if (w === undefined) return false;
      if (w.value === undefined) {
        if (w.missing === undefined) return false;
        continue;
      }
      if (w.value.type === 'AGGREGATE') {
        if (!this.leavesOf(w.value, out, visiting, depth + 1)) return false;
      } else if (!out.includes(child)) {
        out.push(child);
      }
    }
    return true;
  }

  private reportError(error: Error, haveValue: boolean): void {
    // With a usable snapshot a transient error changes nothing the data plane needs to know.
    if (haveValue && this.snapshot !== undefined) return;
    this.lastError = error;
    for (const l of [...this.listeners]) l.onError?.(error);
  }

  private fail(error: Error): void {
    this.snapshot = undefined;
    this.lastError = error;
    for (const l of [...this.listeners]) l.onError?.(error);
  }

  /** The last error reported while no snapshot was available. */
  error(): Error | undefined {
    return this.lastError;
  }
}

function emptyAssignment(name: string): ClusterLoadAssignment {
  return { clusterName: name, endpoints: [], overprovisioningFactor: 140, dropOverloads: [] };
}

/** Every cluster a route configuration can send traffic to (routes, weighted clusters, mirrors). */
export function clustersOfRouteConfig(rc: RouteConfiguration): Set<string> {
  const out = new Set<string>();
  for (const m of rc.requestMirrorPolicies) out.add(m.cluster);
  for (const vh of rc.virtualHosts) {
    for (const m of vh.requestMirrorPolicies) out.add(m.cluster);
    for (const r of vh.routes) {
      if (r.action.kind !== 'route') continue;
      const spec = r.action.clusterSpecifier;
      if (spec.kind === 'cluster') out.add(spec.cluster);
      else if (spec.kind === 'weighted_clusters') for (const w of spec.clusters) out.add(w.name);
      for (const m of r.action.requestMirrorPolicies) out.add(m.cluster);
    }
  }
  return out;
}
