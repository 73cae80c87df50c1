// `npm run demo`: bookinfo on Inboard. Starts the embedded control plane (`inboard
// control-plane`, watching a temporary copy of examples/bookinfo/config), the bookinfo services
// (each its own process and node identity, embedding Inboard) and the ingress gateway (`inboard
// gateway`), all on ports the OS picks on 127.0.0.1. Then it walks through the scenarios of
// examples/bookinfo/scenarios, switching them live by editing the watched YAML, and shows per
// scenario what was expected and what users got. Every process and port is released at the end,
// on failure and on Ctrl-C.
//
//   node scripts/demo.ts [--ci] [--serve] [--verbose]
//     --ci       fewer requests (also INBOARD_DEMO_FAST=1): the whole tour in well under a minute
//     --serve    keep everything running after the tour (Ctrl-C stops)
//     --verbose  show the output of every process on failure and at the end
//
// The last line is `RESULT {"scenarios_passed":N,"scenarios_total":M}`; the exit code is 0 only
// when every scenario passed.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigDir, readObjects, readObjectsOfDir } from './demo/config-dir.ts';
import { Child, stopAndCheck } from './demo/processes.ts';
import { type RegistryInstance, registryYaml } from './demo/registry.ts';
import { type Check, renderTable } from './demo/report.ts';
import { type InstanceStats, type MeshView, SCENARIOS, type Sizes, type TourContext } from './demo/scenarios.ts';
import { GatewayClient, reviewsOf } from './demo/traffic.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BOOKINFO = join(ROOT, 'examples', 'bookinfo');
const CLI = join(ROOT, 'packages', 'inboard', 'src', 'cli.ts');
const STARTUP_TIMEOUT_MS = 30_000;
const PUSH_TIMEOUT_MS = 15_000;

const { values: flags } = parseArgs({
  options: {
    ci: { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});
const fast = flags.ci || process.env['INBOARD_DEMO_FAST'] === '1';
const sizes: Sizes = fast
  ? { split: 200, small: 12, delayed: 3, flaky: 24, concurrency: 8 }
  : { split: 1000, small: 40, delayed: 8, flaky: 60, concurrency: 16 };

const tty = process.stdout.isTTY === true;
// Once interrupted, the tour's remaining output (requests failing as processes stop) is noise.
let muted = false;
const say = (line = '') => process.stdout.write(`${line}\n`);
const out = (line = '') => {
  if (!muted) say(line);
};
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s: string) => (tty ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string) => (tty ? `\x1b[31m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
function progress(text: string): void {
  if (tty && !muted) process.stdout.write(`\r\x1b[2K${dim(text)}`);
}
function progressDone(): void {
  if (tty) process.stdout.write('\r\x1b[2K');
}

// ------------------------------------------------------------------ the bookinfo processes

interface ServiceSpec extends RegistryInstance {
  readonly script: string;
  readonly env?: Readonly<Record<string, string>>;
  /** only in the registry while the outlier scenario runs */
  readonly failing?: boolean;
}

const SERVICES: readonly Omit<ServiceSpec, 'port'>[] = [
  { service: 'productpage', version: 'v1', name: 'productpage-v1', script: 'productpage.ts' },
  { service: 'details', version: 'v1', name: 'details-v1', script: 'details.ts' },
  { service: 'reviews', version: 'v1', name: 'reviews-v1', script: 'reviews.ts' },
  { service: 'reviews', version: 'v2', name: 'reviews-v2', script: 'reviews.ts' },
  { service: 'reviews', version: 'v3', name: 'reviews-v3', script: 'reviews.ts' },
  { service: 'ratings', version: 'v1', name: 'ratings-v1', script: 'ratings.ts' },
  // a second ratings version that fails every third request (the retries scenario)
  { service: 'ratings', version: 'v2', name: 'ratings-v2', script: 'ratings.ts', env: { BOOKINFO_FAIL_EVERY: '3' } },
  // a reviews v1 instance that always answers 503 (the outlier scenario adds it to the registry)
  {
    service: 'reviews',
    version: 'v1',
    name: 'reviews-v1-bad',
    script: 'reviews.ts',
    env: { BOOKINFO_FAILURE: 'always-503' },
    failing: true,
  },
];

const children: Child[] = [];
const ports: number[] = [];
let tmp: string | undefined;
let cleaning: Promise<{ alive: number[]; listening: number[] }> | undefined;

/** Stops every child (in parallel), checks that their processes and ports are gone, removes the temp dir. */
function cleanup(): Promise<{ alive: number[]; listening: number[] }> {
  cleaning ??= stopAndCheck(children, ports).finally(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });
  return cleaning;
}

function result(passed: number, total: number): void {
  say(`RESULT ${JSON.stringify({ scenarios_passed: passed, scenarios_total: total })}`);
}

let passedSoFar = 0;
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    progressDone();
    muted = true;
    say(`\n${sig}: stopping every process...`);
    void cleanup().then((c) => {
      say(`CLEANUP ${JSON.stringify({ pids: children.map((x) => x.pid), ports, ...c })}`);
      result(passedSoFar, SCENARIOS.length);
      process.exit(130);
    });
  });
}

async function startAll(): Promise<{ gateway: string; instances: ServiceSpec[]; dir: ConfigDir; cpAddress: string }> {
  tmp = mkdtempSync(join(tmpdir(), 'inboard-demo-'));
  const configPath = join(tmp, 'config');
  mkdirSync(configPath);
  const dir = new ConfigDir(configPath, readObjectsOfDir(join(BOOKINFO, 'config')));

  out(bold('Starting'));
  const cp = new Child({
    name: 'control-plane',
    script: CLI,
    // --serve: people edit the files with editors that save by renaming, which Node's recursive
    // fs.watch misses on Linux; polling (once a second) sees every edit.
    args: [
      'control-plane',
      '--config',
      configPath,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      ...(flags.serve ? ['--poll'] : []),
    ],
    cwd: ROOT,
  });
  children.push(cp);
  const m = await cp.waitForLine(/listening on ([\d.]+):(\d+)/, STARTUP_TIMEOUT_MS);
  const cpAddress = `${m[1]}:${m[2]}`;
  ports.push(Number(m[2]));
  out(`  control plane     ${cpAddress}  (inboard control-plane, pid ${cp.pid}, watching ${configPath})`);

  if (interrupted) throw new Error('interrupted');
  const started = SERVICES.map((s) => {
    const child = new Child({
      name: s.name,
      script: join(BOOKINFO, 'services', s.script),
      cwd: ROOT,
      env: {
        INBOARD_CONTROL_PLANE: cpAddress,
        INBOARD_APP: s.service,
        INBOARD_VERSION: s.version,
        INBOARD_NAME: s.name,
        PORT: '0',
        HOST: '127.0.0.1',
        ...s.env,
      },
    });
    children.push(child);
    return { spec: s, child };
  });
  const instances: ServiceSpec[] = [];
  for (const { spec, child } of started) {
    const line = await child.waitForLine(/listening on http:\/\/[\d.]+:(\d+)/, STARTUP_TIMEOUT_MS);
    const port = Number(line[1]);
    ports.push(port);
    instances.push({ ...spec, port });
    out(
      `  ${spec.name.padEnd(17)} 127.0.0.1:${port}  (pid ${child.pid}${
        spec.env === undefined
          ? ''
          : `, ${Object.entries(spec.env)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}`
      })`,
    );
  }
  dir.writeFile('registry.yaml', registryYaml(instances.filter((i) => i.failing !== true)));

  if (interrupted) throw new Error('interrupted');
  const gw = new Child({
    name: 'ingress-gateway',
    script: CLI,
    args: ['gateway', '--control-plane', cpAddress, '--port', '0', '--host', '127.0.0.1', '--admin-port', '0'],
    cwd: ROOT,
  });
  children.push(gw);
  const g = await gw.waitForLine(/gateway port 80 → listening on (http:\/\/[\d.]+:(\d+))/, STARTUP_TIMEOUT_MS);
  await gw.waitForLine(/^admin http/, STARTUP_TIMEOUT_MS);
  ports.push(Number(g[2]));
  out(`  ingress gateway   ${g[1]}  (inboard gateway, Gateway port 80, pid ${gw.pid})`);
  for (const a of adminEndpoints()) ports.push(a.port);
  out(`PROCESSES ${JSON.stringify({ pids: children.map((c) => c.pid), ports })}`);
  return { gateway: g[1]!, instances, dir, cpAddress };
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = PUSH_TIMEOUT_MS): Promise<number> {
  const start = performance.now();
  let attempts = 0;
  let lastError: unknown;
  while (performance.now() - start < timeoutMs) {
    attempts++;
    progress(`  waiting: ${what} (${attempts})`);
    try {
      if (await probe()) {
        progressDone();
        return performance.now() - start;
      }
    } catch (err) {
      lastError = err;
    }
    // a short pause between probes so a push (100 ms debounce) is not hammered
    await new Promise((r) => setTimeout(r, 25));
  }
  progressDone();
  const why = lastError === undefined ? '' : ` (last error: ${String(lastError)})`;
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${why}`);
}

async function main(): Promise<number> {
  out(
    bold('Inboard bookinfo tour') +
      dim(
        ` — ${fast ? 'CI mode' : 'full mode'}: ${sizes.split} page loads per traffic split, Node ${process.versions.node}`,
      ),
  );
  const { gateway, instances, dir } = await startAll();
  const client = new GatewayClient(gateway);
  const portOf = (name: string) => instances.find((i) => i.name === name)!.port;
  const direct = async (name: string, path: string) => {
    const res = await fetch(`http://127.0.0.1:${portOf(name)}${path}`, { signal: AbortSignal.timeout(5000) });
    return res.json() as Promise<unknown>;
  };

  const ready = await until(
    'the gateway serves /productpage with every service',
    async () => {
      const p = await client.page();
      return reviewsOf(p) === 'v1' && p.page?.details.instance !== undefined;
    },
    STARTUP_TIMEOUT_MS,
  );
  out(`  mesh ready ${dim(`(${(ready / 1000).toFixed(2)} s after the gateway listened)`)}`);
  telemetryNote();
  out();

  const ctx: TourContext = {
    client,
    sizes,
    apply(file) {
      const objects = file === undefined ? [] : readObjects(join(BOOKINFO, 'scenarios', file));
      const changes = dir.apply(objects);
      const what = changes.map((c) => `${c.action} ${c.kind} ${c.name}`).join(', ') || 'nothing changed';
      out(`  ${file === undefined ? 'restored the bookinfo config' : `applied scenarios/${file}`}: ${what}`);
    },
    setFailingReviews(present) {
      dir.writeFile('registry.yaml', registryYaml(instances.filter((i) => present || i.failing !== true)));
      out(`  registry: ${present ? 'added' : 'removed'} reviews-v1-bad (always answers 503)`);
    },
    async until(what, probe) {
      const t = await until(what, probe);
      out(`  ${dim(`in force after ${Math.round(t)} ms: ${what}`)}`);
      return t;
    },
    stats: (name) => direct(name, '/stats') as Promise<InstanceStats>,
    meshView: (target) =>
      direct('productpage-v1', `/debug/mesh?target=${encodeURIComponent(target)}`) as Promise<MeshView>,
    async pages(n, options = {}) {
      const label = `${options.user === undefined ? 'anonymous' : options.user} page loads`;
      const start = performance.now();
      const r = await client.pages(Math.round(n), {
        ...options,
        onProgress: (d) => progress(`  ${label}: ${d}/${Math.round(n)}`),
      });
      progressDone();
      out(`  ${dim(`${Math.round(n)} ${label} in ${Math.round(performance.now() - start)} ms`)}`);
      return r;
    },
    note(text) {
      out(`  ${dim(text)}`);
    },
  };

  const pidsBefore = children.map((c) => c.pid);
  let passed = 0;
  for (const [i, s] of SCENARIOS.entries()) {
    out(bold(`▶ ${i + 1}/${SCENARIOS.length}  ${s.title}`));
    let checks: Check[];
    let error: string | undefined;
    try {
      checks = await s.run(ctx);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      checks = [{ name: 'scenario ran', expected: 'completes', observed: error.split('\n')[0]!, pass: false }];
    }
    const ok = checks.every((c) => c.pass);
    if (ok) passed++;
    passedSoFar = passed;
    out(renderTable(checks));
    out(`  ${ok ? green('PASS') : red('FAIL')}`);
    out(`SCENARIO ${JSON.stringify({ id: s.id, passed: ok, checks, ...(error === undefined ? {} : { error }) })}`);
    out();
    if (interrupted) break;
  }

  const restarted = children.filter((c) => !c.running).map((c) => c.name);
  out(
    restarted.length === 0 && children.every((c, i) => c.pid === pidsBefore[i])
      ? `${green('✔')} every scenario was pushed live: all ${children.length} processes kept running, no restarts`
      : `${red('✘')} processes ended during the tour: ${restarted.join(', ')}`,
  );
  out(bold(`${passed}/${SCENARIOS.length} scenarios passed`));

  if (flags.serve && !interrupted) {
    ctx.apply(undefined);
    out();
    out(bold('Serving') + ' — press Ctrl-C to stop');
    out(`  product page   ${gateway}/productpage   (sign in: ${gateway}/login?user=jason)`);
    out(`  config         ${dir.dir}   (edit or copy YAML here: it is pushed live)`);
    out(`  scenarios      ${join(BOOKINFO, 'scenarios')}`);
    const admin = adminEndpoints().find((a) => a.name === 'productpage-v1');
    if (admin !== undefined) {
      out(`  metrics        ${admin.url}/stats/prometheus   (productpage's Istio metrics)`);
      out(`  explain        ${admin.url}/explain?host=reviews:9080&path=/reviews/0&header=end-user:jason`);
    }
    await new Promise<never>(() => {}); // until SIGINT
  }
  if (flags.verbose) for (const c of children) out(c.tail(10));
  return passed;
}

/** The admin / Prometheus endpoints the services announced (when @inboard/telemetry is there). */
function adminEndpoints(): { name: string; url: string; port: number }[] {
  return children.flatMap((c) =>
    c.output.flatMap((l) => {
      const m = /^admin (http:\/\/[\d.]+:(\d+))/.exec(l);
      return m === null ? [] : [{ name: c.name, url: m[1]!, port: Number(m[2]) }];
    }),
  );
}

function telemetryNote(): void {
  const admins = adminEndpoints();
  if (admins.length === 0) {
    out(`  ${dim('telemetry: @inboard/telemetry offers no admin endpoint here — skipped')}`);
    return;
  }
  out('  telemetry: Envoy-style admin (/config_dump, /clusters, /explain) and Prometheus (/stats/prometheus)');
  for (const a of admins) out(`    ${a.name.padEnd(15)} ${a.url}   ${dim(`${a.url}/stats/prometheus`)}`);
}

let passed = 0;
let exitCode = 1;
try {
  passed = await main();
  exitCode = passed === SCENARIOS.length ? 0 : 1;
} catch (err) {
  progressDone();
  out(red(`demo failed: ${err instanceof Error ? err.message : String(err)}`));
  for (const c of children) if (flags.verbose || !c.running) out(c.tail());
}
if (!interrupted) {
  const c = await cleanup();
  const clean = c.alive.length === 0 && c.listening.length === 0;
  out(
    clean
      ? `stopped ${children.length} processes; every port is closed`
      : red(`left behind: pids ${c.alive.join(', ') || '-'}, ports ${c.listening.join(', ') || '-'}`),
  );
  out(`CLEANUP ${JSON.stringify({ pids: children.map((x) => x.pid), ports, ...c })}`);
  if (!clean) exitCode = 1;
  result(passed, SCENARIOS.length);
  process.exitCode = exitCode;
}
