// Reading untrusted JSON field by field while collecting every problem with its JSON path,
// so one run reports all mistakes in a bootstrap instead of the first.
import type { BootstrapProblem } from '../errors.ts';

export class ProblemList {
  readonly items: BootstrapProblem[] = [];
  add(field: string, message: string): void {
    this.items.push({ field, message });
  }
  get size(): number {
    return this.items.length;
  }
}

export type JsonRecord = Record<string, unknown>;

export function isRecord(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `a.b`, `a[0]`, or `a["odd.key"]` when the key is not a plain identifier. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const part = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (base === '') return part.startsWith('[') ? `$${part}` : part;
  return part.startsWith('[') ? `${base}${part}` : `${base}.${part}`;
}

/** How a value is shown in "expected X, got Y". */
export function describeJson(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
    case 'number':
    case 'boolean':
      return String(v);
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

/** Reads `obj[key]`; null counts as absent (proto JSON: null = default value). */
function get(obj: JsonRecord, key: string): unknown {
  const v = obj[key];
  return v === null ? undefined : v;
}

export interface StringRule {
  required?: boolean;
  /** Reject "" (file paths, URIs). */
  nonEmpty?: boolean;
}

export function readString(
  obj: JsonRecord,
  key: string,
  base: string,
  problems: ProblemList,
  rule: StringRule = {},
): string | undefined {
  const v = get(obj, key);
  const field = joinPath(base, key);
  if (v === undefined) {
    if (rule.required) problems.add(field, rule.nonEmpty ? 'required: expected a non-empty string' : 'required');
    return undefined;
  }
  if (typeof v !== 'string') {
    problems.add(field, `expected a string, got ${describeJson(v)}`);
    return undefined;
  }
  if (rule.nonEmpty && v === '') {
    problems.add(field, 'expected a non-empty string, got ""');
    return undefined;
  }
  return v;
}

export function readObject(
  obj: JsonRecord,
  key: string,
  base: string,
  problems: ProblemList,
  required = false,
): JsonRecord | undefined {
  const v = get(obj, key);
  const field = joinPath(base, key);
  if (v === undefined) {
    if (required) problems.add(field, 'required: expected an object');
    return undefined;
  }
  if (!isRecord(v)) {
    problems.add(field, `expected an object, got ${describeJson(v)}`);
    return undefined;
  }
  return v;
}

export function readArray(
  obj: JsonRecord,
  key: string,
  base: string,
  problems: ProblemList,
  required = false,
): unknown[] | undefined {
  const v = get(obj, key);
  const field = joinPath(base, key);
  if (v === undefined) {
    if (required) problems.add(field, 'required: expected an array');
    return undefined;
  }
  if (!Array.isArray(v)) {
    problems.add(field, `expected an array, got ${describeJson(v)}`);
    return undefined;
  }
  return v;
}

export function readStringArray(obj: JsonRecord, key: string, base: string, problems: ProblemList): string[] {
  const list = readArray(obj, key, base, problems);
  if (list === undefined) return [];
  const out: string[] = [];
  list.forEach((item, i) => {
    if (typeof item === 'string') out.push(item);
    else problems.add(joinPath(joinPath(base, key), i), `expected a string, got ${describeJson(item)}`);
  });
  return out;
}

/** `obj[key] = value` that is safe for keys like "__proto__" coming from untrusted JSON. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
