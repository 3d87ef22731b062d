// Stored stateShapes from before tagged patterns. A liveslots older than patterns.js kept
// a durable kind's stateShape as records `{ matcher: <name>, … }`, and its `M` folded many
// patterns into coarser ones (M.key(), M.set() … became `any`, M.arrayOf(x) became
// `array`, M.opt(p) was `or` of [p, undefined]). Such a shape cannot be turned back into
// the pattern it came from, so to check that an upgrade keeps a kind's shape, the new
// (tagged) shape is instead projected the way the old `M` would have built it, and the two
// legacy forms are compared, alternatives of `or`/`and` as sets.
//
// Descriptors that record `shapeTagged` hold tagged patterns and are compared as they are
// (kinds.js); this is only for the first redefinition of a kind whose shape is legacy.

import { passStyleOf, getTag } from './marshal.js';

const { freeze, entries, fromEntries } = Object;

const legacy = (matcher, extra = {}) => freeze({ matcher, ...extra });

const mapRecord = (r, f) => freeze(fromEntries(entries(r).map(([k, v]) => [k, f(v)])));

// The old `M`'s form of a tagged pattern (what it returned for the maker that made it).
function project(p) {
  const style = passStyleOf(p);
  if (style === 'copyArray') return freeze(p.map(project));
  if (style === 'copyRecord') return mapRecord(p, project);
  if (style !== 'tagged') return p;
  const payload = p.payload;
  switch (getTag(p)) {
    case 'match:any':
    case 'match:key':
    case 'match:scalar':
    case 'match:pattern':
    case 'match:setOf':
    case 'match:bagOf':
    case 'match:mapOf':
      return legacy('any');
    case 'match:kind':
      return payload === 'remotable' ? legacy('remotable', { label: 'Remotable' }) : legacy(payload);
    case 'match:remotable':
      return legacy('remotable', { label: payload.label });
    case 'match:promise':
      // (The old `M.promise()` took no label.)
      return legacy('promise');
    case 'match:string':
    case 'match:bigint':
    case 'match:nat':
    case 'match:symbol':
      return legacy(getTag(p).slice('match:'.length));
    case 'match:recordOf':
    case 'match:splitRecord':
      return legacy('record');
    case 'match:arrayOf':
      return legacy('array');
    case 'match:or':
    case 'match:and':
      return legacy(getTag(p).slice('match:'.length), { alts: freeze(payload.map(project)) });
    case 'match:not':
      return legacy('not', { p: project(payload) });
    default:
      // Keys (CopySets …) and matchers the old `M` had no maker for: compared as they are,
      // so they differ from anything the old `M` stored.
      return p;
  }
}

const isLegacyMatcher = (p) => passStyleOf(p) === 'copyRecord' && typeof p.matcher === 'string';

// One form for what the old `M` could store in more than one way: `eq` of a value is the
// value, `null` is null and `undefined` undefined, alternatives are sorted (by `keyOf`, their serialization).
function normalize(p, keyOf) {
  const style = passStyleOf(p);
  if (style === 'copyArray') return freeze(p.map((x) => normalize(x, keyOf)));
  if (style !== 'copyRecord') return p;
  if (!isLegacyMatcher(p)) return mapRecord(p, (x) => normalize(x, keyOf));
  switch (p.matcher) {
    case 'eq':
      return normalize(p.value, keyOf);
    case 'null':
      return null;
    case 'undefined':
      return undefined;
    case 'or':
    case 'and': {
      const alts = (p.alts ?? []).map((x) => normalize(x, keyOf));
      const keyed = alts.map((x) => [keyOf(x), x]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return legacy(p.matcher, { alts: freeze(keyed.map(([, x]) => x)) });
    }
    case 'not':
      return legacy('not', { p: normalize(p.p, keyOf) });
    default:
      return p;
  }
}

/**
 * Whether `tagged` (a pattern of today's `M`) is what the old `M` would have stored as
 * `stored`. `keyOf` turns a value into comparable text (its serialization).
 */
export function sameAsLegacyPattern(stored, tagged, keyOf) {
  return keyOf(normalize(stored, keyOf)) === keyOf(normalize(project(tagged), keyOf));
}
