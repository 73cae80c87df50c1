// Runs a zod schema the way config loading needs it: unknown keys become warnings (the object is
// re-parsed without them), every other issue is an error with its path, in plain words.
import type { z } from 'zod';
import type { FieldPath } from './yaml-documents.ts';

export interface FieldIssue {
  readonly path: FieldPath;
  readonly message: string;
}

export type TolerantParse<T> =
  | { readonly ok: true; readonly value: T; readonly unknown: readonly FieldIssue[] }
  | { readonly ok: false; readonly errors: readonly FieldIssue[]; readonly unknown: readonly FieldIssue[] };

const errorMap = (issue: { code: string; input?: unknown }): string | undefined =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'Required' : undefined;

function cleanMessage(message: string): string {
  return message.replace(/^Invalid input: /, '');
}

export function parseTolerant<T>(schema: z.ZodType<T>, value: unknown): TolerantParse<T> {
  const first = schema.safeParse(value, { error: errorMap });
  if (first.success) return { ok: true, value: first.data, unknown: [] };
  const unknown: FieldIssue[] = [];
  const errors: FieldIssue[] = [];
  for (const issue of first.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        unknown.push({ path: [...issue.path, key], message: 'unknown field, ignored by Inboard' });
    } else {
      errors.push({ path: issue.path, message: cleanMessage(issue.message) });
    }
  }
  if (errors.length > 0) return { ok: false, errors, unknown };
  // Only unknown keys: drop them and parse again to get the value.
  const stripped = structuredClone(value);
  for (const u of unknown) deleteAt(stripped, u.path);
  const second = schema.safeParse(stripped, { error: errorMap });
  if (second.success) return { ok: true, value: second.data, unknown };
  return {
    ok: false,
    errors: second.error.issues.map((i) => ({ path: i.path, message: cleanMessage(i.message) })),
    unknown,
  };
}

function deleteAt(root: unknown, path: FieldPath): void {
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Record<PropertyKey, unknown>)[path[i] as PropertyKey];
  }
  if (node !== null && typeof node === 'object')
    delete (node as Record<PropertyKey, unknown>)[path[path.length - 1] as PropertyKey];
}
