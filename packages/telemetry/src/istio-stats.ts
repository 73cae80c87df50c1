// Istio's standard HTTP metrics aggregated in-process, the way Envoy's stats store keeps them: one
// series per label set, a counter and three histograms with Envoy's default buckets. Recording is
// a few array increments on a series found once per label set, so it is cheap enough for every
// request. The aggregate is served two ways:
//   - prometheusText(): Istio's exposition (what an Envoy sidecar's /stats/prometheus shows), for
//     the admin server's scrape endpoint;
//   - collect(): an OpenTelemetry MetricProducer, so any SDK MetricReader (Prometheus, OTLP…)
//     built with `metricProducers: [stats]` exports the same series as OTel metrics.
import { ValueType } from '@opentelemetry/api';
import type { CollectionResult, MetricProducer } from '@opentelemetry/sdk-metrics';
import { ENVOY_DEFAULT_BUCKETS } from './histogram-buckets.ts';
import {
  CUMULATIVE,
  DATA_POINT_HISTOGRAM,
  DATA_POINT_SUM,
  EnvoyHistogramCell,
  type HistogramCell,
  hrTime,
} from './histogram-cell.ts';
import { ISTIO_LABEL_NAMES, ISTIO_METRICS, type IstioLabels } from './istio-labels.ts';
import { formatNumber, labelText } from './prometheus-text.ts';

const BOUNDS = ENVOY_DEFAULT_BUCKETS;

export class IstioSeries {
  readonly labels: IstioLabels;
  /** the Prometheus label text, built once */
  readonly labelText: string;
  readonly startTime: number;
  requests = 0;
  // Envoy's bucketing: a value on a boundary counts in the bucket above
  readonly duration: HistogramCell = new EnvoyHistogramCell(BOUNDS);
  readonly requestBytes: HistogramCell = new EnvoyHistogramCell(BOUNDS);
  readonly responseBytes: HistogramCell = new EnvoyHistogramCell(BOUNDS);

  constructor(labels: IstioLabels, text: string, startTime: number) {
    this.labels = labels;
    this.labelText = text;
    this.startTime = startTime;
  }
}

export interface IstioStatsOptions {
  /** instrumentation scope of the produced OTel metrics */
  readonly scopeName?: string;
  readonly scopeVersion?: string;
  /** bound on distinct label sets (Envoy has none; this keeps a runaway label from eating memory) */
  readonly maxSeries?: number;
}

export class IstioStats implements MetricProducer {
  readonly #series = new Map<string, IstioSeries>();
  readonly #scope: { name: string; version: string | undefined };
  readonly #maxSeries: number;
  /** label sets refused because maxSeries was reached */
  dropped = 0;

  constructor(options: IstioStatsOptions = {}) {
    this.#scope = { name: options.scopeName ?? '@inboard/telemetry', version: options.scopeVersion };
    this.#maxSeries = options.maxSeries ?? 100_000;
  }

  /** The series of a label set (created on first use); undefined when over maxSeries. */
  series(labels: IstioLabels): IstioSeries | undefined {
    const text = labelText(ISTIO_LABEL_NAMES, labels);
    let s = this.#series.get(text);
    if (s === undefined) {
      if (this.#series.size >= this.#maxSeries) {
        this.dropped++;
        return undefined;
      }
      s = new IstioSeries(labels, text, Date.now());
      this.#series.set(text, s);
    }
    return s;
  }

  /** Records one finished request on a series. */
  static record(s: IstioSeries, durationMs: number, requestBytes: number, responseBytes: number): void {
    s.requests++;
    s.duration.record(durationMs);
    s.requestBytes.record(requestBytes);
    s.responseBytes.record(responseBytes);
  }

  get size(): number {
    return this.#series.size;
  }

  all(): IterableIterator<IstioSeries> {
    return this.#series.values();
  }

  reset(): void {
    this.#series.clear();
    this.dropped = 0;
  }

  /** Istio's Prometheus exposition of every series. */
  prometheusText(): string {
    if (this.#series.size === 0) return '';
    const series = [...this.#series.values()];
    const out: string[] = [];
    out.push(`# HELP ${ISTIO_METRICS.requests} Total requests (Istio standard metric).`);
    out.push(`# TYPE ${ISTIO_METRICS.requests} counter`);
    for (const s of series) out.push(`${ISTIO_METRICS.requests}{${s.labelText}} ${s.requests}`);
    const hist = (name: string, help: string, cell: (s: IstioSeries) => HistogramCell) => {
      out.push(`# HELP ${name} ${help}`);
      out.push(`# TYPE ${name} histogram`);
      for (const s of series) {
        const c = cell(s);
        let cumulative = 0;
        for (let i = 0; i < BOUNDS.length; i++) {
          cumulative += c.counts[i]!;
          out.push(`${name}_bucket{${s.labelText},le="${formatNumber(BOUNDS[i]!)}"} ${cumulative}`);
        }
        out.push(`${name}_bucket{${s.labelText},le="+Inf"} ${c.count}`);
        out.push(`${name}_sum{${s.labelText}} ${formatNumber(c.sum)}`);
        out.push(`${name}_count{${s.labelText}} ${c.count}`);
      }
    };
    hist(ISTIO_METRICS.duration, 'Request duration in milliseconds (Istio standard metric).', (s) => s.duration);
    hist(ISTIO_METRICS.requestBytes, 'Request body size in bytes (Istio standard metric).', (s) => s.requestBytes);
    hist(ISTIO_METRICS.responseBytes, 'Response body size in bytes (Istio standard metric).', (s) => s.responseBytes);
    return `${out.join('\n')}\n`;
  }

  /**
   * OpenTelemetry MetricProducer: cumulative data points of every series. (A MetricReader takes
   * only the scope metrics of extra producers; the resource is its own SDK's.)
   */
  async collect(): Promise<CollectionResult> {
    const now = hrTime(Date.now());
    const series = [...this.#series.values()];
    const histogram = (name: string, description: string, unit: string, cell: (s: IstioSeries) => HistogramCell) => ({
      descriptor: { name, description, unit, valueType: ValueType.DOUBLE },
      aggregationTemporality: CUMULATIVE,
      dataPointType: DATA_POINT_HISTOGRAM,
      dataPoints: series.map((s) => cell(s).dataPoint(hrTime(s.startTime), now, s.labels)),
    });
    const metrics = [
      {
        descriptor: { name: ISTIO_METRICS.requests, description: 'Total requests', unit: '', valueType: ValueType.INT },
        aggregationTemporality: CUMULATIVE,
        dataPointType: DATA_POINT_SUM,
        isMonotonic: true,
        dataPoints: series.map((s) => ({
          startTime: hrTime(s.startTime),
          endTime: now,
          attributes: s.labels,
          value: s.requests,
        })),
      },
      histogram(ISTIO_METRICS.duration, 'Request duration', 'ms', (s) => s.duration),
      histogram(ISTIO_METRICS.requestBytes, 'Request body size', 'By', (s) => s.requestBytes),
      histogram(ISTIO_METRICS.responseBytes, 'Response body size', 'By', (s) => s.responseBytes),
    ];
    return {
      resourceMetrics: {
        resource: undefined,
        scopeMetrics: series.length === 0 ? [] : [{ scope: this.#scope, metrics }],
      },
      errors: [],
    } as unknown as CollectionResult;
  }
}
