// A small subset of @endo/patterns: the `M` pattern makers and `matches`/`mustMatch`,
// enough for durable kinds' `stateShape` and for vat code that builds interface guards.
//
// A pattern is plain passable data, `{ matcher: <name>, … }` or a literal value, so a
// `stateShape` can be stored in a kind's descriptor and compared across incarnations by its
// serialization. Interface guards (`M.interface`, `M.call`) are accepted and ignored:
// methods are not checked against them.

import { passStyleOf } from './marshal.js';

const { freeze, keys } = Object;

const make = (matcher, extra = {}) => freeze({ matcher, ...extra });

// `M.call(...)` and friends: chainable, never stored.
function methodGuard(kind, args) {
  const g = {
    kind,
    args,
    optional: (...more) => methodGuard(kind, [...args, ...more]),
    rest: () => g,
    returns: () => freeze({ kind, args }),
  };
  return freeze(g);
}

export const M = freeze({
  any: () => make('any'),
  string: () => make('string'),
  number: () => make('number'),
  bigint: () => make('bigint'),
  nat: () => make('nat'),
  boolean: () => make('boolean'),
  symbol: () => make('symbol'),
  undefined: () => make('undefined'),
  null: () => make('null'),
  key: () => make('any'),
  scalar: () => make('any'),
  pattern: () => make('any'),
  promise: () => make('promise'),
  error: () => make('error'),
  remotable: (label = 'Remotable') => make('remotable', { label }),
  record: () => make('record'),
  array: () => make('array'),
  arrayOf: () => make('array'),
  recordOf: () => make('record'),
  bag: () => make('any'),
  set: () => make('any'),
  map: () => make('any'),
  splitRecord: () => make('record'),
  eref: (p) => make('or', { alts: freeze([p, make('promise')]) }),
  opt: (p) => make('or', { alts: freeze([p, make('undefined')]) }),
  or: (...alts) => make('or', { alts: freeze(alts) }),
  and: (...alts) => make('and', { alts: freeze(alts) }),
  not: (p) => make('not', { p }),
  eq: (value) => make('eq', { value }),
  interface: (name, methods = {}, options = {}) => freeze({ interfaceGuard: name, methods, options }),
  call: (...args) => methodGuard('call', args),
  callWhen: (...args) => methodGuard('callWhen', args),
  await: (p) => p,
});

function isPattern(p) {
  return p !== null && typeof p === 'object' && typeof p.matcher === 'string' && !Array.isArray(p);
}

/** Whether `value` matches `pattern` (a pattern from `M`, or a literal to compare with). */
export function matches(value, pattern) {
  if (!isPattern(pattern)) return sameValue(value, pattern);
  const style = passStyleOf(value);
  switch (pattern.matcher) {
    case 'any':
      return true;
    case 'string':
    case 'bigint':
    case 'boolean':
    case 'symbol':
    case 'undefined':
    case 'null':
    case 'promise':
    case 'error':
    case 'remotable':
      return style === pattern.matcher;
    case 'number':
      return style === 'number';
    case 'nat':
      return style === 'bigint' && value >= 0n;
    case 'record':
      return style === 'copyRecord';
    case 'array':
      return style === 'copyArray';
    case 'or':
      return pattern.alts.some((p) => matches(value, p));
    case 'and':
      return pattern.alts.every((p) => matches(value, p));
    case 'not':
      return !matches(value, pattern.p);
    case 'eq':
      return sameValue(value, pattern.value);
    default:
      throw TypeError(`unknown pattern ${JSON.stringify(pattern.matcher)}`);
  }
}

function sameValue(a, b) {
  if (Object.is(a, b)) return true;
  const sa = passStyleOf(a);
  if (sa !== passStyleOf(b)) return false;
  if (sa === 'copyArray') return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (sa === 'copyRecord') {
    const ka = keys(a).sort();
    const kb = keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameValue(a[k], b[k]));
  }
  return false;
}

export function mustMatch(value, pattern, label = 'value') {
  if (!matches(value, pattern)) {
    throw TypeError(`${label} does not match its pattern (${describe(pattern)})`);
  }
}

function describe(p) {
  if (!isPattern(p)) return 'a literal';
  if (p.matcher === 'or') return p.alts.map(describe).join(' | ');
  return p.matcher;
}
