// Keys and the pass-by-copy collections of @endo/patterns: CopySet, CopyBag, CopyMap.
//
// A key is passable data that can be compared for equality without waiting: primitives,
// remotables, and arrays, records, CopySets, CopyBags and CopyMaps of keys (no promises, no
// errors, no other tagged values). The collections are tagged values whose payloads keep
// their keys in reverse rank order without duplicates (upstream's representation, so that
// they serialize to the same bytes wherever they are made):
//   copySet  payload [key, …]
//   copyBag  payload [[key, count (a positive bigint)], …]
//   copyMap  payload { keys: [key, …], values: [value, …] }
// Comparison of keys (`compareKeys`) is upstream's partial order: scalars by rank
// (remotables only equal to themselves), arrays lexicographically, records element-wise,
// sets and bags by inclusion; NaN where keys are incomparable.

import { passStyleOf, getTag, makeTagged } from './marshal.js';
import { compareRank, compareAntiRank, recordNames } from './rank.js';
import { Fail, q } from './errors.js';

const { isArray } = Array;

const isTaggedAs = (v, tag) => passStyleOf(v) === 'tagged' && getTag(v) === tag;

/** Whether `v` is a key (see the file comment). Never throws. */
export function isKey(v) {
  try {
    return confirmKey(v, false);
  } catch {
    return false;
  }
}

/**
 * Whether `v` is a key; with `reject` (`Fail`), throws upstream's reason where it is not:
 * the innermost part that is not a key.
 */
export function confirmKey(v, reject) {
  const style = passStyleOf(v);
  switch (style) {
    case 'promise':
    case 'error':
      return reject && reject`A ${q(style)} cannot be a key`;
    case 'copyArray':
      return v.every((x) => confirmKey(x, reject));
    case 'copyRecord':
      return Object.values(v).every((x) => confirmKey(x, reject));
    case 'tagged': {
      const tag = getTag(v);
      if (tag === 'copySet' && isCopySet(v)) return true;
      if (tag === 'copyBag' && isCopyBag(v)) return true;
      if (tag === 'copyMap' && isCopyMap(v)) return v.payload.values.every((x) => confirmKey(x, reject));
      return reject && reject`A passable tagged ${q(tag)} is not a key: ${v}`;
    }
    default:
      return true;
  }
}

const checkKey = (v) => confirmKey(v, false);

export const assertKey = (v) => {
  isKey(v) || Fail`${v} must be a key (passable data without promises, errors or patterns)`;
};

const SCALARS = new Set(['undefined', 'null', 'boolean', 'number', 'bigint', 'string', 'symbol', 'remotable']);
export const isScalarKey = (v) => {
  try {
    return SCALARS.has(passStyleOf(v));
  } catch {
    return false;
  }
};
export const confirmScalarKey = (v, reject) => {
  const style = passStyleOf(v);
  return SCALARS.has(style) || (reject && reject`A ${q(style)} cannot be a scalar key: ${v}`);
};
export const assertScalarKey = (v) => {
  isScalarKey(v) || Fail`${v} must be a scalar key (a primitive or a remotable)`;
};

// ---- the collections' invariants ----

// The first key of `list` (already in reverse rank order) that another equals, if any.
// Equal keys tie in rank, so only runs of tied elements need comparing (remotables all
// tie).
function firstDuplicate(list, keyOf = (x) => x) {
  let start = 0;
  for (let i = 1; i <= list.length; i += 1) {
    if (i === list.length || compareRank(keyOf(list[i - 1]), keyOf(list[i])) !== 0) {
      const dup = duplicateInRun(list, start, i, keyOf);
      if (dup !== undefined) return dup;
      start = i;
    }
  }
  return undefined;
}

// A run of rank-tied keys: remotables (equal only to themselves) by identity, in linear
// time, so that a collection of many remotables, which all tie, is not checked pairwise;
// other tied keys (records or arrays that differ only in remotables) pairwise.
function duplicateInRun(list, start, end, keyOf) {
  if (end - start < 2) return undefined;
  if (passStyleOf(keyOf(list[start])) === 'remotable') {
    const seen = new Set();
    for (let a = start; a < end; a += 1) {
      const k = keyOf(list[a]);
      if (seen.has(k)) return k;
      seen.add(k);
    }
    return undefined;
  }
  for (let a = start; a < end; a += 1) {
    for (let b = a + 1; b < end; b += 1) if (keyEQ(keyOf(list[a]), keyOf(list[b]))) return keyOf(list[a]);
  }
  return undefined;
}
const hasDuplicates = (list, keyOf) => firstDuplicate(list, keyOf) !== undefined;

function inReverseRankOrder(list, keyOf = (x) => x) {
  for (let i = 1; i < list.length; i += 1) if (compareRank(keyOf(list[i - 1]), keyOf(list[i])) < 0) return false;
  return true;
}

function wellFormedKeys(list, keyOf) {
  return (
    passStyleOf(list) === 'copyArray' &&
    list.every((x) => checkKey(keyOf(x))) &&
    inReverseRankOrder(list, keyOf) &&
    !hasDuplicates(list, keyOf)
  );
}

const guarded = (f) => (v) => {
  try {
    return f(v);
  } catch {
    return false;
  }
};

export const isCopySet = guarded((s) => isTaggedAs(s, 'copySet') && wellFormedKeys(s.payload, (x) => x));

const entryKey = (e) => e[0];
export const isCopyBag = guarded(
  (b) =>
    isTaggedAs(b, 'copyBag') &&
    passStyleOf(b.payload) === 'copyArray' &&
    b.payload.every((e) => isArray(e) && e.length === 2 && typeof e[1] === 'bigint' && e[1] > 0n) &&
    wellFormedKeys(b.payload, entryKey),
);

export const isCopyMap = guarded((m) => {
  if (!isTaggedAs(m, 'copyMap')) return false;
  const { payload } = m;
  if (passStyleOf(payload) !== 'copyRecord') return false;
  const names = Object.keys(payload).sort();
  if (names.length !== 2 || names[0] !== 'keys' || names[1] !== 'values') return false;
  const { keys, values } = payload;
  return (
    passStyleOf(values) === 'copyArray' &&
    keys.length === values.length &&
    wellFormedKeys(keys, (x) => x)
  );
});

const asserting = (check, what) => (v) => {
  check(v) || Fail`${v} must be a ${what}`;
};
export const assertCopySet = asserting(isCopySet, 'copySet');
export const assertCopyBag = asserting(isCopyBag, 'copyBag');
export const assertCopyMap = asserting(isCopyMap, 'copyMap');

// ---- makers ----

function sortedUnique(list, keyOf) {
  for (const x of list) assertKey(keyOf(x));
  const sorted = [...list].sort((a, b) => compareAntiRank(keyOf(a), keyOf(b)));
  const dup = firstDuplicate(sorted, keyOf);
  dup === undefined || Fail`value has duplicate keys: ${dup}`;
  return sorted;
}

/** A CopySet of the keys `elements` yields (no duplicates). */
export const makeCopySet = (elements) =>
  makeTagged('copySet', Object.freeze(sortedUnique([...elements], (x) => x)));

/** A CopyBag of `[key, count]` entries (counts positive bigints, keys unique). */
export const makeCopyBag = (entries) => {
  const list = [...entries].map((e) => {
    (isArray(e) && e.length === 2) || Fail`a copyBag entry must be [key, count], not ${e}`;
    (typeof e[1] === 'bigint' && e[1] > 0n) || Fail`a copyBag count must be a positive bigint, not ${q(e[1])}`;
    return Object.freeze([e[0], e[1]]);
  });
  return makeTagged('copyBag', Object.freeze(sortedUnique(list, entryKey)));
};

/** A CopyBag counting each key `elements` yields. */
export const makeCopyBagFromElements = (elements) => {
  const entries = [];
  for (const x of elements) {
    assertKey(x);
    const e = entries.find((y) => keyEQ(y[0], x));
    if (e) e[1] += 1n;
    else entries.push([x, 1n]);
  }
  return makeCopyBag(entries);
};

/** A CopyMap of `[key, value]` entries (keys unique). */
export const makeCopyMap = (entries) => {
  const list = [...entries].map((e) => {
    (isArray(e) && e.length === 2) || Fail`a copyMap entry must be [key, value], not ${e}`;
    return e;
  });
  const sorted = sortedUnique(list, entryKey);
  return makeTagged(
    'copyMap',
    Object.freeze({
      keys: Object.freeze(sorted.map((e) => e[0])),
      values: Object.freeze(sorted.map((e) => e[1])),
    }),
  );
};

// ---- readers ----

export const getCopySetKeys = (s) => {
  assertCopySet(s);
  return s.payload;
};
export const getCopyBagEntries = (b) => {
  assertCopyBag(b);
  return b.payload;
};
export const getCopyMapKeys = (m) => {
  assertCopyMap(m);
  return m.payload.keys;
};
export const getCopyMapValues = (m) => {
  assertCopyMap(m);
  return m.payload.values;
};
export const getCopyMapEntryArray = (m) => {
  const { keys, values } = (assertCopyMap(m), m.payload);
  return Object.freeze(keys.map((k, i) => Object.freeze([k, values[i]])));
};
export function* getCopyMapEntries(m) {
  yield* getCopyMapEntryArray(m);
}
export const everyCopySetKey = (s, fn) => getCopySetKeys(s).every((k, i) => fn(k, i));
export const everyCopyBagEntry = (b, fn) => getCopyBagEntries(b).every((e, i) => fn(e, i));
export const everyCopyMapKey = (m, fn) => getCopyMapKeys(m).every((k, i) => fn(k, i));
export const everyCopyMapValue = (m, fn) => getCopyMapValues(m).every((v, i) => fn(v, i));
export const copyMapKeySet = (m) => makeTagged('copySet', getCopyMapKeys(m));

// ---- comparison ----

// Bags (a set is a bag of counts 1) by inclusion: -1 if `left` is included in `right`,
// 1 the other way, 0 equal, NaN neither.
function compareBags(leftEntries, rightEntries) {
  let leftMore = false;
  let rightMore = false;
  const countIn = (entries, k) => entries.find((e) => keyEQ(e[0], k))?.[1] ?? 0n;
  for (const [k, n] of leftEntries) {
    const m = countIn(rightEntries, k);
    if (n > m) leftMore = true;
    if (n < m) rightMore = true;
  }
  for (const [k, m] of rightEntries) if (countIn(leftEntries, k) === 0n && m > 0n) rightMore = true;
  if (leftMore && rightMore) return NaN;
  if (leftMore) return 1;
  if (rightMore) return -1;
  return 0;
}

/** Upstream's partial order of keys: -1, 0, 1, or NaN when incomparable. */
export function compareKeys(left, right) {
  assertKey(left);
  assertKey(right);
  return compareKeysUnchecked(left, right);
}

function compareKeysUnchecked(left, right) {
  const style = passStyleOf(left);
  if (style !== passStyleOf(right)) return NaN;
  switch (style) {
    case 'remotable':
      return left === right ? 0 : NaN;
    case 'number': {
      const c = compareRank(left, right);
      if (c !== 0 && (Number.isNaN(left) || Number.isNaN(right))) return NaN;
      return c;
    }
    case 'copyArray': {
      const n = Math.min(left.length, right.length);
      for (let i = 0; i < n; i += 1) {
        const c = compareKeysUnchecked(left[i], right[i]);
        if (c !== 0) return c;
      }
      return compareRank(left.length, right.length);
    }
    case 'copyRecord': {
      const ln = recordNames(left);
      const rn = recordNames(right);
      if (ln.length !== rn.length || ln.some((k, i) => k !== rn[i])) return NaN;
      let result = 0;
      for (const k of ln) {
        const c = compareKeysUnchecked(left[k], right[k]);
        if (Number.isNaN(c)) return NaN;
        if (c !== 0) {
          if (result === 0) result = c;
          else if (result !== c) return NaN;
        }
      }
      return result;
    }
    case 'tagged': {
      const tag = getTag(left);
      if (tag !== getTag(right)) return NaN;
      if (tag === 'copySet') {
        const ones = (s) => s.payload.map((k) => [k, 1n]);
        return compareBags(ones(left), ones(right));
      }
      if (tag === 'copyBag') return compareBags(left.payload, right.payload);
      // Maps: only equality is defined.
      const a = getCopyMapEntryArray(left);
      const b = getCopyMapEntryArray(right);
      return a.length === b.length && a.every(([k, v]) => b.some(([k2, v2]) => keyEQ(k, k2) && keyEQ(v, v2)))
        ? 0
        : NaN;
    }
    default:
      return compareRank(left, right);
  }
}

export const keyEQ = (a, b) => compareKeys(a, b) === 0;
export const keyLT = (a, b) => compareKeys(a, b) < 0;
export const keyLTE = (a, b) => compareKeys(a, b) <= 0;
export const keyGT = (a, b) => compareKeys(a, b) > 0;
export const keyGTE = (a, b) => compareKeys(a, b) >= 0;
