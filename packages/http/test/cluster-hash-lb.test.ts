import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HashPolicy } from '@inboard/xds';
import {
  ClusterState,
  computeRequestHash,
  generatedCookieValue,
  type HashRequest,
  MaglevTable,
  makeSetCookieValue,
  normalizeWeights,
  RingHash,
  seededRandom,
  xxHash64,
  xxHash64Chain,
} from '../src/cluster/index.ts';
import { constant, endpoints, ep, group, makeCla, makeCluster } from './cluster-fixtures.ts';

function request(h: Record<string, string | string[]>, path = '/', sourceIp?: string): HashRequest {
  return { header: (n) => h[n], path, sourceIp };
}

const header = (headerName: string, terminal = false): HashPolicy => ({ kind: 'header', headerName, terminal });
const rotl1 = (h: bigint) => ((h << 1n) | (h >> 63n)) & ((1n << 64n) - 1n);

describe('computeRequestHash', () => {
  it('hashes a header value with xxHash64', () => {
    assert.equal(computeRequestHash([header('x-user')], request({ 'x-user': 'alice' })), xxHash64('alice'));
  });

  it('hashes several values of a header in sorted order', () => {
    const a = computeRequestHash([header('x-k')], request({ 'x-k': ['b', 'a'] }));
    const b = computeRequestHash([header('x-k')], request({ 'x-k': ['a', 'b'] }));
    assert.equal(a, b);
    assert.equal(a, xxHash64Chain(['a', 'b']));
  });

  it('combines policies as rotl(hash, 1) XOR next, and returns undefined when none applies', () => {
    const policies = [header('x-a'), header('x-b')];
    const both = computeRequestHash(policies, request({ 'x-a': '1', 'x-b': '2' }));
    assert.equal(both, rotl1(xxHash64('1')) ^ xxHash64('2'));
    assert.equal(computeRequestHash(policies, request({ 'x-b': '2' })), xxHash64('2'));
    assert.equal(computeRequestHash(policies, request({})), undefined);
  });

  it('stops at a terminal policy once a hash exists', () => {
    const policies = [header('x-a', true), header('x-b')];
    assert.equal(computeRequestHash(policies, request({ 'x-a': '1', 'x-b': '2' })), xxHash64('1'));
    // terminal but no hash yet: carry on
    assert.equal(computeRequestHash(policies, request({ 'x-b': '2' })), xxHash64('2'));
  });

  it('hashes cookies, source IPs and raw query parameters', () => {
    const cookie: HashPolicy = {
      kind: 'cookie',
      name: 'session',
      ttl: undefined,
      path: '',
      attributes: [],
      terminal: false,
    };
    assert.equal(computeRequestHash([cookie], request({ cookie: 'a=1; session="abc"; b=2' })), xxHash64('abc'));
    assert.equal(
      computeRequestHash([{ kind: 'source_ip', terminal: false }], request({}, '/', '10.1.2.3')),
      xxHash64('10.1.2.3'),
    );
    const q: HashPolicy = { kind: 'query_parameter', name: 'user', terminal: false };
    assert.equal(computeRequestHash([q], request({}, '/p?x=1&user=a%20b&user=c')), xxHash64('a%20b'));
    assert.equal(computeRequestHash([q], request({}, '/p?x=1')), undefined);
  });

  it('generates a cookie when absent and a TTL is set', () => {
    const cookie: HashPolicy = {
      kind: 'cookie',
      name: 'sticky',
      ttl: 3_600_000,
      path: '/',
      attributes: [],
      terminal: false,
    };
    const set: string[] = [];
    const value = generatedCookieValue('10.0.0.9:51234', '10.0.0.1:8080');
    const hash = computeRequestHash([cookie], {
      header: () => undefined,
      path: '/',
      addCookie: (name, path, ttl) => {
        set.push(makeSetCookieValue(name, value, path, ttl));
        return value;
      },
    });
    assert.equal(hash, xxHash64(value));
    assert.match(value, /^[0-9a-f]{16}$/);
    assert.deepEqual(set, [`sticky="${value}"; Max-Age=3600; Path=/; HttpOnly`]);
  });
});

describe('RING_HASH', () => {
  const cluster = makeCluster({ lbPolicy: 'RING_HASH' });

  it('builds at least minimum_ring_size points from "<address:port>_<i>" keys', () => {
    const state = new ClusterState(cluster, makeCla([group(endpoints(3))]), { random: constant(0) });
    const ring = new RingHash(normalizeWeights(state.priorities[0]!.healthy, undefined, undefined), 1024, 8 << 20);
    assert.equal(ring.size, 1026); // ⌈1024/3⌉ per host
    assert.equal(ring.minHashesPerHost, 342);
    // a request hash equal to a point lands on that point's host
    const point = xxHash64('10.0.0.2:80_17');
    assert.equal(state.pick({ hash: point })!.key, '10.0.0.2:80');
  });

  it('honours maximum_ring_size', () => {
    const ring = new RingHash(
      normalizeWeights([...new ClusterState(cluster, makeCla([group(endpoints(3))])).hosts], undefined, undefined),
      1024,
      64,
    );
    assert.equal(ring.size, 64);
  });

  it('is stable for a key and spreads keys across hosts', () => {
    const state = new ClusterState(cluster, makeCla([group(endpoints(4))]), { random: constant(0) });
    const h = xxHash64('user-42');
    const first = state.pick({ hash: h })!.key;
    for (let i = 0; i < 5; i++) assert.equal(state.pick({ hash: h })!.key, first);
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const k = state.pick({ hash: xxHash64(`user-${i}`) })!.key;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    assert.equal(counts.size, 4);
    for (const c of counts.values()) assert.ok(c > 700 && c < 1300, `unbalanced: ${[...counts.values()]}`);
  });

  // With the default minimum ring size each host's point count shrinks as hosts join (256 → 205
  // here), so slightly more than 1/N of the keys move, as in Envoy.
  it('moves a small share of the keys when a host joins', () => {
    const before = new ClusterState(cluster, makeCla([group(endpoints(4))]), { random: constant(0) });
    const after = new ClusterState(cluster, makeCla([group(endpoints(5))]), { random: constant(0) });
    let moved = 0;
    let toNew = 0;
    for (let i = 0; i < 2000; i++) {
      const h = xxHash64(`k${i}`);
      const a = before.pick({ hash: h })!.key;
      const b = after.pick({ hash: h })!.key;
      if (a !== b) moved++;
      if (b === '10.0.0.5:80') toNew++;
    }
    assert.ok(toNew > 300 && toNew < 500, `new host got ${toNew}`);
    assert.ok(moved >= toNew && moved < 800, `moved ${moved}`);
  });

  it('picks a random host when the request has no hash', () => {
    const state = new ClusterState(cluster, makeCla([group(endpoints(4))]), { random: seededRandom(1) });
    const seen = new Set(Array.from({ length: 100 }, () => state.pick()!.key));
    assert.equal(seen.size, 4);
    // a 53-bit source (as the route module's) works as well as a 32-bit one
    const r32 = seededRandom(2);
    const wide = new ClusterState(cluster, makeCla([group(endpoints(4))]), {
      random: () => r32() * 2 ** 21 + (r32() >>> 11),
    });
    assert.equal(new Set(Array.from({ length: 100 }, () => wide.pick()!.key)).size, 4);
  });

  it('walks to the next ring entry when the host is a previous host', () => {
    const state = new ClusterState(cluster, makeCla([group(endpoints(4))]), { random: constant(0) });
    const h = xxHash64('sticky');
    const first = state.pick({ hash: h })!.key;
    const other = state.pick({ hash: h, previousHosts: new Set([first]), hostSelectionRetryCount: 5 })!.key;
    assert.notEqual(other, first);
  });

  it('rebuilds without ejected or unhealthy hosts', () => {
    const state = new ClusterState(makeCluster({ lbPolicy: 'RING_HASH' }), makeCla([group(endpoints(4))]), {
      random: constant(0),
    });
    const h = xxHash64('k');
    const first = state.pick({ hash: h })!;
    first.ejected = true;
    state.refresh();
    assert.notEqual(state.pick({ hash: h })!.key, first.key);
  });
});

describe('MAGLEV', () => {
  it('fills the default 65537-entry table evenly across equal hosts', () => {
    const state = new ClusterState(makeCluster({ lbPolicy: 'MAGLEV' }), makeCla([group(endpoints(5))]), {
      random: constant(0),
    });
    const table = new MaglevTable(normalizeWeights(state.priorities[0]!.healthy, undefined, undefined), 65537);
    const expected = 65537 / 5;
    for (const c of table.counts) assert.ok(Math.abs(c - expected) <= expected * 0.01, `count ${c}`);
    assert.equal(
      table.counts.reduce((a, b) => a + b, 0),
      65537,
    );
  });

  it('gives weighted hosts proportional table shares', () => {
    const hosts = new ClusterState(
      makeCluster({ lbPolicy: 'MAGLEV' }),
      makeCla([group([ep('10.0.0.1', 80, 'HEALTHY', 1), ep('10.0.0.2', 80, 'HEALTHY', 3)])]),
    ).priorities[0]!.healthy;
    const table = new MaglevTable(normalizeWeights(hosts, undefined, undefined), 65537);
    const ratio = table.counts[1]! / table.counts[0]!;
    assert.ok(Math.abs(ratio - 3) < 0.03, `ratio ${ratio}`);
  });

  it('is stable per key, spreads keys and honours a custom prime table size', () => {
    const state = new ClusterState(
      makeCluster({ lbPolicy: 'MAGLEV', maglevTableSize: 251 }),
      makeCla([group(endpoints(3))]),
      {
        random: constant(0),
      },
    );
    const h = xxHash64('session-1');
    assert.equal(state.pick({ hash: h })!.key, state.pick({ hash: h })!.key);
    const seen = new Set(Array.from({ length: 300 }, (_, i) => state.pick({ hash: xxHash64(`s${i}`) })!.key));
    assert.equal(seen.size, 3);
  });

  it('mutates the hash to find an alternate host for previous hosts', () => {
    const state = new ClusterState(makeCluster({ lbPolicy: 'MAGLEV' }), makeCla([group(endpoints(3))]), {
      random: constant(0),
    });
    const h = xxHash64('k');
    const first = state.pick({ hash: h })!.key;
    const other = state.pick({ hash: h, previousHosts: new Set([first]), hostSelectionRetryCount: 5 })!.key;
    assert.notEqual(other, first);
  });
});
