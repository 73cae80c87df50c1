// One HTTP(S) request on a connection of its own (no keep-alive agent, so a test's server closes
// cleanly), answered with the whole body as UTF-8 text: what tests of servers send.
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

export interface PlainReply {
  readonly status: number;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
}

/** `options` default to 127.0.0.1; `tls: true` sends it over https (its TLS options in `options`). */
export function plainRequest(options: https.RequestOptions, body?: string, tls = false): Promise<PlainReply> {
  return new Promise((resolve, reject) => {
    const req = (tls ? https : http).request({ host: '127.0.0.1', ...options, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
