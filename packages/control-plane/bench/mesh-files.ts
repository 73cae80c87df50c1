// The benchmark mesh as real config files: a Registry of N services (two endpoints each, labelled
// v1 and v2) and, per service, one file with its VirtualService (a header match, then an 80/20
// split) and its DestinationRule (subsets v1 and v2) — the shape of the budget.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NAMESPACE = 'default';
export const PORT = 8080;

export const serviceName = (i: number): string => `svc-${String(i).padStart(4, '0')}`;

/** The file holding service i's VirtualService and DestinationRule. */
export const serviceFile = (dir: string, i: number): string => join(dir, 'istio', `${serviceName(i)}.yaml`);

const ip = (a: number, i: number) => `10.${a}.${i >> 8}.${i & 255}`;

export function registryYaml(n: number): string {
  const lines = [
    'apiVersion: inboard.dev/v1alpha1',
    'kind: Registry',
    'metadata:',
    '  name: bench',
    `  namespace: ${NAMESPACE}`,
    'spec:',
    '  services:',
  ];
  for (let i = 0; i < n; i++) {
    const name = serviceName(i);
    lines.push(
      `  - name: ${name}`,
      '    ports:',
      `    - {name: http, port: ${PORT}, appProtocol: http}`,
      `    selector: {app: ${name}}`,
      `    clusterIP: ${ip(96, i)}`,
      '    endpoints:',
      `    - {address: ${ip(1, i)}, port: ${PORT}, labels: {app: ${name}, version: v1}}`,
      `    - {address: ${ip(2, i)}, port: ${PORT}, labels: {app: ${name}, version: v2}}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function serviceYaml(i: number, split: readonly [number, number] = [80, 20]): string {
  const name = serviceName(i);
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
  namespace: ${NAMESPACE}
spec:
  hosts: [${name}]
  http:
  - match:
    - headers:
        end-user: {exact: jason}
    route:
    - destination: {host: ${name}, subset: v2}
  - route:
    - destination: {host: ${name}, subset: v1}
      weight: ${split[0]}
    - destination: {host: ${name}, subset: v2}
      weight: ${split[1]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ${name}
  namespace: ${NAMESPACE}
spec:
  host: ${name}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;
}

/** Writes the registry and one file per service under `dir`; returns the paths to load. */
export function writeMesh(dir: string, n: number): string[] {
  const istio = join(dir, 'istio');
  mkdirSync(istio, { recursive: true });
  writeFileSync(join(dir, 'registry.yaml'), registryYaml(n));
  for (let i = 0; i < n; i++) writeFileSync(serviceFile(dir, i), serviceYaml(i));
  return [istio, join(dir, 'registry.yaml')];
}
