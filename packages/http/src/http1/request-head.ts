// The head of an HTTP/1.1 request as the mesh writes it upstream: request line, the caller's
// headers (validated as undici validates them, so a request undici refused is refused here too,
// with undici's error classes), Host from the origin when the caller sent none, and the body's
// framing (Content-Length, or chunked for a streamed body of unknown length).
import { errors } from 'undici';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const BAD_PATH = /[^\u0021-\u00ff]/;
const DIGITS = /^\d+$/;

/** Methods whose requests carry a body by definition: an empty one is announced (undici's rule). */
function expectsPayload(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'QUERY';
}

export interface RequestHead {
  /** request line and headers, up to (not including) the blank line */
  text: string;
  /** the caller's Content-Length, or -1 */
  contentLength: number;
  /** `connection: close` was asked: the connection ends with this request */
  reset: boolean;
}

/** Validated names, by the name as the caller spelled it (a handful per process). */
const validNames = new Map<string, string>();

function headerName(key: string): string {
  let lower = validNames.get(key);
  if (lower === undefined) {
    lower = key.toLowerCase();
    if (!TOKEN.test(lower)) throw new errors.InvalidArgumentError('invalid header key');
    if (validNames.size < 1024) validNames.set(key, lower);
  }
  return lower;
}

/**
 * The last long value each header name had (Istio's metadata exchange headers repeat a few
 * hundred bytes on every request): one comparison instead of a scan.
 */
const LONG_VALUE = 64;
const lastLongValues = new Map<string, string>();

function headerValue(key: string, v: unknown): string {
  if (typeof v === 'string') {
    if (v.length >= LONG_VALUE) {
      if (lastLongValues.get(key) === v) return v;
      if (BAD_VALUE.test(v)) throw new errors.InvalidArgumentError(`invalid ${key} header`);
      if (lastLongValues.size < 1024 || lastLongValues.has(key)) lastLongValues.set(key, v);
      return v;
    }
    if (BAD_VALUE.test(v)) throw new errors.InvalidArgumentError(`invalid ${key} header`);
    return v;
  }
  if (v === null) return '';
  if (typeof v === 'object' || typeof v === 'function') throw new errors.InvalidArgumentError(`invalid ${key} header`);
  const s = `${v as number}`;
  if (BAD_VALUE.test(s)) throw new errors.InvalidArgumentError(`invalid ${key} header`);
  return s;
}

class HeadBuilder {
  text: string;
  host = false;
  contentLength = -1;
  reset = false;

  constructor(method: string, path: string) {
    this.text = `${method} ${path} HTTP/1.1\r\n`;
  }

  add(key: string, raw: unknown): void {
    if (raw === undefined) return;
    const name = headerName(key);
    if (Array.isArray(raw)) {
      if (name === 'host' || name === 'content-length') throw new errors.InvalidArgumentError(`invalid ${name} header`);
      for (const v of raw) this.#special(key, name, headerValue(key, v));
      return;
    }
    this.#special(key, name, headerValue(key, raw));
  }

  #special(key: string, name: string, value: string): void {
    // the common names first fall through every check below with one comparison each
    switch (name) {
      case 'host':
        if (this.host) throw new errors.InvalidArgumentError('duplicate host header');
        this.host = true;
        break;
      case 'content-length':
        if (this.contentLength !== -1) throw new errors.InvalidArgumentError('duplicate content-length header');
        if (!DIGITS.test(value)) throw new errors.InvalidArgumentError('invalid content-length header');
        this.contentLength = Number.parseInt(value, 10);
        // written with the body's framing
        return;
      case 'transfer-encoding':
      case 'keep-alive':
      case 'upgrade':
        throw new errors.InvalidArgumentError(`invalid ${name} header`);
      case 'connection':
        for (const token of value.toLowerCase().split(',')) {
          const t = token.trim();
          if (!TOKEN.test(t)) throw new errors.InvalidArgumentError('invalid connection header');
          if (t === 'close') this.reset = true;
        }
        break;
      case 'expect':
        throw new errors.NotSupportedError('expect header not supported');
    }
    this.text += `${key}: ${value}\r\n`;
  }
}

/**
 * The request's head (`hostHeader`: `host: authority` of the origin, for a request without one).
 * Throws undici's InvalidArgumentError / NotSupportedError for what undici refuses.
 */
export function requestHead(method: string, path: string, headers: unknown, hostHeader: string): RequestHead {
  if (typeof path !== 'string' || (path[0] !== '/' && !path.startsWith('http://') && !path.startsWith('https://'))) {
    throw new errors.InvalidArgumentError('path must be an absolute URL or start with a slash');
  }
  if (BAD_PATH.test(path)) throw new errors.InvalidArgumentError('invalid request path');
  if (typeof method !== 'string' || !TOKEN.test(method))
    throw new errors.InvalidArgumentError('invalid request method');
  const b = new HeadBuilder(method, path);
  if (headers != null) {
    if (Array.isArray(headers)) {
      if (headers.length % 2 !== 0) throw new errors.InvalidArgumentError('headers array must be even');
      for (let i = 0; i < headers.length; i += 2) b.add(String(headers[i]), headers[i + 1]);
    } else if (typeof headers === 'object') {
      if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
        for (const pair of headers as Iterable<unknown>) {
          if (!Array.isArray(pair) || pair.length !== 2) {
            throw new errors.InvalidArgumentError('headers must be in key-value pair format');
          }
          b.add(String(pair[0]), pair[1]);
        }
      } else {
        const record = headers as Record<string, unknown>;
        for (const key in record) if (Object.hasOwn(record, key)) b.add(key, record[key]);
      }
    } else {
      throw new errors.InvalidArgumentError('headers must be an object or an array');
    }
  }
  if (!b.host) b.text += hostHeader;
  return { text: b.text, contentLength: b.contentLength, reset: b.reset };
}

/** The framing headers of a body of `length` bytes (-1: streamed, unknown), ending the head. */
export function framing(method: string, length: number): string {
  if (length < 0) return 'transfer-encoding: chunked\r\n\r\n';
  if (length > 0 || expectsPayload(method)) return `content-length: ${length}\r\n\r\n`;
  return '\r\n';
}
