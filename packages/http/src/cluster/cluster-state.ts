// The load-balancing state of one cluster: its hosts grouped by priority and locality, Envoy's
// priority load / panic computation, the per-source pickers of its LB policy, outlier detection
// and circuit breakers. Built from a Cluster + ClusterLoadAssignment; a new assignment swaps in
// with update(), keeping the Host objects (active requests, ejection state, outlier counters) of
// every address:port that persists.
//
// Pick order is Envoy's: priority (by priority load), then locality (when locality weighted LB is
// on and some locality has weight), then host (by the cluster's LB policy). Degraded hosts only
// get the load the healthy hosts cannot take (see priority-load.ts). For RING_HASH/MAGLEV the
// tables hold a priority's healthy hosts (all hosts in panic), as in Envoy's thread-aware
// balancers, which never route to degraded hosts outside panic.
//
// Slow start (ROUND_ROBIN / LEAST_REQUEST with slow_start_config): as in Envoy without active
// health checking, a host enters slow start when the cluster first sees it healthy — the hosts of
// a new cluster when it is built, a host added by EDS (or turned healthy) when it arrives — and its
// weight ramps up over the window (slow-start.ts). While any host is in its window the pickers
// schedule on the scaled weights, which a timer on the injected clock recomputes; when the last
// host leaves its window the pickers go back to the unweighted fast path.

import type {
  Clock,
  Cluster,
  ClusterLoadAssignment,
  LbPolicy,
  Locality,
  SlowStartConfig,
  TimerHandle,
} from '@inboard/xds';
import { systemClock } from '@inboard/xds';
import { CircuitBreakers, type RetryBudget, type RoutingPriority } from './circuit-breakers.ts';
import { EMPTY_TABLE, type HashingTable } from './hash-lb.ts';
import { compareLocality, Host, hostKey, localityKey } from './host.ts';
import type { HostPicker } from './host-picker.ts';
import { leastRequestPicker } from './least-request.ts';
import { LocalityScheduler } from './locality-wrr.ts';
import { DEFAULT_MAGLEV_TABLE_SIZE, isPrime, maglevTable } from './maglev.ts';
import { normalizeWeights } from './normalized-weights.ts';
import { OutlierDetector, type OutlierEvent, type OutlierResult } from './outlier-detector.ts';
import { choosePriority, computePriorityLoad, type PriorityLevelCounts, type PriorityLoad } from './priority-load.ts';
import { randomPicker } from './random-lb.ts';
import { mathRandom, type RandomSource } from './random-source.ts';
import { DEFAULT_MAX_RING_SIZE, DEFAULT_MIN_RING_SIZE, ringHashTable } from './ring-hash.ts';
import { type RoundRobinIndex, roundRobinPicker } from './round-robin.ts';
import { slowStartFactor, slowStartRefreshMs } from './slow-start.ts';
import { mod64 } from './xxhash64.ts';

export interface ClusterStateOptions {
  readonly clock?: Clock;
  readonly random?: RandomSource;
  /**
   * The state this one replaces (cluster config changed): Host objects of persisting endpoints are
   * carried over so in-flight requests keep counting on them. Outlier, circuit breaker and slow
   * start state start fresh, as a new Envoy cluster's (and its new hosts') do. The previous state
   * is disposed.
   */
  readonly previous?: ClusterState;
  /** overrides the cluster's LeastRequest active_request_bias (leastRequestActiveRequestBias) */
  readonly activeRequestBias?: number;
  readonly retryBudgets?: Partial<Record<RoutingPriority, RetryBudget>>;
}

export interface PickOptions {
  /** request hash for RING_HASH / MAGLEV (computeRequestHash); absent → random */
  readonly hash?: bigint | undefined;
  /** host keys (`address:port`) to avoid: the previous_hosts retry predicate */
  readonly previousHosts?: ReadonlySet<string> | undefined;
  /**
   * How many times to re-pick when the pick lands on a previous host (Envoy's
   * hostSelectionRetryCount: attempts = count + 1). After that the last pick is used anyway.
   */
  readonly hostSelectionRetryCount?: number;
}

const SOURCE_ALL = 0;
const SOURCE_HEALTHY = 1;
const SOURCE_DEGRADED = 2;

/** The hosts of one priority level. */
export class HostSet {
  readonly priority: number;
  readonly hosts: Host[] = [];
  healthy: Host[] = [];
  degraded: Host[] = [];
  readonly localities: Locality[] = [];
  readonly hostsPerLocality: Host[][] = [];
  healthyPerLocality: Host[][] = [];
  degradedPerLocality: Host[][] = [];
  /** EDS locality weights (0 when unset), present only with locality weighted LB */
  localityWeights: number[] | undefined;
  healthyLocalities: LocalityScheduler | undefined;
  degradedLocalities: LocalityScheduler | undefined;
  /** pickers for all / healthy / degraded hosts, then healthy and degraded per locality; built lazily */
  pickers: (HostPicker | undefined)[] = [];
  /** consistent-hash table (RING_HASH / MAGLEV) */
  table: HashingTable = EMPTY_TABLE;

  constructor(priority: number) {
    this.priority = priority;
  }
}

export class ClusterState {
  readonly name: string;
  cluster: Cluster;
  assignment: ClusterLoadAssignment;
  readonly circuitBreakers: CircuitBreakers;
  readonly outlierDetector: OutlierDetector | undefined;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly activeRequestBias: number;
  private readonly hostsByKey = new Map<string, Host>();
  private hostSets: HostSet[] = [];
  private load: PriorityLoad;
  private levels: PriorityLevelCounts[] = [];
  private seed: number;
  /** bumped on every refresh: lets an aggregate cluster see that this one's hosts or health changed */
  version = 0;
  private readonly listeners = new Set<(e: OutlierEvent) => void>();
  /** ROUND_ROBIN positions per hosts source (`priority/slot`), kept across refreshes */
  private readonly rrIndexes = new Map<string, RoundRobinIndex>();
  private disposed = false;
  private readonly slowStart: SlowStartConfig | undefined;
  /** some healthy host was inside its slow start window at the last slow start refresh */
  private inSlowStart = false;
  private slowStartTimer: TimerHandle | undefined;

  constructor(cluster: Cluster, assignment: ClusterLoadAssignment, options: ClusterStateOptions = {}) {
    this.name = cluster.name;
    this.cluster = cluster;
    this.assignment = assignment;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? mathRandom;
    this.activeRequestBias = options.activeRequestBias ?? cluster.leastRequestActiveRequestBias ?? 1;
    this.circuitBreakers = new CircuitBreakers(cluster.circuitBreakers, options.retryBudgets);
    this.slowStart =
      cluster.lbPolicy === 'ROUND_ROBIN' || cluster.lbPolicy === 'LEAST_REQUEST' ? cluster.slowStart : undefined;
    this.seed = this.random();
    this.load = computePriorityLoad([], 140, 50);
    if (options.previous !== undefined) {
      for (const [key, host] of options.previous.hostsByKey) {
        host.ejected = false;
        host.slowStartSince = Number.NaN;
        this.hostsByKey.set(key, host);
      }
      options.previous.dispose();
    }
    if (cluster.outlierDetection !== undefined) {
      this.outlierDetector = new OutlierDetector(cluster.outlierDetection, {
        clock: this.clock,
        random: this.random,
        onHealthChange: () => this.refresh(),
      });
      this.outlierDetector.onEvent((e) => {
        for (const l of this.listeners) l(e);
      });
    }
    this.rebuild(assignment, true);
  }

  get lbPolicy(): LbPolicy {
    return this.cluster.lbPolicy;
  }

  /** All hosts, every priority. */
  get hosts(): readonly Host[] {
    return [...this.hostsByKey.values()];
  }

  get priorities(): readonly HostSet[] {
    return this.hostSets;
  }

  get priorityLoad(): PriorityLoad {
    return this.load;
  }

  /** Host counts per priority level as of the last refresh, with the level's overprovisioning factor. */
  get levelCounts(): readonly PriorityLevelCounts[] {
    return this.levels;
  }

  host(key: string): Host | undefined {
    return this.hostsByKey.get(key);
  }

  onOutlierEvent(listener: (e: OutlierEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Swaps in a new load assignment, keeping the state of endpoints whose address:port persists. */
  update(assignment: ClusterLoadAssignment): void {
    this.assignment = assignment;
    this.rebuild(assignment, false);
  }

  /** Reports an attempt's outcome to outlier detection (no-op without outlier detection). */
  recordResult(host: Host, result: OutlierResult): void {
    this.outlierDetector?.recordResult(host, result);
  }

  private rebuild(assignment: ClusterLoadAssignment, initial: boolean): void {
    const seen = new Set<string>();
    const sets: HostSet[] = [];
    const localityWeighted = this.cluster.localityWeightedLb;
    // per priority: locality key → { locality, hosts, weight }
    const groups: Map<string, { locality: Locality; hosts: Host[]; weight: number }>[] = [];
    for (const lle of assignment.endpoints) {
      const p = lle.priority;
      while (sets.length <= p) {
        sets.push(new HostSet(sets.length));
        groups.push(new Map());
      }
      const set = sets[p]!;
      const lk = localityKey(lle.locality);
      let g = groups[p]!.get(lk);
      if (g === undefined) {
        g = { locality: lle.locality, hosts: [], weight: 0 };
        groups[p]!.set(lk, g);
      }
      g.weight = lle.loadBalancingWeight ?? 0;
      for (const ep of lle.lbEndpoints) {
        const key = hostKey(ep.address.address, ep.address.port);
        if (seen.has(key)) continue; // one Host per address:port: the first listing wins
        seen.add(key);
        let host = this.hostsByKey.get(key);
        if (host === undefined) {
          host = new Host(ep, p, lle.locality);
          this.hostsByKey.set(key, host);
          this.outlierDetector?.addHost(host);
        } else {
          host.assign(ep, p, lle.locality);
          if (initial) this.outlierDetector?.addHost(host);
        }
        set.hosts.push(host);
        g.hosts.push(host);
      }
    }
    for (const [key, host] of this.hostsByKey) {
      if (!seen.has(key)) {
        this.hostsByKey.delete(key);
        this.outlierDetector?.removeHost(host);
      }
    }
    if (sets.length === 0) {
      sets.push(new HostSet(0));
      groups.push(new Map());
    }
    for (let p = 0; p < sets.length; p++) {
      const set = sets[p]!;
      const ordered = [...groups[p]!.values()].sort((a, b) => compareLocality(a.locality, b.locality));
      for (const g of ordered) {
        set.localities.push(g.locality);
        set.hostsPerLocality.push(g.hosts);
      }
      set.localityWeights = localityWeighted ? ordered.map((g) => g.weight) : undefined;
    }
    this.hostSets = sets;
    this.refresh();
  }

  /** Recomputes health-dependent state (after ejection changes or health updates). */
  refresh(): void {
    if (this.disposed) return;
    if (this.slowStart !== undefined) this.updateSlowStart(this.slowStart);
    const opf = this.assignment.overprovisioningFactor > 0 ? this.assignment.overprovisioningFactor : 140;
    for (const set of this.hostSets) {
      set.healthy = [];
      set.degraded = [];
      set.healthyPerLocality = [];
      set.degradedPerLocality = [];
      for (const hosts of set.hostsPerLocality) {
        const healthy: Host[] = [];
        const degraded: Host[] = [];
        for (const h of hosts) {
          const health = h.health;
          if (health === 'healthy') healthy.push(h);
          else if (health === 'degraded') degraded.push(h);
        }
        set.healthyPerLocality.push(healthy);
        set.degradedPerLocality.push(degraded);
      }
      for (const h of set.hosts) {
        const health = h.health;
        if (health === 'healthy') set.healthy.push(h);
        else if (health === 'degraded') set.degraded.push(h);
      }
      set.pickers = [];
      set.healthyLocalities = undefined;
      set.degradedLocalities = undefined;
      if (set.localityWeights !== undefined) {
        set.healthyLocalities = LocalityScheduler.build(
          set.healthyPerLocality,
          set.hostsPerLocality,
          set.localityWeights,
          opf,
          this.seed,
        );
        set.degradedLocalities = LocalityScheduler.build(
          set.degradedPerLocality,
          set.hostsPerLocality,
          set.localityWeights,
          opf,
          this.seed,
        );
      }
    }
    this.levels = this.hostSets.map((s) => ({
      total: s.hosts.length,
      healthy: s.healthy.length,
      degraded: s.degraded.length,
      excluded: s.hosts.reduce((n, h) => (h.excluded ? n + 1 : n), 0),
      overprovisioningFactor: opf,
    }));
    this.load = computePriorityLoad(this.levels, opf, this.cluster.healthyPanicThreshold);
    this.version++;
    const policy = this.cluster.lbPolicy;
    if (policy === 'RING_HASH' || policy === 'MAGLEV') {
      for (let p = 0; p < this.hostSets.length; p++) {
        const set = this.hostSets[p]!;
        const panic = this.load.panic[p] === true;
        const weights = normalizeWeights(
          panic ? set.hosts : set.healthy,
          panic ? set.hostsPerLocality : set.healthyPerLocality,
          set.localityWeights,
        );
        if (policy === 'RING_HASH') {
          const min = this.cluster.ringHash?.minimumRingSize || DEFAULT_MIN_RING_SIZE;
          const max = this.cluster.ringHash?.maximumRingSize || DEFAULT_MAX_RING_SIZE;
          set.table = ringHashTable(weights, Math.min(min, max), max);
        } else {
          const size = this.cluster.maglevTableSize;
          set.table = maglevTable(weights, size !== undefined && isPrime(size) ? size : DEFAULT_MAGLEV_TABLE_SIZE);
        }
      }
    }
  }

  /**
   * Stamps the hosts seen healthy for the first time, recomputes every host's slow start weight
   * and arms the refresh timer while some host is in its window (at the refresh interval, or
   * sooner when a host's window ends first).
   */
  private updateSlowStart(config: SlowStartConfig): void {
    const now = this.clock.now();
    let untilFirstExit = Number.POSITIVE_INFINITY;
    for (const host of this.hostsByKey.values()) {
      // Envoy scales only healthy hosts, and starts the window when it first sees one healthy
      if (host.health !== 'healthy') {
        host.slowStartWeight = host.weight;
        continue;
      }
      if (Number.isNaN(host.slowStartSince)) host.slowStartSince = now;
      const age = now - host.slowStartSince;
      host.slowStartWeight = host.weight * slowStartFactor(config, age);
      if (age < config.windowMs && config.windowMs - age < untilFirstExit) untilFirstExit = config.windowMs - age;
    }
    this.inSlowStart = untilFirstExit !== Number.POSITIVE_INFINITY;
    if (this.inSlowStart && this.slowStartTimer === undefined) {
      this.slowStartTimer = this.clock.setTimeout(
        () => this.onSlowStartTimer(config),
        Math.min(slowStartRefreshMs(config), untilFirstExit),
      );
    }
  }

  private onSlowStartTimer(config: SlowStartConfig): void {
    this.slowStartTimer = undefined;
    if (this.disposed) return;
    const wasInSlowStart = this.inSlowStart;
    // the pickers keep their schedules: a host's new weight applies when it is next re-inserted
    this.updateSlowStart(config);
    if (wasInSlowStart && !this.inSlowStart) {
      // nobody is in slow start any more: back to plain rotation / power of two choices
      for (const set of this.hostSets) set.pickers = [];
    }
  }

  private picker(set: HostSet, slot: number, hosts: readonly Host[]): HostPicker {
    let p = set.pickers[slot];
    if (p === undefined) {
      switch (this.cluster.lbPolicy) {
        case 'LEAST_REQUEST':
          p = leastRequestPicker(
            hosts,
            this.random,
            this.seed,
            {
              choiceCount: this.cluster.leastRequestChoiceCount || 2,
              activeRequestBias: this.activeRequestBias,
            },
            this.inSlowStart,
          );
          break;
        case 'RANDOM':
          p = randomPicker(hosts);
          break;
        default: {
          const key = `${set.priority}/${slot}`;
          let cell = this.rrIndexes.get(key);
          if (cell === undefined) {
            cell = { index: this.seed % Math.max(1, hosts.length) };
            this.rrIndexes.set(key, cell);
          }
          p = roundRobinPicker(hosts, this.seed, cell, this.inSlowStart);
        }
      }
      set.pickers[slot] = p;
    }
    return p;
  }

  /**
   * Picks a host for one attempt, or undefined when there is none to route to (the caller
   * replies 503 with flag UH).
   */
  pick(options?: PickOptions): Host | undefined {
    const policy = this.cluster.lbPolicy;
    const exclude = options?.previousHosts;
    const attempts = exclude !== undefined && exclude.size > 0 ? (options?.hostSelectionRetryCount ?? 0) + 1 : 1;
    if (policy === 'RING_HASH' || policy === 'MAGLEV') return this.pickHashing(options?.hash, exclude, attempts);
    let host: Host | undefined;
    for (let i = 0; i < attempts; i++) {
      host = this.pickOnce();
      if (host === undefined || exclude === undefined || !exclude.has(host.key)) return host;
    }
    return host;
  }

  /**
   * Picks a host of priority `priority` only, from its healthy or degraded hosts (all of them when
   * the level is in panic here): an aggregate cluster chose the level, as Envoy's aggregate load
   * balancer hands its child a priority load of 100% on one level.
   */
  pickInPriority(priority: number, degraded: boolean, options?: PickOptions): Host | undefined {
    const exclude = options?.previousHosts;
    const attempts = exclude !== undefined && exclude.size > 0 ? (options?.hostSelectionRetryCount ?? 0) + 1 : 1;
    const policy = this.cluster.lbPolicy;
    if (policy === 'RING_HASH' || policy === 'MAGLEV') {
      return this.pickHashing(options?.hash, exclude, attempts, priority);
    }
    let host: Host | undefined;
    for (let i = 0; i < attempts; i++) {
      host = this.pickIn(priority, degraded, this.random());
      if (host === undefined || exclude === undefined || !exclude.has(host.key)) return host;
    }
    return host;
  }

  private pickOnce(): Host | undefined {
    const r = this.random();
    const code = choosePriority(r % 100, this.load);
    return this.pickIn(code >> 1, (code & 1) === 1, r);
  }

  private pickIn(p: number, degraded: boolean, r: number): Host | undefined {
    const set = this.hostSets[p];
    if (set === undefined) return undefined;
    if (this.load.panic[p] === true) return this.picker(set, SOURCE_ALL, set.hosts).pick(r);
    const localities = degraded ? set.degradedLocalities : set.healthyLocalities;
    if (localities !== undefined) {
      const li = localities.choose();
      const hosts = degraded ? set.degradedPerLocality[li]! : set.healthyPerLocality[li]!;
      return this.picker(set, 3 + li * 2 + (degraded ? 1 : 0), hosts).pick(r);
    }
    return degraded
      ? this.picker(set, SOURCE_DEGRADED, set.degraded).pick(r)
      : this.picker(set, SOURCE_HEALTHY, set.healthy).pick(r);
  }

  private pickHashing(
    hash: bigint | undefined,
    exclude: ReadonlySet<string> | undefined,
    attempts: number,
    priority?: number,
  ): Host | undefined {
    let hi: number;
    let lo: number;
    if (hash === undefined) {
      hi = this.random() >>> 0;
      lo = this.random() >>> 0;
    } else {
      hi = Number((hash >> 32n) & 0xffffffffn);
      lo = Number(hash & 0xffffffffn);
    }
    const p = priority ?? choosePriority(mod64(hi, lo, 100), this.load) >> 1;
    const set = this.hostSets[p];
    if (set === undefined) return undefined;
    let host: Host | undefined;
    for (let i = 0; i < attempts; i++) {
      host = set.table.chooseHost(hi, lo, i);
      if (host === undefined || exclude === undefined || !exclude.has(host.key)) return host;
    }
    return host;
  }

  /**
   * The load assignment's drop_overload: true when this request should be dropped (503, flag DO).
   * Envoy honours only the first category.
   */
  shouldDrop(): boolean {
    const d = this.assignment.dropOverloads[0];
    if (d === undefined || d.dropPercentage.denominator <= 0) return false;
    const fraction = d.dropPercentage.numerator / d.dropPercentage.denominator;
    if (fraction <= 0) return false;
    return (this.random() >>> 0) / 4294967296 < fraction;
  }

  /** Stops timers (outlier sweeps, slow start refreshes). The state must not be used afterwards. */
  dispose(): void {
    this.disposed = true;
    this.outlierDetector?.dispose();
    this.slowStartTimer?.cancel();
    this.slowStartTimer = undefined;
  }
}
