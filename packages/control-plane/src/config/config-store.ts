// Loads config sources (files and directories of Kubernetes-style YAML/JSON) into one
// MeshConfigSnapshot, and keeps it current while the files change.
//
// The rule that matters: a bad edit never takes good config away. An invalid document is rejected
// and reported; if an earlier version of it was valid, that version keeps serving until the
// document is fixed (or removed).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { type Clock, createLogger, systemClock } from '@inboard/xds';
import { type ConfigChangeSummary, diffSnapshots } from './change-summary.ts';
import type { ConfigEntry } from './config-entry.ts';
import { entryProblem, refKey } from './config-entry.ts';
import { discoverConfigFiles, errorMessage, isConfigFileName } from './config-files.ts';
import { type ConfigProblem, formatProblem } from './config-problem.ts';
import { crossObjectWarnings } from './cross-checks.ts';
import { Debouncer } from './debouncer.ts';
import { readDocumentUnits, type UnitOutcome } from './document-reader.ts';
import { FileWatcher, type WatchMode } from './file-watcher.ts';
import type { MeshConfig, MeshConfigSnapshot } from './istio-types.ts';
import { assembleSnapshot } from './snapshot-assembly.ts';
import { readDocuments } from './yaml-documents.ts';

const log = createLogger('control-plane:config');

export interface ConfigStoreOptions {
  /** Base for relative paths and for the file names in problems. Default `process.cwd()`. */
  readonly cwd?: string;
  /** Namespace of objects that name none. Default "default". */
  readonly defaultNamespace?: string;
  /** Mesh settings used when no `MeshConfig` document is loaded. */
  readonly meshConfig?: MeshConfig;
  readonly clock?: Clock;
  /** Quiet time before a burst of edits is reloaded. Default 100 ms (istiod's PILOT_DEBOUNCE_AFTER). */
  readonly debounceMs?: number;
  /** Longest a burst can delay a reload. Default 10 s (PILOT_DEBOUNCE_MAX). */
  readonly debounceMaxMs?: number;
  /** `auto` (default): fs.watch, or polling where it is unavailable. */
  readonly watchMode?: 'auto' | WatchMode;
  /** Polling period when polling. Default 1000 ms. */
  readonly pollIntervalMs?: number;
}

export interface ConfigLoadResult {
  readonly snapshot: MeshConfigSnapshot;
  /** Errors: each names a rejected document or object. */
  readonly problems: readonly ConfigProblem[];
  /** Unknown fields, deprecated settings, skipped kinds, kept previous versions. */
  readonly warnings: readonly ConfigProblem[];
  /** What differs from the previous load (everything is "added" on the first one). */
  readonly changes: ConfigChangeSummary;
  /** The files read, as displayed in problems. */
  readonly files: readonly string[];
}

export interface ConfigChangeEvent extends ConfigLoadResult {
  /** False when only the problems changed (a bad edit was rejected). */
  readonly changed: boolean;
}

export interface ConfigWatch {
  /** The result of the initial load. */
  readonly initial: ConfigLoadResult;
  readonly mode: WatchMode;
  /** Test hook: one polling pass now (poll mode). Resolves true when a change was noticed. */
  poll(): Promise<boolean>;
  close(): void;
}

/** A source of mesh config: load once, or watch and be told about every change. */
export interface ConfigSource {
  load(paths: readonly string[]): Promise<ConfigLoadResult>;
  watch(paths: readonly string[], onChange: (event: ConfigChangeEvent) => void): Promise<ConfigWatch>;
}

interface ServedEntry {
  readonly position: string;
  readonly entry: ConfigEntry;
}

interface FileState {
  /** Undefined when the file must be read again whatever the watcher says (unreadable, root gone). */
  readonly content: string | undefined;
  readonly outcomes: readonly UnitOutcome[];
  /** What this file contributed last time: its valid entries plus kept previous versions. */
  readonly served: readonly ServedEntry[];
}

export class ConfigStore implements ConfigSource {
  readonly #cwd: string;
  readonly #defaultNamespace: string;
  readonly #meshConfig: MeshConfig | undefined;
  readonly #clock: Clock;
  readonly #options: ConfigStoreOptions;
  #files = new Map<string, FileState>();
  #snapshot: MeshConfigSnapshot | undefined;
  #version = 0;
  #lastProblems = '';

  constructor(options: ConfigStoreOptions = {}) {
    this.#options = options;
    this.#cwd = options.cwd ?? process.cwd();
    this.#defaultNamespace = options.defaultNamespace ?? 'default';
    this.#meshConfig = options.meshConfig;
    this.#clock = options.clock ?? systemClock;
  }

  /** The snapshot of the last load (undefined before the first). */
  get snapshot(): MeshConfigSnapshot | undefined {
    return this.#snapshot;
  }

  /** Reads every file under `paths` and returns the resulting snapshot with its problems. */
  async load(paths: readonly string[]): Promise<ConfigLoadResult> {
    return this.#load(paths);
  }

  /**
   * Loads `paths`, then watches them: each burst of edits (debounced) is reloaded and reported
   * to `onChange` when the snapshot or the problems changed.
   */
  async watch(paths: readonly string[], onChange: (event: ConfigChangeEvent) => void): Promise<ConfigWatch> {
    const initial = await this.#load(paths);
    let running: Promise<void> | undefined;
    let again = false;
    let closed = false;
    // The files the watcher named since the last reload; undefined: anything may have changed.
    let dirty: Set<string> | undefined = new Set();
    const noticed = (path?: string) => {
      if (path === undefined || !isConfigFileName(basename(path))) dirty = undefined;
      else dirty?.add(path);
      debouncer.trigger();
    };
    const reload = async (): Promise<void> => {
      do {
        again = false;
        const only = dirty;
        dirty = new Set();
        const result = await this.#load(paths, only);
        if (closed) return;
        const problemText = [...result.problems, ...result.warnings].map(formatProblem).join('\n');
        const changed = !result.changes.empty;
        const problemsChanged = problemText !== this.#lastProblems;
        this.#lastProblems = problemText;
        if (!changed && !problemsChanged) continue;
        try {
          onChange({ ...result, changed });
        } catch (err) {
          log.error('config change listener threw', { error: String(err) });
        }
      } while (again && !closed);
    };
    const debouncer = new Debouncer(
      () => {
        if (running !== undefined) {
          again = true;
          return;
        }
        running = reload()
          .catch((err: unknown) => log.error('config reload failed', { error: String(err) }))
          .finally(() => {
            running = undefined;
          });
      },
      { clock: this.#clock, quietMs: this.#options.debounceMs ?? 100, maxMs: this.#options.debounceMaxMs ?? 10_000 },
    );
    this.#lastProblems = [...initial.problems, ...initial.warnings].map(formatProblem).join('\n');
    const watcher = new FileWatcher(paths, noticed, {
      cwd: this.#cwd,
      clock: this.#clock,
      mode: this.#options.watchMode ?? 'auto',
      pollIntervalMs: this.#options.pollIntervalMs ?? 1000,
    });
    await watcher.start();
    log.info('watching config', { paths, mode: watcher.mode });
    return {
      initial,
      get mode() {
        return watcher.mode;
      },
      poll: () => watcher.poll(),
      close: () => {
        closed = true;
        debouncer.cancel();
        watcher.close();
      },
    };
  }

  /**
   * Reads the files under `paths`. With `only`, the files the watcher named: the others known from
   * the previous load keep their content unread (a reload of 1,000 files spent most of its time
   * opening and reading them); the directory listing still finds added and removed files.
   */
  async #load(paths: readonly string[], only?: ReadonlySet<string>): Promise<ConfigLoadResult> {
    const problems: ConfigProblem[] = [];
    const warnings: ConfigProblem[] = [];
    const discovered = await discoverConfigFiles(paths, this.#cwd);
    const previous = this.#files;
    const next = new Map<string, FileState>();
    if (only !== undefined) {
      const known = new Set(discovered.files.map((f) => f.path));
      // A named file that is neither listed now nor known before: the watcher's name cannot be
      // trusted to match a listed path, so read everything.
      for (const p of only) if (!known.has(p) && !previous.has(p)) only = undefined;
    }
    const unchanged = (path: string): string | undefined =>
      only === undefined || only.has(path) ? undefined : previous.get(path)?.content;

    for (const m of discovered.missing) {
      problems.push({ severity: 'error', file: m.display, message: m.message });
      // A config root that vanished (a ConfigMap volume being swapped, an unmounted disk) is not
      // an edit of its documents: keep what its files served.
      for (const [path, state] of previous) {
        if (path === m.path || path.startsWith(`${m.path}/`)) next.set(path, { ...state, content: undefined });
      }
    }

    const toRead = discovered.files.filter((f) => unchanged(f.path) === undefined);
    const read = await readAll(toRead.map((f) => f.path));
    const contents = new Map(toRead.map((f, i) => [f.path, read[i]!]));
    for (const file of discovered.files) {
      const kept = unchanged(file.path);
      const read = kept !== undefined ? { content: kept } : contents.get(file.path)!;
      if ('error' in read) {
        const err = read.error;
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile: its objects go
        problems.push({ severity: 'error', file: file.display, message: `cannot read: ${errorMessage(err)}` });
        const before = previous.get(file.path);
        if (before !== undefined) next.set(file.path, { ...before, content: undefined });
        continue;
      }
      const content = read.content;
      const before = previous.get(file.path);
      const outcomes =
        before !== undefined && before.content === content
          ? before.outcomes
          : readDocuments(content).flatMap((doc) =>
              readDocumentUnits(doc, { file: file.display, defaultNamespace: this.#defaultNamespace }),
            );
      const served = this.#serve(outcomes, before?.served ?? [], warnings);
      for (const o of outcomes) {
        problems.push(...o.errors);
        warnings.push(...o.warnings);
      }
      next.set(file.path, { content, outcomes, served });
    }
    this.#files = next;

    // Same kind, namespace and name twice: the first one read wins, as istiod keeps the oldest.
    const entries: ConfigEntry[] = [];
    const seen = new Map<string, ConfigEntry>();
    for (const state of next.values()) {
      for (const { entry } of state.served) {
        const key = refKey(entry.ref);
        const first = seen.get(key);
        if (first !== undefined) {
          problems.push(
            entryProblem(
              entry,
              'error',
              `duplicate name: already defined in ${first.source.file} document ${first.source.document} (line ${first.source.line})`,
            ),
          );
          continue;
        }
        seen.set(key, entry);
        entries.push(entry);
      }
    }
    warnings.push(...crossObjectWarnings(entries, this.#meshConfig));

    const fileOrder = new Map(discovered.files.map((f, i) => [f.display, i]));
    sortProblems(problems, fileOrder);
    sortProblems(warnings, fileOrder);

    const provisional = assembleSnapshot(entries, { version: String(this.#version + 1), meshConfig: this.#meshConfig });
    warnings.push(...provisional.warnings);
    const changes = diffSnapshots(this.#snapshot, provisional.snapshot);
    let snapshot: MeshConfigSnapshot;
    if (this.#snapshot !== undefined && changes.empty) {
      snapshot = this.#snapshot; // unchanged: same object, same version
    } else {
      this.#version++;
      snapshot = provisional.snapshot;
    }
    this.#snapshot = snapshot;
    return {
      snapshot,
      problems,
      warnings,
      changes,
      files: discovered.files.map((f) => f.display),
    };
  }

  /**
   * What a file serves now: its valid entries, plus for each rejected unit the entry that the
   * same object (or, when the object cannot be identified, the same position) served before.
   */
  #serve(outcomes: readonly UnitOutcome[], before: readonly ServedEntry[], warnings: ConfigProblem[]): ServedEntry[] {
    const served: ServedEntry[] = [];
    const used = new Set<ServedEntry>();
    for (const o of outcomes) {
      if (o.entry !== undefined) {
        served.push({ position: o.position, entry: o.entry });
        continue;
      }
      if (!o.invalid) continue;
      let kept: ServedEntry[];
      if (o.identity !== undefined) {
        const key = refKey(o.identity);
        kept = before.filter((s) => !used.has(s) && refKey(s.entry.ref) === key);
      } else if (!o.position.includes('/')) {
        kept = before.filter(
          (s) => !used.has(s) && (s.position === o.position || s.position.startsWith(`${o.position}/`)),
        );
      } else {
        kept = before.filter((s) => !used.has(s) && s.position === o.position);
      }
      for (const s of kept) {
        used.add(s);
        served.push({ position: o.position, entry: s.entry });
        const first = o.errors[0];
        warnings.push(
          entryProblem(s.entry, 'warning', 'the invalid edit is rejected; the previous valid version keeps serving', {
            document: first?.document,
            line: first?.line,
          }),
        );
      }
    }
    return served;
  }
}

/**
 * Reads files concurrently, results in order: one after the other, a reload of 1,000 small files
 * spent ~200 ms waiting on file-system round trips. Bounded, so a large config cannot exhaust
 * file descriptors.
 */
async function readAll(
  paths: readonly string[],
  concurrency = 16,
): Promise<({ content: string } | { error: unknown })[]> {
  const out: ({ content: string } | { error: unknown })[] = new Array(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      try {
        out[i] = { content: await readFile(paths[i]!, 'utf8') };
      } catch (error) {
        out[i] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return out;
}

/** In reading order: file (as discovered), document, line. The sort is stable for equal positions. */
function sortProblems(list: ConfigProblem[], fileOrder: ReadonlyMap<string, number>): void {
  const rank = (p: ConfigProblem) => fileOrder.get(p.file) ?? -1;
  list.sort((a, b) => rank(a) - rank(b) || (a.document ?? 0) - (b.document ?? 0) || (a.line ?? 0) - (b.line ?? 0));
}
