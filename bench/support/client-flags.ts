// Node flags for benchmark client processes.
//
// V8's allocation-site pretenuring decides, from the survival of objects in the process's first
// garbage collections, to allocate objects of some allocation sites directly in the old
// generation. Which sites it picks depends on when those first collections happen relative to
// startup work; when it picks the generic ones an HTTP response goes through (stream state,
// listener arrays), every response's short-lived objects are kept alive by dead old objects until
// the next full collection, and young-generation collections copy megabytes per cycle. Measured
// with nothing but a raw undici Pool on loopback: 19–20 µs of CPU per request in a fresh process,
// 25–30 µs once the process allocated a few thousand strings before its first request (and back
// to ~20 µs when pretenuring is off). Which client falls into that state is a matter of startup
// timing, not of its per-request code, so by default every client of a comparison runs with
// pretenuring off.
//
// Second, the young generation's size. V8 grows it while a process allocates fast, and its memory
// reducer shrinks it when allocation slows down. A benchmark client sits idle for seconds while
// the other clients run their rounds, so a client may start a round with a young generation of a
// megabyte or two instead of the tens it had grown to, and then collects thirty times as often.
// Seen with --trace-gc late in a telemetry benchmark run: some clients' scavenges freed ≈ 1.5 MB
// each instead of ≈ 50 MB, and such processes (raw undici among them) spent 0.6–1.4 µs per request
// in GC against ≈ 0.3 µs for the others of their kind. A service under steady load keeps the
// grown size, so every client runs with the memory reducer off (--no-memory-reducer): V8 still
// sizes the young generation itself, it just does not shrink it while a client waits.
// (Fixing the semi-spaces instead, --min-semi-space-size, is not neutral: it put the http
// benchmark's mesh clients, which hold 10,000 routes, at ≈ 24 µs of CPU per request instead of
// ≈ 21; fixed semi-spaces of 16, 32, 64 and 128 MB all cost them 2–4 µs per request that V8's own
// sizing does not, while raw undici did not change. BENCHMARKS.md, @inboard/http, session 6.)
// `--v8-defaults` runs the clients with V8's defaults instead of both.
export const V8_DEFAULTS_OPTION = '--v8-defaults';
/** the flags every client gets unless --v8-defaults */
const CLIENT_FLAGS = ['--no-allocation-site-pretenuring', '--no-memory-reducer'];
/** run the clients on the TypeScript sources (Node's type stripping) instead of the built dist */
export const FROM_SOURCE_OPTION = '--from-source';

export function clientNodeFlags(argv: readonly string[] = process.argv): string[] {
  const flags = argv.includes(V8_DEFAULTS_OPTION) ? [] : [...CLIENT_FLAGS];
  if (argv.includes(FROM_SOURCE_OPTION)) flags.push('--conditions=inboard-source');
  // BENCH_CLIENT_FLAGS: extra node flags for every client (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`)
  flags.push(...(process.env.BENCH_CLIENT_FLAGS?.split(' ').filter(Boolean) ?? []));
  return flags;
}

export function describeClientFlags(argv: readonly string[] = process.argv): string {
  return argv.includes(V8_DEFAULTS_OPTION)
    ? 'V8 defaults (allocation-site pretenuring and the memory reducer on) in every client'
    : `every client with ${CLIENT_FLAGS.join(' ')} (bench/support/client-flags.ts says why; --v8-defaults to compare)`;
}
