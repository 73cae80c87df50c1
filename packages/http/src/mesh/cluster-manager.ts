// Envoy's cluster manager, for the outbound side: one ClusterState per cluster name for the whole
// process, shared by every target whose routes reach it (reviews:9080 and reviews.default:9080
// use the same clusters), so circuit breakers, outlier detection and LB state are per cluster
// as in Envoy. New endpoints update the state in place; a changed cluster config rebuilds it,
// keeping the Host objects (active requests, ejection) of endpoints that persist. A state
// nobody uses any more is disposed.
import type { Clock, Cluster, ClusterLoadAssignment } from '@inboard/xds';
import { deepEqual } from '@inboard/xds';
import { ClusterState } from '../cluster/cluster-state.ts';
import type { OutlierEvent } from '../cluster/outlier-detector.ts';
import type { RandomSource } from '../cluster/random-source.ts';
import { type OutlierChannelEvent, outlierChannel } from '../dispatch/events.ts';

export interface ClusterManagerOptions {
  readonly clock: Clock;
  readonly random: RandomSource;
}

interface Managed {
  state: ClusterState;
  cluster: Cluster;
  assignment: ClusterLoadAssignment;
  readonly users: Set<object>;
}

function emptyAssignment(name: string): ClusterLoadAssignment {
  return { clusterName: name, endpoints: [], overprovisioningFactor: 140, dropOverloads: [] };
}

function publishOutlier(cluster: string, e: OutlierEvent): void {
  if (!outlierChannel.hasSubscribers) return;
  let event: OutlierChannelEvent;
  if (e.type === 'eject') {
    event = {
      type: 'eject',
      cluster,
      endpoint: e.host.key,
      reason: e.reason,
      enforced: e.enforced,
      numEjections: e.numEjections,
    };
  } else if (e.type === 'eject_overflow') {
    event = { type: 'eject_overflow', cluster, endpoint: e.host.key, reason: e.reason };
  } else {
    event = { type: 'uneject', cluster, endpoint: e.host.key, numEjections: e.numEjections };
  }
  outlierChannel.publish(event);
}

export class ClusterManager {
  readonly #clusters = new Map<string, Managed>();
  readonly #options: ClusterManagerOptions;

  constructor(options: ClusterManagerOptions) {
    this.#options = options;
  }

  #create(name: string, cluster: Cluster, assignment: ClusterLoadAssignment, previous?: ClusterState): ClusterState {
    const state = new ClusterState(cluster, assignment, {
      clock: this.#options.clock,
      random: this.#options.random,
      previous,
    });
    state.onOutlierEvent((e) => publishOutlier(name, e));
    return state;
  }

  /** The state of cluster `name` as `user`'s snapshot describes it. */
  use(user: object, name: string, cluster: Cluster, endpoints: ClusterLoadAssignment | undefined): ClusterState {
    const assignment = endpoints ?? emptyAssignment(name);
    let m = this.#clusters.get(name);
    if (m === undefined) {
      m = { state: this.#create(name, cluster, assignment), cluster, assignment, users: new Set() };
      this.#clusters.set(name, m);
    } else if (m.cluster !== cluster && !deepEqual(m.cluster, cluster)) {
      m.state = this.#create(name, cluster, assignment, m.state);
      m.cluster = cluster;
      m.assignment = assignment;
    } else if (m.assignment !== assignment && !deepEqual(m.assignment, assignment)) {
      m.state.update(assignment);
      m.assignment = assignment;
    }
    m.users.add(user);
    return m.state;
  }

  /** `user` now uses only the clusters in `keep`: states nobody uses any more are disposed. */
  release(user: object, keep: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    for (const [name, m] of this.#clusters) {
      if (keep.has(name) || !m.users.delete(user)) continue;
      if (m.users.size === 0) {
        m.state.dispose();
        this.#clusters.delete(name);
      }
    }
  }

  get(name: string): ClusterState | undefined {
    return this.#clusters.get(name)?.state;
  }

  get size(): number {
    return this.#clusters.size;
  }

  close(): void {
    for (const m of this.#clusters.values()) m.state.dispose();
    this.#clusters.clear();
  }
}
