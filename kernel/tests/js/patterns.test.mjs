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

import { M, matches, mustMatch } from '../../src/worker/js/patterns.js';
import { makeCopySet, makeCopyBag, makeCopyMap, compareKeys, keyEQ } from '../../src/worker/js/copy.js';
import { compareRank } from '../../src/worker/js/rank.js';
import { makeTagged, Far } from '../../src/worker/js/marshal.js';
import { makeMarshal } from '../../src/worker/js/passstyle.js';
import { harden } from '../../src/worker/js/liveslots.js';
import { defendBehavior } from '../../src/worker/js/guards.js';
import * as setOps from '../../src/worker/js/set-ops.js';
import { computeResults } from './pattern-cases.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const upstreamModules = path.join(here, '../fixtures/endo/node_modules/@endo/patterns');

// A heap exo as liveslots makes one (liveslots.js defineExoClass), without a vat.
const makeExo = (tag, guard, methods) => {
  const defended = defendBehavior(tag, methods, guard, true);
  const ctx = { state: {} };
  const obj = {};
  for (const [name, fn] of Object.entries(defended)) obj[name] = (...a) => fn.apply(ctx, a);
  return Far(tag, obj);
};

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
    const expected = b.matches === 'threw' ? false : b.matches;
    if (a.matches !== expected || a.message !== b.message) {
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
  assert.throws(() => makeCopySet([Promise.resolve()]), /must be a key/);
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
});
