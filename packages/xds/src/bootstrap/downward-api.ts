// Kubernetes Downward API volume files (e.g. /etc/istio/pod/labels): one `key="value"` per line,
// the value quoted the way Go's strconv.Quote does it (which is what the kubelet writes).

export interface DownwardApiResult {
  readonly values: Record<string, string>;
  /** `line N: message` for every line that could not be read. */
  readonly problems: readonly { line: number; message: string }[];
}

export function parseDownwardApi(text: string): DownwardApiResult {
  const values: Record<string, string> = {};
  const problems: { line: number; message: string }[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      problems.push({ line: index + 1, message: 'expected key="value"' });
      return;
    }
    const key = line.slice(0, eq);
    const value = unquoteGo(line.slice(eq + 1));
    if (value === undefined) {
      problems.push({ line: index + 1, message: `value of ${JSON.stringify(key)} is not a double-quoted string` });
      return;
    }
    Object.defineProperty(values, key, { value, enumerable: true, writable: true, configurable: true });
  });
  return { values, problems };
}

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34 };

/** Go strconv.Unquote for a double-quoted string; undefined if malformed. `\x`/octal escapes are bytes (UTF-8). */
export function unquoteGo(quoted: string): string | undefined {
  if (quoted.length < 2 || !quoted.startsWith('"') || !quoted.endsWith('"')) return undefined;
  const body = quoted.slice(1, -1);
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  const pushCodePoint = (cp: number) => bytes.push(...encoder.encode(String.fromCodePoint(cp)));
  for (let i = 0; i < body.length; ) {
    const cp = body.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    if (ch === '"' || ch === '\n') return undefined;
    if (ch !== '\\') {
      pushCodePoint(cp);
      i += ch.length;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) return undefined;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      bytes.push(simple);
      i += 2;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 2, i + 2 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) return undefined;
      const n = Number.parseInt(hex, 16);
      if (e === 'x') bytes.push(n);
      else if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return undefined;
      else pushCodePoint(n);
      i += 2 + len;
    } else if (e >= '0' && e <= '7') {
      const oct = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(oct)) return undefined;
      const n = Number.parseInt(oct, 8);
      if (n > 255) return undefined;
      bytes.push(n);
      i += 4;
    } else {
      return undefined;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
