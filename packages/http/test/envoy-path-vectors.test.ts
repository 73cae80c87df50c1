// Envoy's own path normalisation vectors (test/common/http/path_utility_test.cc: canonicalPath,
// mergeSlashes, and the two in the order the connection manager runs them), against Inboard's
// normalize_path and merge_slashes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalizePath, mergeSlashes, normalizeRequestPath } from '../src/inbound/index.ts';

/** Envoy's rfcNormalize: the path before `?` is canonicalised, the query kept. */
function rfcNormalize(path: string): string | undefined {
  const q = path.indexOf('?');
  const canonical = canonicalizePath(q < 0 ? path : path.slice(0, q));
  return canonical === undefined ? undefined : canonical + (q < 0 ? '' : path.slice(q));
}

/** Envoy's mergeSlashes: the path before `?` merged, the query kept. */
function mergeSlashesOf(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? mergeSlashes(path) : mergeSlashes(path.slice(0, q)) + path.slice(q);
}

describe("Envoy's path_utility_test vectors", () => {
  test('already normal paths do not change', () => {
    for (const p of ['/xyz', '/x/y/z']) assert.equal(rfcNormalize(p), p);
  });

  test('invalid paths are rejected', () => {
    for (const p of ['/xyz/.%00../abc', '/xyz/%00.%00./abc', '/xyz/AAAAA%%0000/abc']) {
      assert.equal(rfcNormalize(p), undefined, p);
    }
  });

  const valid: [string, string][] = [
    ['/a/b/../c', '/a/c'], // parent dir
    ['/a/b/./c', '/a/b/c'], // current dir
    ['a/b/../c', '/a/c'], // non / start
    ['/a/b/../../../../c', '/c'], // out number parent
    ['/a/..\\c', '/c'], // ..\ canonicalization
    ['/%c0%af', '/%c0%af'], // 2 bytes unicode reserved characters
    ['/%5c%25', '/%5c%25'], // reserved characters
    ['/a/b/%2E%2E/c', '/a/c'], // %2E escape
    ['/a/b/%2E./c', '/a/c'],
    ['/a/b/%2E/c', '/a/b/c'],
    ['..', '/'],
    ['/../a/b', '/a/b'],
    ['/./a/b', '/a/b'],
    // case
    ['/A/B/C', '/A/B/C'], // not normalised to lower case
    ['/a/b/%2e%2e/c', '/a/c'], // %2e can be normalised to .
    ['/a/%2F%2f/c', '/a/%2F%2f/c'], // %2F is not normalised to %2f
  ];
  for (const [input, want] of valid) {
    test(`normalize_path ${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => {
      assert.equal(rfcNormalize(input), want);
    });
  }

  const merged: [string, string][] = [
    ['', ''], // empty
    ['a//b/c', 'a/b/c'], // relative
    ['/a//b/c/', '/a/b/c/'], // ends with slash
    ['a//b/c/', 'a/b/c/'], // relative ends with slash
    ['/a', '/a'], // no-op
    ['//a/b/c', '/a/b/c'], // double / start
    ['/a//b/c', '/a/b/c'], // double / in the middle
    ['/a/b/c//', '/a/b/c/'], // double / end
    ['/a///b/c', '/a/b/c'], // triple / in the middle
    ['/a////b/c', '/a/b/c'], // quadruple / in the middle
    ['/a//b?a=///c', '/a/b?a=///c'], // slashes in the query are ignored
    ['/a//b?', '/a/b?'], // empty query
    ['//a/?b', '/a/?b'], // ends with slash + query
  ];
  for (const [input, want] of merged) {
    test(`merge_slashes ${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => {
      assert.equal(mergeSlashesOf(input), want);
    });
  }

  test('the request path: normalize_path, then merge_slashes, the query untouched', () => {
    for (const [input, want] of merged) {
      if (!input.startsWith('/')) continue;
      const n = normalizeRequestPath(input, { mergeSlashes: true })!;
      assert.equal(n.path + n.query, want, input);
    }
    for (const [input, want] of valid) {
      if (!input.startsWith('/')) continue;
      const n = normalizeRequestPath(input)!;
      assert.equal(n.path, want, input);
    }
  });
});

// Envoy's canonicaliser is Chromium's (url_canon_path.cc); these are Chromium's own vectors for the
// nested escapes it guards against, as of the snapshot Envoy carried.
describe("Chromium's nested escape vectors", () => {
  const rows: [string, string][] = [
    ['/%A%42', '/%25AB'],
    ['/%%41B', '/%25AB'],
    ['/%%41%42', '/%25AB'],
    ['/%%41', '/%A'], // a truncated "nested" escape
    ['/%%470', '/%G0'], // no valid escape results: the % stays
    ['/%%2D%41', '/%-A'],
    ['/(%28:%3A%29)', '/(%28:%3A%29)'], // kept escaped, or unescaped, as sent
    ['/%3A%3a%3C%3c', '/%3A%3a%3C%3c'], // hex case kept
    ['/foo\tbar', '/foo%09bar'],
    ['/%7Ffp3%3Eju%3Dduvgw%3Dd', '/%7Ffp3%3Eju%3Dduvgw%3Dd'],
    ['/@asdf%40', '/@asdf%40'],
  ];
  for (const [input, want] of rows) {
    test(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => {
      assert.equal(rfcNormalize(input), want);
    });
  }
});
