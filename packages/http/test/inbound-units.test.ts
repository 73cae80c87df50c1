// The pure parts of the inbound side: path normalisation (Istio BASE), listener names (gRFC A36),
// trace context extraction, SAN parsing and filter chain selection.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FilterChainMatch } from '@inboard/xds';
import {
  type ConnectionFacts,
  extractTraceContext,
  inboundListenerName,
  normalizeRequestPath,
  parseB3Single,
  parseSubjectAltNames,
  parseTraceparent,
  selectFilterChain,
} from '../src/inbound/index.ts';
import { headerGetter } from '../src/route/index.ts';

describe('path normalisation before authorization', () => {
  const rows: [string, string | undefined, string?][] = [
    ['/reviews/1', '/reviews/1'],
    ['/public/../admin', '/admin'],
    ['/public/./data/abc/../xyz', '/public/data/xyz'],
    ['/../../admin', '/admin'],
    ['/admin/.', '/admin/'],
    ['/admin/..', '/'],
    ['/a/b/../..', '/'],
    ['/.hidden/..x', '/.hidden/..x'],
    // unreserved characters are decoded, then dot segments resolved
    ['/%61%64%6D%69%6e', '/admin'],
    ['/public/%2e%2E/admin', '/admin'],
    ['/a%7e%5F%2d', '/a~_-'],
    // other escapes stay exactly as sent, hex case included (Envoy keeps them for servers that care)
    ['/a%2fb', '/a%2fb'],
    ['/a%5cb%3f', '/a%5cb%3f'],
    // characters that may not appear unescaped are escaped
    ['/a{b}|c d', '/a%7Bb%7D%7Cc%20d'],
    ['/caf\u00e9', '/caf%E9'],
    // a % that starts no escape stays, unless decoding after it would make one: then it is %25
    ['/%%36%31dmin', '/%2561dmin'],
    ['/%6%31dmin', '/%2561dmin'],
    ['/%%30%30', '/%2500'],
    ['/%%470', '/%G0'],
    ['/%%2D%41', '/%-A'],
    // merge_slashes comes after the dot segments
    ['/a//../admin', '/a/admin'],
    ['/bad%zzescape%', '/bad%zzescape%'],
    ['/some\\data', '/some/data'],
    ['/some//data', '/some//data'],
    ['/admin?x=/../y', '/admin', '?x=/../y'],
    ['/admin#frag', '/admin'],
    ['/a/../admin?q#f', '/admin', '?q'],
    ['http://reviews:9080/x/../admin?q', '/admin', '?q'],
    ['http://reviews:9080', '/'],
    ['*', '*'],
    ['/a%00b', undefined],
    ['/a%2500', '/a%2500'],
    ['relative/path', undefined],
  ];
  for (const [target, path, query = ''] of rows) {
    test(`${JSON.stringify(target)} → ${JSON.stringify(path)}`, () => {
      const n = normalizeRequestPath(target);
      assert.deepEqual(n, path === undefined ? undefined : { path, query });
    });
  }
  test('merge_slashes is opt-in', () => {
    assert.deepEqual(normalizeRequestPath('//some///data/../x', { mergeSlashes: true }), {
      path: '/some/x',
      query: '',
    });
  });
  test('merge_slashes runs after the dot segments are resolved, as in Envoy', () => {
    assert.deepEqual(normalizeRequestPath('/a//../admin', { mergeSlashes: true }), { path: '/a/admin', query: '' });
  });
  test('nested escapes: normalising again changes nothing, and decoding once does not give /admin', () => {
    for (const target of ['/%%36%31dmin', '/%6%31dmin', '/%%36%31%%36%31', '/%%%36%31%36%31dmin']) {
      const once = normalizeRequestPath(target)!.path;
      assert.equal(normalizeRequestPath(once)?.path, once, `${target} is a fixed point`);
      // what an application that decodes its path once (leniently) sees
      const decoded = once.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
      assert.ok(!decoded.startsWith('/admin'), `${target} → ${once}`);
    }
  });
});

describe('inbound listener names', () => {
  test("istiod's template with ip:port", () => {
    assert.equal(inboundListenerName({ ip: '0.0.0.0', port: 8080 }), 'xds.istio.io/grpc/lds/inbound/0.0.0.0:8080');
  });
  test('IPv6 in brackets', () => {
    assert.equal(inboundListenerName({ ip: '::', port: 8080 }), 'xds.istio.io/grpc/lds/inbound/[::]:8080');
  });
  test("the bootstrap's template; every %s replaced", () => {
    assert.equal(
      inboundListenerName({ ip: '10.0.0.7', port: 80 }, 'grpc/server?xds.resource.listening_address=%s'),
      'grpc/server?xds.resource.listening_address=10.0.0.7:80',
    );
  });
  test('xdstp templates percent-encode the address', () => {
    assert.equal(
      inboundListenerName({ ip: '::1', port: 80 }, 'xdstp://authority/envoy.config.listener.v3.Listener/%s'),
      'xdstp://authority/envoy.config.listener.v3.Listener/%5B::1%5D:80',
    );
  });
});

describe('trace context', () => {
  const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  test('W3C traceparent and tracestate', () => {
    const t = extractTraceContext(
      headerGetter({ traceparent: TP, tracestate: ['rojo=00f067aa0ba902b7', 'congo=t61rcWkgMzE'] }),
    );
    assert.deepEqual(t.w3c, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      traceFlags: 1,
      sampled: true,
      traceState: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    });
    assert.equal(t.b3, undefined);
  });
  test('invalid traceparents are ignored', () => {
    assert.equal(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined);
    assert.equal(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'), undefined);
    assert.equal(parseTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), undefined);
    assert.equal(parseTraceparent(`${TP}-extra`), undefined, 'version 00 has exactly four fields');
    assert.equal(parseTraceparent('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'), undefined);
    assert.equal(parseTraceparent(`01-${TP.slice(3)}-future`)?.sampled, true, 'later versions may add fields');
  });
  test('B3 multi headers (what Envoy and Istio propagate), with x-request-id', () => {
    const t = extractTraceContext(
      headerGetter({
        'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
        'x-b3-spanid': 'e457b5a2e4d86bd1',
        'x-b3-parentspanid': '05e3ac9a4f6e3b90',
        'x-b3-sampled': '1',
        'x-request-id': 'c1c6a0f2-0d54-9a8b-a4ef-6b5e0d0f3a11',
      }),
    );
    assert.deepEqual(t.b3, {
      traceId: '80f198ee56343ba864fe8b2a57d3eff7',
      spanId: 'e457b5a2e4d86bd1',
      parentSpanId: '05e3ac9a4f6e3b90',
      sampled: true,
      debug: false,
    });
    assert.equal(t.requestId, 'c1c6a0f2-0d54-9a8b-a4ef-6b5e0d0f3a11');
    assert.equal(t.w3c, undefined);
  });
  test('B3 single header, including sampling-only and debug', () => {
    assert.deepEqual(parseB3Single('80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d-05e3ac9a4f6e3b90'), {
      traceId: '80f198ee56343ba864fe8b2a57d3eff7',
      spanId: 'e457b5a2e4d86bd1',
      parentSpanId: '05e3ac9a4f6e3b90',
      sampled: true,
      debug: true,
    });
    assert.deepEqual(parseB3Single('0'), {
      traceId: undefined,
      spanId: undefined,
      parentSpanId: undefined,
      sampled: false,
      debug: false,
    });
    assert.equal(parseB3Single('80f198ee56343ba8-e457b5a2e4d86bd1-x'), undefined);
    assert.equal(parseB3Single('nothex-e457b5a2e4d86bd1'), undefined);
  });
});

describe('subject alt names as Node prints them', () => {
  test('URI, DNS, IP and email entries', () => {
    assert.deepEqual(
      parseSubjectAltNames(
        'URI:spiffe://cluster.local/ns/default/sa/productpage, DNS:reviews, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1, email:ops@example.com',
      ),
      {
        uri: ['spiffe://cluster.local/ns/default/sa/productpage'],
        dns: ['reviews'],
        email: ['ops@example.com'],
        ip: ['10.0.0.1', '0:0:0:0:0:0:0:1'],
      },
    );
  });
  test('quoted values containing separators', () => {
    assert.deepEqual(parseSubjectAltNames('URI:"spiffe://td/ns/a, b/sa/c", DNS:x'), {
      uri: ['spiffe://td/ns/a, b/sa/c'],
      dns: ['x'],
      email: [],
      ip: [],
    });
  });
  test('none', () => {
    assert.deepEqual(parseSubjectAltNames(undefined), { uri: [], dns: [], email: [], ip: [] });
  });
});

describe('filter chain selection (Envoy FilterChainMatch order)', () => {
  const m = (over: Partial<FilterChainMatch>): FilterChainMatch => ({
    destinationPort: undefined,
    prefixRanges: [],
    transportProtocol: '',
    applicationProtocols: [],
    sourcePrefixRanges: [],
    ...over,
  });
  const conn: ConnectionFacts = {
    destinationIp: '10.0.0.7',
    destinationPort: 8080,
    sourceIp: '10.1.2.3',
    transportProtocol: 'tls',
    alpn: 'h2',
  };
  type C = { name: string; match: FilterChainMatch | undefined };
  const pick = (chains: C[], dflt?: C, c = conn) => selectFilterChain(chains, (x) => x.match, dflt, c)?.name;

  test('a single chain without a match serves everything (istiod)', () => {
    assert.equal(pick([{ name: 'inbound-mtls', match: undefined }]), 'inbound-mtls');
  });
  test('an exact destination port beats an unset one, whatever the order', () => {
    assert.equal(
      pick([
        { name: 'any', match: undefined },
        { name: 'port', match: m({ destinationPort: 8080 }) },
      ]),
      'port',
    );
    assert.equal(
      pick([
        { name: 'other', match: m({ destinationPort: 9090 }) },
        { name: 'any', match: undefined },
      ]),
      'any',
    );
  });
  test('the longest destination prefix wins', () => {
    const chains = [
      { name: '/8', match: m({ prefixRanges: [{ addressPrefix: '10.0.0.0', prefixLen: 8 }] }) },
      { name: '/24', match: m({ prefixRanges: [{ addressPrefix: '10.0.0.0', prefixLen: 24 }] }) },
    ];
    assert.equal(pick(chains), '/24');
  });
  test('transport protocol and ALPN', () => {
    const chains = [
      { name: 'raw', match: m({ transportProtocol: 'raw_buffer' }) },
      { name: 'tls', match: m({ transportProtocol: 'tls' }) },
    ];
    assert.equal(pick(chains), 'tls');
    assert.equal(pick(chains, undefined, { ...conn, transportProtocol: 'raw_buffer' }), 'raw');
    assert.equal(
      pick([
        { name: 'h1', match: m({ applicationProtocols: ['http/1.1'] }) },
        { name: 'h2', match: m({ applicationProtocols: ['h2'] }) },
      ]),
      'h2',
    );
  });
  test('source ranges narrow last; nothing left falls back to the default chain, else none', () => {
    const chains = [
      { name: 'trusted', match: m({ sourcePrefixRanges: [{ addressPrefix: '192.168.0.0', prefixLen: 16 }] }) },
    ];
    assert.equal(pick(chains), undefined);
    assert.equal(pick(chains, { name: 'default', match: undefined }), 'default');
    assert.equal(pick(chains, undefined, { ...conn, sourceIp: '192.168.3.4' }), 'trusted');
  });
});
