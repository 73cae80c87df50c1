// RegexMatchAndSubstitute with RE2::GlobalReplace semantics: every non-overlapping match is
// replaced; the substitution uses `\0`..`\9` for groups and `\\` for a backslash. As in
// RE2::Rewrite, an invalid escape ends that replacement's text, and a group number beyond the
// pattern's groups makes GlobalReplace leave the input untouched.
import { compileRe2 } from './re2.ts';

type Part = string | number;

/** RE2::MaxSubmatch: the highest `\N` anywhere in the substitution. */
function maxSubmatch(sub: string): number {
  let max = 0;
  for (let i = 0; i < sub.length; i++) {
    if (sub.charCodeAt(i) !== 92) continue;
    i++;
    const c = sub.charCodeAt(i);
    if (c >= 48 && c <= 57) max = Math.max(max, c - 48);
  }
  return max;
}

function parse(sub: string): Part[] {
  const parts: Part[] = [];
  let lit = '';
  for (let i = 0; i < sub.length; i++) {
    const ch = sub[i]!;
    if (ch !== '\\') {
      lit += ch;
      continue;
    }
    i++;
    const c = sub.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (lit !== '') parts.push(lit);
      lit = '';
      parts.push(c - 48);
    } else if (c === 92) {
      lit += '\\';
    } else {
      break; // "invalid rewrite pattern": RE2 stops writing this replacement here
    }
  }
  if (lit !== '') parts.push(lit);
  return parts;
}

/** Compiles pattern + substitution into `input => output`. Throws Re2SyntaxError. */
export function compileRe2Substitution(pattern: string, substitution: string): (input: string) => string {
  const re = compileRe2(pattern);
  if (maxSubmatch(substitution) > re.groupCount()) return (input) => input;
  const parts = parse(substitution);
  if (parts.every((p) => typeof p === 'string')) {
    const text = parts.join('');
    return (input) => re.matcher(input).replaceAll(() => text);
  }
  const replacer = (...args: unknown[]): string => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else {
        const g = args[p];
        if (typeof g === 'string') out += g;
      }
    }
    return out;
  };
  return (input) => re.matcher(input).replaceAll(replacer);
}
