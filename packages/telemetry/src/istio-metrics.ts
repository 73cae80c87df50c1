// Where Istio's standard metrics go: OpenTelemetry instruments on a Meter ('meter': the
// application's MeterProvider receives them), the in-process IstioStats ('native': cheap, served
// by the admin scrape and as a MetricProducer), or both. With an OTel SDK, a synchronous record
// costs the SDK an attribute-set hash per call (25 labels × 4 instruments per request), which
// 'native' avoids; see the README.
import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { ENVOY_DEFAULT_BUCKETS } from './histogram-buckets.ts';
import { ISTIO_METRICS } from './istio-labels.ts';
import { IstioStats } from './istio-stats.ts';
import type { LabelSet } from './outbound-labels.ts';

export type IstioMetricsMode = 'meter' | 'native' | 'both';

interface Instruments {
  readonly requests: Counter;
  readonly duration: Histogram;
  readonly requestBytes: Histogram;
  readonly responseBytes: Histogram;
}

export function istioInstruments(meter: Meter): Instruments {
  const advice = { explicitBucketBoundaries: [...ENVOY_DEFAULT_BUCKETS] };
  return {
    requests: meter.createCounter(ISTIO_METRICS.requests, { description: 'Total requests', valueType: ValueType.INT }),
    duration: meter.createHistogram(ISTIO_METRICS.duration, { description: 'Request duration', unit: 'ms', advice }),
    requestBytes: meter.createHistogram(ISTIO_METRICS.requestBytes, {
      description: 'Request body size',
      unit: 'By',
      advice,
    }),
    responseBytes: meter.createHistogram(ISTIO_METRICS.responseBytes, {
      description: 'Response body size',
      unit: 'By',
      advice,
    }),
  };
}

export class IstioRecorder {
  readonly stats: IstioStats | undefined;
  readonly #instruments: Instruments | undefined;

  constructor(mode: IstioMetricsMode, meter: Meter, stats?: IstioStats) {
    this.#instruments = mode === 'native' ? undefined : istioInstruments(meter);
    this.stats = mode === 'meter' ? undefined : (stats ?? new IstioStats());
  }

  /**
   * One finished request. Durations are whole milliseconds and sizes whole bytes, as Envoy's
   * histograms record them (istio_stats divides the duration into integer milliseconds).
   */
  record(set: LabelSet, durationMs: number, requestBytes: number, responseBytes: number): void {
    const ms = Math.floor(durationMs);
    const stats = this.stats;
    if (stats !== undefined) {
      const s = (set.series ??= stats.series(set.labels));
      if (s !== undefined) IstioStats.record(s, ms, requestBytes, responseBytes);
    }
    const i = this.#instruments;
    if (i !== undefined) {
      const a = set.labels;
      i.requests.add(1, a);
      i.duration.record(ms, a);
      i.requestBytes.record(requestBytes, a);
      i.responseBytes.record(responseBytes, a);
    }
  }
}
