// Loading config files as a user's directory holds them: written to a fresh temporary folder
// (removed after the test), then read by a ConfigStore.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type ConfigLoadResult, ConfigStore } from '@inboard/control-plane';

/** Writes `files` (relative paths → text) and loads `paths` (default: every file) from there. */
export async function load(
  t: { after(fn: () => Promise<void>): void },
  files: Record<string, string>,
  paths = Object.keys(files),
): Promise<ConfigLoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'inboard-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return new ConfigStore({ cwd: dir }).load(paths);
}
