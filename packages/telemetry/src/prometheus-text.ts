// Prometheus text exposition (version 0.0.4) helpers: label escaping and number formatting.

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  if (!/[\\"\n]/.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `name="value",…` in the given order (no braces). */
export function labelText(names: readonly string[], labels: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (i > 0) out += ',';
    out += `${n}="${escapeLabelValue(labels[n] ?? '')}"`;
  }
  return out;
}

export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
