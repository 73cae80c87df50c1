// The config directory the demo's control plane watches: what `kubectl apply` would leave in a
// cluster, one file per object. It starts as the bookinfo config; applying a scenario file
// replaces the objects it names (same kind, namespace and name), and objects a scenario changed
// return to their bookinfo version when the next scenario does not mention them.
//
// Files are rewritten in place, not renamed over: Node's recursive fs.watch on Linux (which the
// control plane uses for directories) stops reporting anything once a watched file has been
// replaced by a rename. The control plane reads 100 ms after the last change, so it never sees a
// half-written file.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface ConfigObject {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** the YAML document, as written */
  readonly text: string;
  /** the file it came from (for the change summary) */
  readonly source: string;
}

export function readObjects(file: string): ConfigObject[] {
  const out: ConfigObject[] = [];
  const text = readFileSync(file, 'utf8');
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
    if (obj === null || obj === undefined) continue;
    const kind = obj.kind ?? '';
    const name = obj.metadata?.name ?? '';
    if (kind === '' || name === '') throw new Error(`${file}: a document without kind or metadata.name`);
    out.push({
      kind,
      namespace: obj.metadata?.namespace ?? 'default',
      name,
      text: doc.toString(),
      source: basename(file),
    });
  }
  return out;
}

export function readObjectsOfDir(dir: string): ConfigObject[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => readObjects(join(dir, f)));
}

function keyOf(o: { kind: string; namespace: string; name: string }): string {
  return `${o.kind}/${o.namespace}/${o.name}`;
}

function fileNameOf(o: ConfigObject): string {
  const ns = o.namespace === 'default' ? '' : `${o.namespace}-`;
  return `${o.kind.toLowerCase()}-${ns}${o.name}.yaml`;
}

export interface AppliedChange {
  readonly action: 'created' | 'updated' | 'restored' | 'deleted';
  readonly kind: string;
  readonly name: string;
}

export class ConfigDir {
  readonly dir: string;
  readonly #base: Map<string, ConfigObject>;
  /** what is in the directory now */
  readonly #applied = new Map<string, ConfigObject>();

  constructor(dir: string, base: readonly ConfigObject[]) {
    this.dir = dir;
    this.#base = new Map(base.map((o) => [keyOf(o), o]));
    for (const o of base) this.#write(o);
  }

  #write(o: ConfigObject): void {
    writeFileSync(join(this.dir, fileNameOf(o)), `# ${o.kind} ${o.namespace}/${o.name}, from ${o.source}\n${o.text}`);
    this.#applied.set(keyOf(o), o);
  }

  /** Makes the directory the bookinfo config with `objects` on top; returns what changed. */
  apply(objects: readonly ConfigObject[]): AppliedChange[] {
    const desired = new Map(this.#base);
    for (const o of objects) desired.set(keyOf(o), o);
    const changes: AppliedChange[] = [];
    for (const [key, o] of desired) {
      const now = this.#applied.get(key);
      if (now?.text === o.text) continue;
      const action = now === undefined ? 'created' : this.#base.get(key) === o ? 'restored' : 'updated';
      this.#write(o);
      changes.push({ action, kind: o.kind, name: o.name });
    }
    for (const [key, o] of [...this.#applied]) {
      if (desired.has(key)) continue;
      rmSync(join(this.dir, fileNameOf(o)), { force: true });
      this.#applied.delete(key);
      changes.push({ action: 'deleted', kind: o.kind, name: o.name });
    }
    return changes;
  }

  /** Writes a file that is not an Istio object of the tour (the registry). */
  writeFile(name: string, text: string): void {
    writeFileSync(join(this.dir, name), text);
  }
}
