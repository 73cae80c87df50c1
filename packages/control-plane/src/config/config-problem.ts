// One thing wrong (or suspicious) in a config source, located precisely enough to fix it without
// searching: file, document, line, object and field path.
import type { FieldPath } from './yaml-documents.ts';

export type ProblemSeverity = 'error' | 'warning';

export interface ConfigProblem {
  readonly severity: ProblemSeverity;
  /** The file as the user named it (relative to the working directory when below it). */
  readonly file: string;
  /** 1-based document index in the file; absent for file-level problems (unreadable file...). */
  readonly document?: number | undefined;
  /** 1-based line of the field (or of the document when the field does not exist). */
  readonly line?: number | undefined;
  readonly kind?: string | undefined;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  /** Dotted field path: `spec.http[0].route[0].destination.host`. */
  readonly field?: string | undefined;
  readonly message: string;
}

/** `spec.http[0].route` from `['spec','http',0,'route']`. */
export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const s = String(key);
      // Keys that are not identifiers (label keys like `app.kubernetes.io/name`) are quoted.
      if (/^[A-Za-z_$][\w$-]*$/.test(s)) out += out === '' ? s : `.${s}`;
      else out += `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

/** `Kind ns/name`, `Kind name` for cluster-scoped objects, or just `Kind`. */
export function formatObjectRef(
  kind: string | undefined,
  namespace: string | undefined,
  name: string | undefined,
): string {
  if (kind === undefined) return '';
  if (name === undefined) return kind;
  return namespace === undefined || namespace === '' ? `${kind} ${name}` : `${kind} ${namespace}/${name}`;
}

/**
 * `config/reviews.yaml: document 2 (line 14): VirtualService default/reviews: spec.http[0].route[0].destination.host: Required`.
 * Parts that are unknown are left out; warnings are prefixed with `warning: `.
 */
export function formatProblem(p: ConfigProblem): string {
  const parts: string[] = [p.file];
  if (p.document !== undefined)
    parts.push(p.line === undefined ? `document ${p.document}` : `document ${p.document} (line ${p.line})`);
  else if (p.line !== undefined) parts.push(`line ${p.line}`);
  const ref = formatObjectRef(p.kind, p.namespace, p.name);
  if (ref !== '') parts.push(ref);
  if (p.field !== undefined && p.field !== '') parts.push(p.field);
  const message = p.severity === 'warning' ? `warning: ${p.message}` : p.message;
  return `${parts.join(': ')}: ${message}`;
}
