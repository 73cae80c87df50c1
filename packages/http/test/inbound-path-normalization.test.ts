// What an application behind the inbound engine sees for paths Envoy's canonicaliser treats
// specially: a real node:http server, AuthorizationPolicy DENY `/admin*`, and a handler that
// decodes its path once (as static file servers and many routers do).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { plaintextListenerDenying, scriptedEngine } from '../../../test/support/inbound-engine.ts';
import { plainRequest } from '../../../test/support/plain-request.ts';
import { attachInbound, type InboundEngine } from '../src/index.ts';

describe('DENY /admin* in front of an application that decodes its path once', () => {
  let engine: InboundEngine;
  let server: http.Server;
  let port: number;
  before(async () => {
    server = http.createServer((req, res) => {
      const decoded = decodeURIComponent(req.url!);
      res.end(decoded.startsWith('/admin') ? 'ADMIN' : `app saw ${req.url}`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    engine = scriptedEngine(plaintextListenerDenying('127.0.0.1', port, 'deny-admin', '/admin'), '127.0.0.1', port);
    attachInbound(server, engine);
  });
  after(() => {
    engine.close();
    server.close();
  });

  const get = async (path: string) => {
    const { status, body } = await plainRequest({ port, path });
    return { status, body };
  };

  test('an escaped unreserved character is decoded before RBAC: denied', async () => {
    assert.deepEqual(await get('/%61dmin'), { status: 403, body: 'RBAC: access denied' });
  });

  test('a nested escape cannot decode into /admin: its % is escaped, and the app sees it as data', async () => {
    assert.deepEqual(await get('/%%36%31dmin'), { status: 200, body: 'app saw /%2561dmin' });
    assert.deepEqual(await get('/%6%31dmin/users'), { status: 200, body: 'app saw /%2561dmin/users' });
  });

  test('escapes that are not decoded reach the application as sent', async () => {
    assert.deepEqual(await get('/public/a%2fb%2F'), { status: 200, body: 'app saw /public/a%2fb%2F' });
  });
});
