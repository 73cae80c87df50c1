// The benchmarks' upstream: node:http keep-alive servers in a process of their own, so that a
// benchmark compares client sides only. Listens on N loopback ports (argv[2], default 1),
// reports them over IPC as { ports }, and exits when the parent goes away.
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

const count = Number(process.argv[2] ?? 1);
const ports: number[] = [];
for (let i = 0; i < count; i++) {
  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  ports.push((server.address() as AddressInfo).port);
}
process.send?.({ ports });
process.on('disconnect', () => process.exit(0));
