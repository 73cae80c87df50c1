// The OpenTelemetry HTTP duration metrics (http.client.request.duration,
// http.server.request.duration) aggregated in-process, like IstioStats does for Istio's: recording
// finds the series by the identity of the (cached, frozen) attribute object and bumps a bucket,
// instead of the SDK hashing the attributes on every call. Exported as an OpenTelemetry
// MetricProducer: give it to the MetricReader (`metricProducers: [httpStats]`).
import { type Attributes, ValueType } from '@opentelemetry/api';
import type { CollectionResult, MetricProducer } from '@opentelemetry/sdk-metrics';
import { HTTP_DURATION_BUCKETS_S } from './histogram-buckets.ts';
import { CUMULATIVE, DATA_POINT_HISTOGRAM, HistogramCell, hrTime } from './histogram-cell.ts';
import { TELEMETRY_SCOPE, TELEMETRY_VERSION } from './version.ts';

export const HTTP_CLIENT_REQUEST_DURATION = 'http.client.request.duration';
export const HTTP_SERVER_REQUEST_DURATION = 'http.server.request.duration';
export const HTTP_CLIENT_DESCRIPTION = 'Duration of HTTP client requests.';
export const HTTP_SERVER_DESCRIPTION = 'Duration of HTTP server requests.';

interface Series {
  readonly attributes: Attributes;
  readonly startTime: number;
  readonly cell: HistogramCell;
}

/** Series by attribute content; found by attribute object identity on the hot path. */
class SeriesSet {
  readonly #byObject = new Map<Attributes, Series>();
  readonly #byContent = new Map<string, Series>();
  readonly #max: number;
  dropped = 0;

  constructor(max: number) {
    this.#max = max;
  }

  cell(attributes: Attributes): HistogramCell | undefined {
    let s = this.#byObject.get(attributes);
    if (s === undefined) {
      const key = JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      s = this.#byContent.get(key);
      if (s === undefined) {
        if (this.#byContent.size >= this.#max) {
          this.dropped++;
          return undefined;
        }
        s = { attributes, startTime: Date.now(), cell: new HistogramCell(HTTP_DURATION_BUCKETS_S) };
        this.#byContent.set(key, s);
      }
      // attribute objects are cached by the recorder; if its cache churns, forget old identities
      if (this.#byObject.size >= 2 * this.#max) this.#byObject.clear();
      this.#byObject.set(attributes, s);
    }
    return s.cell;
  }

  all(): Series[] {
    return [...this.#byContent.values()];
  }

  clear(): void {
    this.#byObject.clear();
    this.#byContent.clear();
    this.dropped = 0;
  }
}

export interface HttpStatsOptions {
  /** instrumentation scope of the produced OTel metrics */
  readonly scopeName?: string;
  readonly scopeVersion?: string;
  /** bound on distinct attribute sets per metric */
  readonly maxSeries?: number;
}

export class HttpStats implements MetricProducer {
  readonly #client: SeriesSet;
  readonly #server: SeriesSet;
  readonly #scope: { name: string; version: string | undefined };

  constructor(options: HttpStatsOptions = {}) {
    const max = options.maxSeries ?? 10_000;
    this.#client = new SeriesSet(max);
    this.#server = new SeriesSet(max);
    // the scope installMeshTelemetry's meter has, so 'native' and 'meter' export the same series
    this.#scope = { name: options.scopeName ?? TELEMETRY_SCOPE, version: options.scopeVersion ?? TELEMETRY_VERSION };
  }

  /** One client request's duration in seconds; `attributes` should be a reused object. */
  recordClient(attributes: Attributes, seconds: number): void {
    this.#client.cell(attributes)?.record(seconds);
  }

  recordServer(attributes: Attributes, seconds: number): void {
    this.#server.cell(attributes)?.record(seconds);
  }

  /** attribute sets refused because maxSeries was reached */
  get dropped(): number {
    return this.#client.dropped + this.#server.dropped;
  }

  reset(): void {
    this.#client.clear();
    this.#server.clear();
  }

  async collect(): Promise<CollectionResult> {
    const now = hrTime(Date.now());
    const metric = (name: string, description: string, set: SeriesSet) => {
      const series = set.all();
      return series.length === 0
        ? undefined
        : {
            descriptor: { name, description, unit: 's', valueType: ValueType.DOUBLE },
            aggregationTemporality: CUMULATIVE,
            dataPointType: DATA_POINT_HISTOGRAM,
            dataPoints: series.map((s) => s.cell.dataPoint(hrTime(s.startTime), now, s.attributes)),
          };
    };
    const metrics = [
      metric(HTTP_CLIENT_REQUEST_DURATION, HTTP_CLIENT_DESCRIPTION, this.#client),
      metric(HTTP_SERVER_REQUEST_DURATION, HTTP_SERVER_DESCRIPTION, this.#server),
    ].filter((m) => m !== undefined);
    return {
      resourceMetrics: {
        resource: undefined,
        scopeMetrics: metrics.length === 0 ? [] : [{ scope: this.#scope, metrics }],
      },
      errors: [],
    } as unknown as CollectionResult;
  }
}
