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
// pretenuring off; `--v8-defaults` runs them with V8's defaults instead.
export const V8_DEFAULTS_OPTION = '--v8-defaults';
/** run the clients on the TypeScript sources (Node's type stripping) instead of the built dist */
export const FROM_SOURCE_OPTION = '--from-source';

export function clientNodeFlags(argv: readonly string[] = process.argv): string[] {
  const flags = argv.includes(V8_DEFAULTS_OPTION) ? [] : ['--no-allocation-site-pretenuring'];
  if (argv.includes(FROM_SOURCE_OPTION)) flags.push('--conditions=inboard-source');
  // BENCH_CLIENT_FLAGS: extra node flags for every client (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`)
  flags.push(...(process.env.BENCH_CLIENT_FLAGS?.split(' ').filter(Boolean) ?? []));
  return flags;
}

export function describeClientFlags(argv: readonly string[] = process.argv): string {
  return argv.includes(V8_DEFAULTS_OPTION)
    ? 'V8 defaults (allocation-site pretenuring on) in every client'
    : 'every client with --no-allocation-site-pretenuring (bench/support/client-flags.ts says why; --v8-defaults to compare)';
}
