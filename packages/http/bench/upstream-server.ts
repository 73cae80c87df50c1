// The benchmark's upstream: one node:http keep-alive server process listening on three ports
// (the three endpoints of the benchmark cluster). It runs in its own process so that what the
// benchmark compares is the client side: raw undici against the mesh dispatcher. It reports its
// ports over IPC and exits when the parent goes away.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

function handle(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
}

const ports: number[] = [];
for (let i = 0; i < 3; i++) {
  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  ports.push((server.address() as AddressInfo).port);
}
process.send?.({ ports });
process.on('disconnect', () => process.exit(0));
