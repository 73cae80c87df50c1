// A cheap screen for regex syntax that RE2 rejects. The data plane compiles every pattern with
// an RE2 engine later; this only catches the common PCRE-isms early, with a message that says why.
// Patterns are never compiled with JS RegExp here: its syntax and semantics differ from RE2.

/** An error message, or undefined when nothing obviously non-RE2 was found. */
export function re2Problem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'regex must not be empty';
  let inClass = false;
  const n = pattern.length;
  for (let i = 0; i < n; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 92 /* \ */) {
      const next = pattern.charCodeAt(i + 1);
      // \1..\7 followed by an octal digit is an octal escape in RE2; otherwise a backreference.
      if (next >= 49 && next <= 57) {
        const after = pattern.charCodeAt(i + 2);
        if (next >= 56 || !(after >= 48 && after <= 55)) {
          return `backreference \\${pattern[i + 1]} at offset ${i} is not supported by RE2`;
        }
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === 93 /* ] */) inClass = false;
      continue;
    }
    if (c === 91 /* [ */) {
      inClass = true;
      // a ']' right after '[' or '[^' is a literal
      if (pattern.charCodeAt(i + 1) === 94 /* ^ */) i++;
      if (pattern.charCodeAt(i + 1) === 93) i++;
      continue;
    }
    if (c === 40 /* ( */ && pattern.charCodeAt(i + 1) === 63 /* ? */) {
      const a = pattern.charCodeAt(i + 2);
      if (a === 61 /* = */ || a === 33 /* ! */) {
        return `lookahead (?${pattern[i + 2]} at offset ${i} is not supported by RE2`;
      }
      if (a === 60 /* < */) {
        const b = pattern.charCodeAt(i + 3);
        if (b === 61 || b === 33) return `lookbehind (?<${pattern[i + 3]} at offset ${i} is not supported by RE2`;
      }
      if (a === 62 /* > */) return `atomic group (?> at offset ${i} is not supported by RE2`;
    }
  }
  return undefined;
}
