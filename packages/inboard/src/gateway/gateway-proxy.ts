// One request through the ingress gateway: the downstream request is handed to the mesh
// dispatcher with its Host, path, method, headers and body (streamed), and the upstream response
// streams back. What Envoy's gateway adds on the way in: x-forwarded-for / -proto and a
// x-request-id; hop-by-hop headers are not forwarded in either direction.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { MeshDispatcher } from '@inboard/http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

export interface ProxyContext {
  readonly dispatcher: MeshDispatcher;
  /** the synthetic origin of the gateway listener (GatewayMesh.listenerOrigin) */
  readonly origin: string;
  /** how the client reached the gateway */
  readonly scheme: 'http' | 'https';
}

/** What happened, for the access log. */
export interface ProxyOutcome {
  readonly status: number;
  /** Envoy response flags (`-` when none) */
  readonly flags: string;
  readonly bytesSent: number;
  readonly durationMs: number;
  readonly error?: Error;
}

function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const c = headers.connection;
  const out = new Set<string>();
  if (typeof c !== 'string') return out;
  for (const t of c.split(',')) out.add(t.trim().toLowerCase());
  return out;
}

function requestHeaders(req: IncomingMessage, scheme: string): Record<string, string | string[]> {
  const named = connectionTokens(req.headers);
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  // HTTP/1.0 clients may send no Host: route on the address they used, as Envoy does.
  if (out.host === undefined) out.host = req.socket.localAddress ?? 'localhost';
  const peer = req.socket.remoteAddress;
  if (peer !== undefined) {
    const xff = out['x-forwarded-for'];
    out['x-forwarded-for'] = typeof xff === 'string' && xff !== '' ? `${xff}, ${peer}` : peer;
  }
  out['x-forwarded-proto'] = scheme;
  if (typeof out['x-request-id'] !== 'string' || out['x-request-id'] === '') out['x-request-id'] = randomUUID();
  return out;
}

function responseHeaders(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
): OutgoingHttpHeaders {
  const named = connectionTokens(headers as IncomingHttpHeaders);
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  return out;
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** Proxies one request; resolves when the response is finished (or the exchange failed). */
export async function proxyRequest(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<ProxyOutcome> {
  const start = performance.now();
  const abort = new AbortController();
  // the client went away before the response finished: cancel the upstream request (Envoy's DC)
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  let bytesSent = 0;
  try {
    const upstream = await ctx.dispatcher.request({
      origin: ctx.origin,
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as 'GET',
      headers: requestHeaders(req, ctx.scheme),
      body: hasBody(req) ? req : null,
      signal: abort.signal,
    });
    const headers = responseHeaders(upstream.headers);
    const flagsHeader = upstream.headers['x-inboard-response-flags'];
    res.writeHead(upstream.statusCode, headers);
    upstream.body.on('data', (c: Buffer) => {
      bytesSent += c.length;
    });
    await pipeline(upstream.body, res);
    return {
      status: upstream.statusCode,
      flags: typeof flagsHeader === 'string' && flagsHeader !== '' ? flagsHeader : '-',
      bytesSent,
      durationMs: performance.now() - start,
    };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    if (abort.signal.aborted) {
      return { status: 0, flags: 'DC', bytesSent, durationMs: performance.now() - start, error };
    }
    if (!res.headersSent) {
      // The mesh answers its own failures as responses; an exception here is a local failure.
      const body = 'upstream connect error or disconnect/reset before headers';
      res.writeHead(503, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return { status: 503, flags: 'UF', bytesSent: body.length, durationMs: performance.now() - start, error };
    }
    res.destroy(error);
    return { status: res.statusCode, flags: 'UPE', bytesSent, durationMs: performance.now() - start, error };
  } finally {
    res.off('close', onClose);
  }
}
