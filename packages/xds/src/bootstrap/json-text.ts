// JSON.parse with an error that always says where: V8 omits the position for some syntax errors
// ("Unexpected token '}', ... is not valid JSON"), so on failure a small scanner finds the offset.
import { BootstrapError } from '../errors.ts';

export interface JsonSyntaxError {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
}

/** Parses `text` (a leading BOM is ignored); throws BootstrapError naming `source` and line/column. */
export function parseJsonText(text: string, source: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (err) {
    const found = findJsonSyntaxError(body);
    const v8 = err instanceof Error ? err.message : String(err);
    const where = found === undefined ? '' : ` at line ${found.line}, column ${found.column} (offset ${found.offset})`;
    const reason = found?.reason ?? v8;
    throw new BootstrapError(source, '$', `invalid JSON${where}: ${reason}`, { cause: err });
  }
}

/** The first syntax error in `text`, or undefined if it is valid JSON. Offsets and columns count UTF-16 units. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const fail = (reason: string): never => {
    throw new ScanError(i, reason);
  };
  const ws = () => {
    for (;;) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
      else return;
    }
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail(`invalid literal, expected ${word}`);
      i++;
    }
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('control character in string (escape it)');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('invalid escape in string');
      } else i++;
    }
  };
  const number = () => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m === null || m[0] === '-' || m[0] === '') fail('invalid number');
    i += m![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === undefined) fail('unexpected end of input, expected a value');
    else if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"')
          fail(text[i] === '}' ? 'trailing comma in object' : 'expected a double-quoted property name');
        string();
        ws();
        if (text[i] !== ':') fail("expected ':' after property name");
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else
          fail(
            text[i] === undefined ? 'unexpected end of input in object' : "expected ',' or '}' after property value",
          );
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail('trailing comma in array');
        } else if (text[i] === ']') {
          i++;
          return;
        } else
          fail(text[i] === undefined ? 'unexpected end of input in array' : "expected ',' or ']' after array element");
      }
    } else if (c === '"') string();
    else if (c === '-' || (c >= '0' && c <= '9')) number();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else fail(`unexpected character ${JSON.stringify(c)}`);
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail('unexpected text after the JSON value');
    return undefined;
  } catch (err) {
    if (!(err instanceof ScanError)) throw err;
    return { offset: err.offset, ...lineColumn(text, err.offset), reason: err.reason };
  }
}

class ScanError {
  readonly offset: number;
  readonly reason: string;
  constructor(offset: number, reason: string) {
    this.offset = offset;
    this.reason = reason;
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let j = 0; j < offset && j < text.length; j++) {
    if (text[j] === '\n') {
      line++;
      start = j + 1;
    }
  }
  return { line, column: offset - start + 1 };
}
