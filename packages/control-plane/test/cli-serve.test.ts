// `control-plane --config DIR`: loads and prints the config, serves it over ADS through the Istio
// translator, and pushes a file edit to connected clients.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '@inboard/control-plane';
import { unpackAny } from '@inboard/xds/codec';
import { TestAdsClient } from './helpers/ads-client.ts';
import { LDS, namesOf, node, RDS } from './helpers/resources.ts';

const BOOKINFO = fileURLToPath(new URL('./fixtures/config/bookinfo/', import.meta.url));

/** Captured output with a way to await a line that has not been written yet. */
function output() {
  let text = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  return {
    stream: {
      write(s: string) {
        text += s;
        for (const w of [...waiters]) {
          const m = text.match(w.re);
          if (m !== null) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(m);
          }
        }
      },
    },
    get text() {
      return text;
    },
    waitFor(re: RegExp): Promise<RegExpMatchArray> {
      const m = text.match(re);
      return m !== null ? Promise.resolve(m) : new Promise((resolve) => waiters.push({ re, resolve }));
    },
  };
}

test('serves bookinfo over ADS, prints what it loaded, and pushes a file edit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'inboard-cli-serve-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(join(BOOKINFO, 'base'), join(dir, 'config'), { recursive: true });
  await cp(join(BOOKINFO, 'base', 'bookinfo-registry.yaml'), join(dir, 'registry.yaml'));
  await rm(join(dir, 'config', 'bookinfo-registry.yaml'));
  await cp(join(BOOKINFO, 'routing', 'virtual-service-reviews-test-v2.yaml'), join(dir, 'config', 'reviews.yaml'));

  const stdout = output();
  const stderr = output();
  const stop = new AbortController();
  const exit = runCli(['--config', 'config', '--registry', 'registry.yaml', '--port', '0'], {
    stdout: stdout.stream,
    stderr: stderr.stream,
    env: {},
    cwd: dir,
    signal: stop.signal,
  });
  t.after(async () => {
    stop.abort();
    await exit;
  });

  const [, address] = await stdout.waitFor(/listening on (\S+)\n/);
  assert.ok(address !== undefined);
  assert.equal(
    stdout.text.split('ADS')[0],
    [
      'loaded 4 files: 4 DestinationRule, 6 Endpoint, 1 Gateway, 4 Service, 2 VirtualService (version 1)',
      'services:',
      '  default/productpage  ports 9080  1 endpoint',
      '  default/details  ports 9080  1 endpoint',
      '  default/reviews  ports 9080  3 endpoints',
      '  default/ratings  ports 9080  1 endpoint',
      '',
    ].join('\n'),
  );
  assert.equal(stderr.text, '');

  const client = new TestAdsClient(address);
  t.after(() => client.close());
  const stream = client.sotw();
  t.after(() => stream.cancel());
  const me = node('sidecar~127.0.0.1~productpage-v1-abc.default~default.svc.cluster.local', { NAMESPACE: 'default' });
  const fqdn = 'reviews.default.svc.cluster.local';
  stream.send({ node: me, type_url: LDS, resource_names: [`${fqdn}:9080`] });
  const lds = await stream.next();
  assert.deepEqual(namesOf(lds), [`${fqdn}:9080`]);
  stream.send({
    type_url: LDS,
    resource_names: [`${fqdn}:9080`],
    version_info: lds.version_info,
    response_nonce: lds.nonce,
  });

  const routeName = `outbound|9080||${fqdn}`;
  stream.send({ type_url: RDS, resource_names: [routeName] });
  const rds = await stream.next();
  const routes = JSON.stringify(rds.resources.map((r) => unpackAny(r)));
  assert.match(routes, /outbound\|9080\|v2\|reviews\.default\.svc\.cluster\.local/, 'jason goes to v2');
  assert.doesNotMatch(routes, /outbound\|9080\|v3\|/);
  stream.send({
    type_url: RDS,
    resource_names: [routeName],
    version_info: rds.version_info,
    response_nonce: rds.nonce,
  });

  // Edit: everyone to v3. The reload is logged and the new route pushed to the open stream.
  const vsFile = join(dir, 'config', 'reviews.yaml');
  await writeFile(vsFile, (await readFile(vsFile, 'utf8')).replaceAll('subset: v1', 'subset: v3'));
  await stderr.waitFor(/config reloaded \(version 2\): updated VirtualService default\/reviews\n/);
  const pushed = await stream.next();
  assert.equal(pushed.type_url, RDS);
  assert.match(
    JSON.stringify(pushed.resources.map((r) => unpackAny(r))),
    /outbound\|9080\|v3\|reviews\.default\.svc\.cluster\.local/,
  );

  // A broken edit is logged with its location, and nothing is pushed for it.
  await writeFile(vsFile, (await readFile(vsFile, 'utf8')).replace('exact: jason', 'regex: "(?<name>jason"'));
  await stderr.waitFor(
    /config reloaded, 1 problem: nothing changed, the previous valid config keeps serving\n.*spec\.http\[0\]\.match\[0\]\.headers\.end-user\.regex: invalid RE2 regex/,
  );
  assert.match(
    stderr.text,
    /reviews\.yaml: document 1 \(line 13\): VirtualService default\/reviews: .*previous valid version keeps serving/,
  );

  stop.abort();
  assert.equal(await exit, 0);
});

test('a config path with no files fails fast', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'inboard-cli-serve-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const stderr = output();
  const code = await runCli(['--config', 'nowhere', '--port', '0'], {
    stdout: output().stream,
    stderr: stderr.stream,
    env: {},
    cwd: dir,
  });
  assert.equal(code, 1);
  assert.equal(stderr.text, 'nowhere: no such file or directory\ncontrol-plane: no config files found in nowhere\n');
});
