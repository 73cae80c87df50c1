// Protocol behaviour of the XdsClient driven through an in-memory transport and a manual clock:
// what goes on the wire (node, names, versions, nonces, ACK/NACK) and what watchers see.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  type AdsStream,
  type AdsStreamHandlers,
  type AdsTransport,
  type LogRecord,
  ManualClock,
  type ResourceType,
  resourceTypes,
  setLogSink,
  WILDCARD,
  XdsClient,
  type XdsClientOptions,
} from '@inboard/xds';
import {
  type Any,
  type DeltaDiscoveryRequestIn,
  type DeltaDiscoveryResponse,
  type DiscoveryRequestIn,
  type DiscoveryResponse,
  decodeMessage,
  envoy,
  packAny,
  TypeUrl,
} from '@inboard/xds/codec';
import { encodeToBytes } from '../src/proto/wire.ts';

/** A stand-in resource type: a Listener whose name starts with "bad", or whose stat_prefix is "invalid", fails validation. */
function fakeType(typeUrl: string, allRequired: boolean): ResourceType<{ name: string; stat: string }> {
  return {
    typeUrl,
    shortName: 'T',
    allResourcesRequiredInSotW: allRequired,
    decode(any: Any) {
      const l = decodeMessage('envoy.config.listener.v3.Listener', any.value);
      if (l.name.startsWith('bad')) return { ok: false, name: l.name, errors: ['name must not start with "bad"'] };
      if (l.stat_prefix === 'invalid')
        return { ok: false, name: l.name, errors: ['stat_prefix must not be "invalid"'] };
      return { ok: true, name: l.name, value: { name: l.name, stat: l.stat_prefix } };
    },
    equals: (a, b) => a.name === b.name && a.stat === b.stat,
  };
}
const LDS = fakeType(TypeUrl.Listener, true);
const RDS = fakeType(TypeUrl.RouteConfiguration, false);

function res(name: string, stat = ''): Any {
  return packAny('envoy.config.listener.v3.Listener', { name, stat_prefix: stat });
}

class FakeStream<Req> implements AdsStream<Req> {
  readonly sent: Req[] = [];
  cancelled = false;
  readonly handlers: AdsStreamHandlers<unknown>;
  constructor(handlers: AdsStreamHandlers<unknown>) {
    this.handlers = handlers;
  }
  send(r: Req): void {
    this.sent.push(r);
  }
  cancel(): void {
    this.cancelled = true;
  }
}

class FakeTransport implements AdsTransport {
  readonly server = 'fake';
  readonly streams: FakeStream<DiscoveryRequestIn | DeltaDiscoveryRequestIn>[] = [];
  private readyFns: (() => void)[] = [];
  isReady = false;
  openSotw(h: AdsStreamHandlers<DiscoveryResponse>) {
    const s = new FakeStream<DiscoveryRequestIn>(h as AdsStreamHandlers<unknown>);
    this.streams.push(s);
    return s;
  }
  openDelta(h: AdsStreamHandlers<DeltaDiscoveryResponse>) {
    const s = new FakeStream<DeltaDiscoveryRequestIn>(h as AdsStreamHandlers<unknown>);
    this.streams.push(s);
    return s;
  }
  whenReady(fn: () => void) {
    if (this.isReady) fn();
    else this.readyFns.push(fn);
    return () => {
      this.readyFns = this.readyFns.filter((f) => f !== fn);
    };
  }
  becomeReady(): void {
    this.isReady = true;
    const fns = this.readyFns;
    this.readyFns = [];
    for (const f of fns) f();
  }
  close(): void {}
  get last() {
    return this.streams.at(-1)!;
  }
  respond(r: Partial<DiscoveryResponse> & { type_url: string }): void {
    this.last.handlers.onResponse({
      version_info: '',
      resources: [],
      nonce: '',
      control_plane: undefined,
      canary: false,
      ...r,
    });
  }
}

interface Seen {
  changed: string[];
  errors: string[];
  dne: string[];
}
function recorder(): Seen & { watcher: Parameters<XdsClient['watch']>[2] } {
  const s: Seen = { changed: [], errors: [], dne: [] };
  return {
    ...s,
    get changed() {
      return s.changed;
    },
    get errors() {
      return s.errors;
    },
    get dne() {
      return s.dne;
    },
    watcher: {
      onResourceChanged: (v: unknown) => s.changed.push(JSON.stringify(v)),
      onError: (e: Error) => s.errors.push(e.message),
      onResourceDoesNotExist: (n: string) => s.dne.push(n),
    },
  };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

/**
 * An LDS server on the fake transport that follows istiod's ShouldRespond: a NACK is ignored, an
 * empty nonce is always answered, a stale nonce is ignored, the current nonce is answered when
 * the names changed; every response carries the version current when it is built. Requests and
 * responses wait in flight until delivered, so tests choose how they cross.
 */
class IstiodLds {
  readonly exists = new Set<string>();
  /** stat_prefix per listener ("invalid" makes the client reject it) */
  readonly stat = new Map<string, string>();
  version = 1;
  responses = 0;
  private list: string[] | undefined;
  private nonce = '';
  private read = 0;
  private readonly toClient: DiscoveryResponse[] = [];
  private readonly transport: FakeTransport;
  constructor(transport: FakeTransport) {
    this.transport = transport;
  }
  /** Handles the requests in flight to the server; returns how many it handled. */
  receive(max = Number.POSITIVE_INFINITY): number {
    const sent = this.transport.last.sent as DiscoveryRequestIn[];
    let k = 0;
    while (this.read < sent.length && k < max) {
      const r = sent[this.read++] as DiscoveryRequestIn;
      k++;
      if (r.type_url !== TypeUrl.Listener || r.error_detail !== undefined) continue;
      const names = [...(r.resource_names ?? [])];
      if (r.response_nonce === '' || this.list === undefined) {
        this.list = names;
        this.push();
        continue;
      }
      if (r.response_nonce !== this.nonce) continue;
      const changed = names.length !== this.list.length || names.some((n) => !this.list?.includes(n));
      this.list = names;
      if (changed) this.push();
    }
    return k;
  }
  /** Builds a response from the list it holds (a push, or an answer). */
  push(): void {
    this.nonce = `n${this.responses + 1}`;
    this.responses++;
    this.toClient.push({
      type_url: TypeUrl.Listener,
      version_info: `v${this.version}`,
      nonce: this.nonce,
      resources: (this.list ?? []).filter((n) => this.exists.has(n)).map((n) => res(n, this.stat.get(n))),
      control_plane: undefined,
      canary: false,
    });
  }
  /** Delivers the next response in flight; false when there is none. */
  deliver(): boolean {
    const r = this.toClient.shift();
    if (r === undefined) return false;
    this.transport.last.handlers.onResponse(r);
    return true;
  }
  /** Runs requests and responses until nothing is in flight. */
  async settle(): Promise<void> {
    for (;;) {
      await flush();
      this.receive();
      if (!this.deliver()) return;
    }
  }
}

/** An XdsClient of the test node on `transport`: LDS and RDS, a ManualClock unless `options` say otherwise. */
function newClient(transport: FakeTransport, options: Partial<XdsClientOptions> = {}): XdsClient {
  return new XdsClient({
    transport,
    node: { id: 'sidecar~10.0.0.1~app.default~default.svc.cluster.local' },
    resourceTypes: [LDS, RDS],
    clock: new ManualClock(),
    ...options,
  });
}

describe('XdsClient SotW protocol', () => {
  let transport: FakeTransport;
  let clock: ManualClock;
  let client: XdsClient;
  beforeEach(() => {
    transport = new FakeTransport();
    clock = new ManualClock();
    client = newClient(transport, { clock, backoff: { random: () => 0.5 } });
  });

  /** A recorder watching an LDS name, its subscription sent. */
  const watchListener = async (name: string) => {
    const w = recorder();
    client.watch(LDS, name, w.watcher);
    await flush();
    return w;
  };
  /** The stream's first exchange: a:80 watched and received (version v1, nonce n1). */
  const startWithA = async () => {
    transport.becomeReady();
    client.watch(LDS, 'a:80', recorder().watcher);
    await flush();
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n1', resources: [res('a:80')] });
  };

  test('one stream for all types; node only on the first request', async () => {
    client.watch(LDS, 'reviews:9080', recorder().watcher);
    await flush();
    client.watch(RDS, 'outbound|9080||reviews', recorder().watcher);
    client.watch(LDS, 'ratings:9080', recorder().watcher);
    await flush();
    assert.equal(transport.streams.length, 1);
    const sent = transport.last.sent as DiscoveryRequestIn[];
    assert.equal(sent.length, 3);
    assert.equal(sent[0]!.node?.id, 'sidecar~10.0.0.1~app.default~default.svc.cluster.local');
    assert.deepEqual(sent[0]!.resource_names, ['reviews:9080']);
    assert.equal(sent[1]!.node, undefined);
    assert.deepEqual(sent[1]!.resource_names, ['outbound|9080||reviews']);
    assert.deepEqual(sent[2]!.resource_names, ['reviews:9080', 'ratings:9080']);
    assert.equal(sent[2]!.type_url, TypeUrl.Listener);
  });

  test('watches added in one go are sent as one request per type', async () => {
    client.watch(LDS, 'a:80', recorder().watcher);
    await flush();
    const before = transport.last.sent.length;
    for (let i = 0; i < 20; i++) client.watch(RDS, `route-${i}`, recorder().watcher);
    await flush();
    const sent = transport.last.sent.slice(before) as DiscoveryRequestIn[];
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.resource_names?.length, 20);
  });

  test('a listener dropped and watched again is asked for anew (an unchanged list would only be an ACK)', async () => {
    const off = client.watch(LDS, 'a:80', recorder().watcher);
    await flush();
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n1', resources: [res('a:80')] });
    off();
    await flush();
    const r = await watchListener('a:80');
    const last = transport.last.sent.at(-1) as DiscoveryRequestIn;
    assert.deepEqual(last.resource_names, ['a:80']);
    assert.equal(last.response_nonce, '', 'an empty nonce makes istiod answer');
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n2', resources: [res('a:80')] });
    assert.equal(r.changed.length, 1);
  });

  test('a good response is delivered and ACKed with its version and nonce', async () => {
    const r = recorder();
    client.watch(LDS, 'reviews:9080', r.watcher);
    await flush();
    transport.respond({
      type_url: TypeUrl.Listener,
      version_info: 'v1',
      nonce: 'n1',
      resources: [res('reviews:9080', 'a')],
    });
    assert.deepEqual(r.changed, ['{"name":"reviews:9080","stat":"a"}']);
    const ack = transport.last.sent.at(-1) as DiscoveryRequestIn;
    assert.equal(ack.version_info, 'v1');
    assert.equal(ack.response_nonce, 'n1');
    assert.equal(ack.error_detail, undefined);
    assert.deepEqual(ack.resource_names, ['reviews:9080']);
    // an identical resource in a later push is not re-delivered
    transport.respond({
      type_url: TypeUrl.Listener,
      version_info: 'v2',
      nonce: 'n2',
      resources: [res('reviews:9080', 'a')],
    });
    assert.equal(r.changed.length, 1);
  });

  test('a bad resource is NACKed with every reason while good ones apply and the last good stays', async () => {
    const good = recorder();
    const bad = recorder();
    client.watch(LDS, 'a:80', good.watcher);
    client.watch(LDS, 'bad:80', bad.watcher);
    await flush();
    transport.respond({
      type_url: TypeUrl.Listener,
      version_info: 'v1',
      nonce: 'n1',
      resources: [res('a:80'), res('bad:80')],
    });
    const nack = transport.last.sent.at(-1) as DiscoveryRequestIn;
    assert.equal(nack.response_nonce, 'n1');
    assert.equal(nack.version_info, '', 'a NACK carries the previously accepted version');
    assert.equal(nack.error_detail?.code, 3);
    assert.match(nack.error_detail?.message ?? '', /bad:80: name must not start with "bad"/);
    assert.equal(good.changed.length, 1, 'valid resources of a NACKed response still apply');
    assert.equal(bad.errors.length, 1);
    assert.match(bad.errors[0]!, /LDS resource "bad:80".*rejected/);
    assert.deepEqual(client.dump().find((m) => m.name === 'bad:80')?.status, 'NACKED');
  });

  test('a watcher added after a rejection hears it: the error alone, or the last good value then the error', async () => {
    client.watch(LDS, 'bad:80', recorder().watcher);
    client.watch(LDS, 'a:80', recorder().watcher);
    await flush();
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n1', resources: [res('a:80', 'one')] });
    transport.respond({
      type_url: TypeUrl.Listener,
      version_info: 'v2',
      nonce: 'n2',
      resources: [res('a:80', 'invalid'), res('bad:80')],
    });
    const never = recorder();
    client.watch(LDS, 'bad:80', never.watcher);
    const stale = await watchListener('a:80');
    assert.equal(never.errors.length, 1, 'no good value: the rejection is the resource error');
    assert.match(never.errors[0]!, /LDS resource "bad:80" \(version "v2"\) rejected: name must not start with "bad"/);
    assert.deepEqual(never.changed, []);
    assert.deepEqual(never.dne, []);
    assert.deepEqual(stale.changed, ['{"name":"a:80","stat":"one"}'], 'the last good value still serves');
    assert.equal(stale.errors.length, 1);
    assert.match(stale.errors[0]!, /"a:80" \(version "v2"\) rejected: stat_prefix must not be "invalid"/);
    // a good version clears the rejection for later watchers
    transport.respond({
      type_url: TypeUrl.Listener,
      version_info: 'v3',
      nonce: 'n3',
      resources: [res('a:80', 'two'), res('bad:80')],
    });
    const later = await watchListener('a:80');
    assert.deepEqual(later.changed, ['{"name":"a:80","stat":"two"}']);
    assert.deepEqual(later.errors, []);
  });

  test('resources wrapped in envoy.service.discovery.v3.Resource are applied and ACKed', async () => {
    const real = newClient(transport, { resourceTypes: [resourceTypes.cluster], clock });
    const r = recorder();
    real.watch(resourceTypes.cluster, 'outbound|80||a', r.watcher);
    await flush();
    const inner = packAny('envoy.config.cluster.v3.Cluster', {
      name: 'outbound|80||a',
      type: 3,
      eds_cluster_config: { service_name: 'outbound|80||a', eds_config: { ads: {} } },
    });
    const wrapped = {
      type_url: 'type.googleapis.com/envoy.service.discovery.v3.Resource',
      value: encodeToBytes(envoy.encodeservice_discovery_v3_Resource, { name: 'outbound|80||a', resource: inner }),
    };
    transport.respond({ type_url: TypeUrl.Cluster, version_info: 'v1', nonce: 'n1', resources: [wrapped] });
    assert.equal(r.changed.length, 1);
    assert.deepEqual(r.dne, []);
    const ack = transport.last.sent.at(-1) as DiscoveryRequestIn;
    assert.equal(ack.error_detail, undefined);
    assert.equal(ack.version_info, 'v1');
    real.close();
  });

  test('LDS: a subscribed name absent from a response does not exist; RDS absence means nothing', async () => {
    const l = recorder();
    const r = recorder();
    client.watch(LDS, 'gone:80', l.watcher);
    client.watch(RDS, 'route-a', r.watcher);
    await flush();
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n1', resources: [] });
    transport.respond({ type_url: TypeUrl.RouteConfiguration, version_info: 'v1', nonce: 'n2', resources: [] });
    assert.deepEqual(l.dne, ['gone:80']);
    assert.deepEqual(r.dne, []);
  });

  test('a name added mid-stream is not condemned by a push built from the older name list', async () => {
    transport.becomeReady();
    const a = recorder();
    const b = recorder();
    client.watch(LDS, 'a:80', a.watcher);
    await flush();
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n1', resources: [res('a:80')] });
    client.watch(LDS, 'b:80', b.watcher);
    await flush();
    assert.deepEqual((transport.last.sent.at(-1) as DiscoveryRequestIn).resource_names, ['a:80', 'b:80']);
    // the server pushes a change built from the list it knew ([a:80]); it crosses our request
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v2', nonce: 'n2', resources: [res('a:80', 'x')] });
    assert.deepEqual(b.dne, []);
    // then answers the new list
    transport.respond({
      type_url: TypeUrl.Listener,
      version_info: 'v2',
      nonce: 'n3',
      resources: [res('a:80', 'x'), res('b:80')],
    });
    assert.deepEqual(b.dne, []);
    assert.deepEqual(b.changed, ['{"name":"b:80","stat":""}']);
  });

  test('a name missing from the answer to the request that added it does not exist at once', async () => {
    await startWithA();
    // two names added in two ticks: istiod answers the first request and ignores the second
    // (its nonce is stale by then), then answers the ACK that carries both
    const c = recorder();
    const d = recorder();
    client.watch(LDS, 'c:80', c.watcher);
    await flush();
    client.watch(LDS, 'd:80', d.watcher);
    await flush();
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n2', resources: [res('a:80')] });
    assert.deepEqual(c.dne, ['c:80'], 'an unknown host fails fast, as istiod answers it');
    assert.deepEqual(d.dne, [], 'that answer was built from the list without d:80');
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n3', resources: [res('a:80')] });
    assert.deepEqual(d.dne, ['d:80']);
  });

  test('a name missing from a push is asked for again with an empty nonce; without an answer its timer decides', async () => {
    await startWithA();
    const c = await watchListener('c:80');
    // a new version: a push that may have been built before the server saw c:80
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v2', nonce: 'n2', resources: [res('a:80')] });
    assert.deepEqual(c.dne, []);
    const ack = transport.last.sent.at(-1) as DiscoveryRequestIn;
    assert.deepEqual(ack.resource_names, ['a:80', 'c:80']);
    assert.equal(ack.version_info, 'v2');
    assert.equal(ack.response_nonce, '', 'an empty nonce, which istiod always answers');
    // the server does not answer: the timer decides
    clock.advance(14_999);
    assert.deepEqual(c.dne, []);
    clock.advance(1);
    assert.deepEqual(c.dne, ['c:80']);
  });

  test('the answer to that empty-nonce request settles the name; so does the first answer on a new stream', async () => {
    await startWithA();
    const c = await watchListener('c:80');
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v2', nonce: 'n2', resources: [res('a:80')] });
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v2', nonce: 'n3', resources: [res('a:80')] });
    assert.deepEqual(c.dne, ['c:80']);
    const e = await watchListener('e:80');
    transport.last.handlers.onEnd({ code: 0, details: 'max connection age' });
    assert.deepEqual((transport.last.sent[0] as DiscoveryRequestIn).resource_names, ['a:80', 'c:80', 'e:80']);
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v3', nonce: 'n4', resources: [res('a:80')] });
    assert.deepEqual(e.dne, ['e:80']);
  });

  test('empty-nonce requests answered with new versions are not waited on for ever: an unknown host still fails fast', async () => {
    transport.becomeReady();
    const server = new IstiodLds(transport);
    server.exists.add('base:80');
    const empties = () =>
      (transport.last.sent as DiscoveryRequestIn[]).filter(
        (r) => r.type_url === TypeUrl.Listener && r.response_nonce === '' && r.error_detail === undefined,
      ).length;
    client.watch(LDS, 'base:80', recorder().watcher);
    await server.settle();
    // subscription churn: each added listener is crossed by a push built from the older list,
    // so the client asks again with an empty nonce; before that is answered, a configuration
    // change that does not push LDS moves istiod's version, so the answer carries a new one
    for (let i = 0; i < 8; i++) {
      const name = `svc${i}:80`;
      server.exists.add(name);
      const w = recorder();
      client.watch(LDS, name, w.watcher);
      await flush();
      server.version++;
      server.push();
      server.deliver(); // the push crosses the subscription change
      await flush();
      server.receive(1); // the subscription change: stale nonce, ignored
      server.version++; // an EDS-only push
      await server.settle(); // the empty-nonce request is answered, with the new version
      assert.deepEqual(w.dne, []);
      assert.equal(w.changed.length, 1, `${name} was received`);
    }
    const responses = server.responses;
    const emptyBefore = empties();
    const ghost = recorder();
    client.watch(LDS, 'ghost:80', ghost.watcher);
    await server.settle();
    assert.deepEqual(ghost.dne, ['ghost:80'], 'declared missing without waiting for the timer');
    assert.ok(server.responses - responses <= 2, `it took ${server.responses - responses} LDS responses`);
    assert.ok(empties() - emptyBefore <= 1, `it took ${empties() - emptyBefore} empty-nonce requests`);
  });

  test('a subscription change whose request went stale is sent again after a NACK, which istiod reads no names from', async () => {
    transport.becomeReady();
    const server = new IstiodLds(transport);
    server.exists.add('a:80').add('b:80');
    client.watch(LDS, 'a:80', recorder().watcher);
    await server.settle();
    const b = await watchListener('b:80');
    // a configuration change makes a:80 invalid; istiod pushes it, built from [a:80], before
    // it reads the request adding b:80 - whose nonce is stale by then
    server.version++;
    server.stat.set('a:80', 'invalid');
    server.push();
    server.receive();
    server.deliver(); // NACKed
    const sent = transport.last.sent as DiscoveryRequestIn[];
    const i = sent.findIndex((r) => r.error_detail !== undefined);
    assert.ok(i !== -1, 'the push was rejected');
    // the names again, as istiod reads them: the NACKed nonce, the last accepted version, no error
    const again = sent[i + 1];
    assert.deepEqual(again?.resource_names, ['a:80', 'b:80']);
    assert.equal(again?.response_nonce, sent[i]?.response_nonce);
    assert.equal(again?.version_info, 'v1');
    assert.equal(again?.error_detail, undefined);
    await server.settle();
    assert.deepEqual(b.changed, ['{"name":"b:80","stat":""}'], 'b:80 reached istiod and came back');
    clock.advance(15_000);
    assert.deepEqual(b.dne, []);
  });

  test('a cached listener is not deleted by the answer to a request sent while it was not watched', async () => {
    transport.becomeReady();
    const off = client.watch(LDS, 'c:80', recorder().watcher);
    await flush();
    client.watch(LDS, 'd:80', recorder().watcher);
    await flush();
    off();
    await flush();
    const c = await watchListener('c:80');
    // before the first response every request has an empty nonce: [c] [c,d] [d] [d,c]
    assert.deepEqual(
      transport.last.sent.map((r) => (r as DiscoveryRequestIn).resource_names),
      [['c:80'], ['c:80', 'd:80'], ['d:80'], ['d:80', 'c:80']],
    );
    // istiod answers each, in order, from its list; nothing changes on the server
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n1', resources: [res('c:80')] });
    transport.respond({
      type_url: TypeUrl.Listener,
      version_info: 'v1',
      nonce: 'n2',
      resources: [res('c:80'), res('d:80')],
    });
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n3', resources: [res('d:80')] });
    assert.deepEqual(c.dne, [], 'that answer was built from [d:80]: c:80 keeps its value');
    transport.respond({
      type_url: TypeUrl.Listener,
      version_info: 'v1',
      nonce: 'n4',
      resources: [res('d:80'), res('c:80')],
    });
    assert.deepEqual(c.dne, []);
    assert.deepEqual(c.changed, ['{"name":"c:80","stat":""}'], 'one value, never deleted in between');
  });

  test('the does-not-exist timer starts only once the channel is ready', async () => {
    const r = recorder();
    client.watch(RDS, 'route-a', r.watcher);
    await flush();
    clock.advance(60_000);
    assert.deepEqual(r.dne, [], 'no timer while connecting');
    transport.becomeReady();
    clock.advance(14_999);
    assert.deepEqual(r.dne, []);
    clock.advance(1);
    assert.deepEqual(r.dne, ['route-a']);
  });

  test('a rejected resource is not declared missing by a timer re-armed by another subscription change', async () => {
    transport.becomeReady();
    const bad = recorder();
    client.watch(RDS, 'bad-route', bad.watcher);
    const offOther = client.watch(RDS, 'route-b', recorder().watcher);
    await flush();
    transport.respond({
      type_url: TypeUrl.RouteConfiguration,
      version_info: 'v1',
      nonce: 'n1',
      resources: [res('bad-route'), res('route-b')],
    });
    assert.equal(bad.errors.length, 1);
    // another route is released: the RDS subscription changes, bad-route stays watched
    offOther();
    await flush();
    clock.advance(60_000);
    assert.deepEqual(bad.dne, [], 'the server sent bad-route: it exists, it is only invalid');
    assert.equal(client.dump().find((m) => m.name === 'bad-route')?.status, 'NACKED');
  });

  test('a stream that ends after a response reconnects at once, re-subscribes, and raises no error', async () => {
    const r = recorder();
    client.watch(LDS, 'a:80', r.watcher);
    client.watch(RDS, 'route-a', recorder().watcher);
    await flush();
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v7', nonce: 'n1', resources: [res('a:80')] });
    transport.last.handlers.onEnd({ code: 0, details: 'max connection age' });
    assert.equal(transport.streams.length, 2, 'reconnected without waiting');
    const first = transport.last.sent as DiscoveryRequestIn[];
    assert.equal(first[0]!.node?.id, 'sidecar~10.0.0.1~app.default~default.svc.cluster.local');
    assert.equal(first[0]!.response_nonce, '', 'a new stream starts with an empty nonce');
    assert.equal(first[0]!.version_info, 'v7', 'and the last accepted version');
    assert.deepEqual(
      first.map((q) => q.type_url),
      [TypeUrl.Listener, TypeUrl.RouteConfiguration],
    );
    assert.deepEqual(r.errors, []);
    assert.equal(client.cached(LDS, 'a:80')?.name, 'a:80', 'the cache survives the reconnect');
  });

  test('failures without a response back off exponentially with jitter; a response resets the backoff', async () => {
    const r = await watchListener('a:80');
    const delays: number[] = [];
    client.onEvent((e) => {
      if (e.kind === 'retry-scheduled') delays.push(e.delayMs);
    });
    for (let i = 0; i < 3; i++) {
      transport.last.handlers.onEnd({ code: 14, details: 'connection refused' });
      clock.advance(delays.at(-1)!);
    }
    assert.deepEqual(delays, [1000, 1600, 2560]);
    assert.equal(r.errors.length, 3);
    assert.match(r.errors[0]!, /connection refused/);
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n1', resources: [res('a:80')] });
    transport.last.handlers.onEnd({ code: 14, details: 'reset' });
    // after a response: immediate reconnect, then the schedule starts over
    transport.last.handlers.onEnd({ code: 14, details: 'refused again' });
    assert.equal(delays.at(-1), 1000);
  });

  test('wildcard LDS sends an empty name list and learns every listener', async () => {
    const seen: string[] = [];
    client.watch(LDS, WILDCARD, {
      onResourceChanged: (_v, name) => seen.push(name),
      onError: () => {},
      onResourceDoesNotExist: (name) => seen.push(`-${name}`),
    });
    await flush();
    assert.deepEqual((transport.last.sent[0] as DiscoveryRequestIn).resource_names, []);
    transport.respond({
      type_url: TypeUrl.Listener,
      version_info: 'v1',
      nonce: 'n1',
      resources: [res('a:80'), res('b:80')],
    });
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v2', nonce: 'n2', resources: [res('b:80')] });
    assert.deepEqual(seen, ['a:80', 'b:80', '-a:80']);
  });

  test('unsubscribing the last RDS name sends an empty list; LDS keeps its list', async () => {
    const offR = client.watch(RDS, 'route-a', recorder().watcher);
    const offL = client.watch(LDS, 'a:80', recorder().watcher);
    await flush();
    offR();
    offL();
    await flush();
    const sent = transport.last.sent as DiscoveryRequestIn[];
    const last = sent.at(-1)!;
    assert.equal(last.type_url, TypeUrl.RouteConfiguration);
    assert.deepEqual(last.resource_names, []);
  });
});

describe('XdsClient with ignore_resource_deletion (gRFC A53)', () => {
  const logs: LogRecord[] = [];
  beforeEach(() => {
    logs.length = 0;
    setLogSink((r) => logs.push(r), 'info');
  });
  afterEach(() => setLogSink(undefined));

  test('SotW: a listener missing from a response keeps serving, with one warning until it is back', async () => {
    const transport = new FakeTransport();
    const client = newClient(transport, { ignoreResourceDeletion: true });
    const a = recorder();
    client.watch(LDS, 'a:80', a.watcher);
    client.watch(LDS, 'b:80', recorder().watcher);
    await flush();
    transport.respond({
      type_url: TypeUrl.Listener,
      version_info: 'v1',
      nonce: 'n1',
      resources: [res('a:80', 'one'), res('b:80')],
    });
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v2', nonce: 'n2', resources: [res('b:80')] });
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v3', nonce: 'n3', resources: [res('b:80')] });
    assert.deepEqual(a.dne, []);
    assert.equal(client.cached(LDS, 'a:80')?.stat, 'one', 'the last value stays');
    const warnings = logs.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1, 'logged once, not on every response');
    assert.equal(warnings[0]!.fields?.['name'], 'a:80');
    // a new watcher gets the kept value
    const late = recorder();
    client.watch(LDS, 'a:80', late.watcher);
    await flush();
    assert.deepEqual(late.changed, ['{"name":"a:80","stat":"one"}']);
    transport.respond({
      type_url: TypeUrl.Listener,
      version_info: 'v4',
      nonce: 'n4',
      resources: [res('a:80', 'one'), res('b:80')],
    });
    assert.equal(logs.filter((l) => l.level === 'info' && l.fields?.['name'] === 'a:80').length, 1, 'back again');
    client.close();
  });

  test('Delta: a removed cluster keeps serving; one never received is still reported missing', async () => {
    const transport = new FakeTransport();
    const client = newClient(transport, { mode: 'delta', ignoreResourceDeletion: true });
    const a = recorder();
    const never = recorder();
    client.watch(RDS, 'route-a', a.watcher);
    client.watch(RDS, 'route-x', never.watcher);
    await flush();
    const respond = (nonce: string, resources: Any[], removed: string[]) =>
      transport.last.handlers.onResponse({
        system_version_info: nonce,
        type_url: TypeUrl.RouteConfiguration,
        nonce,
        removed_resources: removed,
        resources: resources.map((r) => ({ name: 'route-a', version: '1', resource: r, aliases: [] })),
      } as unknown as DeltaDiscoveryResponse);
    respond('d1', [res('route-a')], []);
    respond('d2', [], ['route-a', 'route-x']);
    assert.deepEqual(a.dne, []);
    assert.equal(client.cached(RDS, 'route-a')?.name, 'route-a');
    assert.deepEqual(never.dne, ['route-x']);
    client.close();
  });

  test('without the feature a missing listener is deleted', async () => {
    const transport = new FakeTransport();
    const client = newClient(transport);
    const a = recorder();
    client.watch(LDS, 'a:80', a.watcher);
    await flush();
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v1', nonce: 'n1', resources: [res('a:80')] });
    transport.respond({ type_url: TypeUrl.Listener, version_info: 'v2', nonce: 'n2', resources: [] });
    assert.deepEqual(a.dne, ['a:80']);
    assert.equal(client.cached(LDS, 'a:80'), undefined);
    client.close();
  });
});

describe('XdsClient Delta protocol', () => {
  test('subscribe, ACK, removal, and initial_resource_versions after a reconnect', async () => {
    const transport = new FakeTransport();
    const client = newClient(transport, { mode: 'delta' });
    const r = recorder();
    client.watch(LDS, 'a:80', r.watcher);
    await flush();
    client.watch(LDS, 'b:80', recorder().watcher);
    await flush();
    let sent = transport.last.sent as DeltaDiscoveryRequestIn[];
    assert.deepEqual(sent[0]!.resource_names_subscribe, ['a:80']);
    assert.ok(sent[0]!.node);
    assert.deepEqual(sent[1]!.resource_names_subscribe, ['b:80']);
    transport.last.handlers.onResponse({
      system_version_info: 's1',
      type_url: TypeUrl.Listener,
      nonce: 'd1',
      removed_resources: [],
      resources: [{ name: 'a:80', version: 'ra1', resource: res('a:80'), aliases: [] }],
    } as unknown as DeltaDiscoveryResponse);
    sent = transport.last.sent as DeltaDiscoveryRequestIn[];
    assert.equal(sent.at(-1)!.response_nonce, 'd1');
    assert.equal(r.changed.length, 1);
    transport.last.handlers.onEnd({ code: 14, details: 'goaway' });
    sent = transport.last.sent as DeltaDiscoveryRequestIn[];
    assert.deepEqual(sent[0]!.resource_names_subscribe, ['a:80', 'b:80']);
    assert.deepEqual(sent[0]!.initial_resource_versions, { 'a:80': 'ra1' });
    transport.last.handlers.onResponse({
      system_version_info: 's2',
      type_url: TypeUrl.Listener,
      nonce: 'd2',
      removed_resources: ['a:80'],
      resources: [],
    } as unknown as DeltaDiscoveryResponse);
    assert.deepEqual(r.dne, ['a:80']);
    client.close();
  });
});
