// @endo/patterns: the `M` pattern and guard makers, `matches`/`mustMatch`, `kindOf`,
// `isPattern`/`assertPattern`, over upstream's representation, so patterns and guards
// serialize, compare and match as upstream's do.
//
// A pattern is passable data. A key (copy.js) used as a pattern matches only keys equal to
// it. An array, record or CopyMap containing matchers matches specimens of the same shape
// whose elements match (`harden({ brand: BrandShape, value: M.nat() })`). A matcher is a
// tagged value `match:<name>` whose payload is its arguments (`M.string()` is
// `makeTagged('match:string', [])`). Guards are tagged `guard:<name>` and are not patterns:
// `M.interface`, `M.call`/`M.callWhen` (which make method guards with `.optional`, `.rest`,
// `.returns`), `M.await`, `M.raw`. guards.js enforces them on exo methods.
//
// Failure messages are upstream's, built with `Fail` so that specimens are redacted as SES
// redacts them (`string (a string) - Must be a number`); nested failures are prefixed by
// where they are (`arg 0: `, `[2]: `, a property name).
//
// Matchers whose payload has `limits` use upstream's defaults (e.g. strings of at most
// 100,000 code units, records of at most 80 properties): what a vat is sent cannot make a
// pattern check unboundedly slow.

import { passStyleOf, getTag, makeTagged } from './marshal.js';
import {
  isKey,
  confirmKey,
  confirmScalarKey,
  assertKey,
  keyEQ,
  compareKeys,
  isCopySet,
  isCopyBag,
  isCopyMap,
  makeCopyMap,
  getCopyMapEntryArray,
  copyMapKeySet,
  makeFullCompare,
  isDeeplyFrozen,
  confirmCopySet,
  confirmCopyBag,
  confirmCopyMap,
} from './copy.js';
import { recordNames } from './rank.js';
import { Fail, q, b, makeError, note, X } from './errors.js';

const { freeze, keys, entries, fromEntries } = Object;
const { ownKeys } = Reflect;

const DEFAULT_LIMITS = freeze({
  decimalDigitsLimit: 100,
  stringLengthLimit: 100_000,
  symbolNameLengthLimit: 100,
  numPropertiesLimit: 80,
  propertyNameLengthLimit: 100,
  arrayLengthLimit: 10_000,
  numSetElementsLimit: 10_000,
  numUniqueBagElementsLimit: 10_000,
  numMapEntriesLimit: 5000,
});
const limitsOf = (limits) => freeze({ ...DEFAULT_LIMITS, ...(limits ?? {}) });

// ---- kinds ----

const COLLECTION_TAGS = new Set(['copySet', 'copyBag', 'copyMap']);
const isMatcherTag = (tag) => typeof tag === 'string' && tag.startsWith('match:');
const isGuardTag = (tag) => typeof tag === 'string' && tag.startsWith('guard:');

// Tagged values already classified (remembered, as copy.js's memos, only for data frozen
// all the way down, where a verdict stays true).
const kindMemo = new WeakMap();

/**
 * The kind of a passable: its pass style, or for a tagged value the tag when it is one
 * this module recognizes and its payload is well formed (a collection keeping its
 * invariants, a matcher whose arguments are what its maker gives, a guard of upstream's
 * shape); undefined for other tagged values. Like upstream's, throws for what is not
 * passable.
 */
export function kindOf(specimen) {
  return confirmKindOf(specimen, false);
}

function confirmKindOf(specimen, reject) {
  const style = passStyleOf(specimen);
  if (style !== 'tagged') return style;
  const known = kindMemo.get(specimen);
  if (known !== undefined) return known;
  const tag = getTag(specimen);
  if (confirmTagged(specimen, tag, reject)) {
    if (isDeeplyFrozen(specimen)) kindMemo.set(specimen, tag);
    return tag;
  }
  return reject ? reject`cannot check unrecognized tag ${q(tag)}` : undefined;
}

function confirmTagged(tagged, tag, reject) {
  const wellFormed = ownValue(WELL_FORMED, tag);
  if (wellFormed !== undefined) return wellFormed(tagged.payload, reject);
  const shape = ownValue(guardPayloadShapes(), tag);
  if (shape !== undefined) return nested(tagged.payload, shape, tag, reject);
  if (tag === 'copySet') return confirmCopySet(tagged, reject);
  if (tag === 'copyBag') return confirmCopyBag(tagged, reject);
  if (tag === 'copyMap') return confirmCopyMap(tagged, reject);
  return reject && reject`cannot check unrecognized tag ${q(tag)}: ${tagged}`;
}

// A table's own entry: never what Object.prototype has under that name (a tag or method
// name is the sender's choice, and "constructor" must not find Object).
const ownValue = (table, name) => (Object.hasOwn(table, name) ? table[name] : undefined);

// ---- checking ----
//
// `check(specimen, patt, reject)` returns whether `specimen` matches `patt`. With `reject`
// false it never throws for a mismatch; with `reject` = Fail it throws the reason instead
// of returning false (mustMatch runs it so only after a quick check failed).

// Runs `f`; with `reject`, a failure it throws is prefixed by `label` (where it was).
function labeled(label, reject, f) {
  if (!reject || label === undefined) return f();
  try {
    return f();
  } catch (e) {
    const prefix = typeof label === 'number' ? `[${label}]` : label;
    const outer = makeError(`${prefix}: ${e.message}`);
    note(outer, X`Caused by ${e}`);
    throw outer;
  }
}

const nested = (specimen, patt, label, reject) => labeled(label, reject, () => check(specimen, patt, reject));

// Where upstream's messages show a pattern, it is a string (its Justin rendering) left
// unquoted, which SES redacts: "(a string)". This gives the same.
const qp = (_patt) => 'pattern';

// Whether a pattern matches only undefined (the other half of an `M.opt`).
const isUndefinedPatt = (p) => p === undefined || (kindOf(p) === 'match:kind' && p.payload === 'undefined');

const confirmAsKeyPatt = (specimen, key, reject) =>
  (isKey(specimen) && keyEQ(specimen, key)) || (reject && reject`${specimen} - Must be: ${key}`);

function check(specimen, patt, reject) {
  // (What is not a pattern throws whatever `reject` is, as upstream's.)
  const pattKind = confirmKindOf(patt, Fail);
  const specimenKind = kindOf(specimen);
  switch (pattKind) {
    case 'promise':
      return reject && reject`promises cannot be patterns: ${patt}`;
    case 'error':
      return reject && reject`errors cannot be patterns: ${patt}`;
    case 'copyArray': {
      // A key (no matchers inside) matches only equal keys.
      if (isKey(patt)) return confirmAsKeyPatt(specimen, patt, reject);
      if (specimenKind !== 'copyArray') {
        return reject && reject`${specimen} - Must be a copyArray to match a copyArray pattern: ${qp(patt)}`;
      }
      if (specimen.length !== patt.length) {
        return reject && reject`Array ${specimen} - Must be as long as copyArray pattern: ${qp(patt)}`;
      }
      return patt.every((p, i) => nested(specimen[i], p, i, reject));
    }
    case 'copyRecord': {
      if (isKey(patt)) return confirmAsKeyPatt(specimen, patt, reject);
      if (specimenKind !== 'copyRecord') {
        return reject && reject`${specimen} - Must be a copyRecord to match a copyRecord pattern: ${qp(patt)}`;
      }
      const names = recordNames(patt);
      const missing = names.filter((k) => !Object.hasOwn(specimen, k));
      if (missing.length > 0) return reject && reject`${specimen} - Must have missing properties ${q(missing)}`;
      const unexpected = recordNames(specimen).filter((k) => !Object.hasOwn(patt, k));
      if (unexpected.length > 0) {
        return reject && reject`${specimen} - Must not have unexpected properties: ${q(unexpected)}`;
      }
      return names.every((k) => nested(specimen[k], patt[k], k, reject));
    }
    case 'copyMap': {
      if (isKey(patt)) return confirmAsKeyPatt(specimen, patt, reject);
      // A CopyMap with patterns for values: the same keys (compared as CopySets), then
      // each value against its pattern.
      if (specimenKind !== 'copyMap') {
        return reject && reject`${specimen} - Must be a copyMap to match a copyMap pattern: ${qp(patt)}`;
      }
      if (!check(copyMapKeySet(specimen), copyMapKeySet(patt), reject)) return false;
      // Pair the entries by key in one full order (equal keys adjacent), not by a search
      // per key.
      const full = makeFullCompare();
      // (Descending, as the payloads are, so that a failure names the entry upstream's does.)
      const byKey = (x, y) => full(y[0], x[0]);
      const pattEntries = [...getCopyMapEntryArray(patt)].sort(byKey);
      const specimenEntries = [...getCopyMapEntryArray(specimen)].sort(byKey);
      return check(
        freeze(specimenEntries.map((e) => e[1])),
        freeze(pattEntries.map((e) => e[1])),
        reject,
      );
    }
    default: {
      const matcher = ownValue(MATCHERS, pattKind);
      if (matcher !== undefined) return matcher(specimen, patt.payload, reject);
      // (A guard is recognized as a kind but is not a pattern.)
      if (isGuardTag(pattKind)) throw makeError(X`internal: should have recognized ${q(pattKind)} `);
      // The rest (primitives, remotables, CopySets, CopyBags) are keys.
      return confirmAsKeyPatt(specimen, patt, reject);
    }
  }
}

const confirmKind = (specimen, kind, reject) => {
  // null and undefined are matched as the keys they are.
  if (kind === 'undefined' || kind === 'null') return confirmAsKeyPatt(specimen, kind === 'null' ? null : undefined, reject);
  const real = confirmKindOf(specimen, reject);
  if (real === kind) return true;
  return reject && reject`${b(real ?? 'unknown')} ${specimen} - Must be a ${b(kind)}`;
};

function checkString(specimen, limits, reject) {
  const { stringLengthLimit } = limitsOf(limits);
  return (
    confirmKind(specimen, 'string', reject) &&
    (specimen.length <= stringLengthLimit ||
      (reject && reject`string ${specimen} must not be bigger than ${stringLengthLimit}`))
  );
}

// Upstream's digit count: from the number's logarithm (so it is approximate near powers
// of ten, and a count too large for a float has Infinity digits), kept so that the same
// bigints pass the same limits.
const confirmDecimalDigitsLimit = (specimen, decimalDigitsLimit, reject) =>
  Math.floor(Math.log10(Math.abs(Number(specimen)))) + 1 <= decimalDigitsLimit ||
  (reject && reject`bigint ${specimen} must not have more than ${decimalDigitsLimit} digits`);

function checkBigint(specimen, limits, reject) {
  const { decimalDigitsLimit } = limitsOf(limits);
  return confirmKind(specimen, 'bigint', reject) && confirmDecimalDigitsLimit(specimen, decimalDigitsLimit, reject);
}

// A comparison matcher (`M.gte(x)` …): the specimen must be a key comparable to `x`
// (compareKeys throws for one that is not a key, even in `matches`, as upstream's).
const comparing = (holds, word) => (specimen, operand, reject) => {
  const c = compareKeys(specimen, operand);
  // (The template is built so that the operator is text, the two values substitutions.)
  return holds(c) || (reject && reject(freeze(['', ` - Must be ${word} `, '']), specimen, operand));
};

// Splits `specimen` for `M.splitArray(required, optional, rest)`.
// (A rest pattern left out is M.any(), as upstream's.)
// What an optional element or property matches: undefined (as if left out) or its pattern
// (upstream's `M.opt`, whose failure reports the pattern's).
const optionalPattern = (p) => makeTagged('match:or', freeze([makeTagged('match:kind', 'undefined'), p]));

function checkSplitArray(specimen, [required, optional = [], rest = AnyShape], reject) {
  if (!confirmKind(specimen, 'copyArray', reject)) return false;
  if (specimen.length < required.length) {
    return reject && reject`Expected at least ${q(required.length)} arguments: ${specimen}`;
  }
  let n = 0;
  const arg = () => `arg ${n++}`;
  for (let i = 0; i < required.length; i += 1) {
    if (!nested(specimen[i], required[i], arg(), reject)) return false;
  }
  const opt = specimen.slice(required.length, required.length + optional.length);
  for (let i = 0; i < opt.length; i += 1) {
    // (An optional element given as undefined matches, as if left out.)
    if (!nested(opt[i], optionalPattern(optional[i]), `${arg()}?`, reject)) return false;
  }
  const restSpecimen = freeze(specimen.slice(required.length + optional.length));
  return nested(restSpecimen, rest, '...rest', reject);
}

function checkSplitRecord(specimen, [required, optional = {}, rest = AnyShape], reject) {
  if (!confirmKind(specimen, 'copyRecord', reject)) return false;
  for (const k of recordNames(required)) {
    if (!Object.hasOwn(specimen, k)) return reject && reject`${specimen} - Must have missing properties ${q([k])}`;
    if (!nested(specimen[k], required[k], k, reject)) return false;
  }
  const restEntries = [];
  for (const k of keys(specimen)) {
    if (Object.hasOwn(required, k)) continue;
    if (Object.hasOwn(optional, k)) {
      if (!nested(specimen[k], optionalPattern(optional[k]), `${k}?`, reject)) return false;
    } else {
      restEntries.push([k, specimen[k]]);
    }
  }
  return nested(freeze(fromEntries(restEntries)), rest, '...rest', reject);
}

// How upstream names a specimen's style in a message: bare, or for a tagged value its tag
// quoted (a tag is the sender's choice).
const styleDetails = (specimen) => {
  const style = passStyleOf(specimen);
  return style === 'tagged' ? q(getTag(specimen)) : b(style);
};

const AnyShape = makeTagged('match:any', undefined);

// A table keyed by tag, with no prototype: a lookup finds only what it defines.
const table = (defs) => freeze(Object.assign(Object.create(null), defs));

// One checker per matcher tag: (specimen, payload, reject) -> boolean.
const MATCHERS = table({
  'match:any': () => true,
  'match:and': (specimen, patts, reject) => patts.every((p) => check(specimen, p, reject)),
  'match:or': (specimen, patts, reject) => {
    if (patts.length === 0) return reject && reject`${specimen} - no pattern disjuncts to match: ${qp(patts)}`;
    // A two-way `M.opt`-style disjunction with undefined reports the other's failure.
    if (patts.length === 2) {
      const undefIdx = patts.findIndex(isUndefinedPatt);
      if (undefIdx >= 0) return specimen === undefined || check(specimen, patts[1 - undefIdx], reject);
    }
    return patts.some((p) => check(specimen, p, false)) || (reject && reject`${specimen} - Must match one of ${qp(patts)}`);
  },
  'match:not': (specimen, patt, reject) =>
    !check(specimen, patt, false) || (reject && reject`${specimen} - Must fail negated pattern: ${qp(patt)}`),
  'match:scalar': (specimen, _p, reject) => confirmScalarKey(specimen, reject),
  'match:key': (specimen, _p, reject) => confirmKey(specimen, reject),
  'match:pattern': (specimen, _p, reject) => confirmPattern(specimen, reject),
  'match:kind': (specimen, kind, reject) => confirmKind(specimen, kind, reject),
  'match:tagged': (specimen, [tagPatt, payloadPatt], reject) => {
    let style;
    try {
      style = passStyleOf(specimen);
    } catch {
      style = undefined;
    }
    if (style !== 'tagged') return reject && reject`Expected tagged object, not ${q(style)}: ${specimen}`;
    return nested(getTag(specimen), tagPatt, 'tag', reject) && nested(specimen.payload, payloadPatt, 'payload', reject);
  },
  'match:bigint': (specimen, [limits] = [], reject) => checkBigint(specimen, limits, reject),
  'match:nat': (specimen, [limits] = [], reject) =>
    checkBigint(specimen, limits, reject) && (specimen >= 0n || (reject && reject`${specimen} - Must be non-negative`)),
  'match:string': (specimen, [limits] = [], reject) => checkString(specimen, limits, reject),
  'match:symbol': (specimen, [limits] = [], reject) => {
    if (!confirmKind(specimen, 'symbol', reject)) return false;
    const { symbolNameLengthLimit } = limitsOf(limits);
    const name = Symbol.keyFor(specimen) ?? String(specimen.description);
    return (
      name.length <= symbolNameLengthLimit ||
      (reject && reject`Symbol name ${q(name)} must not be bigger than ${q(symbolNameLengthLimit)}`)
    );
  },
  'match:remotable': (specimen, { label }, reject) =>
    kindOf(specimen) === 'remotable' ||
    (reject && reject`${specimen} - Must be a remotable ${b(label)}, not ${styleDetails(specimen)}`),
  'match:promise': (specimen, { label }, reject) =>
    kindOf(specimen) === 'promise' ||
    (reject && reject`${specimen} - Must be a promise ${b(label)}, not ${styleDetails(specimen)}`),
  'match:lt': comparing((c) => c < 0, '<'),
  'match:lte': comparing((c) => c <= 0, '<='),
  'match:gte': comparing((c) => c >= 0, '>='),
  'match:gt': comparing((c) => c > 0, '>'),
  'match:arrayOf': (specimen, [elementPatt, limits], reject) => {
    if (!confirmKind(specimen, 'copyArray', reject)) return false;
    const { arrayLengthLimit } = limitsOf(limits);
    return (
      (specimen.length <= arrayLengthLimit ||
        (reject && reject`Array length ${specimen.length} must be <= limit ${arrayLengthLimit}`)) &&
      specimen.every((x, i) => nested(x, elementPatt, i, reject))
    );
  },
  'match:recordOf': (specimen, [keyPatt, valuePatt, limits], reject) => {
    if (!confirmKind(specimen, 'copyRecord', reject)) return false;
    const { numPropertiesLimit, propertyNameLengthLimit } = limitsOf(limits);
    const es = entries(specimen);
    if (es.length > numPropertiesLimit) {
      return reject && reject`Must not have more than ${q(numPropertiesLimit)} properties: ${specimen}`;
    }
    return es.every(
      ([k, v]) =>
        (k.length <= propertyNameLengthLimit ||
          (reject && reject`Property name must not be longer than ${q(propertyNameLengthLimit)}`)) &&
        nested(freeze([k, v]), freeze([keyPatt, valuePatt]), k, reject),
    );
  },
  'match:setOf': (specimen, [keyPatt, limits], reject) => {
    if (!confirmKind(specimen, 'copySet', reject)) return false;
    const { numSetElementsLimit } = limitsOf(limits);
    return (
      (specimen.payload.length < numSetElementsLimit ||
        (reject && reject`Set must not have more than ${q(numSetElementsLimit)} elements: ${specimen.payload.length}`)) &&
      specimen.payload.every((k, i) => nested(k, keyPatt, `set elements[${i}]`, reject))
    );
  },
  'match:bagOf': (specimen, [keyPatt, countPatt, limits], reject) => {
    if (!confirmKind(specimen, 'copyBag', reject)) return false;
    const { numUniqueBagElementsLimit, decimalDigitsLimit } = limitsOf(limits);
    return (
      (specimen.payload.length <= numUniqueBagElementsLimit ||
        (reject && reject`Bag must not have more than ${q(numUniqueBagElementsLimit)} unique elements: ${specimen}`)) &&
      specimen.payload.every(
        ([k, n], i) =>
          nested(k, keyPatt, `bag keys[${i}]`, reject) &&
          labeled(`bag counts[${i}]`, reject, () => confirmDecimalDigitsLimit(n, decimalDigitsLimit, reject) && check(n, countPatt, reject)),
      )
    );
  },
  'match:mapOf': (specimen, [keyPatt, valuePatt, limits], reject) => {
    if (!confirmKind(specimen, 'copyMap', reject)) return false;
    const { numMapEntriesLimit } = limitsOf(limits);
    const { keys: ks, values: vs } = specimen.payload;
    return (
      (ks.length <= numMapEntriesLimit ||
        (reject && reject`CopyMap must have no more than ${q(numMapEntriesLimit)} entries: ${specimen}`)) &&
      ks.every((k, i) => nested(k, keyPatt, `map keys[${i}]`, reject)) &&
      vs.every((v, i) => nested(v, valuePatt, `map values[${i}]`, reject))
    );
  },
  'match:containerHas': (specimen, [elementPatt, countPatt = 1n, limits], reject) => {
    // (A tagged specimen that is not well formed is refused with the reason, as upstream.)
    const kind = confirmKindOf(specimen, reject);
    if (kind === undefined) return false;
    if (!confirmDecimalDigitsLimit(countPatt, limitsOf(limits).decimalDigitsLimit, reject)) return false;
    // Elements are tried until enough match (the rest are never looked at, as upstream's):
    // an array from the start, a CopySet's or CopyBag's payload from the end (ascending
    // key order).
    let found = 0n;
    const tryAll = (list, countOf) => {
      const n = list.length;
      for (let i = 0; i < n && found < countPatt; i += 1) {
        const x = kind === 'copyArray' ? list[i] : list[n - 1 - i];
        if (check(kind === 'copyBag' ? x[0] : x, elementPatt, false)) found += countOf(x);
      }
    };
    if (kind === 'copyArray') tryAll(specimen, () => 1n);
    else if (kind === 'copySet') tryAll(specimen.payload, () => 1n);
    else if (kind === 'copyBag') tryAll(specimen.payload, (e) => e[1]);
    else return reject && reject`unexpected ${q(kind)}`;
    return found >= countPatt || (reject && reject`Has only ${q(found)} matches, but needs ${q(countPatt)}`);
  },
  'match:splitArray': (specimen, payload, reject) => checkSplitArray(specimen, payload, reject),
  'match:splitRecord': (specimen, payload, reject) => checkSplitRecord(specimen, payload, reject),
});

// What each matcher's payload must be for the matcher to be well formed (upstream's
// `confirmIsWellFormed`): a tagged `match:*` value a vat is sent is a pattern only when
// its payload is what `M` would have made, so that a matcher never runs on arguments it
// was not written for.
const undefinedPayload = (name) => (payload, reject) =>
  payload === undefined || (reject && reject`${b(name)} payload: ${payload} - Must be undefined`);
const patternList = (payload, reject) =>
  (passStyleOf(payload) === 'copyArray' || (reject && reject`Needs array of sub-patterns: ${qp(payload)}`)) &&
  payload.every((p) => confirmPattern(p, reject));
const LIMITS_ARE_NUMBERS = (limits, reject) =>
  (passStyleOf(limits) === 'copyRecord' || (reject && reject`Limits must be a record: ${q(limits)}`)) &&
  entries(limits).every(
    ([k, v]) => passStyleOf(v) === 'number' || (reject && reject`Value of limit ${q(k)} but be a number: ${q(v)}`),
  );
// A payload `[...main, limits?]` whose main part matches `mainShape` (a list of patterns).
const withLimitsPayload = (prefix, mainShape) => (payload, reject) => {
  if (!Array.isArray(payload)) return reject && reject`${q(prefix)} payload must be an array: ${payload}`;
  const n = mainShape().length;
  if (payload.length !== n && payload.length !== n + 1) return reject && reject`${q(prefix)} payload unexpected size: ${payload}`;
  const limits = payload[n];
  return (
    nested(freeze(payload.slice(0, n)), mainShape(), prefix, reject) &&
    (limits === undefined || LIMITS_ARE_NUMBERS(limits, reject))
  );
};
const labelRecord = (prefix) => (payload, reject) => nested(payload, freeze({ label: M.string() }), prefix, reject);
const none = () => freeze([]);
const onePattern = () => freeze([M.pattern()]);
const twoPatterns = () => freeze([M.pattern(), M.pattern()]);
const splitShape = (what) => (payload, reject) => {
  const bad = () =>
    reject &&
    reject`Must be an array of a requiredPatt ${b(what)}, an optional optionalPatt ${b(what)}, and an optional restPatt: ${q(payload)}`;
  if (passStyleOf(payload) !== 'copyArray' || payload.length < 1 || payload.length > 3) return bad();
  const [required, optional, rest] = payload;
  const style = what === 'array' ? 'copyArray' : 'copyRecord';
  return (
    (isPattern(required) &&
      passStyleOf(required) === style &&
      (optional === undefined || (isPattern(optional) && passStyleOf(optional) === style)) &&
      (rest === undefined || isPattern(rest))) ||
    bad()
  );
};

const WELL_FORMED = table({
  'match:any': undefinedPayload('match:any'),
  'match:and': patternList,
  'match:or': patternList,
  'match:not': (payload, reject) => confirmPattern(payload, reject),
  'match:scalar': undefinedPayload('match:any'),
  'match:key': undefinedPayload('match:any'),
  'match:pattern': undefinedPayload('match:any'),
  'match:kind': (payload, reject) =>
    typeof payload === 'string' || (reject && reject`match:kind: payload: ${payload} - A kind name must be a string`),
  'match:tagged': (payload, reject) => nested(payload, twoPatterns(), 'match:tagged payload', reject),
  'match:bigint': withLimitsPayload('match:bigint payload', none),
  'match:nat': withLimitsPayload('match:nat payload', none),
  'match:string': withLimitsPayload('match:string payload', none),
  'match:symbol': withLimitsPayload('match:symbol payload', none),
  'match:remotable': labelRecord('match:remotable payload'),
  'match:promise': labelRecord('match:promise payload'),
  'match:lt': (payload, reject) => confirmKey(payload, reject),
  'match:lte': (payload, reject) => confirmKey(payload, reject),
  'match:gte': (payload, reject) => confirmKey(payload, reject),
  'match:gt': (payload, reject) => confirmKey(payload, reject),
  'match:recordOf': withLimitsPayload('match:recordOf payload', twoPatterns),
  'match:arrayOf': withLimitsPayload('match:arrayOf payload', onePattern),
  'match:setOf': withLimitsPayload('match:setOf payload', onePattern),
  'match:bagOf': withLimitsPayload('match:bagOf payload', twoPatterns),
  'match:mapOf': withLimitsPayload('match:mapOf payload', twoPatterns),
  'match:containerHas': withLimitsPayload('M.containerHas payload', () => freeze([M.pattern(), M.gte(1n)])),
  'match:splitArray': splitShape('array'),
  'match:splitRecord': splitShape('record'),
});

// Upstream's shapes of the guards' payloads (made on first use: they are built with M).
let guardShapes;
function guardPayloadShapes() {
  if (guardShapes !== undefined) return guardShapes;
  const rawShape = M.kind('guard:rawGuard');
  const syncValue = M.or(rawShape, M.pattern());
  const argGuard = M.or(rawShape, M.kind('guard:awaitArgGuard'), M.pattern());
  const methodPayload = (callKind, arg) =>
    freeze({
      callKind,
      argGuards: M.arrayOf(arg),
      optionalArgGuards: M.opt(M.arrayOf(arg)),
      restArgGuard: M.opt(syncValue),
      returnGuard: syncValue,
    });
  guardShapes = table({
    'guard:awaitArgGuard': freeze({ argGuard: M.pattern() }),
    'guard:rawGuard': M.record(),
    'guard:methodGuard': M.or(methodPayload('sync', syncValue), methodPayload('async', argGuard)),
    'guard:interfaceGuard': M.splitRecord(
      { interfaceName: M.string(), methodGuards: M.recordOf(M.string(), M.kind('guard:methodGuard')) },
      {
        defaultGuards: M.or(M.undefined(), 'passable', 'raw'),
        sloppy: M.boolean(),
        symbolMethodGuards: M.mapOf(M.symbol(), M.kind('guard:methodGuard')),
      },
    ),
  });
  return guardShapes;
}

/**
 * Whether `specimen` matches `patt`. Throws (as upstream's does) when `patt` is not a
 * pattern, when `specimen` is not passable, and where a comparison needs a key.
 */
export const matches = (specimen, patt) => check(specimen, patt, false);

/** Throws, with upstream's message, unless `specimen` matches `patt`. */
export function mustMatch(specimen, patt, label = undefined) {
  let inner;
  try {
    if (check(specimen, patt, false)) return;
  } catch (e) {
    inner = e;
  }
  // (Should throw the reason; a check that passes now but failed before is a bug here.)
  labeled(label, Fail, () => check(specimen, patt, Fail));
  const outer = makeError(X`internal: ${label}: inconsistent pattern match: ${q(patt)}`);
  if (inner !== undefined) note(outer, X`Caused by ${inner}`);
  throw outer;
}

// Patterns already confirmed (for the memos' reason in copy.js, under its condition).
const patternMemo = new WeakSet();

/** Whether `patt` is a pattern: passable, no promises or errors, matchers well formed. */
export function isPattern(patt) {
  return confirmPattern(patt, false);
}

function confirmPattern(patt, reject) {
  if (isKey(patt)) return true;
  if (patternMemo.has(patt)) return true;
  const ok = confirmPatternInternal(patt, reject);
  if (ok && isDeeplyFrozen(patt)) patternMemo.add(patt);
  return ok;
}

function confirmPatternInternal(patt, reject) {
  const kind = confirmKindOf(patt, reject);
  switch (kind) {
    case undefined:
      return false;
    case 'copyArray':
      return patt.every((p) => confirmPattern(p, reject));
    case 'copyRecord':
      return Object.values(patt).every((p) => confirmPattern(p, reject));
    case 'copyMap':
      return confirmPattern(patt.payload.values, reject);
    case 'promise':
    case 'error':
      return reject && reject`A ${q(kind)} cannot be a pattern`;
    default:
      if (ownValue(MATCHERS, kind) !== undefined) return true;
      return reject && reject`A passable of kind ${q(kind)} is not a pattern: ${patt}`;
  }
}

export const assertPattern = (patt) => {
  confirmPattern(patt, Fail);
};

// ---- makers ----

const matcher = (tag, payload) => makeTagged(tag, payload);
// A matcher whose last argument is optional `limits`: left out when not given, so that
// `M.string()` and `M.string(undefined)` are the same value.
const withLimits = (tag, args) => {
  const list = args[args.length - 1] === undefined ? args.slice(0, -1) : args;
  return matcher(tag, freeze(list));
};
const splitPayload = (empty, base, optional, rest) => {
  if (rest !== undefined) return freeze([base, optional ?? empty, rest]);
  if (optional !== undefined) return freeze([base, optional]);
  return freeze([base]);
};

const kind = (k) => matcher('match:kind', k);

// Method guard makers: not passable (they have methods); `.returns()` makes the guard.
function methodGuardMaker(callKind, argGuards, optionalArgGuards = undefined, restArgGuard = undefined) {
  return freeze({
    optional: (...opt) => {
      optionalArgGuards === undefined || Fail`Can only have one set of optional guards`;
      restArgGuard === undefined || Fail`optional arg guards must come before rest arg`;
      return methodGuardMaker(callKind, argGuards, freeze(opt));
    },
    rest: (rest) => {
      restArgGuard === undefined || Fail`Can only have one rest arg`;
      return methodGuardMaker(callKind, argGuards, optionalArgGuards, rest);
    },
    returns: (returnGuard = kind('undefined')) => {
      // (Every field present, undefined or not, as upstream's payload has them.)
      const payload = { callKind, argGuards: freeze(argGuards), optionalArgGuards, restArgGuard, returnGuard };
      const guard = makeTagged('guard:methodGuard', freeze(payload));
      assertMethodGuard(guard);
      return guard;
    },
  });
}

const isTaggedWith = (v, tag) => {
  try {
    return passStyleOf(v) === 'tagged' && getTag(v) === tag;
  } catch {
    return false;
  }
};
export const isRawGuard = (v) => isTaggedWith(v, 'guard:rawGuard');
export const isAwaitArgGuard = (v) => isTaggedWith(v, 'guard:awaitArgGuard');
export const isMethodGuard = (v) => isTaggedWith(v, 'guard:methodGuard');
export const isInterfaceGuard = (v) => isTaggedWith(v, 'guard:interfaceGuard');

const isValueGuard = (g) => isRawGuard(g) || isPattern(g);
const isArgGuard = (g, callKind) =>
  isValueGuard(g) || (callKind === 'async' && isAwaitArgGuard(g) && isPattern(g.payload.argGuard));

export function assertMethodGuard(g) {
  isMethodGuard(g) || Fail`${q(g)} - Must be a method guard (M.call(…).returns(…))`;
  const { callKind, argGuards, optionalArgGuards = [], restArgGuard, returnGuard } = g.payload;
  (callKind === 'sync' || callKind === 'async') || Fail`unknown callKind ${q(callKind)}`;
  [...argGuards, ...optionalArgGuards].every((a) => isArgGuard(a, callKind)) ||
    Fail`method guard arguments must be patterns${b(callKind === 'async' ? ', M.await(…)' : '')} or M.raw()`;
  restArgGuard === undefined || isValueGuard(restArgGuard) || Fail`Rest args may not be awaited: ${q(restArgGuard)}`;
  isValueGuard(returnGuard) || Fail`a method guard's return guard must be a pattern or M.raw()`;
}

export function assertInterfaceGuard(g) {
  isInterfaceGuard(g) || Fail`${q(g)} - Must be an interface guard (M.interface(…))`;
}

function makeInterfaceGuard(interfaceName, methodGuards, options = {}) {
  typeof interfaceName === 'string' || Fail`an interface name must be a string, not ${q(interfaceName)}`;
  const { sloppy = false, defaultGuards = sloppy ? 'passable' : undefined } = options;
  [undefined, 'passable', 'raw'].includes(defaultGuards) || Fail`Unrecognized defaultGuards ${q(defaultGuards)}`;
  const stringGuards = {};
  const symbolGuards = [];
  for (const key of ownKeys(methodGuards)) {
    const g = methodGuards[key];
    isMethodGuard(g) ||
      Fail`${q(String(key))} of interface ${q(interfaceName)} must be a method guard: did you leave off .returns()?`;
    if (typeof key === 'symbol') symbolGuards.push([key, g]);
    else stringGuards[key] = g;
  }
  const payload = { interfaceName, methodGuards: freeze(stringGuards), defaultGuards };
  if (symbolGuards.length > 0) payload.symbolMethodGuards = makeCopyMap(symbolGuards);
  return makeTagged('guard:interfaceGuard', freeze(payload));
}

export const M = freeze({
  any: () => AnyShape,
  and: (...patts) => matcher('match:and', freeze(patts)),
  or: (...patts) => matcher('match:or', freeze(patts)),
  not: (patt) => matcher('match:not', patt),
  scalar: () => matcher('match:scalar', undefined),
  key: () => matcher('match:key', undefined),
  pattern: () => matcher('match:pattern', undefined),
  kind,
  tagged: (tagPatt = M.string(), payloadPatt = M.any()) => matcher('match:tagged', freeze([tagPatt, payloadPatt])),
  boolean: () => kind('boolean'),
  number: () => kind('number'),
  bigint: (limits) => withLimits('match:bigint', [limits]),
  nat: (limits) => withLimits('match:nat', [limits]),
  string: (limits) => withLimits('match:string', [limits]),
  symbol: (limits) => withLimits('match:symbol', [limits]),
  record: (limits) => withLimits('match:recordOf', [AnyShape, AnyShape, limits]),
  array: (limits) => withLimits('match:arrayOf', [AnyShape, limits]),
  set: (limits) => withLimits('match:setOf', [AnyShape, limits]),
  bag: (limits) => withLimits('match:bagOf', [AnyShape, AnyShape, limits]),
  map: (limits) => withLimits('match:mapOf', [AnyShape, AnyShape, limits]),
  remotable: (label) => (label === undefined ? kind('remotable') : matcher('match:remotable', freeze({ label }))),
  error: () => kind('error'),
  promise: (label) => (label === undefined ? kind('promise') : matcher('match:promise', freeze({ label }))),
  undefined: () => kind('undefined'),
  null: () => null,
  lt: (x) => matcher('match:lt', x),
  lte: (x) => matcher('match:lte', x),
  eq: (key) => {
    assertKey(key);
    return key === undefined ? M.undefined() : key;
  },
  neq: (key) => M.not(M.eq(key)),
  gte: (x) => matcher('match:gte', x),
  gt: (x) => matcher('match:gt', x),
  recordOf: (keyPatt = AnyShape, valuePatt = AnyShape, limits) => withLimits('match:recordOf', [keyPatt, valuePatt, limits]),
  arrayOf: (patt = AnyShape, limits) => withLimits('match:arrayOf', [patt, limits]),
  setOf: (patt = AnyShape, limits) => withLimits('match:setOf', [patt, limits]),
  bagOf: (keyPatt = AnyShape, countPatt = AnyShape, limits) => withLimits('match:bagOf', [keyPatt, countPatt, limits]),
  mapOf: (keyPatt = AnyShape, valuePatt = AnyShape, limits) => withLimits('match:mapOf', [keyPatt, valuePatt, limits]),
  containerHas: (patt = AnyShape, count = 1n, limits) => withLimits('match:containerHas', [patt, count, limits]),
  splitArray: (base, optional, rest) => matcher('match:splitArray', splitPayload(freeze([]), base, optional, rest)),
  splitRecord: (base, optional, rest) => matcher('match:splitRecord', splitPayload(freeze({}), base, optional, rest)),
  split: (base, rest) =>
    passStyleOf(base) === 'copyArray'
      ? M.splitArray(base, rest && freeze([]), rest)
      : M.splitRecord(base, rest && freeze({}), rest),
  partial: (base, rest) =>
    passStyleOf(base) === 'copyArray' ? M.splitArray(freeze([]), base, rest) : M.splitRecord(freeze({}), base, rest),
  eref: (patt) => M.or(patt, M.promise()),
  opt: (patt) => M.or(M.undefined(), patt),
  interface: (name, methodGuards, options) => makeInterfaceGuard(name, methodGuards, options),
  call: (...argGuards) => methodGuardMaker('sync', argGuards),
  callWhen: (...argGuards) => methodGuardMaker('async', argGuards),
  await: (argGuard) => makeTagged('guard:awaitArgGuard', freeze({ argGuard })),
  raw: () => makeTagged('guard:rawGuard', freeze({})),
});

// Upstream's payload readers for guards.
export const getInterfaceGuardPayload = (g) => (assertInterfaceGuard(g), g.payload);
export const getMethodGuardPayload = (g) => (assertMethodGuard(g), g.payload);
export const getAwaitArgGuardPayload = (g) => {
  isAwaitArgGuard(g) || Fail`${q(g)} - Must be an await arg guard`;
  return g.payload;
};
export const getInterfaceMethodKeys = (g) => {
  const { methodGuards, symbolMethodGuards } = getInterfaceGuardPayload(g);
  const symbols = symbolMethodGuards === undefined ? [] : getCopyMapEntryArray(symbolMethodGuards).map(([k]) => k);
  return freeze([...keys(methodGuards), ...symbols]);
};
