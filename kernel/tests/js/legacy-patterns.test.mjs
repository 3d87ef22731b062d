// A durable kind whose stateShape was stored by a liveslots before tagged patterns (as the
// old `M` built it: `{ matcher: … }` records) keeps its shape when the new version
// redefines it with today's `M`: legacy-patterns.js compares the two.
import test from 'node:test';
import assert from 'node:assert/strict';

import { M } from '../../src/worker/js/patterns.js';
import { sameAsLegacyPattern } from '../../src/worker/js/legacy-patterns.js';
import { Far } from '../../src/worker/js/marshal.js';
import { makeMarshal } from '../../src/worker/js/passstyle.js';
import { harden } from '../../src/worker/js/liveslots.js';

const names = new Map();
const { toCapData } = makeMarshal((v) => names.get(v) ?? 'unknown');
const keyOf = (v) => JSON.stringify(toCapData(v));
const brand = Far('Brand', {});
names.set(brand, 'o-1');

// What the old `M` stored for each maker (its own definitions, written out).
const old = (matcher, extra = {}) => harden({ matcher, ...extra });
const SAME = [
  ['M.string()', old('string'), M.string()],
  ['M.nat()', old('nat'), M.nat()],
  ['M.number()', old('number'), M.number()],
  ['M.any()', old('any'), M.any()],
  ['M.key()', old('any'), M.key()],
  ['M.scalar()', old('any'), M.scalar()],
  ['M.set()', old('any'), M.set()],
  ['M.bag()', old('any'), M.bag()],
  ['M.map()', old('any'), M.map()],
  ['M.record()', old('record'), M.record()],
  ['M.recordOf(…)', old('record'), M.recordOf(M.string(), M.nat())],
  ['M.splitRecord(…)', old('record'), M.splitRecord({ a: M.nat() })],
  ['M.array()', old('array'), M.array()],
  ['M.arrayOf(…)', old('array'), M.arrayOf(M.string())],
  ['M.opt(…)', old('or', { alts: harden([old('string'), old('undefined')]) }), M.opt(M.string())],
  ['M.eref(…)', old('or', { alts: harden([old('string'), old('promise')]) }), M.eref(M.string())],
  ['M.remotable()', old('remotable', { label: 'Remotable' }), M.remotable()],
  ['M.remotable(label)', old('remotable', { label: 'Brand' }), M.remotable('Brand')],
  ['M.eq(5)', old('eq', { value: 5 }), M.eq(5)],
  ['M.null()', old('null'), M.null()],
  ['M.undefined()', old('undefined'), M.undefined()],
  ['M.eq(undefined)', old('eq', { value: undefined }), M.eq(undefined)],
  ['M.promise()', old('promise'), M.promise()],
  ['M.promise(label)', old('promise'), M.promise('P')],
  ['M.not(…)', old('not', { p: old('string') }), M.not(M.string())],
  ['a brand', brand, brand],
  ['a record of patterns', harden({ brand, value: old('nat') }), harden({ brand, value: M.nat() })],
];
const DIFFERENT = [
  ['string vs number', old('string'), M.number()],
  ['labels', old('remotable', { label: 'Brand' }), M.remotable('Other')],
  ['opt vs its pattern', old('or', { alts: harden([old('string'), old('undefined')]) }), M.string()],
  ['any vs string', old('any'), M.string()],
  ['a record with another value', harden({ brand, value: old('nat') }), harden({ brand, value: M.string() })],
];

test("a legacy stateShape equals today's pattern for the same maker", () => {
  for (const [name, stored, now] of SAME) assert.ok(sameAsLegacyPattern(stored, now, keyOf), name);
});

test('a legacy stateShape differs from a different pattern', () => {
  for (const [name, stored, now] of DIFFERENT) assert.equal(sameAsLegacyPattern(stored, now, keyOf), false, name);
});
