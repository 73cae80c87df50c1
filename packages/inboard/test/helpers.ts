// What the inboard tests share: the embedded control plane in-process (Istio YAML written to a
// temporary directory, loaded by ConfigStore, translated and served over a real AdsServer), and
// small loopback HTTP servers.

import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdsServer,
  ConfigStore,
  createIstioSnapshotGenerator,
  formatProblem,
  type MeshConfigSnapshot,
} from '@inboard/control-plane';

export class TestControlPlane {
  readonly dir = mkdtempSync(join(tmpdir(), 'inboard-test-'));
  readonly #store = new ConfigStore({ cwd: this.dir });
  #config: MeshConfigSnapshot | undefined;
  readonly #generator = createIstioSnapshotGenerator(() => {
    if (this.#config === undefined) throw new Error('no config');
    return this.#config;
  });
  readonly server = new AdsServer({
    cache: this.#generator.createCache(),
    authenticate: this.#generator.authenticate(),
  });
  port = 0;

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Writes the files, loads the directory and pushes the result to every connected node. */
  async apply(files: Record<string, string>): Promise<void> {
    for (const [name, text] of Object.entries(files)) {
      if (text === '') rmSync(join(this.dir, name), { force: true });
      else writeFileSync(join(this.dir, name), text);
    }
    const result = await this.#store.load([this.dir]);
    if (result.problems.length > 0) throw new Error(result.problems.map(formatProblem).join('\n'));
    this.#config = result.snapshot;
    this.#generator.refresh();
  }

  async start(files: Record<string, string>): Promise<this> {
    await this.apply(files);
    this.port = await this.server.start({ host: '127.0.0.1', port: 0 });
    return this;
  }

  async stop(): Promise<void> {
    await this.server.stop({ graceMs: 100 });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The versioned reviews of the routing tests: `reviews` with endpoints on the v1 and v2 ports and a
 * service per version, `reviews-v1`, `reviews-v2`… (`ports[i]` is version i + 1).
 */
export function reviewsByVersion(ports: readonly number[]): Parameters<typeof registry>[0] {
  return [
    { name: 'reviews', endpoints: ports.slice(0, 2).map((port, i) => ({ port, version: `v${i + 1}` })) },
    ...ports.map((port, i) => ({ name: `reviews-v${i + 1}`, endpoints: [{ port, version: `v${i + 1}` }] })),
  ];
}

/** An Inboard Registry with one service whose endpoints are loopback ports. */
export function registry(
  services: readonly {
    name: string;
    targetPort?: number;
    endpoints: readonly { port: number; version: string }[];
  }[],
): string {
  const lines = [
    'apiVersion: inboard.dev/v1alpha1',
    'kind: Registry',
    'metadata: {name: test, namespace: default}',
    'spec:',
    '  services:',
  ];
  for (const s of services) {
    const target = s.targetPort === undefined ? '' : `, targetPort: ${s.targetPort}`;
    lines.push(
      `  - name: ${s.name}`,
      `    ports: [{name: http, port: 9080${target}}]`,
      `    selector: {app: ${s.name}}`,
      '    endpoints:',
    );
    for (const e of s.endpoints) {
      lines.push(`    - {address: 127.0.0.1, port: ${e.port}, labels: {app: ${s.name}, version: ${e.version}}}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A node:http server on 127.0.0.1, port chosen by the OS. */
export async function listen(handler: Handler): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An upstream that answers `<name> <method> <url>` and records what it saw. */
export async function upstream(name: string) {
  const seen: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
  const s = await listen((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const body = `${name} ${req.method} ${req.url}`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return { ...s, seen };
}

export { snapshotWhere } from '../../../test/support/snapshots.ts';

export const GATEWAY = (name: string, port: number, hosts: readonly string[], protocol = 'HTTP') => `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: ${port}, name: http-${port}, protocol: ${protocol}}
    hosts: [${hosts.map((h) => JSON.stringify(h)).join(', ')}]
`;
