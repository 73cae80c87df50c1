// Real TLS on loopback: a grpc-js server with the istiod fixture certificate and an echo method
// (custom serializers, no protos) that returns the metadata it received.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  Client,
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { istiodBootstrap, XdsCredentialsError, type XdsServerConfig } from '@inboard/xds';
import {
  createChannelCredentials,
  XDS_KEEPALIVE_TIME_MS,
  xdsChannelConfig,
  xdsChannelOptions,
} from '@inboard/xds/transport';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const ROOT_CA = fixture('root-cert.pem');
const OTHER_CA = fixture('other-root-cert.pem');
const ISTIOD_NAME = 'istiod.istio-system.svc';

interface Echo {
  authorization: string[];
  clusterid: string[];
  clientCert: string | undefined;
}

const ECHO_PATH = '/inboard.test.Echo/Echo';
const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};

function echo(call: ServerUnaryCall<unknown, Echo>, callback: sendUnaryData<Echo>): void {
  const md: Metadata = call.metadata;
  callback(null, {
    authorization: md.get('authorization').map(String),
    clusterid: md.get('clusterid').map(String),
    clientCert: call.getAuthContext().sslPeerCertificate?.subjectaltname,
  });
}

async function startServer(address: string, creds: ServerCredentials): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(
    {
      Echo: {
        path: ECHO_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: json.serialize,
        requestDeserialize: json.deserialize,
        responseSerialize: json.serialize,
        responseDeserialize: json.deserialize,
      },
    },
    { Echo: echo },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

/** One call through a client built exactly from what the bootstrap module hands out. */
async function callEcho(server: XdsServerConfig, readFile?: (path: string) => Promise<string | Uint8Array>) {
  const cfg = await xdsChannelConfig(server, readFile === undefined ? {} : { readFile });
  const client = new Client(cfg.target, cfg.credentials, cfg.options);
  try {
    return await new Promise<Echo>((resolve, reject) =>
      client.makeUnaryRequest(
        ECHO_PATH,
        json.serialize,
        (b: Buffer) => json.deserialize(b) as Echo,
        {},
        { deadline: Date.now() + 10_000 },
        (err, value) => (err ? reject(err) : resolve(value!)),
      ),
    );
  } finally {
    client.close();
  }
}

async function callFails(server: XdsServerConfig): Promise<{ code: number; details: string }> {
  try {
    await callEcho(server);
  } catch (err) {
    return err as { code: number; details: string };
  }
  assert.fail('the call should have failed');
}

let dir: string;
let tokenFile: string;
let tls: { server: Server; port: number };
let mtls: { server: Server; port: number };
let uds: { server: Server; port: number };
let udsPath: string;
const env = { POD_NAME: 'client-0', POD_NAMESPACE: 'default', INSTANCE_IP: '127.0.0.1' };
const noLabels = () => {
  throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inboard-creds-'));
  tokenFile = join(dir, 'istio-token');
  await writeFile(tokenFile, 'token-1\n');
  const keyCert = [
    { cert_chain: readFileSync(fixture('istiod-cert.pem')), private_key: readFileSync(fixture('istiod-key.pem')) },
  ];
  tls = await startServer('127.0.0.1:0', ServerCredentials.createSsl(null, keyCert, false));
  mtls = await startServer('127.0.0.1:0', ServerCredentials.createSsl(readFileSync(ROOT_CA), keyCert, true));
  udsPath = join(dir, 'XDS');
  uds = await startServer(`unix://${udsPath}`, ServerCredentials.createInsecure());
});

after(async () => {
  for (const s of [tls, mtls, uds]) s?.server.forceShutdown();
  await rm(dir, { recursive: true, force: true });
});

/** What istiodBootstrap produces, pointed at the loopback server. */
function istiodServer(port: number, overrides: Partial<XdsServerConfig> = {}): XdsServerConfig {
  const b = istiodBootstrap({
    address: `127.0.0.1:${port}`,
    tlsServerName: ISTIOD_NAME,
    rootCertFile: ROOT_CA,
    tokenFile,
    clusterId: 'Kubernetes',
    env,
    node: { readFileSync: noLabels },
  });
  return { ...b.xdsServers[0]!, ...overrides };
}

test('TLS verified against the mesh root with ssl_target_name_override; token and clusterid arrive', async () => {
  const server = istiodServer(tls.port);
  assert.equal(xdsChannelOptions(server)['grpc.ssl_target_name_override'], ISTIOD_NAME);
  assert.deepEqual(await callEcho(server), {
    authorization: ['Bearer token-1'],
    clusterid: ['Kubernetes'],
  });
});

test('the server certificate is really verified: wrong CA or wrong name fails', async () => {
  const wrongCa = await callFails(
    istiodServer(tls.port, { channelCreds: { type: 'tls', caCertificateFile: OTHER_CA } }),
  );
  assert.equal(wrongCa.code, status.UNAVAILABLE);
  assert.match(wrongCa.details, /unable to verify the first certificate/);
  // The name checked is the configured one, not whatever the certificate says.
  const wrongName = await callFails(istiodServer(tls.port, { tlsServerName: 'istiod.other-system.svc' }));
  assert.equal(wrongName.code, status.UNAVAILABLE);
  assert.match(
    wrongName.details,
    /istiod\.other-system\.svc\. is not in the cert's altnames: DNS:istiod\.istio-system\.svc/,
  );
});

test('a rotated token file is picked up by the next call, without a new channel', async () => {
  const server = istiodServer(tls.port);
  const cfg = await xdsChannelConfig(server);
  const client = new Client(cfg.target, cfg.credentials, cfg.options);
  const call = () =>
    new Promise<Echo>((resolve, reject) =>
      client.makeUnaryRequest(
        ECHO_PATH,
        json.serialize,
        (b: Buffer) => json.deserialize(b) as Echo,
        {},
        { deadline: Date.now() + 10_000 },
        (err, value) => (err ? reject(err) : resolve(value!)),
      ),
    );
  try {
    await writeFile(tokenFile, 'token-1\n');
    assert.deepEqual((await call()).authorization, ['Bearer token-1']);
    await writeFile(tokenFile, '  token-2  \n');
    assert.deepEqual((await call()).authorization, ['Bearer token-2']);
  } finally {
    client.close();
    await writeFile(tokenFile, 'token-1\n');
  }
});

test('an unreadable or empty token file fails the call (UNAVAILABLE / UNAUTHENTICATED) naming the file', async () => {
  const missing = join(dir, 'no-such-token');
  const unreadable = await callFails(
    istiodServer(tls.port, { callCreds: [{ type: 'jwt_token_file', jwtTokenFile: missing }] }),
  );
  assert.equal(unreadable.code, status.UNAVAILABLE);
  assert.match(unreadable.details, new RegExp(`cannot read token file ${missing}`));

  const emptyFile = join(dir, 'empty-token');
  await writeFile(emptyFile, '\n');
  const empty = await callFails(
    istiodServer(tls.port, { callCreds: [{ type: 'jwt_token_file', jwtTokenFile: emptyFile }] }),
  );
  assert.equal(empty.code, status.UNAUTHENTICATED);
  assert.match(empty.details, /is empty/);
});

test('mTLS: the client certificate is presented when configured, and required by this server', async () => {
  const withCert = istiodServer(mtls.port, {
    channelCreds: {
      type: 'tls',
      caCertificateFile: ROOT_CA,
      certificateFile: fixture('client-cert.pem'),
      privateKeyFile: fixture('client-key.pem'),
    },
  });
  const reply = await callEcho(withCert);
  assert.equal(reply.clientCert, 'URI:spiffe://cluster.local/ns/default/sa/default');
  assert.deepEqual(reply.authorization, ['Bearer token-1']);

  const withoutCert = await callFails(istiodServer(mtls.port));
  assert.equal(withoutCert.code, status.UNAVAILABLE);
});

test("insecure over istio-agent's unix socket: headers still travel, tokens are refused", async () => {
  const agent: XdsServerConfig = {
    serverUri: `unix://${udsPath}`,
    channelCreds: { type: 'insecure' },
    callCreds: [],
    serverFeatures: ['xds_v3'],
    headers: { clusterid: 'east' },
  };
  assert.deepEqual(await callEcho(agent), { authorization: [], clusterid: ['east'] });

  await assert.rejects(
    createChannelCredentials({ ...agent, callCreds: [{ type: 'jwt_token_file', jwtTokenFile: tokenFile }] }),
    (err: unknown) => err instanceof XdsCredentialsError && /never sent in plaintext/.test(err.message),
  );
});

test('bad TLS files are reported with their path before any connection is made', async () => {
  const garbage = join(dir, 'garbage.pem');
  await writeFile(garbage, 'this is not a certificate\n');
  await assert.rejects(
    createChannelCredentials(istiodServer(tls.port, { channelCreds: { type: 'tls', caCertificateFile: garbage } })),
    (err: unknown) =>
      err instanceof XdsCredentialsError && err.file === garbage && /no PEM certificate/.test(err.message),
  );
  const absent = join(dir, 'absent.pem');
  await assert.rejects(
    createChannelCredentials(istiodServer(tls.port, { channelCreds: { type: 'tls', caCertificateFile: absent } })),
    (err: unknown) =>
      err instanceof XdsCredentialsError && err.message.startsWith(`cannot read CA certificate file ${absent}`),
  );
  // A key that does not belong to the certificate.
  await assert.rejects(
    createChannelCredentials(
      istiodServer(tls.port, {
        channelCreds: {
          type: 'tls',
          caCertificateFile: ROOT_CA,
          certificateFile: fixture('client-cert.pem'),
          privateKeyFile: fixture('istiod-key.pem'),
        },
      }),
    ),
    (err: unknown) => err instanceof XdsCredentialsError && /invalid TLS material/.test(err.message),
  );
});

test('channel options respect istiod keepalive enforcement and large responses', () => {
  const opts = xdsChannelOptions(istiodServer(tls.port));
  assert.ok(XDS_KEEPALIVE_TIME_MS >= 15_000);
  assert.equal(opts['grpc.keepalive_time_ms'], 30_000);
  assert.equal(opts['grpc.keepalive_permit_without_calls'], 0);
  assert.equal(opts['grpc.max_receive_message_length'], -1);
  assert.equal(opts.interceptors, undefined);
});
