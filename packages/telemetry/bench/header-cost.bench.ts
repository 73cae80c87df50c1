// What undici costs for the request headers telemetry adds: Istio's metadata exchange
// (x-envoy-peer-metadata-id, x-envoy-peer-metadata) and a W3C traceparent. Side by side in one
// process: building undici's own Request (core/request.js, where every header name not in its
// table is checked and every value matched against a regular expression) for a GET with only a
// host header, and with the three more, as the mesh hands them to an endpoint's pool. The values
// are the telemetry benchmark's. The last line is `RESULT {...}`.
//
//   npm run bench:headers -w @inboard/telemetry
import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';
import { peerMetadataHeaders } from '../src/peer-metadata.ts';

const require = createRequire(import.meta.url);
// undici's internal Request: what Client.dispatch builds for every request
const Request = require('undici/lib/core/request.js') as new (
  origin: string,
  opts: Dispatcher.DispatchOptions,
  handler: Dispatcher.DispatchHandler,
) => object;

const mx = peerMetadataHeaders({
  id: 'sidecar~127.0.0.1~productpage-v1-bench.default~default.svc.cluster.local',
  metadata: {
    GENERATOR: 'grpc',
    NAMESPACE: 'default',
    WORKLOAD_NAME: 'productpage-v1',
    LABELS: { app: 'productpage', version: 'v1' },
  },
} as never);
if (mx === undefined) throw new Error('no metadata to exchange');
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const handler: Dispatcher.DispatchHandler = {
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError() {},
};
const plain = () => ({ host: 'reviews:9080' });
const withTelemetry = () => ({
  host: 'reviews:9080',
  'x-envoy-peer-metadata-id': mx.id,
  'x-envoy-peer-metadata': mx.metadata,
  traceparent: TRACEPARENT,
});

const N = process.argv.includes('--quick') ? 200_000 : 1_000_000;
const ROUNDS = 7;
const keep: object[] = new Array(256);
function measure(headers: () => Record<string, string>): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++)
    keep[i & 255] = new Request(
      'http://127.0.0.1:1',
      { path: '/reviews/1', method: 'GET', headers: headers() },
      handler,
    );
  return Number(process.hrtime.bigint() - t0) / N;
}

const a: number[] = [];
const b: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  if (r % 2 === 0) {
    a.push(measure(plain));
    b.push(measure(withTelemetry));
  } else {
    b.push(measure(withTelemetry));
    a.push(measure(plain));
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const chars = mx.id.length + mx.metadata.length + TRACEPARENT.length;
console.log(`\nundici Request for a GET, ${N} per round, ${ROUNDS} rounds, medians\n`);
console.log('| headers | ns per request |');
console.log('|---|---:|');
console.log(`| host | ${median(a).toFixed(0)} |`);
console.log(`| host + metadata exchange (2) + traceparent (${chars} value characters) | ${median(b).toFixed(0)} |`);
const result = {
  request_ns: Math.round(median(a)),
  request_with_telemetry_headers_ns: Math.round(median(b)),
  added_ns: Math.round(median(b) - median(a)),
  header_value_chars: chars,
};
console.log(`\nRESULT ${JSON.stringify(result)}`);
