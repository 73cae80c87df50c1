// The ADS server the telemetry benchmarks' parents run: bench-mesh.ts's resources for reviews:9080
// with one endpoint per upstream port, served to the benchmark node. (Parent side only: the
// clients never load the control plane.)
import { AdsServer, Snapshot } from '@inboard/control-plane';
import { benchResources, NODE_ID } from './bench-mesh.ts';

export async function serveBenchResources(ports: readonly number[]): Promise<{ server: AdsServer; adsPort: number }> {
  const server = new AdsServer();
  server.cache.setSnapshot(NODE_ID, Snapshot.fromMessages(benchResources(ports)));
  return { server, adsPort: await server.start() };
}
