// An incremental HTTP/1.1 response parser for the mesh's upstream connections (RFC 9112): the
// status line and header block, then a body framed by Content-Length, chunked transfer coding
// (with trailers) or the connection's close. It is strict where a lenient reading could desync a
// reused connection, as Envoy's codec is: a header block with a bare LF, obs-fold, a space
// before the colon, conflicting Content-Length values, Content-Length together with
// Transfer-Encoding, or a malformed chunk size is a protocol error (HPE_* codes, undici's
// HTTPParserError, so the mesh reports it as it reported llhttp's). Interim 1xx responses other
// than 101 are read and dropped.
import { errors } from 'undici';

export type ResponseHeaders = Record<string, string | string[]>;

/** What the parser reports; `onData` returns false to pause (execute() stops after that chunk). */
export interface ResponseSink {
  onHead(status: number, statusText: string, headers: ResponseHeaders, rawHeaders: string[]): void;
  onData(chunk: Buffer): boolean;
  onEnd(trailers: ResponseHeaders, rawTrailers: string[]): void;
}

// parser states
const IDLE = 0;
const HEAD = 1;
const BODY_LENGTH = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_DATA_END = 5;
const TRAILERS = 6;
const BODY_EOF = 7;
const UPGRADED = 8;
const DONE = 9;

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const HEX = /^[0-9A-Fa-f]+$/;
/**
 * Whether `buf` has a line feed after `from` that no carriage return precedes: a line that can
 * never end in CRLF (a server writing bare LF lines), refused at once instead of waiting for the
 * timeout.
 */
function hasBareLf(buf: Buffer, from: number): boolean {
  for (let i = buf.indexOf(0x0a, from); i >= 0; i = buf.indexOf(0x0a, i + 1)) {
    if (i === from || buf[i - 1] !== 0x0d) return true;
  }
  return false;
}

// undici's class, so the mesh maps it as it mapped llhttp's errors (its code: `HPE_` + code)
const ParserError = errors.HTTPParserError as unknown as new (message: string, code: string) => Error;

function protocolError(message: string, code: string): Error {
  return new ParserError(`Response does not match the HTTP/1.1 protocol (${message})`, code);
}

/** Sets a header on an object the way undici does: repeated names become arrays, `__proto__` is a plain key. */
function addHeader(obj: ResponseHeaders, key: string, value: string): void {
  const prev = Object.hasOwn(obj, key) ? obj[key] : undefined;
  if (prev === undefined) {
    if (key === '__proto__')
      Object.defineProperty(obj, key, { value, enumerable: true, configurable: true, writable: true });
    else obj[key] = value;
  } else if (typeof prev === 'string') obj[key] = [prev, value];
  else prev.push(value);
}

/** Lower-cased names of the header names seen, as the server spelled them (a handful per upstream). */
const lowerNames = new Map<string, string>();

function lowerName(name: string): string {
  let lower = lowerNames.get(name);
  if (lower === undefined) {
    if (!TOKEN.test(name)) throw protocolError(`invalid header name ${JSON.stringify(name)}`, 'INVALID_HEADER_TOKEN');
    lower = name.toLowerCase();
    if (lowerNames.size < 1024) lowerNames.set(name, lower);
  }
  return lower;
}

/** What a header block says about the message's framing, noted while its fields are parsed. */
class Framing {
  contentLength: string | undefined;
  /** more than one Content-Length field */
  contentLengths: string[] | undefined;
  transferEncoding: string | undefined;
  connection: string | undefined;
  keepAlive: string | undefined;

  reset(): void {
    this.contentLength = undefined;
    this.contentLengths = undefined;
    this.transferEncoding = undefined;
    this.connection = undefined;
    this.keepAlive = undefined;
  }

  note(lower: string, value: string): void {
    switch (lower) {
      case 'content-length':
        if (this.contentLength === undefined) this.contentLength = value;
        else (this.contentLengths ??= [this.contentLength]).push(value);
        break;
      case 'transfer-encoding':
        this.transferEncoding = this.transferEncoding === undefined ? value : `${this.transferEncoding}, ${value}`;
        break;
      case 'connection':
        this.connection = this.connection === undefined ? value : `${this.connection}, ${value}`;
        break;
      case 'keep-alive':
        this.keepAlive = value;
        break;
    }
  }
}

/**
 * The header lines of a block from `from` (each `name: value` CRLF, the last CRLF optional),
 * into `headers` and `raw`, their framing fields into `framing`.
 */
function parseFields(text: string, from: number, headers: ResponseHeaders, raw: string[], framing?: Framing): void {
  let i = from;
  const n = text.length;
  while (i < n) {
    let eol = text.indexOf('\r\n', i);
    if (eol < 0) eol = n;
    if (eol === i) {
      i += 2;
      continue;
    }
    const first = text.charCodeAt(i);
    if (first === 0x20 || first === 0x09) throw protocolError('obs-fold', 'INVALID_HEADER_TOKEN');
    const colon = text.indexOf(':', i);
    if (colon <= i || colon > eol) throw protocolError('header line without a colon', 'INVALID_HEADER_TOKEN');
    const name = text.slice(i, colon);
    const lower = lowerName(name);
    let s = colon + 1;
    let e = eol;
    while (s < e && (text.charCodeAt(s) === 0x20 || text.charCodeAt(s) === 0x09)) s++;
    while (e > s && (text.charCodeAt(e - 1) === 0x20 || text.charCodeAt(e - 1) === 0x09)) e--;
    const value = text.slice(s, e);
    if (!VALUE.test(value)) throw protocolError(`invalid value of header ${name}`, 'INVALID_HEADER_TOKEN');
    raw.push(name, value);
    addHeader(headers, lower, value);
    framing?.note(lower, value);
    i = eol + 2;
  }
}

/** Whether a comma-separated header (Connection) lists `token` (lower case). */
export function listsToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  if (!value.includes(',')) {
    // one token, the usual case (`keep-alive`, `close`)
    const v = value.trim();
    return v.length === token.length && v.toLowerCase() === token;
  }
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** A Content-Length value: digits only, at most 2^53 - 1; else -1. */
function decimal(v: string): number {
  if (v.length === 0 || v.length > 16) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return Number.isSafeInteger(n) ? n : -1;
}

/** The message length Content-Length fields give (repeated or comma-listed equal values are one). */
function contentLengthOf(f: Framing): number {
  const values = f.contentLengths ?? [f.contentLength!];
  let length = -1;
  for (const field of values) {
    for (const part of field.includes(',') ? field.split(',') : [field]) {
      const n = decimal(part.trim());
      if (n < 0) throw protocolError('invalid Content-Length', 'INVALID_CONTENT_LENGTH');
      if (length !== -1 && n !== length)
        throw protocolError('conflicting Content-Length values', 'UNEXPECTED_CONTENT_LENGTH');
      length = n;
    }
  }
  return length;
}

export class ResponseParser {
  readonly #sink: ResponseSink;
  readonly #maxHeaderSize: number;
  #state: number = IDLE;
  /** the request expects no body in the response (HEAD) */
  #head = false;
  /** the request asked to switch protocols */
  #upgrade = false;
  /** the request is a CONNECT */
  #connect = false;
  #trailerBytes = 0;
  readonly #framing = new Framing();
  #lastHint: string | undefined;
  #lastHintMs: number | undefined;
  #pending: Buffer | undefined;
  #remaining = 0;
  #trailers: ResponseHeaders | undefined;
  #rawTrailers: string[] | undefined;
  /** after the response: whether the connection may carry another request */
  keepAlive = false;
  /** the response's `Keep-Alive: timeout=N` hint, ms (undefined: none) */
  keepAliveHintMs: number | undefined;
  /** the status of the response being read (0 before its head) */
  status = 0;
  /** counts start() calls: the sink may start the next response from within onEnd */
  #generation = 0;

  constructor(sink: ResponseSink, maxHeaderSize: number) {
    this.#sink = sink;
    this.#maxHeaderSize = maxHeaderSize;
  }

  /** Expect the response to a request of `method` (`upgrade`: it asked to switch protocols). */
  start(method: string, upgrade: boolean): void {
    this.#generation++;
    this.#state = HEAD;
    this.#head = method === 'HEAD';
    this.#upgrade = upgrade;
    this.#connect = method === 'CONNECT';
    this.#pending = undefined;
    this.status = 0;
    this.keepAlive = false;
    this.keepAliveHintMs = undefined;
  }

  /** The response is complete. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** The server switched protocols: the bytes after the head belong to the new protocol. */
  get upgraded(): boolean {
    return this.#state === UPGRADED;
  }

  /** Reading a body that ends when the connection closes. */
  get readsToEof(): boolean {
    return this.#state === BODY_EOF;
  }

  /**
   * Parses `data` from `offset`; returns where it stopped: at the end, after the response
   * completed or the connection upgraded (the rest is not this response's), or after a chunk
   * the sink paused on. Throws a protocol error.
   */
  execute(data: Buffer, offset = 0): number {
    let i = offset;
    const n = data.length;
    const generation = this.#generation;
    while (i < n) {
      switch (this.#state) {
        case HEAD: {
          i = this.#readHead(data, i);
          break;
        }
        case BODY_LENGTH: {
          const take = Math.min(this.#remaining, n - i);
          const chunk = data.subarray(i, i + take);
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = DONE;
          const go = this.#sink.onData(chunk);
          if (this.#state === DONE) {
            this.#end();
            return i;
          }
          if (!go || this.#generation !== generation) return i;
          break;
        }
        case CHUNK_SIZE: {
          i = this.#readChunkSize(data, i);
          break;
        }
        case CHUNK_DATA: {
          const take = Math.min(this.#remaining, n - i);
          const chunk = data.subarray(i, i + take);
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) {
            this.#state = CHUNK_DATA_END;
            this.#remaining = 2;
          }
          if (!this.#sink.onData(chunk) || this.#generation !== generation) return i;
          break;
        }
        case CHUNK_DATA_END: {
          // the CRLF after a chunk's data (possibly split across reads)
          const expected = this.#remaining === 2 ? 0x0d : 0x0a;
          if (data[i] !== expected) throw protocolError('chunk data not followed by CRLF', 'STRICT');
          i++;
          if (--this.#remaining === 0) this.#state = CHUNK_SIZE;
          break;
        }
        case TRAILERS: {
          i = this.#readTrailers(data, i);
          break;
        }
        case BODY_EOF: {
          const chunk = offset === 0 && i === 0 ? data : data.subarray(i);
          i = n;
          this.#sink.onData(chunk);
          return i;
        }
        case DONE:
        case UPGRADED:
          return i;
        case IDLE:
          throw protocolError('data with no request outstanding', 'INVALID_CONSTANT');
      }
      // done, upgraded, or the sink already started the next exchange from onEnd: the rest of
      // this read is not this response's
      if (this.#state === DONE || this.#state === UPGRADED || this.#generation !== generation) return i;
    }
    return i;
  }

  /**
   * The connection closed. Completes a body read to the end of the connection (returns true);
   * anything else cut short throws (false when nothing of a response had arrived).
   */
  finish(): boolean {
    if (this.#state === BODY_EOF) {
      this.#state = DONE;
      this.#end();
      return true;
    }
    return false;
  }

  /** Bytes of a response have arrived (a close now cuts it short rather than finds it missing). */
  get started(): boolean {
    return this.status !== 0 || (this.#pending !== undefined && this.#pending.length > 0);
  }

  #readHead(data: Buffer, i: number): number {
    const pending = this.#pending;
    // the head so far: this read's bytes, after what earlier reads left (rare: heads fit one read)
    const buf = pending === undefined ? data : Buffer.concat([pending, data.subarray(i)]);
    const from = pending === undefined ? i : 0;
    const before = pending === undefined ? 0 : pending.length;
    const end = buf.indexOf(CRLF_CRLF, pending === undefined ? i : Math.max(0, before - 3));
    if (end < 0) {
      if (hasBareLf(buf, from)) throw protocolError('bare LF in the header block', 'LF_EXPECTED');
      // up to 3 bytes of the blank line may be here already: a head of exactly maxHeaderSize
      // split before its last byte is not too large
      if (buf.length - from > this.#maxHeaderSize + 3) throw new errors.HeadersOverflowError();
      this.#pending = pending === undefined ? Buffer.from(data.subarray(i)) : buf;
      return data.length;
    }
    if (end - from > this.#maxHeaderSize) throw new errors.HeadersOverflowError();
    this.#pending = undefined;
    this.#onHead(buf.toString('latin1', from, end));
    return pending === undefined ? end + 4 : i + (end + 4 - before);
  }

  #onHead(text: string): void {
    // (a bare LF anywhere fails the line checks: no name, value or reason phrase admits it)
    let eol = text.indexOf('\r\n');
    if (eol < 0) eol = text.length;
    // HTTP-version SP status-code SP [reason-phrase]
    if (!text.startsWith('HTTP/1.')) throw protocolError('invalid status line', 'INVALID_CONSTANT');
    const minor = text.charCodeAt(7);
    if ((minor !== 0x30 && minor !== 0x31) || text.charCodeAt(8) !== 0x20) {
      throw protocolError('invalid HTTP version', 'INVALID_VERSION');
    }
    const d0 = text.charCodeAt(9) - 0x30;
    const d1 = text.charCodeAt(10) - 0x30;
    const d2 = text.charCodeAt(11) - 0x30;
    if (
      !(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) ||
      (eol > 12 && text.charCodeAt(12) !== 0x20)
    ) {
      throw protocolError('invalid status code', 'INVALID_STATUS');
    }
    const status = d0 * 100 + d1 * 10 + d2;
    const statusText = eol > 13 ? text.slice(13, eol) : '';
    if (!VALUE.test(statusText)) throw protocolError('invalid reason phrase', 'INVALID_STATUS');
    const headers: ResponseHeaders = {};
    const raw: string[] = [];
    const f = this.#framing;
    f.reset();
    parseFields(text, eol + 2, headers, raw, f);

    if (status < 200 && status !== 101) {
      // an interim response (100 Continue, 102, 103 Early Hints): dropped, the final one follows
      this.#state = HEAD;
      return;
    }
    this.status = status;
    this.keepAlive = minor === 0x30 ? listsToken(f.connection, 'keep-alive') : !listsToken(f.connection, 'close');
    const hint = f.keepAlive;
    if (hint !== undefined) {
      // servers repeat the same hint on every response
      if (hint !== this.#lastHint) {
        const m = /(?:^|[\s,])timeout\s*=\s*(\d+)/i.exec(hint);
        this.#lastHint = hint;
        this.#lastHintMs = m === null ? undefined : Number(m[1]) * 1000;
      }
      this.keepAliveHintMs = this.#lastHintMs;
    }

    // 101 to an upgrade, 2xx to a CONNECT: the connection now belongs to the caller
    if ((status === 101 && this.#upgrade) || (this.#connect && status >= 200 && status < 300)) {
      this.#state = UPGRADED;
      this.keepAlive = false;
      this.#sink.onHead(status, statusText, headers, raw);
      return;
    }
    if (status === 101) throw protocolError('101 Switching Protocols without an upgrade request', 'INVALID_STATUS');

    const te = f.transferEncoding;
    let length = -1;
    if (f.contentLength !== undefined) {
      if (te !== undefined) throw protocolError('Content-Length with Transfer-Encoding', 'UNEXPECTED_CONTENT_LENGTH');
      length = f.contentLengths === undefined ? decimal(f.contentLength) : -1;
      if (length < 0) length = contentLengthOf(f);
    }

    const noBody = this.#head || status === 204 || status === 304;
    this.#sink.onHead(status, statusText, headers, raw);
    if (noBody) {
      // a 204/304 that announces a body may have sent one: the connection is not reused
      if (!this.#head && (length > 0 || te !== undefined)) this.keepAlive = false;
      this.#state = DONE;
      this.#end();
      return;
    }
    if (te !== undefined) {
      const last = te
        .slice(te.lastIndexOf(',') + 1)
        .trim()
        .toLowerCase();
      if (last === 'chunked') {
        this.#state = CHUNK_SIZE;
        this.#pending = undefined;
        return;
      }
      // not chunked last: the body runs to the close (RFC 9112 §6.3)
      this.keepAlive = false;
      this.#state = BODY_EOF;
      return;
    }
    if (length >= 0) {
      if (length === 0) {
        this.#state = DONE;
        this.#end();
        return;
      }
      this.#remaining = length;
      this.#state = BODY_LENGTH;
      return;
    }
    this.keepAlive = false;
    this.#state = BODY_EOF;
  }

  /**
   * The next CRLF-ended line (a chunk size line or a trailer); `max`: its longest length, the
   * same whether it arrives in one read or many (`tooLong` is the error past it).
   */
  #readLine(
    data: Buffer,
    i: number,
    what: string,
    max: number,
    tooLong: () => Error,
  ): { line: string; next: number } | undefined {
    const start = this.#pending === undefined ? i : 0;
    const buf = this.#pending === undefined ? data : Buffer.concat([this.#pending, data.subarray(i)]);
    const eol = buf.indexOf('\r\n', start);
    if (eol < 0) {
      if (hasBareLf(buf, start)) throw protocolError(`bare LF in ${what}`, 'LF_EXPECTED');
      // (one byte of the line's CRLF may be here already)
      if (buf.length - start > max + 1) throw tooLong();
      this.#pending = buf === data ? Buffer.from(data.subarray(i)) : buf;
      return undefined;
    }
    if (eol - start > max) throw tooLong();
    const line = buf.toString('latin1', start, eol);
    if (line.includes('\n')) throw protocolError(`bare LF in ${what}`, 'LF_EXPECTED');
    const next = buf === data ? eol + 2 : i + (eol + 2 - this.#pending!.length);
    this.#pending = undefined;
    return { line, next };
  }

  #readChunkSize(data: Buffer, i: number): number {
    const r = this.#readLine(data, i, 'chunk size line', this.#maxHeaderSize, chunkLineTooLong);
    if (r === undefined) return data.length;
    const semi = r.line.indexOf(';');
    const size = (semi < 0 ? r.line : r.line.slice(0, semi)).trimEnd();
    if (!HEX.test(size) || size.length > 13) throw protocolError('invalid chunk size', 'INVALID_CHUNK_SIZE');
    const n = Number.parseInt(size, 16);
    if (n === 0) {
      this.#state = TRAILERS;
      this.#trailers = {};
      this.#rawTrailers = [];
      this.#trailerBytes = 0;
    } else {
      this.#remaining = n;
      this.#state = CHUNK_DATA;
    }
    return r.next;
  }

  #readTrailers(data: Buffer, i: number): number {
    let at = i;
    for (;;) {
      const r = this.#readLine(data, at, 'trailer', this.#maxHeaderSize - this.#trailerBytes, headersOverflow);
      if (r === undefined) return data.length;
      at = r.next;
      if (r.line.length === 0) {
        this.#state = DONE;
        this.#end();
        return at;
      }
      this.#trailerBytes += r.line.length + 2;
      parseFields(r.line, 0, this.#trailers!, this.#rawTrailers!);
      if (at >= data.length) return at;
    }
  }

  #end(): void {
    const trailers = this.#trailers ?? EMPTY;
    const raw = this.#rawTrailers ?? NO_RAW;
    this.#trailers = undefined;
    this.#rawTrailers = undefined;
    this.#sink.onEnd(trailers, raw);
  }
}

function chunkLineTooLong(): Error {
  return protocolError('chunk size line too long', 'INVALID_CHUNK_SIZE');
}

function headersOverflow(): Error {
  return new errors.HeadersOverflowError();
}

const EMPTY: ResponseHeaders = Object.freeze({}) as ResponseHeaders;
const NO_RAW: string[] = Object.freeze([]) as unknown as string[];
