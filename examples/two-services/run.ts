// `npm run example:telemetry`: two services on the embedded control plane, each with its own
// telemetry. Starts `inboard control-plane` (watching a temporary directory that holds the
// registry), `reviews` (Express behind mesh.express()) and `productpage` (calls reviews with
// mesh.fetch), all on ports the OS picks on 127.0.0.1; loads the page a few times; then shows
// both scrape URLs, the istio_requests_total lines each side reports, and the trace the spans
// the two processes printed make up. Every child's output is shown, prefixed with its name.
//
//   node examples/two-services/run.ts [--ci]
//     --ci   stop everything after the report; the last line is
//            RESULT {"source_requests":N,"destination_requests":N,"spans_client":N,"spans_server":N,"one_trace":bool}
//     (without --ci everything keeps running until Ctrl-C)
//
// Every process and port is released at the end, on failure and on Ctrl-C.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Child, stopAndCheck } from '../../scripts/demo/processes.ts';
import { ConsoleSpans, type PrintedSpan } from './console-spans.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));
const CLI = join(ROOT, 'packages', 'inboard', 'src', 'cli.ts');
const STARTUP_TIMEOUT_MS = 30_000;
/** how long the report waits for the spans of the last request to be printed */
const SPANS_TIMEOUT_MS = 10_000;
const REQUESTS = 3;

const { values: flags } = parseArgs({ options: { ci: { type: 'boolean', default: false } } });

const say = (line = '') => process.stdout.write(`${line}\n`);

// ------------------------------------------------------------------ the processes

interface Service {
  readonly name: 'reviews' | 'productpage';
  readonly child: Child;
  readonly spans: ConsoleSpans;
  port?: number;
  metricsUrl?: string;
}

const children: Child[] = [];
const ports: number[] = [];
const spanWaiters = new Set<() => void>();
let tmp: string | undefined;

/** Starts a child (on this Node, against the package sources; see scripts/demo/processes.ts). */
function start(name: string, script: string, args: readonly string[], env?: Record<string, string>): Child {
  const child = new Child({ name, script, args, env, cwd: ROOT });
  children.push(child);
  return child;
}

/** Shows a child's output, every line prefixed with its name; `onStdout` also gets its stdout lines. */
function showOutput(child: Child, onStdout?: (line: string) => void): void {
  for (const stream of [child.process.stdout!, child.process.stderr!]) {
    const onLine = stream === child.process.stdout ? onStdout : undefined;
    let pending = '';
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        say(`${child.name.padEnd(13)} | ${line}`);
        onLine?.(line);
      }
    });
  }
}

function startService(name: Service['name'], cpAddress: string): Service {
  const child = start(name, join(HERE, `${name}.ts`), [], {
    INBOARD_CONTROL_PLANE: cpAddress,
    INBOARD_NAME: `${name}-v1`,
    PORT: '0',
    HOST: '127.0.0.1',
  });
  const spans = new ConsoleSpans();
  showOutput(child, (line) => {
    if (spans.line(line) !== undefined) for (const w of spanWaiters) w();
  });
  return { name, child, spans };
}

async function listening(s: Service): Promise<void> {
  const metrics = await s.child.waitForLine(/^metrics (http:\/\/[\d.]+:(\d+)\/metrics)/, STARTUP_TIMEOUT_MS);
  const server = await s.child.waitForLine(/ listening on http:\/\/[\d.]+:(\d+)/, STARTUP_TIMEOUT_MS);
  s.metricsUrl = metrics[1]!;
  s.port = Number(server[1]);
  ports.push(Number(metrics[2]), s.port);
}

/** The Inboard Registry: where the services run (their endpoints once they listen). */
function registryYaml(services: readonly { readonly name: string; readonly port?: number | undefined }[]): string {
  const lines = [
    '# Written by examples/two-services/run.ts: where the services run.',
    'apiVersion: inboard.dev/v1alpha1',
    'kind: Registry',
    'metadata: {name: two-services, namespace: default}',
    'spec:',
    '  services:',
  ];
  for (const s of services) {
    lines.push(
      `  - name: ${s.name}`,
      '    ports: [{name: http, port: 9080, appProtocol: http}]',
      `    selector: {app: ${s.name}}`,
      s.port === undefined
        ? '    endpoints: []'
        : `    endpoints: [{address: 127.0.0.1, port: ${s.port}, labels: {app: ${s.name}, version: v1}, ` +
            `serviceAccount: ${s.name}, workloadName: ${s.name}-v1}]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

let cleaning: Promise<{ alive: number[]; listening: number[] }> | undefined;
/** Stops every child (their telemetry prints what it still holds), checks processes and ports are gone. */
function cleanup(): Promise<{ alive: number[]; listening: number[] }> {
  cleaning ??= stopAndCheck(children, ports).finally(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });
  return cleaning;
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    say(`\n${sig}: stopping every process...`);
    void cleanup().then((c) => {
      say(`CLEANUP ${JSON.stringify({ pids: children.map((x) => x.pid), ports, ...c })}`);
      process.exit(130);
    });
  });
}

// ------------------------------------------------------------------ the report

/** Resolves once `done()` holds after a span was printed, or after `timeoutMs` (false). */
function spansPrinted(done: () => boolean, timeoutMs: number): Promise<boolean> {
  if (done()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      spanWaiters.delete(check);
      resolve(ok);
    };
    const check = () => {
      if (done()) finish(true);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    spanWaiters.add(check);
  });
}

interface Scrape {
  /** the istio_requests_total series of this reporter */
  readonly lines: string[];
  /** their sum */
  readonly total: number;
}

async function scrape(url: string, reporter: 'source' | 'destination'): Promise<Scrape> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
  const lines = text
    .split('\n')
    .filter((l) => l.startsWith('istio_requests_total{') && l.includes(`reporter="${reporter}"`));
  const total = lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return { lines, total };
}

/** Each SERVER span of reviews has a CLIENT span of productpage as its parent, in the same trace. */
function oneTrace(client: readonly PrintedSpan[], server: readonly PrintedSpan[]): boolean {
  const servers = server.filter((s) => s.kind === 'SERVER');
  return (
    servers.length > 0 &&
    servers.every((s) =>
      client.some((c) => c.kind === 'CLIENT' && c.spanId === s.parentSpanId && c.traceId === s.traceId),
    )
  );
}

/** One trace as a tree: `productpage SERVER GET /productpage` → ... → `reviews INTERNAL load reviews`. */
function traceTree(traceId: string, services: readonly Service[]): string[] {
  const spans = services.flatMap((s) =>
    s.spans.spans.filter((x) => x.traceId === traceId).map((span) => ({ service: s.name, span })),
  );
  const out: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const { service, span } of spans.filter((x) => x.span.parentSpanId === parent)) {
      out.push(`    ${'  '.repeat(depth)}${service} ${span.kind} "${span.name}" (span ${span.spanId})`);
      walk(span.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return out;
}

// ------------------------------------------------------------------ the run

async function main(): Promise<boolean> {
  tmp = mkdtempSync(join(tmpdir(), 'inboard-two-services-'));
  const registry = join(tmp, 'registry.yaml');

  const cp = start('control-plane', CLI, ['control-plane', '--config', tmp, '--port', '0', '--host', '127.0.0.1']);
  showOutput(cp);
  // The services, with no endpoints until they listen. Files are written in place (not renamed
  // over), which the directory watch always sees.
  writeFileSync(registry, registryYaml([{ name: 'productpage' }, { name: 'reviews' }]));
  const m = await cp.waitForLine(/listening on ([\d.]+):(\d+)/, STARTUP_TIMEOUT_MS);
  const cpAddress = `${m[1]}:${m[2]}`;
  ports.push(Number(m[2]));

  const reviews = startService('reviews', cpAddress);
  const productpage = startService('productpage', cpAddress);
  const services = [productpage, reviews];
  await Promise.all(services.map(listening));
  // Now that they listen, the registry says where. The services subscribe to what they need on
  // their first request, so the first page load already sees both.
  writeFileSync(registry, registryYaml(services));
  await cp.waitForLine(/^config reloaded \(version/, STARTUP_TIMEOUT_MS);
  say(`PROCESSES ${JSON.stringify({ pids: children.map((c) => c.pid), ports })}`);

  const page = `http://127.0.0.1:${productpage.port}/productpage`;
  for (let i = 1; i <= REQUESTS; i++) {
    const res = await fetch(page, { signal: AbortSignal.timeout(15_000) });
    const body = (await res.json()) as { traceId?: string; reviews?: { traceId?: string } };
    say(`GET ${page} → ${res.status}: trace ${body.traceId}, reviews answered in trace ${body.reviews?.traceId}`);
  }

  // Each request prints, as each span ends, a SERVER span in productpage and in reviews and two
  // CLIENT spans (the request, its attempt) in productpage: wait until all of them are out.
  const printed = await spansPrinted(
    () =>
      reviews.spans.count('SERVER') >= REQUESTS &&
      productpage.spans.count('SERVER') >= REQUESTS &&
      productpage.spans.count('CLIENT') >= 2 * REQUESTS,
    SPANS_TIMEOUT_MS,
  );
  const source = await scrape(productpage.metricsUrl!, 'source');
  const destination = await scrape(reviews.metricsUrl!, 'destination');

  say();
  say('=== Metrics: istio_requests_total');
  say(`productpage ${productpage.metricsUrl}  (reporter="source": the calls it made)`);
  for (const l of source.lines) say(`  ${l}`);
  say(`reviews     ${reviews.metricsUrl}  (reporter="destination": the requests it served)`);
  for (const l of destination.lines) say(`  ${l}`);
  say();
  say('=== Traces: the spans both processes printed above');
  if (!printed) say('  (not every span was printed in time)');
  const last = productpage.spans.spans.findLast((s) => s.kind === 'SERVER');
  if (last !== undefined) {
    say(`  the last page load, trace ${last.traceId}:`);
    for (const l of traceTree(last.traceId, services)) say(l);
  }
  const one = oneTrace(productpage.spans.spans, reviews.spans.spans);
  say(
    one
      ? "  every reviews SERVER span is the child of a productpage CLIENT span, in the caller's trace"
      : '  the spans of reviews are NOT in the traces of productpage',
  );

  if (!flags.ci) {
    say();
    say('Running — press Ctrl-C to stop');
    say(`  page      ${page}`);
    say(`  metrics   ${productpage.metricsUrl}   (productpage)`);
    say(`            ${reviews.metricsUrl}   (reviews)`);
    say(`  registry  ${registry}`);
    await new Promise<never>(() => {}); // until SIGINT
  }

  const c = await cleanup();
  const clean = c.alive.length === 0 && c.listening.length === 0;
  say(
    clean
      ? `stopped ${children.length} processes; every port is closed`
      : `left behind: pids ${c.alive.join(', ') || '-'}, ports ${c.listening.join(', ') || '-'}`,
  );
  say(`CLEANUP ${JSON.stringify({ pids: children.map((x) => x.pid), ports, ...c })}`);
  // counted once every child has ended: nothing it printed is still on its way
  const result = {
    source_requests: source.total,
    destination_requests: destination.total,
    spans_client: productpage.spans.count('CLIENT'),
    spans_server: reviews.spans.count('SERVER'),
    one_trace: oneTrace(productpage.spans.spans, reviews.spans.spans),
  };
  say(`RESULT ${JSON.stringify(result)}`);
  return (
    clean &&
    result.one_trace &&
    result.source_requests === REQUESTS &&
    result.destination_requests === REQUESTS &&
    result.spans_server === REQUESTS &&
    result.spans_client === 2 * REQUESTS
  );
}

try {
  process.exitCode = (await main()) ? 0 : 1;
} catch (err) {
  say(`example failed: ${err instanceof Error ? err.message : String(err)}`);
  const c = await cleanup();
  say(`CLEANUP ${JSON.stringify({ pids: children.map((x) => x.pid), ports, ...c })}`);
  process.exitCode = 1;
}
