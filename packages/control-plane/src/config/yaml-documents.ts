// Splits a YAML (or JSON) file into its documents while keeping source positions, so a problem can
// name the document and the line of the offending field, not just the file.

import type { Node as YamlNode } from 'yaml';
import { isCollection, isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';

/** A path into a document: object keys and array indexes, as zod reports them. */
export type FieldPath = readonly PropertyKey[];

export interface SourceDocument {
  /** 1-based position of the document in its file (counting empty documents too). */
  readonly index: number;
  /** 1-based line where the document's content starts. */
  readonly line: number;
  /** The document as plain JS (what `JSON.parse` would give for JSON). */
  readonly value: unknown;
  /** The YAML syntax error of this document, if it has one; `value` is then unusable. */
  readonly syntaxError: { readonly line: number; readonly message: string } | undefined;
  /**
   * The 1-based line of `path` inside this document. When the path does not exist (a missing
   * required field), the line of its deepest existing ancestor.
   */
  lineOf(path: FieldPath): number;
}

/** Parses every document of a YAML stream. Documents with only comments or nothing are skipped. */
export function readDocuments(source: string): SourceDocument[] {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  // An empty stream (only comments) is not an array.
  if (!Array.isArray(parsed)) return [];
  const lineAt = (offset: number) => Math.max(1, lineCounter.linePos(offset).line);
  const out: SourceDocument[] = [];
  parsed.forEach((doc, i) => {
    const contents = doc.contents as YamlNode | null;
    const firstError = doc.errors[0];
    if (contents === null && firstError === undefined) return;
    const start = contents?.range?.[0] ?? doc.range[0];
    const line = lineAt(start);
    const syntaxError =
      firstError === undefined
        ? undefined
        : { line: lineAt(firstError.pos[0]), message: firstError.message.split('\n')[0] ?? firstError.message };
    let value: unknown;
    if (syntaxError === undefined) {
      try {
        value = doc.toJS({ maxAliasCount: 1000 });
      } catch (err) {
        // Alias bombs and similar: report them as a syntax error of this document.
        out.push({
          index: i + 1,
          line,
          value: undefined,
          syntaxError: { line, message: String(err) },
          lineOf: () => line,
        });
        return;
      }
    }
    out.push({
      index: i + 1,
      line,
      value,
      syntaxError,
      lineOf: (path) => {
        const offset = fieldOffset(contents, path);
        return offset === undefined ? line : lineAt(offset);
      },
    });
  });
  return out;
}

/**
 * Offset where the field at `path` is named: the key of a map entry (so `spec:` and not the first
 * line of its value), or the start of a sequence item. For a path that does not exist, the same
 * for its deepest existing ancestor (the `destination:` line for a missing `destination.host`).
 */
function fieldOffset(root: YamlNode | null, path: FieldPath): number | undefined {
  let node: YamlNode | null = root;
  let offset = root?.range?.[0];
  for (const key of path) {
    if (node === null || !isCollection(node)) break;
    let next: YamlNode | null = null;
    let nextOffset: number | undefined;
    if (isSeq(node) && typeof key === 'number') {
      next = (node.items[key] as YamlNode | undefined) ?? null;
      nextOffset = next?.range?.[0];
    } else if (isMap(node)) {
      for (const pair of node.items) {
        const k = pair.key as YamlNode | null;
        if (isScalar(k) && String(k.value) === String(key)) {
          nextOffset = k.range?.[0];
          // A key with no value (`host:`) has no value node: stay on the key.
          next = (pair.value as YamlNode | null) ?? k;
          break;
        }
      }
    }
    if (next === null) break;
    node = next;
    offset = nextOffset ?? next.range?.[0] ?? offset;
  }
  return offset;
}
