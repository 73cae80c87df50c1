// Pieces of the Http1Pool tests: a recording DispatchHandler, and a scripted TCP server that
// reads requests off the wire (head, body framing as sent) and answers with whatever bytes a
// test writes, for the malformed and edge responses node:http would never send.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Http1Pool } from '../src/http1/http1-pool.ts';

type Controller = Dispatcher.DispatchController;

export interface Hooks {
  onRequestStart?(c: Controller, rec: Recording): void;
  onResponseStart?(c: Controller, status: number, rec: Recording): void;
  onResponseData?(c: Controller, chunk: Buffer, rec: Recording): void;
  onResponseEnd?(c: Controller, rec: Recording): void;
}

/** A DispatchHandler that records its callbacks and fails the test on a second terminal one. */
export class Recording implements Dispatcher.DispatchHandler {
  readonly hooks: Hooks;
  controller: Controller | undefined;
  readonly calls: string[] = [];
  status = 0;
  statusText = '';
  headers: Record<string, string | string[]> = {};
  readonly chunks: Buffer[] = [];
  trailers: Record<string, string | string[]> | undefined;
  error: (Error & { code?: string }) | undefined;
  /** resolves on the first onResponseEnd or onResponseError */
  readonly done: Promise<void>;
  #resolve!: () => void;

  constructor(hooks: Hooks = {}) {
    this.hooks = hooks;
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  get ended(): boolean {
    return this.calls.includes('end');
  }

  #terminal(): void {
    const n = this.calls.filter((c) => c === 'end' || c === 'error').length;
    assert.equal(n, 1, `one terminal callback, got ${this.calls.join(',')}`);
    this.#resolve();
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    this.calls.push('start');
    this.hooks.onRequestStart?.(controller, this);
  }

  onResponseStart(controller: Controller, status: number, headers: Record<string, string | string[]>, text: string) {
    assert.equal(this.calls.includes('end') || this.calls.includes('error'), false, 'a response after the end');
    this.calls.push('headers');
    this.status = status;
    this.statusText = text;
    this.headers = headers;
    this.hooks.onResponseStart?.(controller, status, this);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    assert.equal(this.calls.includes('end') || this.calls.includes('error'), false, 'data after the end');
    if (this.calls.at(-1) !== 'data') this.calls.push('data');
    this.chunks.push(Buffer.from(chunk));
    this.hooks.onResponseData?.(controller, chunk, this);
  }

  onResponseEnd(_controller: Controller, trailers: Record<string, string | string[]>): void {
    this.calls.push('end');
    this.trailers = trailers;
    this.#terminal();
    this.hooks.onResponseEnd?.(_controller, this);
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.calls.push('error');
    this.error = err;
    this.#terminal();
  }
}

/** Dispatches a request (GET / by default) on `pool` with a fresh Recording. */
export function send(
  pool: Pick<Http1Pool, 'dispatch' | 'origin'>,
  opts: Partial<Dispatcher.DispatchOptions> = {},
  hooks?: Hooks,
): Recording {
  const rec = new Recording(hooks);
  pool.dispatch({ origin: pool.origin.origin, method: 'GET', path: '/', ...opts } as Dispatcher.DispatchOptions, rec);
  return rec;
}

/** One request as it arrived on the wire. */
export interface WireRequest {
  readonly method: string;
  readonly path: string;
  /** header lines, names lower-cased (repeated names joined with ", ") */
  readonly headers: Record<string, string>;
  /** the body's bytes after framing was removed */
  readonly body: Buffer;
  /** the bytes of the whole request as sent */
  readonly raw: string;
}

/** One accepted connection of a ScriptedServer. */
export class Peer {
  readonly socket: Socket;
  readonly index: number;
  readonly requests: WireRequest[] = [];
  /** every byte received, latin1 */
  received = '';
  readonly closed: Promise<void>;
  #buf = Buffer.alloc(0);
  #waiters: { n: number; resolve: (r: WireRequest) => void }[] = [];
  #onRequest: (peer: Peer, req: WireRequest) => void;

  constructor(socket: Socket, index: number, onRequest: (peer: Peer, req: WireRequest) => void) {
    this.socket = socket;
    this.index = index;
    this.#onRequest = onRequest;
    this.closed = once(socket, 'close').then(() => {});
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      this.received += d.toString('latin1');
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#drain();
    });
  }

  /** Resolves with the `n`th request (1-based) on this connection. */
  request(n: number): Promise<WireRequest> {
    const r = this.requests[n - 1];
    if (r !== undefined) return Promise.resolve(r);
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  write(text: string | Buffer): void {
    this.socket.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  }

  #drain(): void {
    for (;;) {
      const req = parseRequest(this.#buf);
      if (req === undefined) return;
      this.#buf = this.#buf.subarray(req.raw.length);
      this.requests.push(req);
      this.#waiters = this.#waiters.filter((w) => {
        if (this.requests.length < w.n) return true;
        w.resolve(this.requests[w.n - 1]!);
        return false;
      });
      this.#onRequest(this, req);
    }
  }
}

function parseRequest(buf: Buffer): WireRequest | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const [method = '', path = ''] = lines[0]!.split(' ');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let at = end + 4;
  let body: Buffer;
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return undefined;
      const size = Number.parseInt(buf.toString('latin1', at, eol), 16);
      if (size === 0) {
        if (buf.length < eol + 4) return undefined;
        at = eol + 4;
        break;
      }
      if (buf.length < eol + 2 + size + 2) return undefined;
      parts.push(buf.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    const n = Number(headers['content-length'] ?? 0);
    if (buf.length < at + n) return undefined;
    body = buf.subarray(at, at + n);
    at += n;
  }
  return { method, path, headers, body: Buffer.from(body), raw: buf.toString('latin1', 0, at) };
}

/** A TCP server on 127.0.0.1:0 whose connections a test scripts byte by byte. */
export class ScriptedServer {
  readonly server: Server;
  readonly peers: Peer[] = [];
  onRequest: (peer: Peer, req: WireRequest) => void;
  #peerWaiters: { n: number; resolve: (p: Peer) => void }[] = [];

  constructor(onRequest: (peer: Peer, req: WireRequest) => void = () => {}) {
    this.onRequest = onRequest;
    this.server = createServer((socket) => {
      const peer = new Peer(socket, this.peers.length + 1, (p, r) => this.onRequest(p, r));
      this.peers.push(peer);
      this.#peerWaiters = this.#peerWaiters.filter((w) => {
        if (this.peers.length < w.n) return true;
        w.resolve(this.peers[w.n - 1]!);
        return false;
      });
    });
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves with the `n`th connection (1-based). */
  peer(n: number): Promise<Peer> {
    const p = this.peers[n - 1];
    if (p !== undefined) return Promise.resolve(p);
    return new Promise((resolve) => this.#peerWaiters.push({ n, resolve }));
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    for (const p of this.peers) p.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** An HTTP/1.1 response with a Content-Length body. */
export function ok(body = 'ok', extra = ''): string {
  return `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body, 'latin1')}\r\n${extra}\r\n${body}`;
}
