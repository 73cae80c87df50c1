// Which files a set of config paths stands for: a file is itself, a directory is every
// *.yaml / *.yml / *.json below it (recursively, in a stable order).
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'];

export function isConfigFileName(name: string): boolean {
  const lower = name.toLowerCase();
  return CONFIG_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

export interface ConfigFile {
  /** Absolute path, the identity of the file. */
  readonly path: string;
  /** How problems name it: relative to the working directory when below it. */
  readonly display: string;
}

export interface DiscoveredFiles {
  readonly files: ConfigFile[];
  /** Paths that do not exist or cannot be read (`path`, message). */
  readonly missing: { readonly path: string; readonly display: string; readonly message: string }[];
}

export function displayPath(absolute: string, cwd: string): string {
  const rel = relative(cwd, absolute);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : absolute;
}

/**
 * Expands paths to config files. Names starting with `.` are skipped inside directories: a Kubernetes
 * ConfigMap volume has `..data/` and timestamped `..2024_…/` twins of every file.
 */
export async function discoverConfigFiles(paths: readonly string[], cwd: string): Promise<DiscoveredFiles> {
  const files = new Map<string, ConfigFile>();
  const missing: DiscoveredFiles['missing'] = [];
  const add = (p: string) => {
    if (!files.has(p)) files.set(p, { path: p, display: displayPath(p, cwd) });
  };
  const walk = async (dir: string, depth: number): Promise<void> => {
    // Symlink loops cannot recurse forever.
    if (depth > 32) return;
    let entries: Dirent[];
    try {
      entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
    } catch (err) {
      missing.push({ path: dir, display: displayPath(dir, cwd), message: errorMessage(err) });
      return;
    }
    for (const entry of entries) {
      const name = entry.name;
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      // The entry's own type saves a stat per file (a reload of 1,000 files did 1,000 sequential
      // stats); only symlinks (and types the file system did not report) are followed with stat.
      let kind: { isDirectory(): boolean; isFile(): boolean } = entry;
      if (!entry.isDirectory() && !entry.isFile()) {
        try {
          kind = await stat(p);
        } catch {
          continue; // a dangling symlink or a file removed meanwhile
        }
      }
      if (kind.isDirectory()) await walk(p, depth + 1);
      else if (kind.isFile() && isConfigFileName(name)) add(p);
    }
  };
  for (const input of paths) {
    const p = resolve(cwd, input);
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(p);
    } catch (err) {
      missing.push({ path: p, display: displayPath(p, cwd), message: errorMessage(err) });
      continue;
    }
    if (st.isDirectory()) await walk(p, 0);
    // A file named explicitly is read whatever its extension.
    else add(p);
  }
  return { files: [...files.values()], missing };
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file or directory';
    if (code === 'EACCES') return 'permission denied';
    return err.message;
  }
  return String(err);
}
