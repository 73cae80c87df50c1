// RegexMatchAndSubstitute with RE2::GlobalReplace semantics: every non-overlapping match is
// replaced; the substitution uses `\0`..`\9` for groups and `\\` for a backslash. As in
// RE2::Rewrite, an invalid escape ends that replacement's text, and a group number beyond the
// pattern's groups makes GlobalReplace leave the input untouched.
import { compileRe2, type Re2 } from './re2.ts';

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

type Matcher = ReturnType<Re2['matcher']>;

/**
 * RE2::GlobalReplace: each search starts where the last match ended (the whole input stays the
 * context, so `^`, `$` and `\b` see it all), and an empty match right where the previous match
 * ended is not replaced: one character is copied instead. (re2js's replaceAll follows Java and
 * would replace that empty match too: `a*` on "baaac" gives "XbXXcX" instead of RE2's "XbXcX".)
 */
function globalReplace(re: Re2, input: string, rewrite: (m: Matcher) => string): string {
  const m = re.matcher(input);
  const len = input.length;
  let out = '';
  let p = 0;
  let lastEnd = -1;
  let count = 0;
  while (p <= len && m.find(p)) {
    const start = m.start();
    const end = m.end();
    if (p < start) out += input.slice(p, start);
    if (start === end && start === lastEnd) {
      // one code point (RE2 steps a whole UTF-8 rune)
      const c = input.charCodeAt(p);
      const n = c >= 0xd800 && c <= 0xdbff && p + 1 < len ? 2 : 1;
      if (p < len) out += input.slice(p, p + n);
      p += n;
      continue;
    }
    out += rewrite(m);
    p = end;
    lastEnd = end;
    count++;
  }
  if (count === 0) return input;
  return p < len ? out + input.slice(p) : out;
}

/** Compiles pattern + substitution into `input => output`. Throws Re2SyntaxError. */
export function compileRe2Substitution(pattern: string, substitution: string): (input: string) => string {
  const re = compileRe2(pattern);
  if (maxSubmatch(substitution) > re.groupCount()) return (input) => input;
  const parts = parse(substitution);
  if (parts.every((p) => typeof p === 'string')) {
    const text = parts.join('');
    return (input) => globalReplace(re, input, () => text);
  }
  const rewrite = (m: Matcher): string => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : (m.group(p) ?? '');
    return out;
  };
  return (input) => globalReplace(re, input, rewrite);
}
