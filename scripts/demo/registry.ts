// The Inboard Registry the demo writes once its services listen: every instance on 127.0.0.1
// with the port the OS gave it, labelled app/version like the pod of a Deployment.
export interface RegistryInstance {
  readonly service: string;
  readonly version: string;
  /** instance (workload) name, e.g. `reviews-v2` */
  readonly name: string;
  readonly port: number;
}

export function registryYaml(instances: readonly RegistryInstance[]): string {
  const services = [...new Set(instances.map((i) => i.service))];
  const lines = [
    '# Written by scripts/demo.ts: the bookinfo instances and the ports the OS gave them.',
    'apiVersion: inboard.dev/v1alpha1',
    'kind: Registry',
    'metadata:',
    '  name: bookinfo',
    '  namespace: default',
    'spec:',
    '  services:',
  ];
  for (const s of services) {
    lines.push(
      `  - name: ${s}`,
      '    ports: [{name: http, port: 9080, appProtocol: http}]',
      `    selector: {app: ${s}}`,
      '    endpoints:',
    );
    for (const i of instances.filter((x) => x.service === s)) {
      lines.push(
        `    - {address: 127.0.0.1, port: ${i.port}, labels: {app: ${s}, version: ${i.version}}, ` +
          `serviceAccount: bookinfo-${s}, workloadName: ${i.name}}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
