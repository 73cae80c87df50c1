// The load generator shared by the package benchmarks: a closed loop of `concurrency` workers
// sending `total` GET requests through a dispatcher, and the IPC protocol that lets a benchmark
// run each client in its own process (so the clients do not share JIT state or GC).
import { PerformanceObserver } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';

// Garbage collection pauses of this process, summed (µs) as they are reported.
let gcUs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcUs += e.duration * 1000;
}).observe({ entryTypes: ['gc'] });

export interface LoadCommand {
  readonly total: number;
  readonly concurrency: number;
  /** which of the process's dispatchers to load, when it has several */
  readonly target?: string;
}

export interface LoadResult {
  readonly ms: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** client CPU per request, µs */
  readonly cpuUs: number;
  readonly userUs: number;
  readonly sysUs: number;
  /** garbage collection pauses per request, µs */
  readonly gcUs: number;
}

export async function closedLoop(
  dispatcher: Dispatcher,
  origin: string,
  path: string,
  { total, concurrency }: LoadCommand,
): Promise<LoadResult> {
  const lat = new Float64Array(total);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const t0 = performance.now();
      const r = await dispatcher.request({ origin, path, method: 'GET' });
      await r.body.text();
      lat[i] = performance.now() - t0;
      if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
    }
  };
  const cpu0 = process.cpuUsage();
  const gc0 = gcUs;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // GC entries are delivered asynchronously: let the last ones of the run arrive
  await new Promise((resolve) => setImmediate(resolve));
  const gc = gcUs - gc0;
  lat.sort();
  return {
    ms,
    p50Us: lat[Math.floor(total * 0.5)]! * 1000,
    p99Us: lat[Math.min(total - 1, Math.floor(total * 0.99))]! * 1000,
    cpuUs: (cpu.user + cpu.system) / total,
    userUs: cpu.user / total,
    sysUs: cpu.system / total,
    gcUs: gc / total,
  };
}

/** Serves load commands from the parent over IPC until it says 'exit'; announces 'ready'. */
export function serveLoadCommands(run: (cmd: LoadCommand) => Promise<unknown>, close: () => Promise<void>): void {
  process.on('message', (m: LoadCommand | 'exit') => {
    if (m === 'exit') {
      close().then(() => process.exit(0));
      return;
    }
    run(m).then(
      (r) => process.send!(r),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
  process.send!('ready');
}
