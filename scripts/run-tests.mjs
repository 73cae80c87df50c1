// Runs every test file of the repo in one `node --test` run, so CI reads one summary.
// Tests are TypeScript, run by Node's type stripping against package sources
// (the `inboard-source` export condition), after `npm run build` generated the codecs.
// Usage: node scripts/run-tests.mjs [substring ...]   (only files whose path contains one)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filter = process.argv.slice(2);

function walk(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = [...walk(join(root, 'packages'), []), ...walk(join(root, 'test'), [])].sort();
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));

const args = [
  '--conditions=inboard-source',
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${process.env.INBOARD_TEST_CONCURRENCY ?? 2}`,
  '--test-timeout=120000',
  ...files,
];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
