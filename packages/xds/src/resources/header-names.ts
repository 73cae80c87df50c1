// Header name and value rules shared by matchers and header mutations.

/** Header names that can be neither added nor removed (Envoy's isModifiableHeader). */
export function isUnmodifiableHeader(lowerName: string): boolean {
  return lowerName.charCodeAt(0) === 58 /* : */ || lowerName === 'host';
}

/** CR, LF and NUL can never appear in a header name or value. */
export function hasInvalidHeaderChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13) return true;
  }
  return false;
}
