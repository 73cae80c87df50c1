// ASCII-only case folding, as absl's EqualsIgnoreCase / AsciiStrToLower do in Envoy.
// JS toLowerCase folds non-ASCII too (e.g. 'İ'), which Envoy never does.

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** `s` with A-Z lowered; returns `s` itself (no copy) when it has no ASCII upper case. */
export function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (isUpper(s.charCodeAt(i))) return s.slice(0, i) + s.slice(i).replace(/[A-Z]/g, lowerChar);
  }
  return s;
}

function lowerChar(c: string): string {
  return String.fromCharCode(c.charCodeAt(0) + 32);
}

/** True when `s` holds `t` at `offset`, ignoring ASCII case. */
export function regionEqualsIgnoreCase(s: string, offset: number, t: string): boolean {
  if (offset < 0 || offset + t.length > s.length) return false;
  for (let i = 0; i < t.length; i++) {
    let a = s.charCodeAt(offset + i);
    let b = t.charCodeAt(i);
    if (a === b) continue;
    if (isUpper(a)) a += 32;
    if (isUpper(b)) b += 32;
    if (a !== b) return false;
  }
  return true;
}
