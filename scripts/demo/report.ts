// Expected vs observed: the checks of a scenario and the table that shows them. Random splits
// pass within a binomial tolerance wide enough that a correct mesh fails a check about once in a
// hundred thousand runs (4.5 standard deviations), yet narrow enough to tell 80/20 from 50/50.
export interface Check {
  readonly name: string;
  readonly expected: string;
  readonly observed: string;
  readonly pass: boolean;
}

const Z = 4.5;

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** `count` of `n` should be a fraction `p` (a weighted split). */
export function shareCheck(name: string, count: number, n: number, p: number): Check {
  const tolerance = Z * Math.sqrt((p * (1 - p)) / Math.max(1, n));
  const observed = n === 0 ? 0 : count / n;
  const exact = p === 0 || p === 1;
  return {
    name,
    expected: exact ? (p === 0 ? 'none' : 'all') : `${Math.round(p * 100)}% ±${Math.ceil(tolerance * 100)}`,
    observed: `${count}/${n} (${pct(observed)})`,
    pass: n > 0 && (exact ? count === p * n : Math.abs(observed - p) <= tolerance),
  };
}

/** `count` of `n` should be all of them / none of them. */
export function allCheck(name: string, count: number, n: number): Check {
  return shareCheck(name, count, n, 1);
}

export function noneCheck(name: string, count: number, n: number): Check {
  return shareCheck(name, count, n, 0);
}

export function check(name: string, expected: string, observed: string, pass: boolean): Check {
  return { name, expected, observed, pass };
}

export function count<T>(items: readonly T[], pred: (x: T) => boolean): number {
  let n = 0;
  for (const x of items) if (pred(x)) n++;
  return n;
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function ms(x: number): string {
  return `${Math.round(x)} ms`;
}

export function renderTable(checks: readonly Check[], indent = '  '): string {
  const head = ['check', 'expected', 'observed', 'result'];
  const rows = checks.map((c) => [c.name, c.expected, c.observed, c.pass ? 'pass' : 'FAIL']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (l: string, m: string, r: string) => indent + l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const row = (cells: readonly string[]) => `${indent}│${cells.map((c, i) => ` ${c.padEnd(widths[i]!)} `).join('│')}│`;
  return [line('┌', '┬', '┐'), row(head), line('├', '┼', '┤'), ...rows.map(row), line('└', '┴', '┘')].join('\n');
}
