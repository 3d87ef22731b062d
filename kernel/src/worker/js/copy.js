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
import { Fail, q, X, makeError } from './errors.js';

const { isArray } = Array;
const { freeze } = Object;

const isTaggedAs = (v, tag) => passStyleOf(v) === 'tagged' && getTag(v) === tag;

// Objects already confirmed as keys. Remembering a confirmation makes checking a key that
// is reached again (compareKeys re-asserting its operands at every level, the elements of
// a set of sets) cost one lookup, so that what a vat is sent cannot make key checks
// super-linear. A confirmation is remembered only for data frozen all the way down (as
// hardened and received data is): what can still change could stop being a key.
const keyMemo = new WeakSet();

const frozenMemo = new WeakSet();

// Whether every own property is a data property: a getter on a frozen object can still
// answer differently each time (upstream refuses such objects as not passable).
const dataOnly = (v) => {
  const descs = Object.getOwnPropertyDescriptors(v);
  for (const k of Reflect.ownKeys(descs)) if (!('value' in descs[k])) return false;
  return true;
};

/**
 * Whether `v` and the data in it are frozen, with data properties only (remotables,
 * promises and errors count as leaves: what matters of them is their identity).
 * Remembered per object, so the work is linear in what was not seen before.
 */
export function isDeeplyFrozen(v) {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return true;
  if (frozenMemo.has(v)) return true;
  let ok;
  switch (passStyleOf(v)) {
    case 'copyArray':
    case 'copyRecord':
      ok = Object.isFrozen(v) && dataOnly(v) && Object.values(v).every(isDeeplyFrozen);
      break;
    case 'tagged':
      ok = Object.isFrozen(v) && isDeeplyFrozen(v.payload);
      break;
    default:
      return true;
  }
  if (ok) frozenMemo.add(v);
  return ok;
}

/** Whether `v` is a key (see the file comment). Throws, as upstream's, for what is not passable. */
export const isKey = (v) => confirmKey(v, false);

/**
 * Whether `v` is a key; with `reject` (`Fail`), throws upstream's reason where it is not:
 * the innermost part that is not a key.
 */
export function confirmKey(v, reject) {
  if (v !== null && (typeof v === 'object' || typeof v === 'function') && keyMemo.has(v)) return true;
  const style = passStyleOf(v);
  let ok;
  switch (style) {
    case 'promise':
    case 'error':
      return reject && reject`A ${q(style)} cannot be a key`;
    case 'copyArray':
      ok = v.every((x) => confirmKey(x, reject));
      break;
    case 'copyRecord':
      ok = Object.values(v).every((x) => confirmKey(x, reject));
      break;
    case 'tagged': {
      const tag = getTag(v);
      if (tag === 'copySet') ok = confirmCopySet(v, reject);
      else if (tag === 'copyBag') ok = confirmCopyBag(v, reject);
      else if (tag === 'copyMap') ok = confirmCopyMap(v, reject) && v.payload.values.every((x) => confirmKey(x, reject));
      else return reject && reject`A passable tagged ${q(tag)} is not a key: ${v}`;
      break;
    }
    default:
      return true;
  }
  if (ok && isDeeplyFrozen(v)) keyMemo.add(v);
  return ok;
}


/** Throws, with upstream's reason (the innermost part that is not a key), unless `v` is a key. */
export const assertKey = (v) => {
  confirmKey(v, Fail);
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

const trivial = (x, y) => (x < y ? -1 : x > y ? 1 : 0);

/**
 * A total order of keys for one computation, refining rank order: remotables, which all
 * tie in rank, are ordered by when this comparator first saw them (so the order means
 * nothing outside the computation, as upstream's `makeFullOrderComparatorKit`). Two keys
 * compare 0 exactly when they are the same data; like upstream's, it compares a CopySet's
 * payload as it is, so two CopySets that hold the same remotables in different orders
 * differ here.
 */
export function makeFullCompare() {
  const ids = new Map();
  const idOf = (r) => {
    let i = ids.get(r);
    if (i === undefined) {
      i = ids.size;
      ids.set(r, i);
    }
    return i;
  };
  const full = (a, b) => {
    if (a === b) return 0;
    const style = passStyleOf(a);
    if (style !== passStyleOf(b)) return compareRank(a, b);
    switch (style) {
      case 'remotable':
        return trivial(idOf(a), idOf(b));
      case 'copyArray': {
        const n = Math.min(a.length, b.length);
        for (let i = 0; i < n; i += 1) {
          const c = full(a[i], b[i]);
          if (c !== 0) return c;
        }
        return trivial(a.length, b.length);
      }
      case 'copyRecord': {
        const an = recordNames(a);
        const bn = recordNames(b);
        const byNames = compareRank(an, bn);
        if (byNames !== 0) return byNames;
        for (const k of an) {
          const c = full(a[k], b[k]);
          if (c !== 0) return c;
        }
        return 0;
      }
      case 'tagged': {
        const byTag = trivial(getTag(a), getTag(b));
        return byTag !== 0 ? byTag : full(a.payload, b.payload);
      }
      default:
        return compareRank(a, b);
    }
  };
  return full;
}

// The first key of `list` that another equals, if any: sorted by a full order, equal keys
// are adjacent (n log n comparisons, not the pairwise comparison of rank-tied runs).
export function firstDuplicate(list, keyOf = (x) => x) {
  const full = makeFullCompare();
  const sorted = [...list].sort((x, y) => full(keyOf(x), keyOf(y)));
  for (let i = 1; i < sorted.length; i += 1) {
    if (full(keyOf(sorted[i - 1]), keyOf(sorted[i])) === 0) return keyOf(sorted[i]);
  }
  return undefined;
}

function inReverseRankOrder(list) {
  for (let i = 1; i < list.length; i += 1) if (compareRank(list[i - 1], list[i]) < 0) return false;
  return true;
}

// The keys of a CopySet or CopyMap: upstream's checks, in its order, with its reasons.
function confirmElements(list, reject) {
  if (passStyleOf(list) !== 'copyArray') {
    return reject && reject`The keys of a copySet or copyMap must be a copyArray: ${list}`;
  }
  if (!inReverseRankOrder(list)) {
    return reject && reject`The keys of a copySet or copyMap must be sorted in reverse rank order: ${list}`;
  }
  const dup = firstDuplicate(list);
  return dup === undefined || (reject && reject`value has duplicate keys: ${dup}`);
}

// The entries of a CopyBag (sorted as whole entries, key then count, as upstream's).
function confirmBagEntries(entries, reject) {
  if (passStyleOf(entries) !== 'copyArray') {
    return reject && reject`The entries of a copyBag must be a copyArray: ${entries}`;
  }
  if (!inReverseRankOrder(entries)) {
    return reject && reject`The entries of a copyBag must be sorted in reverse rank order: ${entries}`;
  }
  for (const e of entries) {
    if (passStyleOf(e) !== 'copyArray' || e.length !== 2 || typeof e[1] !== 'bigint') {
      return reject && reject`Each entry of a copyBag must be pair of a key and a bigint representing a count: ${e}`;
    }
    if (e[1] < 1n) return reject && reject`Each entry of a copyBag must have a positive count: ${e}`;
  }
  const dup = firstDuplicate(entries, entryKey);
  return dup === undefined || (reject && reject`value has duplicate keys: ${dup}`);
}

const entryKey = (e) => e[0];

// Collections already found well formed (a WeakSet per tag, for keyMemo's reason and
// under its condition).
const remembering = (check) => {
  const memo = new WeakSet();
  return (v, reject) => {
    if (v !== null && typeof v === 'object' && memo.has(v)) return true;
    const ok = check(v, reject);
    if (ok && isDeeplyFrozen(v)) memo.add(v);
    return ok;
  };
};

/** Whether `s` is a well-formed CopySet; with `reject`, throws upstream's reason if not. */
export const confirmCopySet = remembering(
  (s, reject) =>
    (isTaggedAs(s, 'copySet') || (reject && reject`Not a copySet: ${s}`)) &&
    confirmElements(s.payload, reject) &&
    confirmKey(s.payload, reject),
);

/** Whether `b` is a well-formed CopyBag; with `reject`, throws upstream's reason if not. */
export const confirmCopyBag = remembering(
  (b, reject) =>
    (isTaggedAs(b, 'copyBag') || (reject && reject`Not a copyBag: ${b}`)) &&
    confirmBagEntries(b.payload, reject) &&
    confirmKey(b.payload, reject),
);

/** Whether `m` is a well-formed CopyMap; with `reject`, throws upstream's reason if not. */
export const confirmCopyMap = remembering((m, reject) => {
  if (!isTaggedAs(m, 'copyMap')) return reject && reject`Not a copyMap: ${m}`;
  const { payload } = m;
  if (passStyleOf(payload) !== 'copyRecord') return reject && reject`A copyMap's payload must be a record: ${m}`;
  const others = Object.keys(payload).filter((k) => k !== 'keys' && k !== 'values');
  if (others.length > 0) return reject && reject`A copyMap's payload must only have .keys and .values: ${m}`;
  const { keys, values } = payload;
  return (
    confirmElements(keys, reject) &&
    confirmKey(keys, reject) &&
    (passStyleOf(values) === 'copyArray' || (reject && reject`A copyMap's .values must be a copyArray: ${m}`)) &&
    (keys.length === values.length || (reject && reject`A copyMap must have the same number of keys and values: ${m}`))
  );
});

const never = (confirm) => (v) => {
  try {
    return confirm(v, false);
  } catch {
    return false;
  }
};
export const isCopySet = never(confirmCopySet);
export const isCopyBag = never(confirmCopyBag);
export const isCopyMap = never(confirmCopyMap);

export const assertCopySet = (v) => {
  confirmCopySet(v, Fail);
};
export const assertCopyBag = (v) => {
  confirmCopyBag(v, Fail);
};
export const assertCopyMap = (v) => {
  confirmCopyMap(v, Fail);
};

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
  const list = [...elements];
  for (const x of list) assertKey(x);
  // Equal keys are adjacent in a full order: count the runs.
  // (Descending, upstream's anti-comparator: where remotables tie, the order they are first
  // numbered in, and so the result's order, is upstream's.)
  const full = makeFullCompare();
  list.sort((a, b) => full(b, a));
  const entries = [];
  for (const x of list) {
    const last = entries[entries.length - 1];
    if (last !== undefined && full(last[0], x) === 0) last[1] += 1n;
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
// 1 the other way, 0 equal, NaN neither. Both are put in one full order and merged, so
// this is linear after the sort (not a search of one bag per element of the other).
function compareBags(leftEntries, rightEntries) {
  const full = makeFullCompare();
  const byKey = (x, y) => full(x[0], y[0]);
  const left = [...leftEntries].sort(byKey);
  const right = [...rightEntries].sort(byKey);
  let leftMore = false;
  let rightMore = false;
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length && !(leftMore && rightMore)) {
    const c = byKey(left[i], right[j]);
    if (c < 0) {
      leftMore = true;
      i += 1;
    } else if (c > 0) {
      rightMore = true;
      j += 1;
    } else {
      if (left[i][1] > right[j][1]) leftMore = true;
      if (left[i][1] < right[j][1]) rightMore = true;
      i += 1;
      j += 1;
    }
  }
  if (i < left.length) leftMore = true;
  if (j < right.length) rightMore = true;
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
      // (Upstream defines no order, not even equality, of CopyMaps.)
      throw makeError(X`Map comparison not yet implemented: ${left} vs ${right}`);
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
