import { AdsServer, Snapshot } from '@inboard/control-plane';
import { parseBootstrap, Xds } from '@inboard/xds';
import { packAny } from '@inboard/xds/codec';
import { Dispatcher } from 'undici';
import { OutboundMesh } from '../src/index.ts';

class Mock extends Dispatcher {
  dispatch(opts: any, handler: any) {
    setImmediate(() => {
      const c = { aborted: false, paused: false, reason: null, rawHeaders: [Buffer.from('content-length'), Buffer.from('2')], rawTrailers: null, abort() {}, pause() {}, resume() {} };
      handler.onRequestStart?.(c, null);
      handler.onResponseStart?.(c, 200, { 'content-length': '2' }, 'OK');
      handler.onResponseData?.(c, Buffer.from('ok'));
      handler.onResponseEnd?.(c, {});
    });
    return true;
  }
  async close() {}
  async destroy() {}
}
const NODE_ID = 'sidecar~127.0.0.1~bench-client.default~default.svc.cluster.local';
const hcm = packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
  rds: { route_config_name: 'r', config_source: { ads: {} } },
  http_filters: [
    { name: 'envoy.filters.http.fault', typed_config: packAny('envoy.extensions.filters.http.fault.v3.HTTPFault', {}) },
    { name: 'envoy.filters.http.router', typed_config: packAny('envoy.extensions.filters.http.router.v3.Router', {}) },
  ],
});
const C = 'c';
const server = new AdsServer();
server.cache.setSnapshot(NODE_ID, Snapshot.fromMessages({
  version: '1',
  listeners: [{ name: 'reviews:9080', api_listener: { api_listener: hcm } }],
  routes: [{ name: 'r', virtual_hosts: [{ name: 'v', domains: ['reviews:9080'], routes: [{ match: { prefix: '/' }, route: { cluster: C, timeout: { seconds: 0, nanos: 0 }, retry_policy: { num_retries: { value: 2 }, retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', host_selection_retry_max_attempts: 5 } } }] }] }],
  clusters: [{ name: C, type: 3, eds_cluster_config: { service_name: C, eds_config: { ads: {} } }, connect_timeout: { seconds: 10, nanos: 0 } }],
  endpoints: [{ cluster_name: C, endpoints: [{ lb_endpoints: [1, 2, 3].map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }] }],
}));
const port = await server.start();
const xds = new Xds({ bootstrap: parseBootstrap({ xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }], node: { id: NODE_ID } }, 'b') });
const mock = new Mock();
const mesh = new OutboundMesh({ xds, upstream: mock });
await mesh.ready('reviews:9080');
async function run(d: Dispatcher, origin: string, n: number) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) { const r = await d.request({ origin, path: '/x', method: 'GET' }); await r.body.text(); }
  return Number(process.hrtime.bigint() - t0) / n;
}
for (let k = 0; k < 3; k++) {
  globalThis.gc!(); console.log('heap MB', (process.memoryUsage().heapUsed / 1e6).toFixed(1));
  const a = process.argv.includes('--nomock') ? 0 : await run(mock, 'http://x', 100000);
  globalThis.gc!(); console.log('after mock heap MB', (process.memoryUsage().heapUsed / 1e6).toFixed(1));
  const b = process.argv.includes('--nomesh') ? 0 : await run(mesh.dispatcher, 'http://reviews:9080', 100000);
  console.log(`mock ${a.toFixed(0)} ns, mesh ${b.toFixed(0)} ns, added ${(b - a).toFixed(0)} ns`);
}
if (process.argv.includes('--heap')) {
  const { Session } = await import('node:inspector/promises'); const s = new Session(); s.connect();
  await s.post('HeapProfiler.enable'); await s.post('HeapProfiler.startSampling', { samplingInterval: 128, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  if (process.argv.includes('--heapmock')) await run(mock, 'http://x', 50000); else await run(mesh.dispatcher, 'http://reviews:9080', 50000);
  const { profile } = await s.post('HeapProfiler.stopSampling') as any;
  const agg = new Map<string, number>();
  const walk = (n: any) => { const cf = n.callFrame; const k = `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber}`; agg.set(k, (agg.get(k) ?? 0) + n.selfSize); for (const c of n.children) walk(c); };
  walk(profile.head);
  let total = 0; for (const v of agg.values()) total += v;
  console.log('bytes/req', (total / 50000).toFixed(0));
  for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log((v / 50000).toFixed(0).padStart(6), k);
}
if (process.argv.includes('--prof')) {
  const { Session } = await import('node:inspector/promises'); const s = new Session(); s.connect(); await s.post('Profiler.enable'); await s.post('Profiler.start');
  await run(mesh.dispatcher, 'http://reviews:9080', 200000);
  const { profile } = await s.post('Profiler.stop'); (await import('node:fs')).writeFileSync('/tmp/smoke/micro.cpuprofile', JSON.stringify(profile));
}
await mesh.close(); xds.close(); await server.stop({ graceMs: 10 }); process.exit(0);
