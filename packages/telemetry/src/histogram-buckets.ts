// Histogram boundaries. Istio sets none in its bootstrap, so Envoy's defaults apply to every
// istio_* histogram, milliseconds and bytes alike (HistogramSettingsImpl::defaultBuckets); the
// OpenTelemetry HTTP duration metrics use the semantic conventions' advice, in seconds.

export const ENVOY_DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
]);

export const HTTP_DURATION_BUCKETS_S: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/**
 * Index of the first boundary > value: Envoy's bucket for a value that lands exactly on a
 * boundary. Envoy's histograms (circllhist) keep a value in a bin [v, v + 1 significant step) and
 * count a bin under `le` only when the whole bin is at most `le`, so 5 ms is under le="10", not
 * le="5" (envoyproxy/envoy#36549). For the whole milliseconds and byte counts Istio records this is
 * exactly Envoy's export. boundaries.length for +Inf.
 */
export function envoyBucketIndex(boundaries: readonly number[], value: number): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value < boundaries[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Index of the first boundary ≥ value (Prometheus `le` semantics); boundaries.length for +Inf. */
export function bucketIndex(boundaries: readonly number[], value: number): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= boundaries[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
