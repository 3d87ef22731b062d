// Our @endo/patterns, CopySet/CopyBag/CopyMap, rank order and guarded exos against
// upstream's: the same cases (pattern-cases.mjs) run here with the modules vats get and in
// a child process with upstream's packages under SES (upstream-patterns.mjs, using the
// copies npm installs for the endo bundle fixture), and every result must be the same:
// patterns' and guards' serialized bytes, each match verdict and mustMatch message, rank
// and key comparisons, and what each call of a guarded exo returns or throws.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { M, matches, mustMatch, isPattern } from '../../src/worker/js/patterns.js';
import {
  makeCopySet,
  makeCopyBag,
  makeCopyMap,
  makeCopyBagFromElements,
  compareKeys,
  keyEQ,
  isKey,
} from '../../src/worker/js/copy.js';
import { compareRank } from '../../src/worker/js/rank.js';
import { makeTagged, Far } from '../../src/worker/js/marshal.js';
import { makeMarshal } from '../../src/worker/js/passstyle.js';
import { harden } from '../../src/worker/js/liveslots.js';
import { defendBehavior } from '../../src/worker/js/guards.js';
import { defineHeapExoClass } from '../../src/worker/js/heap-exo.js';
import * as setOps from '../../src/worker/js/set-ops.js';

const { setIsSuperset } = setOps;
import { computeResults } from './pattern-cases.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const upstreamModules = path.join(here, '../fixtures/endo/node_modules/@endo/patterns');

// A heap exo as liveslots makes one (its makeExo), without a vat.
const makeExo = (tag, guard, methods) => defineHeapExoClass(tag, guard, () => ({}), methods)();

const ours = async () => {
  const refs = new Map();
  return computeResults({
    ...setOps,
    M,
    matches,
    mustMatch,
    makeCopySet,
    makeCopyBag,
    makeCopyMap,
    compareKeys,
    keyEQ,
    compareRank,
    makeTagged,
    Far,
    harden,
    makeMarshal,
    makeExo,
    refs,
    ref: (name, make) => {
      const v = make();
      refs.set(v, name);
      return v;
    },
  });
};

const upstream = () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'patterns-')), 'upstream.json');
  execFileSync(process.execPath, [path.join(here, 'upstream-patterns.mjs'), out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(readFileSync(out, 'utf8'));
};

test("patterns, collections, rank order and guarded exos are upstream's", async () => {
  assert.ok(existsSync(upstreamModules), 'run npm ci in kernel/tests/fixtures/endo first (scripts/test.sh does)');
  const [mine, theirs] = [await ours(), upstream()];
  assert.deepEqual(mine.specimens, theirs.specimens, 'specimens serialize alike');
  assert.deepEqual(mine.patterns, theirs.patterns, 'patterns serialize alike');
  assert.deepEqual(mine.guards, theirs.guards, 'guards serialize alike');
  assert.equal(mine.verdicts.length, theirs.verdicts.length);
  const wrong = [];
  for (let i = 0; i < mine.verdicts.length; i += 1) {
    const a = mine.verdicts[i];
    const b = theirs.verdicts[i];
    if (a.matches !== b.matches || a.message !== b.message) {
      wrong.push({ pattern: theirs.patterns[a.pi], specimen: theirs.specimens[a.si], ours: a, upstream: b });
    }
  }
  assert.deepEqual(wrong, [], `${wrong.length} of ${mine.verdicts.length} pattern cases differ`);
  assert.deepEqual(mine.rank, theirs.rank, 'rank order');
  assert.deepEqual(mine.keys, theirs.keys, 'key order');
  assert.deepEqual(mine.exo, theirs.exo, 'guarded exo calls');
  assert.equal(mine.getInterfaceGuard, theirs.getInterfaceGuard);
  assert.deepEqual(mine.setOps, theirs.setOps, 'set and bag operations');
});

test('a tagged value round-trips through smallcaps and stays tagged', () => {
  const m = makeMarshal();
  const set = makeCopySet(['b', 'a']);
  const data = m.toCapData(harden({ set }));
  assert.equal(data.body, '#{"set":{"#tag":"copySet","payload":["b","a"]}}');
  const back = m.fromCapData(data);
  assert.ok(matches(back.set, M.set()));
  assert.ok(matches(back, harden({ set: makeCopySet(['a', 'b']) })));
});

test('collections refuse what upstream refuses', () => {
  assert.throws(() => makeCopySet([Promise.resolve()]), /A "promise" cannot be a key/);
  assert.throws(() => makeCopySet([1, 1]), /duplicate/);
  assert.throws(() => makeCopyBag([['a', 0n]]), /positive bigint/);
  assert.throws(() => makeCopyMap([['a', 1], ['a', 2]]), /duplicate/);
  // A hand-made tagged value out of order is not a CopySet.
  assert.equal(matches(makeTagged('copySet', ['a', 'b']), M.set()), false);
});

test('an interface guard must cover the methods, and a method guard needs .returns()', () => {
  const guard = M.interface('G', { a: M.call().returns() });
  assert.throws(() => defendBehavior('T', { a() {}, b() {} }, guard, true), /methods \["b"\] not guarded by "G"/);
  assert.throws(() => defendBehavior('T', {}, guard, true), /methods \["a"\] not implemented by "T"/);
  assert.throws(() => M.interface('G', { a: M.call() }), /did you leave off .returns\(\)/);
  // Names in upstream's order and rendering: symbols first, shown as "[Symbol(…)]".
  const sym = Symbol.for('s');
  assert.throws(
    () => defendBehavior('T', { b() {}, a() {}, [sym]() {} }, M.interface('G', {}), true),
    /methods \["\[Symbol\(s\)\]","a","b"\] not guarded by "G"/,
  );
});

test("a tag naming an Object.prototype property is no matcher (upstream's lookup finds Object's)", () => {
  for (const tag of ['constructor', 'toString', 'valueOf', '__proto__', 'hasOwnProperty']) {
    const fake = makeTagged(tag, null);
    assert.equal(isPattern(fake), false, tag);
    assert.equal(matches(fake, M.pattern()), false, tag);
    assert.throws(() => matches(1, fake), new RegExp(`cannot check unrecognized tag "${tag}"`), tag);
    assert.throws(() => mustMatch(1, fake), /cannot check unrecognized tag/, tag);
  }
  // Nor does a method named after one find a guard there.
  const exo = defineHeapExoClass('T', M.interface('T', {}, { defaultGuards: 'passable' }), () => ({}), {
    toString() {
      return 'T!';
    },
  })();
  assert.equal(exo.toString(), 'T!');
});

// Data a vat is sent, shaped to make naive key checks slow: each is checked in time about
// linear in its size (a quadratic or exponential check would not finish here; the figures
// are in kernel/benches/js/keys.mjs).
test('hostile collections are checked in about linear work', () => {
  const { fromCapData } = makeMarshal(
    () => 'unused',
    (slot) => Far(slot, {}),
  );
  let n = 0;
  const slots = [];
  const nested = (depth) =>
    depth === 0
      ? (slots.push(`o-${n}`), `$${n++}.Alleged: x`)
      : { '#tag': 'copySet', payload: [nested(depth - 1), nested(depth - 1)] };
  const deep = fromCapData({ body: `#${JSON.stringify(nested(14))}`, slots });
  assert.equal(isKey(deep), true, 'binary nested sets, 16384 remotables');
  const many = 20000;
  const tied = fromCapData({
    body: `#${JSON.stringify({ '#tag': 'copySet', payload: Array.from({ length: many }, (_, i) => [`$${i}.Alleged: x`]) })}`,
    slots: Array.from({ length: many }, (_, i) => `o-${i}`),
  });
  assert.equal(isKey(tied), true, 'a set of 20000 rank-tied arrays');
  const a = makeCopySet(Array.from({ length: many }, (_, i) => `s${i}`));
  const b = makeCopySet(Array.from({ length: many }, (_, i) => `s${i}`));
  assert.equal(keyEQ(a, b), true);
  assert.equal(setIsSuperset(a, b), true);
  const map = makeCopyMap(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
  const shape = makeCopyMap(Array.from({ length: 5000 }, (_, i) => [`k${i}`, M.number()]));
  assert.equal(matches(map, shape), true);
  assert.equal(makeCopyBagFromElements(Array.from({ length: many }, (_, i) => `e${i % 7}`)).payload.length, 7);
});

test('smallcaps records: escaped names, "__proto__" an own property, #tag records exact', () => {
  const m = makeMarshal();
  const rec = harden({ '#x': 1, '!y': 2, plain: 3 });
  const data = m.toCapData(rec);
  assert.equal(data.body, '#{"!!y":2,"!#x":1,"plain":3}');
  assert.deepEqual(m.fromCapData(data), rec);
  const proto = m.fromCapData({ body: '#{"__proto__":{"a":1},"b":2}', slots: [] });
  assert.deepEqual(Object.keys(proto), ['__proto__', 'b']);
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.throws(() => m.fromCapData({ body: '#{"#tag":"copySet","payload":[],"x":1}', slots: [] }), /unexpected properties/);
  assert.throws(() => m.fromCapData({ body: '#{"#foo":1}', slots: [] }), /Unrecognized record type/);
  assert.throws(() => m.fromCapData({ body: '#{"$0":1}', slots: ['o-1'] }), /must be a string/);
  // An error's message is encoded as a string is: a redacted one starts with "(".
  const err = m.toCapData(harden(Error('(a string) - Must be a number')));
  assert.equal(err.body, '#{"#error":"!(a string) - Must be a number","name":"Error"}');
  assert.equal(m.fromCapData(err).message, '(a string) - Must be a number');
});

test("the set algebra takes elements as a CopySet keeps them, and says upstream's reasons", () => {
  const { elementsIsSuperset, setIsSuperset: superset } = setOps;
  assert.equal(elementsIsSuperset(harden(['b', 'a']), harden(['a'])), true);
  assert.throws(() => elementsIsSuperset(harden(['a', 'b']), harden(['b'])), /Must be rank sorted/);
  assert.throws(() => elementsIsSuperset(harden(['a', 'a']), harden([])), /value has duplicate keys/);
  assert.throws(() => superset(makeTagged('copySet', ['a', 'b']), makeCopySet([])), /must be sorted in reverse rank order/);
  assert.equal(String(Far('Brand', {})), '[object Alleged: Brand]');
});

test('a verdict is remembered only for data frozen all the way down', () => {
  // (Upstream refuses unfrozen data outright; ours passes it, so it must not be trusted.)
  const list = ['a'];
  assert.equal(isKey(list), true);
  list.push(Promise.resolve());
  assert.equal(isKey(list), false);
  const inner = ['b'];
  const outer = Object.freeze([inner]);
  assert.equal(isKey(outer), true);
  inner.push(Promise.resolve());
  assert.equal(isKey(outer), false);
  const shape = { a: M.string() };
  assert.equal(isPattern(shape), true);
  shape.b = Promise.resolve();
  assert.equal(isPattern(shape), false);
  // Hardened data is remembered, and stays a key.
  const hardened = harden([['c'], { d: 1 }]);
  assert.equal(isKey(hardened), true);
  assert.equal(isKey(hardened), true);
});
