// The telemetry each service of the example installs for its own side of the mesh: an
// OpenTelemetry NodeSDK started by startMeshSdk (@inboard/telemetry/sdk), with
//   - spans printed to the console as each one ends (ConsoleSpanExporter through a
//     SimpleSpanProcessor); the mesh records its CLIENT and SERVER spans natively into the same
//     processor, with the same Resource as the application's own spans;
//   - every trace kept (Istio samples 1% by default: fine in production, empty in a demo);
//   - Istio's standard metrics and the HTTP duration metrics on a Prometheus scrape URL, on a port
//     the OS picks (METRICS_PORT to choose one);
//   - NodeSDK's AsyncLocalStorage context manager, which makes the mesh's SERVER span the active
//     span in Express handlers (so spans started there, and mesh.fetch calls, join the caller's trace).
import { type MeshSdk, startMeshSdk } from '@inboard/telemetry/sdk';
import {
  AlwaysOnSampler,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { Inboard } from 'inboard';

export async function startTelemetry(mesh: Inboard): Promise<MeshSdk> {
  const otel = await startMeshSdk({
    mesh: mesh.outbound,
    spanProcessors: [new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() })],
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    prometheus: { port: Number(process.env['METRICS_PORT'] ?? 0), host: '127.0.0.1' },
    // the Resource is the workload the xDS node names; no host/os/process attributes, which
    // would make every span printed below three times longer
    resourceDetectors: [],
  });
  process.stdout.write(`metrics ${otel.metricsServer?.url}\n`);
  return otel;
}
