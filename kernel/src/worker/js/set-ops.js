// The set and bag algebra of @endo/patterns (which @agoric/store re-exports): on CopySets
// (`set…`), on arrays of keys (`elements…`), on CopyBags (`bag…`). Results keep upstream's
// representation (reverse rank order, via copy.js's makers), so they serialize as
// upstream's do. Membership is key equality (in a full order:
// copy.js's makeFullCompare); the work is n log n in the sizes.

import { makeCopySet, makeCopyBag, getCopySetKeys, getCopyBagEntries, makeFullCompare, firstDuplicate } from './copy.js';
import { compareRank, compareAntiRank } from './rank.js';
import { Fail } from './errors.js';

const { freeze } = Object;

/** A list of keys in reverse rank order, refusing duplicates (upstream's coerceToElements). */
export const coerceToElements = (list) => getCopySetKeys(makeCopySet(list));
/** `[key, count]` entries in reverse rank order (upstream's coerceToBagEntries). */
export const coerceToBagEntries = (list) => getCopyBagEntries(makeCopyBag(list));

// Both bags' counts per key: [{ key, x, y }]. The entries of both are sorted together in
// one full order (where equal keys are adjacent) and grouped, so the work is n log n.
function pairUp(xs, ys) {
  const tagged = [];
  for (const [k, n] of xs) tagged.push([k, n, 0n]);
  for (const [k, n] of ys) tagged.push([k, 0n, n]);
  const full = makeFullCompare();
  tagged.sort((a, b) => full(b[0], a[0]));
  const rows = [];
  for (const [key, x, y] of tagged) {
    const last = rows[rows.length - 1];
    if (last !== undefined && full(last.key, key) === 0) {
      last.x += x;
      last.y += y;
    } else {
      rows.push({ key, x, y });
    }
  }
  return rows;
}

// Elements must be as a CopySet keeps them, in reverse rank order without duplicates
// (upstream's merge asserts the same; it does not check that they are keys).
function assertElements(elements) {
  for (let i = 1; i < elements.length; i += 1) {
    if (compareRank(elements[i - 1], elements[i]) < 0) {
      Fail`Must be rank sorted: ${elements} vs ${sortedKeys(elements)}`;
    }
  }
  const dup = firstDuplicate(elements);
  dup === undefined || Fail`value has duplicate keys: ${dup}`;
}
const asEntries = (elements) => (assertElements(elements), elements.map((k) => [k, 1n]));
const sortedKeys = (keys) => freeze([...keys].sort(compareAntiRank));

function compareRows(rows) {
  let more = false;
  let less = false;
  for (const { x, y } of rows) {
    if (x > y) more = true;
    if (x < y) less = true;
  }
  if (more && less) return NaN;
  if (more) return 1;
  return less ? -1 : 0;
}

// ---- elements (arrays of keys) ----

export const elementsIsSuperset = (xs, ys) => pairUp(asEntries(xs), asEntries(ys)).every((r) => r.x >= r.y);
export const elementsIsDisjoint = (xs, ys) => pairUp(asEntries(xs), asEntries(ys)).every((r) => r.x === 0n || r.y === 0n);
export const elementsCompare = (xs, ys) => compareRows(pairUp(asEntries(xs), asEntries(ys)));
export const elementsUnion = (xs, ys) => sortedKeys(pairUp(asEntries(xs), asEntries(ys)).map((r) => r.key));
export const elementsDisjointUnion = (xs, ys) => {
  const rows = pairUp(asEntries(xs), asEntries(ys));
  for (const r of rows) (r.x === 0n || r.y === 0n) || Fail`Sets must not have common elements: ${r.key}`;
  return sortedKeys(rows.map((r) => r.key));
};
export const elementsIntersection = (xs, ys) =>
  sortedKeys(pairUp(asEntries(xs), asEntries(ys)).filter((r) => r.x > 0n && r.y > 0n).map((r) => r.key));
export const elementsDisjointSubtract = (xs, ys) => {
  const rows = pairUp(asEntries(xs), asEntries(ys));
  for (const r of rows) (r.y === 0n || r.x > 0n) || Fail`right element ${r.key} was not in left`;
  return sortedKeys(rows.filter((r) => r.y === 0n).map((r) => r.key));
};

// ---- CopySets ----

const onSets = (f) => (x, y) => f(getCopySetKeys(x), getCopySetKeys(y));
const toSet = (f) => (x, y) => makeCopySet(f(getCopySetKeys(x), getCopySetKeys(y)));
export const setIsSuperset = onSets(elementsIsSuperset);
export const setIsDisjoint = onSets(elementsIsDisjoint);
export const setCompare = onSets(elementsCompare);
export const setUnion = toSet(elementsUnion);
export const setDisjointUnion = toSet(elementsDisjointUnion);
export const setIntersection = toSet(elementsIntersection);
export const setDisjointSubtract = toSet(elementsDisjointSubtract);

// ---- CopyBags ----

const bagRows = (x, y) => pairUp(getCopyBagEntries(x), getCopyBagEntries(y));
const toBag = (rows, count) =>
  makeCopyBag(rows.map((r) => [r.key, count(r)]).filter(([, n]) => n > 0n));
export const bagIsSuperbag = (x, y) => bagRows(x, y).every((r) => r.x >= r.y);
export const bagIsDisjoint = (x, y) => bagRows(x, y).every((r) => r.x === 0n || r.y === 0n);
export const bagCompare = (x, y) => compareRows(bagRows(x, y));
export const bagUnion = (x, y) => toBag(bagRows(x, y), (r) => r.x + r.y);
export const bagIntersection = (x, y) => toBag(bagRows(x, y), (r) => (r.x < r.y ? r.x : r.y));
export const bagDisjointSubtract = (x, y) => {
  const rows = bagRows(x, y);
  for (const r of rows) r.x >= r.y || Fail`right element ${r.key} was not in left`;
  return toBag(rows, (r) => r.x - r.y);
};
