// Outlier detection for one cluster, following Envoy's Outlier::DetectorImpl:
// - consecutive errors (5xx, gateway failures, local-origin failures) eject inline;
// - success-rate and failure-percentage ejections happen on the interval sweep, from the
//   previous interval's counts;
// - an ejected host comes back at the first sweep after min(base × backoff, max) + jitter;
// - the backoff multiplier grows by one per ejection and shrinks by one per sweep a host spends
//   un-ejected (once an interval has passed since it came back);
// - a host is not ejected when that would put more than max_ejection_percent of the cluster's
//   hosts out (unless always_eject_one_host and none is ejected).
// Results come in through recordResult(); ejections flip Host.ejected and notify listeners.

import type { Clock, OutlierDetection, TimerHandle } from '@inboard/xds';
import { parseUint64 } from '../route/decimal.ts';
import type { Host } from './host.ts';
import { percentEnabled, type RandomSource } from './random-source.ts';

export type OutlierEjectionType =
  | 'consecutive_5xx'
  | 'consecutive_gateway_failure'
  | 'consecutive_local_origin_failure'
  | 'success_rate'
  | 'success_rate_local_origin'
  | 'failure_percentage'
  | 'failure_percentage_local_origin';

export type OutlierEvent =
  /** enforced: false means detected but not enforced (the enforcing_* roll said no) */
  | {
      readonly type: 'eject';
      readonly host: Host;
      readonly reason: OutlierEjectionType;
      readonly enforced: boolean;
      readonly numEjections: number;
    }
  /** detected, but ejecting would exceed max_ejection_percent */
  | { readonly type: 'eject_overflow'; readonly host: Host; readonly reason: OutlierEjectionType }
  | { readonly type: 'uneject'; readonly host: Host; readonly numEjections: number };

/**
 * Local-origin outcome of an attempt: `success` is Envoy's LOCAL_ORIGIN_CONNECT_SUCCESS (report it
 * when the connection/stream to the host is established), the others are failures. `reset`
 * counts as a connect failure, as Envoy's router reports upstream resets.
 */
export type LocalOriginResult = 'connect_failure' | 'timeout' | 'reset' | 'success';

export interface OutlierResult {
  /** HTTP status of the response headers (for gRPC, grpc-status mapped with grpcStatusToHttpStatus) */
  readonly status?: number;
  readonly localOrigin?: LocalOriginResult;
}

export interface OutlierDetectorOptions {
  readonly clock: Clock;
  readonly random: RandomSource;
  /** called after any ejection or un-ejection, before listeners (the cluster rebuilds LB state) */
  readonly onHealthChange?: () => void;
}

class SuccessRateCounter {
  total = 0;
  success = 0;
  prevTotal = 0;
  prevSuccess = 0;

  /** Starts a new interval: the counts just finished become the ones the sweep reads. */
  roll(): void {
    this.prevTotal = this.total;
    this.prevSuccess = this.success;
    this.total = 0;
    this.success = 0;
  }

  /** success percentage and volume of the last full interval, or undefined without requests */
  get rate(): number | undefined {
    return this.prevTotal === 0 ? undefined : (this.prevSuccess * 100) / this.prevTotal;
  }
}

/** Per-host detector state (Envoy's DetectorHostMonitorImpl). */
export class HostMonitor {
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalOriginFailure = 0;
  numEjections = 0;
  ejectTimeBackoff = 0;
  lastEjectionTime: number | undefined;
  lastUnejectionTime: number | undefined;
  jitter = 0;
  readonly external = new SuccessRateCounter();
  readonly localOrigin = new SuccessRateCounter();
}

function is5xx(status: number): boolean {
  return status >= 500 && status < 600;
}

function isGatewayError(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

export class OutlierDetector {
  readonly config: OutlierDetection;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly onHealthChange: (() => void) | undefined;
  private readonly monitors = new Map<Host, HostMonitor>();
  private readonly listeners = new Set<(e: OutlierEvent) => void>();
  private timer: TimerHandle | undefined;
  private ejected = 0;
  private disposed = false;

  constructor(config: OutlierDetection, options: OutlierDetectorOptions) {
    this.config = config;
    this.clock = options.clock;
    this.random = options.random;
    this.onHealthChange = options.onHealthChange;
    this.arm();
  }

  /** Hosts currently ejected. */
  get ejectedCount(): number {
    return this.ejected;
  }

  /** Ejection time actually in force for this cluster (max ≥ base, as Envoy requires). */
  get maxEjectionTime(): number {
    return Math.max(this.config.maxEjectionTime, this.config.baseEjectionTime);
  }

  onEvent(listener: (e: OutlierEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  addHost(host: Host): void {
    if (!this.monitors.has(host)) this.monitors.set(host, new HostMonitor());
  }

  removeHost(host: Host): void {
    if (!this.monitors.delete(host)) return;
    if (host.ejected) {
      this.ejected--;
      host.ejected = false;
    }
  }

  monitor(host: Host): HostMonitor | undefined {
    return this.monitors.get(host);
  }

  /** Reports the outcome of one attempt against `host`. */
  recordResult(host: Host, result: OutlierResult): void {
    const m = this.monitors.get(host);
    if (m === undefined || this.disposed) return;
    if (result.localOrigin !== undefined) this.putLocalOrigin(host, m, result.localOrigin);
    if (result.status !== undefined) this.putHttpStatus(host, m, result.status);
  }

  private putLocalOrigin(host: Host, m: HostMonitor, r: LocalOriginResult): void {
    if (this.config.splitExternalLocalOriginErrors) {
      if (r === 'success') {
        m.localOrigin.total++;
        m.localOrigin.success++;
        m.consecutiveLocalOriginFailure = 0;
        return;
      }
      m.localOrigin.total++;
      if (++m.consecutiveLocalOriginFailure === this.config.consecutiveLocalOriginFailure) {
        this.onConsecutive(host, m, 'consecutive_local_origin_failure');
      }
      return;
    }
    // Not split: local-origin failures count as the HTTP status Envoy maps them to.
    if (r === 'timeout') this.putHttpStatus(host, m, 504);
    else if (r === 'connect_failure' || r === 'reset') this.putHttpStatus(host, m, 503);
  }

  private putHttpStatus(host: Host, m: HostMonitor, status: number): void {
    m.external.total++;
    if (is5xx(status)) {
      if (isGatewayError(status)) {
        if (++m.consecutiveGatewayFailure === this.config.consecutiveGatewayFailure) {
          this.onConsecutive(host, m, 'consecutive_gateway_failure');
        }
      } else {
        m.consecutiveGatewayFailure = 0;
      }
      if (++m.consecutive5xx === this.config.consecutive5xx) {
        this.onConsecutive(host, m, 'consecutive_5xx');
      }
    } else {
      m.external.success++;
      m.consecutive5xx = 0;
      m.consecutiveGatewayFailure = 0;
    }
  }

  private onConsecutive(host: Host, m: HostMonitor, type: OutlierEjectionType): void {
    if (host.ejected) return;
    this.ejectHost(host, m, type);
    // Reset the counter so the next bout is detected even without an interleaved success.
    if (type === 'consecutive_5xx') m.consecutive5xx = 0;
    else if (type === 'consecutive_gateway_failure') m.consecutiveGatewayFailure = 0;
    else m.consecutiveLocalOriginFailure = 0;
  }

  private enforcing(type: OutlierEjectionType): number {
    const c = this.config;
    switch (type) {
      case 'consecutive_5xx':
        return c.enforcingConsecutive5xx;
      case 'consecutive_gateway_failure':
        return c.enforcingConsecutiveGatewayFailure;
      case 'consecutive_local_origin_failure':
        return c.enforcingConsecutiveLocalOriginFailure;
      case 'success_rate':
        return c.enforcingSuccessRate;
      case 'success_rate_local_origin':
        return c.enforcingLocalOriginSuccessRate;
      case 'failure_percentage':
        return c.enforcingFailurePercentage;
      case 'failure_percentage_local_origin':
        return c.enforcingFailurePercentageLocalOrigin;
    }
  }

  private ejectHost(host: Host, m: HostMonitor, type: OutlierEjectionType): void {
    const maxPercent = Math.min(100, this.config.maxEjectionPercent);
    const ejectedPercent = (100 * (this.ejected + 1)) / this.monitors.size;
    let shouldEject = ejectedPercent <= maxPercent;
    if (this.config.alwaysEjectOneHost) shouldEject = this.ejected === 0 || shouldEject;
    if (!shouldEject) {
      this.emit({ type: 'eject_overflow', host, reason: type });
      return;
    }
    if (!percentEnabled(this.random, this.enforcing(type))) {
      this.emit({ type: 'eject', host, reason: type, enforced: false, numEjections: m.numEjections });
      return;
    }
    this.ejected++;
    host.ejected = true;
    m.numEjections++;
    m.lastEjectionTime = this.clock.now();
    const jitterMax = this.config.maxEjectionTimeJitter;
    m.jitter = jitterMax > 0 ? this.random() % (Math.floor(jitterMax) + 1) : 0;
    const base = this.config.baseEjectionTime;
    if (m.ejectTimeBackoff * base < this.maxEjectionTime + base) m.ejectTimeBackoff++;
    this.onHealthChange?.();
    this.emit({ type: 'eject', host, reason: type, enforced: true, numEjections: m.numEjections });
  }

  /** How long the host's current ejection lasts (without jitter). */
  ejectionDuration(host: Host): number | undefined {
    const m = this.monitors.get(host);
    if (m === undefined || !host.ejected) return undefined;
    return Math.min(this.config.baseEjectionTime * m.ejectTimeBackoff, this.maxEjectionTime);
  }

  private unejectHost(host: Host, m: HostMonitor): void {
    this.ejected--;
    host.ejected = false;
    m.consecutive5xx = 0;
    m.consecutiveGatewayFailure = 0;
    m.consecutiveLocalOriginFailure = 0;
    m.lastUnejectionTime = this.clock.now();
    this.onHealthChange?.();
    this.emit({ type: 'uneject', host, numEjections: m.numEjections });
  }

  private arm(): void {
    if (this.disposed) return;
    this.timer = this.clock.setTimeout(() => this.onInterval(), this.config.interval);
  }

  /** The interval sweep (exposed for callers that drive time themselves). */
  onInterval(): void {
    if (this.disposed) return;
    const now = this.clock.now();
    const base = this.config.baseEjectionTime;
    const max = this.maxEjectionTime;
    for (const [host, m] of this.monitors) {
      if (host.ejected && m.lastEjectionTime !== undefined) {
        if (Math.min(base * m.ejectTimeBackoff, max) + m.jitter <= now - m.lastEjectionTime) this.unejectHost(host, m);
      }
      m.external.roll();
      m.localOrigin.roll();
    }
    this.processSuccessRate(false);
    this.processSuccessRate(true);
    for (const [host, m] of this.monitors) {
      if (
        !host.ejected &&
        m.lastUnejectionTime !== undefined &&
        now - m.lastUnejectionTime >= this.config.interval &&
        m.ejectTimeBackoff !== 0
      ) {
        m.ejectTimeBackoff--;
      }
    }
    this.arm();
  }

  private processSuccessRate(localOrigin: boolean): void {
    const c = this.config;
    const size = this.monitors.size;
    if (size < c.successRateMinimumHosts && size < c.failurePercentageMinimumHosts) return;
    const srHosts: [Host, HostMonitor, number][] = [];
    const fpHosts: [Host, HostMonitor, number][] = [];
    let sum = 0;
    for (const [host, m] of this.monitors) {
      if (host.ejected) continue;
      const counter = localOrigin ? m.localOrigin : m.external;
      const rate = counter.rate;
      if (rate === undefined) continue;
      const volume = counter.prevTotal;
      if (volume >= c.successRateRequestVolume) {
        srHosts.push([host, m, rate]);
        sum += rate;
      }
      if (volume >= c.failurePercentageRequestVolume) fpHosts.push([host, m, rate]);
    }
    if (srHosts.length > 0 && srHosts.length >= c.successRateMinimumHosts) {
      const mean = sum / srHosts.length;
      let variance = 0;
      for (const [, , r] of srHosts) variance += (r - mean) ** 2;
      variance /= srHosts.length;
      const threshold = mean - (c.successRateStdevFactor / 1000) * Math.sqrt(variance);
      for (const [host, m, r] of srHosts) {
        if (r < threshold && !host.ejected)
          this.ejectHost(host, m, localOrigin ? 'success_rate_local_origin' : 'success_rate');
      }
    }
    if (fpHosts.length > 0 && fpHosts.length >= c.failurePercentageMinimumHosts) {
      for (const [host, m, r] of fpHosts) {
        if (100 - r >= c.failurePercentageThreshold && !host.ejected) {
          this.ejectHost(host, m, localOrigin ? 'failure_percentage_local_origin' : 'failure_percentage');
        }
      }
    }
  }

  private emit(e: OutlierEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Stops the interval timer; the detector ignores results afterwards. */
  dispose(): void {
    this.disposed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }
}

/**
 * Envoy's Grpc::Common::getGrpcStatus on a `grpc-status` value: undefined when empty (the HTTP
 * status counts), a code 0–16, or -1 (InvalidCode) for anything absl::SimpleAtoi refuses (it
 * allows surrounding whitespace and a `+`) or a code above 16 (user-defined codes not allowed).
 */
export function parseGrpcStatus(value: string): number | undefined {
  if (value === '') return undefined;
  const code = parseUint64(value);
  return code === undefined || code > 16 ? -1 : code;
}

/** Envoy's Grpc::Utility::grpcToHttpStatus, for reporting gRPC results to outlier detection. */
export function grpcStatusToHttpStatus(grpcStatus: number): number {
  switch (grpcStatus) {
    case 0:
      return 200;
    case 1:
      return 499;
    case 2:
      return 500;
    case 3:
      return 400;
    case 4:
      return 504;
    case 5:
      return 404;
    case 6:
      return 409;
    case 7:
      return 403;
    case 8:
      return 429;
    case 9:
      return 400;
    case 10:
      return 409;
    case 11:
      return 400;
    case 12:
      return 501;
    case 13:
      return 500;
    case 14:
      return 503;
    case 15:
      return 500;
    case 16:
      return 401;
    default:
      return 500;
  }
}
