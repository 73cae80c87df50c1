// Listens with an Express app on PORT (default 9080; 0: the OS picks) and HOST, prints where, and
// on SIGINT / SIGTERM stops cleanly: the server, then the telemetry (which prints the spans still
// buffered) and the mesh's xDS stream.
import type { AddressInfo } from 'node:net';
import type { MeshSdk } from '@inboard/telemetry/sdk';
import type { Express } from 'express';
import type { Inboard } from 'inboard';

export async function serve(name: string, app: Express, mesh: Inboard, otel: MeshSdk): Promise<void> {
  const server = app.listen(Number(process.env['PORT'] ?? 9080), process.env['HOST'] ?? '0.0.0.0');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { address, port } = server.address() as AddressInfo;
  process.stdout.write(`${name} listening on http://${address}:${port} (node ${mesh.nodeId})\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    void Promise.allSettled([otel.shutdown(), mesh.close()]).finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
