// One explicit-bucket histogram aggregated in-process (per-bucket counts, sum, count, min, max),
// and what an OpenTelemetry MetricProducer needs to hand it to an SDK MetricReader.
import type { Attributes } from '@opentelemetry/api';
import { bucketIndex } from './histogram-buckets.ts';

// sdk-metrics enum values (DataPointType, AggregationTemporality): fixed by the OTLP data model.
export const DATA_POINT_HISTOGRAM = 0;
export const DATA_POINT_SUM = 3;
export const CUMULATIVE = 1;

export type HrTime = [number, number];

export function hrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

export class HistogramCell {
  readonly bounds: readonly number[];
  /** per bucket; the last one is +Inf */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  record(v: number): void {
    this.counts[bucketIndex(this.bounds, v)]!++;
    this.sum += v;
    this.count++;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** A cumulative OTel histogram data point of this cell. */
  dataPoint(startTime: HrTime, endTime: HrTime, attributes: Attributes) {
    return {
      startTime,
      endTime,
      attributes,
      value: {
        buckets: { boundaries: [...this.bounds], counts: [...this.counts] },
        sum: this.sum,
        count: this.count,
        min: this.count > 0 ? this.min : undefined,
        max: this.count > 0 ? this.max : undefined,
      },
    };
  }
}
