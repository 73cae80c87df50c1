import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deepEqual } from '../src/resources/index.ts';

test('deepEqual compares model values structurally', () => {
  assert.ok(deepEqual({ a: [1, { b: 'x' }], c: undefined }, { a: [1, { b: 'x' }], c: undefined }));
  assert.ok(deepEqual(Number.NaN, Number.NaN));
  assert.ok(deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assert.ok(!deepEqual({ a: 1 }, { a: 1, b: 1 }), 'an extra key differs');
  assert.ok(!deepEqual({ a: 1, c: undefined }, { a: 1, b: undefined }), 'different keys differ even when undefined');
  assert.ok(!deepEqual([1, 2], { 0: 1, 1: 2 }), 'an array is not an object with index keys');
  assert.ok(!deepEqual([1, [2]], [1, [3]]));
  assert.ok(!deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assert.ok(!deepEqual(null, {}));
  assert.ok(deepEqual(0, -0), '0 and -0 are the same number to the model');
  assert.ok(!deepEqual('1', 1));
});
