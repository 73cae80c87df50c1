// Which files a set of config paths stands for: a file is itself, a directory is every
// *.yaml / *.yml / *.json below it (recursively, in a stable order).
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
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (err) {
      missing.push({ path: dir, display: displayPath(dir, cwd), message: errorMessage(err) });
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      let st: Awaited<ReturnType<typeof stat>>;
      try {
        st = await stat(p);
      } catch {
        continue; // a dangling symlink or a file removed meanwhile
      }
      if (st.isDirectory()) await walk(p, depth + 1);
      else if (st.isFile() && isConfigFileName(name)) add(p);
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
