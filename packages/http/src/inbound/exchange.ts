// One inbound request on a Node server, shared by every adapter: reads the request and its
// connection, asks the engine, and, while someone listens on the inbound channel, measures the
// exchange (body bytes both ways, duration, status) and publishes one InboundRequestEvent when
// the response is done or the client went away. Without subscribers nothing is wrapped. The
// application's handler runs through the registered inbound scopes, if any (`run()`).
import { AsyncResource } from 'node:async_hooks';

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Listener } from '@inboard/xds';
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from '../dispatch/events.ts';
import { newRequestId } from '../dispatch/request-id.ts';
import type { PeerCertificate } from '../rbac/rbac-request.ts';
import { encodeGrpcMessage, httpToGrpcStatus, isGrpcContentType } from '../route/grpc.ts';
import { firstHeaderValue, type HeaderGetter, joinedHeaderValue } from '../route/route-request.ts';
import { type InboundRequestEvent, type InboundStartEvent, inboundChannel } from './events.ts';
import type { InboundDecision, InboundEngine, InboundLocalReply, InboundRequestInfo } from './inbound-engine.ts';
import { inboundScopes, runInScopes } from './inbound-scope.ts';
import { localMetadataExchange } from './metadata-exchange.ts';
import { connectionSecurity, peerPrincipal } from './peer-identity.ts';
import { extractTraceContext, type TraceContext } from './trace-context.ts';

/** Per-request mesh state an adapter attaches to the request (`req.mesh`). */
export interface MeshRequestInfo {
  readonly decision: InboundDecision;
  /** the client's SPIFFE id (first URI SAN of its verified certificate) */
  readonly peerPrincipal: string | undefined;
  readonly peer: PeerCertificate | undefined;
  readonly connectionSecurityPolicy: 'mutual_tls' | 'none';
  readonly sourceIp: string;
  readonly remoteIp: string;
  readonly matchedPolicy: string | undefined;
  /** W3C / B3 context of the caller, parsed on first use */
  readonly trace: TraceContext;
}

export interface ExchangeOptions {
  /** the framework's route template, read when the exchange completes */
  readonly route?: () => string | undefined;
  /** 'manual': the adapter calls complete() (fastify's onResponse); aborts are still caught */
  readonly completion?: 'auto' | 'manual';
  /** monotonic ms clock for durations (tests); performance.now by default */
  readonly now?: () => number;
  /** when the request arrived, if the adapter had to wait for the policy first */
  readonly arrivedAt?: RequestArrival;
  /** the adapter already waited for the engine once (its ready timeout may have passed) */
  readonly waited?: boolean;
}

/** The moment a request arrived: monotonic (for the duration) and wall clock (for the start time). */
export interface RequestArrival {
  readonly monotonic: number;
  readonly wallClock: number;
}

function headerGetterOf(req: IncomingMessage): HeaderGetter {
  // headersDistinct keeps repeated headers apart, so matchers join them with ',' as Envoy does
  const distinct = req.headersDistinct as IncomingMessage['headersDistinct'] | undefined;
  if (distinct !== undefined) return (name) => distinct[name];
  // The HTTP/2 compatibility request has no headersDistinct and its `headers` join repeats with
  // ', ': build them from the raw name / value pairs instead. Cookies stay as Node joined them
  // ('; '), as Envoy's HTTP/2 codec joins them.
  let built: Record<string, string[]> | undefined;
  return (name) => {
    if (name === 'cookie') return req.headers.cookie;
    built ??= distinctHeaders(req.rawHeaders);
    return built[name];
  };
}

function distinctHeaders(raw: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const values = out[name];
    if (values === undefined) out[name] = [raw[i + 1]!];
    else values.push(raw[i + 1]!);
  }
  return out;
}

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)/i;

/**
 * The authority of an HTTP/1 absolute-form request-target (`GET http://host:port/p`): Envoy's
 * HTTP/1 codec takes :authority from it and ignores the Host header (RFC 7230 §5.7).
 */
function absoluteFormAuthority(req: IncomingMessage, target: string): string | undefined {
  if (target.charCodeAt(0) === 47 /* / */ || req.httpVersionMajor !== 1 || req.method === 'CONNECT') return undefined;
  const m = ABSOLUTE_FORM.exec(target);
  if (m === null) return undefined;
  const hostPort = m[1]!;
  const at = hostPort.lastIndexOf('@');
  return at < 0 ? hostPort : hostPort.slice(at + 1);
}

function requestInfo(req: IncomingMessage, headers: HeaderGetter): InboundRequestInfo {
  const socket = req.socket as Socket | null;
  const security = connectionSecurity(socket);
  const target = req.url ?? '/';
  const absolute = absoluteFormAuthority(req, target);
  // the application is handed what Envoy would forward: the Host the policy checked
  if (absolute !== undefined) setRequestHeader(req, 'host', absolute);
  return {
    method: req.method ?? 'GET',
    target,
    authority: absolute ?? firstHeaderValue(headers(':authority')) ?? req.headers.host ?? '',
    scheme: security.tls ? 'https' : 'http',
    headers,
    sourceIp: socket?.remoteAddress ?? '',
    destinationIp: socket?.localAddress ?? '',
    destinationPort: socket?.localPort ?? 0,
    security,
  };
}

const XFCC = 'x-forwarded-client-cert';
const REQUEST_ID = 'x-request-id';

/**
 * What Envoy's connection manager does to the request headers before any filter, as istiod
 * configures the inbound one: x-forwarded-client-cert is removed unless the connection is mutual
 * TLS, where this hop's client certificate is appended (APPEND_FORWARD), so a plaintext caller
 * cannot forge an identity; an x-request-id (a UUID v4) is generated when the request has none
 * (generate_request_id), so the application, RBAC and the access log see the same one.
 */
function connectionManagerHeaders(req: IncomingMessage, generateRequestId: boolean): void {
  const details = connectionSecurity(req.socket as Socket | null).clientCertDetails;
  const xfcc = req.headers[XFCC];
  if (details === undefined) {
    if (xfcc !== undefined) setRequestHeader(req, XFCC, undefined);
  } else {
    const previous = Array.isArray(xfcc) ? xfcc.join(',') : xfcc;
    setRequestHeader(req, XFCC, previous === undefined || previous === '' ? details : `${previous},${details}`);
  }
  if (generateRequestId && req.headers[REQUEST_ID] === undefined) setRequestHeader(req, REQUEST_ID, newRequestId());
}

/**
 * generate_request_id of the listener's connection managers (istiod leaves it unset: true). The
 * headers are set before a filter chain is chosen; istiod's chains all say the same.
 */
function generatesRequestIds(listener: Listener): boolean {
  const chains = listener.filterChains;
  for (let i = 0; i < chains.length; i++) if (chains[i]!.hcm.generateRequestId) return true;
  return listener.defaultFilterChain?.hcm.generateRequestId ?? chains.length === 0;
}

/**
 * Sets (or removes) a request header in every view Node keeps of it: `headers`,
 * `headersDistinct` (both cached once read) and `rawHeaders`.
 */
function setRequestHeader(req: IncomingMessage, name: string, value: string | undefined): void {
  const headers = req.headers;
  const distinct = req.headersDistinct as Record<string, string[]> | undefined;
  if (value === undefined) {
    delete headers[name];
    if (distinct !== undefined) delete distinct[name];
  } else {
    headers[name] = value;
    if (distinct !== undefined) distinct[name] = [value];
  }
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === name) raw.splice(i, 2);
  if (value !== undefined) raw.push(name, value);
}

class MeshInfo implements MeshRequestInfo {
  readonly decision: InboundDecision;
  readonly sourceIp: string;
  readonly #headers: HeaderGetter;
  #trace: TraceContext | undefined;

  constructor(decision: InboundDecision, sourceIp: string, headers: HeaderGetter) {
    this.decision = decision;
    this.sourceIp = sourceIp;
    this.#headers = headers;
  }
  get peer(): PeerCertificate | undefined {
    return this.decision.peer;
  }
  get peerPrincipal(): string | undefined {
    return peerPrincipal(this.decision.peer);
  }
  get connectionSecurityPolicy(): 'mutual_tls' | 'none' {
    return this.decision.peer === undefined ? 'none' : 'mutual_tls';
  }
  get remoteIp(): string {
    return this.decision.remoteIp;
  }
  get matchedPolicy(): string | undefined {
    return this.decision.matchedPolicy;
  }
  get trace(): TraceContext {
    return (this.#trace ??= extractTraceContext(this.#headers));
  }
}

/**
 * Emits the request's and the response's events in the current async context (the scopes'), so
 * what the application does from their listeners (a body parser's 'end', a 'finish' hook) stays
 * in it: those events otherwise run in the context of the connection.
 */
function emitInCurrentContext(req: IncomingMessage, res: ServerResponse): void {
  const resource = new AsyncResource('InboardInbound');
  const reqEmit = req.emit;
  const resEmit = res.emit;
  req.emit = function (this: IncomingMessage, ...args: Parameters<IncomingMessage['emit']>) {
    return resource.runInAsyncScope(reqEmit, this, ...args);
  } as IncomingMessage['emit'];
  res.emit = function (this: ServerResponse, ...args: Parameters<ServerResponse['emit']>) {
    return resource.runInAsyncScope(resEmit, this, ...args);
  } as ServerResponse['emit'];
}

/**
 * `grpc-status` in headers or trailers as an application hands them to writeHead / addTrailers:
 * an object (any name case), `[name, value]` pairs, or a flat `[name, value, ...]` list.
 */
function grpcStatusIn(headers: unknown): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  if (Array.isArray(headers)) {
    const pairs = Array.isArray(headers[0]);
    const step = pairs ? 1 : 2;
    for (let i = 0; i < headers.length; i += step) {
      const [name, value] = pairs ? (headers[i] as unknown[]) : [headers[i], headers[i + 1]];
      if (typeof name === 'string' && name.toLowerCase() === 'grpc-status') return String(value);
    }
    return undefined;
  }
  const h = headers as Record<string, unknown>;
  let v = h['grpc-status'];
  if (v === undefined)
    for (const name of Object.keys(h))
      if (name.toLowerCase() === 'grpc-status') {
        v = h[name];
        break;
      }
  return v === undefined ? undefined : String(Array.isArray(v) ? v[0] : v);
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

export class InboundExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly info: MeshRequestInfo;
  readonly #options: ExchangeOptions;
  readonly #startTime: number;
  readonly #start: number;
  #requestBytes = 0;
  #responseBytes = 0;
  #done = false;
  readonly #measured: boolean;
  readonly #info: InboundRequestInfo;
  readonly #now: () => number;
  #started: InboundStartEvent | undefined;
  #peerMetadata: string | undefined;
  #peerMetadataId: string | undefined;
  /** a gRPC request (measured only), and the grpc-status the application sent */
  #grpc = false;
  #grpcStatus: string | undefined;
  #grpcTrailer: string | undefined;

  constructor(engine: InboundEngine, req: IncomingMessage, res: ServerResponse, options: ExchangeOptions = {}) {
    this.req = req;
    this.res = res;
    this.#options = options;
    const now = options.now ?? performance.now.bind(performance);
    this.#now = now;
    this.#start = options.arrivedAt?.monotonic ?? now();
    this.#startTime = options.arrivedAt?.wallClock ?? Date.now();
    const listener = engine.policy.listener;
    if (listener !== undefined) connectionManagerHeaders(req, generatesRequestIds(listener));
    const headers = headerGetterOf(req);
    this.#info = requestInfo(req, headers);
    const decision = engine.handle(this.#info);
    this.info = new MeshInfo(decision, this.#info.sourceIp, headers);
    this.#measured = inboundChannel.hasSubscribers;
    if (this.#measured) this.#measure();
    // Istio's metadata exchange, as Envoy's peer_metadata filter does it: read the caller's
    // headers, keep them from the application, and answer each one the caller sent with this
    // workload's own
    const md = req.headers[PEER_METADATA_HEADER];
    const id = req.headers[PEER_METADATA_ID_HEADER];
    if (md !== undefined || id !== undefined) {
      this.#peerMetadata = typeof md === 'string' ? md : undefined;
      this.#peerMetadataId = typeof id === 'string' ? id : undefined;
      delete req.headers[PEER_METADATA_HEADER];
      delete req.headers[PEER_METADATA_ID_HEADER];
      const own = localMetadataExchange();
      if (own !== undefined && !res.headersSent) {
        if (id !== undefined) res.setHeader(PEER_METADATA_ID_HEADER, own.id);
        if (md !== undefined) res.setHeader(PEER_METADATA_HEADER, own.metadata);
      }
    }
  }

  get decision(): InboundDecision {
    return this.info.decision;
  }

  get allowed(): boolean {
    return this.info.decision.action === 'allow';
  }

  /**
   * Gives the application the normalised path, as Envoy forwards it: the path RBAC checked is the
   * path that gets served.
   */
  applyPath(): void {
    const d = this.info.decision;
    if (d.action === 'allow' && this.req.url !== d.path) this.req.url = d.path;
  }

  /**
   * Runs the application's part of the request (the handler, or the rest of the framework's
   * pipeline) inside the registered inbound scopes; directly when there are none, or when nobody
   * listens for the request's end.
   */
  run(handler: () => void): void {
    const scopes = inboundScopes();
    if (scopes.length === 0 || !this.#measured) {
      handler();
      return;
    }
    const info = this.#info;
    const socket = this.req.socket as Socket | null;
    const start: InboundStartEvent = {
      startTime: this.#startTime,
      method: info.method,
      path: this.info.decision.path,
      authority: info.authority,
      scheme: info.scheme,
      protocol: `HTTP/${this.req.httpVersion}`,
      sourceIp: info.sourceIp,
      sourcePort: socket?.remotePort ?? 0,
      destinationIp: info.destinationIp,
      destinationPort: info.destinationPort,
      trace: this.info.trace,
      userAgent: firstHeaderValue(info.headers('user-agent')),
      peerMetadata: this.#peerMetadata,
      peerMetadataId: this.#peerMetadataId,
    };
    this.#started = start;
    runInScopes(scopes, start, this.req.headers, () => {
      emitInCurrentContext(this.req, this.res);
      handler();
    });
  }

  /** Marks the response complete (manual completion); later calls do nothing. */
  complete(): void {
    this.#finish(false);
  }

  #measure(): void {
    const { req, res } = this;
    // body bytes as they are pushed into the request stream: counting never changes its flow mode
    const push = req.push;
    req.push = (chunk: unknown, encoding?: BufferEncoding) => {
      if (chunk !== null && chunk !== undefined) this.#requestBytes += byteLength(chunk, encoding);
      return push.call(req, chunk, encoding);
    };
    const write = res.write;
    const end = res.end;
    const count = (chunk: unknown, encoding: unknown) => {
      if (typeof chunk !== 'function') this.#responseBytes += byteLength(chunk, encoding);
    };
    res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      count(chunk, rest[0]);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as ServerResponse['write'];
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      count(args[0], args[1]);
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse['end'];
    // gRPC: the status the application sends, in the trailers or (trailers-only) the headers;
    // headers given to writeHead may never reach getHeader(), so both calls are watched
    if (isGrpcContentType(firstHeaderValue(req.headers['content-type']))) {
      this.#grpc = true;
      const writeHead = res.writeHead;
      const addTrailers = res.addTrailers;
      const self = this;
      res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
        const status = grpcStatusIn(typeof args[1] === 'string' ? args[2] : args[1]);
        if (status !== undefined) self.#grpcStatus = status;
        return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
      } as ServerResponse['writeHead'];
      res.addTrailers = function (this: ServerResponse, trailers: unknown) {
        const status = grpcStatusIn(trailers);
        if (status !== undefined) self.#grpcTrailer = status;
        return (addTrailers as (t: unknown) => void).call(this, trailers);
      } as ServerResponse['addTrailers'];
    }
    if (this.#options.completion !== 'manual') res.once('finish', () => this.#finish(false));
    res.once('close', () => this.#finish(!res.writableFinished));
  }

  /**
   * Measures an admitted upgrade, whose response the application writes on the raw socket: the
   * status line it writes, the bytes each way after the upgrade request and the response head,
   * and the end of the exchange when the socket closes (Envoy logs an upgrade as its stream ends).
   * `head`: the bytes Node read past the request head.
   */
  measureUpgrade(socket: Duplex, head: number): void {
    if (!this.#measured) return;
    const counters = socket as Partial<Pick<Socket, 'bytesRead' | 'bytesWritten'>>;
    const read0 = counters.bytesRead ?? 0;
    const written0 = counters.bytesWritten ?? 0;
    let status = 0;
    let responseHead = 0;
    let sniffed = false;
    const write = socket.write;
    const end = socket.end;
    // only the first chunk is looked at; the socket's own methods are back right after it
    const sniff = (chunk: unknown) => {
      if (sniffed || chunk === null || chunk === undefined || typeof chunk === 'function') return;
      sniffed = true;
      socket.write = write;
      socket.end = end;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
      const text = bytes.toString('latin1', 0, Math.min(bytes.length, 8192));
      const line = /^HTTP\/\d\.\d (\d{3})/.exec(text);
      if (line !== null) status = Number(line[1]);
      const headEnd = text.indexOf('\r\n\r\n');
      responseHead = headEnd < 0 ? 0 : headEnd + 4;
    };
    socket.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]) {
      sniff(chunk);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Duplex['write'];
    socket.end = function (this: Duplex, ...args: unknown[]) {
      sniff(args[0]);
      return (end as (...a: unknown[]) => Duplex).apply(this, args);
    } as Duplex['end'];
    socket.once('close', () => {
      this.#requestBytes = head + Math.max(0, (counters.bytesRead ?? 0) - read0);
      this.#responseBytes = Math.max(0, (counters.bytesWritten ?? 0) - written0 - responseHead);
      this.#finish(status === 0, status);
    });
  }

  #sentGrpcStatus(): string | undefined {
    if (this.#grpcTrailer !== undefined) return this.#grpcTrailer;
    const h = this.res.getHeader('grpc-status');
    return h !== undefined ? String(Array.isArray(h) ? h[0] : h) : this.#grpcStatus;
  }

  #finish(aborted: boolean, upgradeStatus?: number): void {
    if (this.#done || !this.#measured) return;
    this.#done = true;
    const d = this.info.decision;
    const res = this.res;
    let status: number;
    let flags: string;
    let details: string;
    if (upgradeStatus !== undefined && d.action === 'allow') {
      // the application answered on the socket; nothing written: the client went away first
      status = upgradeStatus;
      flags = aborted ? 'DC' : '-';
      details = aborted ? 'downstream_remote_disconnect' : 'via_upstream';
    } else if (d.action !== 'allow') {
      // the policy answered (or closed the connection): report what it sent (200 to a gRPC
      // caller, as Envoy's access log does), else what it decided
      status = res.headersSent ? res.statusCode : d.status;
      flags = d.responseFlags;
      details = d.responseCodeDetails;
    } else if (aborted) {
      status = res.headersSent ? res.statusCode : 0;
      flags = 'DC';
      details = 'downstream_remote_disconnect';
    } else {
      status = res.statusCode;
      flags = '-';
      details = 'via_upstream';
    }
    const info = this.#info;
    const socket = this.req.socket as Socket | null;
    const headers = info.headers;
    // a TLSSocket's SNI (false when the client sent none); the HTTP/2 compatibility socket proxies it
    const sni = (socket as { servername?: unknown } | null)?.servername;
    const event: InboundRequestEvent = {
      reporter: 'destination',
      startTime: this.#startTime,
      durationMs: this.#now() - this.#start,
      method: info.method,
      path: d.path,
      authority: info.authority,
      scheme: info.scheme,
      protocol: `HTTP/${this.req.httpVersion}`,
      route: this.#options.route?.(),
      status,
      responseFlags: flags,
      responseCodeDetails: details,
      requestBytes: this.#requestBytes,
      responseBytes: d.action !== 'allow' && d.status === 0 ? 0 : this.#responseBytes,
      peerPrincipal: this.info.peerPrincipal,
      sourceIp: info.sourceIp,
      sourcePort: socket?.remotePort ?? 0,
      destinationIp: info.destinationIp,
      destinationPort: info.destinationPort,
      connectionSecurityPolicy: this.info.connectionSecurityPolicy,
      matchedPolicy: d.matchedPolicy,
      allowed: d.action === 'allow',
      filterChain: d.filterChain,
      trace: this.info.trace,
      userAgent: firstHeaderValue(headers('user-agent')),
      peerMetadata: this.#peerMetadata,
      peerMetadataId: this.#peerMetadataId,
      start: this.#started,
      grpc: this.#grpc,
      grpcStatus: this.#grpc ? this.#sentGrpcStatus() : undefined,
      xForwardedFor: joinedHeaderValue(headers('x-forwarded-for')),
      requestedServerName: typeof sni === 'string' && sni !== '' ? sni : undefined,
    };
    inboundChannel.publish(event);
  }
}

/** Starts the inbound side of one request. */
export function startInbound(
  engine: InboundEngine,
  req: IncomingMessage,
  res: ServerResponse,
  options?: ExchangeOptions,
): InboundExchange {
  return new InboundExchange(engine, req, res, options);
}

/**
 * Writes the policy's answer as Envoy's local reply (status, `content-type: text/plain`, exact
 * body), or closes the connection when the policy says the connection should not exist.
 */
export function sendLocalReply(res: ServerResponse, reply: InboundLocalReply): void {
  if (reply.closeConnection) {
    res.socket?.destroy();
    res.destroy();
    return;
  }
  if (isGrpcContentType(res.req?.headers['content-type'])) {
    // Envoy's sendLocalReply to a gRPC caller: trailers-only, HTTP 200, the status mapped to
    // grpc-status and the text as grpc-message
    res.statusCode = 200;
    for (const [name, value] of Object.entries(reply.headers)) if (name !== 'content-type') res.setHeader(name, value);
    res.setHeader('content-type', 'application/grpc');
    res.setHeader('grpc-status', String(httpToGrpcStatus(reply.status)));
    const text = typeof reply.body === 'string' ? reply.body : reply.body.toString('utf8');
    if (text !== '') res.setHeader('grpc-message', encodeGrpcMessage(text));
    res.end();
    return;
  }
  const body = reply.body;
  const headers: Record<string, string | number> = { ...reply.headers, 'content-length': Buffer.byteLength(body) };
  res.writeHead(reply.status, headers);
  res.end(body);
}
