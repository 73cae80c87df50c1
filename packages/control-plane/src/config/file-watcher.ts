// Notices edits under the config paths: fs.watch (recursive for directories) where it works,
// otherwise polling of file mtimes and sizes on an injectable clock. It says "something may have
// changed", naming the path when fs.watch does; the store re-reads and decides what did.
import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type Clock, createLogger, type TimerHandle } from '@inboard/xds';
import { discoverConfigFiles } from './config-files.ts';

const log = createLogger('control-plane:config-watch');

export type WatchMode = 'fs' | 'poll';

export interface FileWatcherOptions {
  readonly cwd: string;
  readonly clock: Clock;
  /** `auto` (default) uses fs.watch and falls back to polling when it is unavailable or fails. */
  readonly mode?: 'auto' | WatchMode;
  /** Default 1000 ms. */
  readonly pollIntervalMs?: number;
}

// Editor droppings that never hold config (vim swap files and its write test, backups).
function isNoise(name: string): boolean {
  return name.endsWith('~') || name.endsWith('.swp') || name.endsWith('.swx') || name === '4913';
}

/** Called on every event: `path` is the absolute path of the entry that changed, when known. */
export type FileWatchListener = (path?: string) => void;

export class FileWatcher {
  readonly #paths: readonly string[];
  readonly #onEvent: FileWatchListener;
  readonly #options: FileWatcherOptions;
  readonly #watchers: FSWatcher[] = [];
  #mode: WatchMode = 'fs';
  #pollTimer: TimerHandle | undefined;
  #signature: string | undefined;
  #closed = false;

  constructor(paths: readonly string[], onEvent: FileWatchListener, options: FileWatcherOptions) {
    this.#paths = paths.map((p) => resolve(options.cwd, p));
    this.#onEvent = onEvent;
    this.#options = options;
  }

  get mode(): WatchMode {
    return this.#mode;
  }

  async start(): Promise<void> {
    const wanted = this.#options.mode ?? 'auto';
    if (wanted !== 'poll' && (await this.#startFsWatch())) {
      this.#mode = 'fs';
      return;
    }
    if (wanted === 'fs') throw new Error('fs.watch is not available for these paths');
    await this.#startPolling();
  }

  /** One polling pass (also a test hook): true when the files changed since the previous pass. */
  async poll(): Promise<boolean> {
    const signature = await this.#computeSignature();
    if (this.#closed) return false;
    const changed = this.#signature !== undefined && signature !== this.#signature;
    this.#signature = signature;
    if (changed) this.#onEvent();
    return changed;
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#watchers.splice(0)) w.close();
    this.#pollTimer?.cancel();
    this.#pollTimer = undefined;
  }

  async #startFsWatch(): Promise<boolean> {
    try {
      for (const p of this.#paths) {
        const st = await stat(p);
        if (st.isDirectory()) {
          this.#watchers.push(this.#watch(p, true, undefined));
        } else {
          // Editors save by writing a new file and renaming it over the old one, which ends a
          // watch on the file itself: watch its directory for that name instead.
          this.#watchers.push(this.#watch(dirname(p), false, basename(p)));
        }
      }
      return true;
    } catch (err) {
      log.info('fs.watch unavailable, polling instead', { error: String(err) });
      for (const w of this.#watchers.splice(0)) w.close();
      return false;
    }
  }

  #watch(dir: string, recursive: boolean, only: string | undefined): FSWatcher {
    const w = watch(dir, { recursive }, (_event, filename) => {
      if (this.#closed) return;
      const name = filename === null ? undefined : basename(filename.toString());
      if (only !== undefined && name !== undefined && name !== only) return;
      if (name !== undefined && isNoise(name)) return;
      // Recursive watches name the entry relative to the watched directory.
      this.#onEvent(filename === null ? undefined : join(dir, filename.toString()));
    });
    w.on('error', (err) => {
      // A watched directory that disappears ends its watch: keep noticing changes by polling.
      if (this.#closed || this.#mode === 'poll') return;
      log.warn('fs.watch failed, polling instead', { error: String(err) });
      for (const x of this.#watchers.splice(0)) x.close();
      void this.#startPolling().then(() => this.#onEvent());
    });
    return w;
  }

  async #startPolling(): Promise<void> {
    this.#mode = 'poll';
    this.#signature = await this.#computeSignature();
    this.#schedulePoll();
  }

  #schedulePoll(): void {
    if (this.#closed) return;
    this.#pollTimer = this.#options.clock.setTimeout(() => {
      this.#pollTimer = undefined;
      this.poll().then(
        () => this.#schedulePoll(),
        (err: unknown) => {
          log.warn('polling config files failed', { error: String(err) });
          this.#schedulePoll();
        },
      );
    }, this.#options.pollIntervalMs ?? 1000);
  }

  async #computeSignature(): Promise<string> {
    const { files, missing } = await discoverConfigFiles(this.#paths, this.#options.cwd);
    const parts = await Promise.all(
      files.map(async (f) => {
        try {
          const st = await stat(f.path);
          return `${f.path}:${st.mtimeMs}:${st.size}:${st.ino}`;
        } catch {
          return `${f.path}:gone`;
        }
      }),
    );
    return [...parts, ...missing.map((m) => `${m.path}:missing`)].join('\n');
  }
}
