// Rank order: upstream's total preorder over all passables (@endo/marshal's compareRank),
// which CopySets, CopyBags and CopyMaps keep their elements in (reverse order) and which
// patterns like `M.gte` compare by.
//
// Styles rank by their place in upstream's encodePassable alphabet:
//   error < copyRecord < tagged < promise < copyArray < boolean < number < bigint
//   < remotable < string < null < symbol < undefined
// Within a style: numbers numerically (-0 ties 0, NaN after all others), bigints
// numerically, strings and symbol names by UTF-16 code units, arrays lexicographically,
// records by their names in reverse sorted order and then by the values in that order,
// tagged values by tag then payload. All remotables tie, as do all promises and errors:
// rank order is only a preorder, and what distinguishes tied remotables is the key order
// (copy.js), not rank.

import { passStyleOf, getTag } from './marshal.js';

const STYLE_RANK = Object.freeze({
  error: 0,
  copyRecord: 1,
  tagged: 2,
  promise: 3,
  copyArray: 4,
  boolean: 5,
  number: 6,
  bigint: 7,
  remotable: 8,
  string: 9,
  null: 10,
  symbol: 11,
  undefined: 12,
});

const trivial = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** The names of a record, sorted in reverse (the order rank compares records by). */
export const recordNames = (record) => Object.keys(record).sort().reverse();

const symbolName = (s) => Symbol.keyFor(s) ?? `@@${String(s.description)}`;

function compareLists(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const c = compareRank(a[i], b[i]);
    if (c !== 0) return c;
  }
  return trivial(a.length, b.length);
}

/** -1, 0 or 1 as `left` ranks before, with, or after `right`. */
export function compareRank(left, right) {
  if (left === right) return 0;
  const ls = passStyleOf(left);
  const rs = passStyleOf(right);
  if (ls !== rs) return trivial(STYLE_RANK[ls], STYLE_RANK[rs]);
  switch (ls) {
    case 'remotable':
    case 'promise':
    case 'error':
    case 'undefined':
    case 'null':
      return 0;
    case 'boolean':
    case 'bigint':
    case 'string':
      return trivial(left, right);
    case 'symbol':
      return trivial(symbolName(left), symbolName(right));
    case 'number':
      if (Number.isNaN(left)) return Number.isNaN(right) ? 0 : 1;
      if (Number.isNaN(right)) return -1;
      return trivial(left, right);
    case 'copyArray':
      return compareLists(left, right);
    case 'copyRecord': {
      const ln = recordNames(left);
      const rn = recordNames(right);
      const byNames = compareLists(ln, rn);
      if (byNames !== 0) return byNames;
      return compareLists(
        ln.map((k) => left[k]),
        rn.map((k) => right[k]),
      );
    }
    case 'tagged': {
      const byTag = trivial(getTag(left), getTag(right));
      return byTag !== 0 ? byTag : compareRank(left.payload, right.payload);
    }
    default:
      throw TypeError(`cannot rank a ${ls}`);
  }
}

export const compareAntiRank = (a, b) => compareRank(b, a);

/** Whether `list` is in (non-strict) rank order by `compare`. */
export const isRankSorted = (list, compare = compareRank) => {
  for (let i = 1; i < list.length; i += 1) if (compare(list[i - 1], list[i]) > 0) return false;
  return true;
};

/** A sorted copy of `list` (a stable sort, so tied elements keep their order). */
export const sortByRank = (list, compare = compareRank) => Object.freeze([...list].sort(compare));
