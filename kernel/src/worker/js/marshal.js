// Smallcaps marshalling for liveslots: JS values <-> capdata { body, slots }.
//
// The encoding is upstream's (@endo/marshal "smallcaps"): the body is "#" + JSON, where
// strings that start with one of the reserved characters "!" .. "-" are escaped with "!",
// and special values are strings: "#undefined", "#NaN", "#Infinity", "#-Infinity", "#-0",
// "+7"/"-7" (bigints), "%name" (registered symbols), "$N.iface" (remotable in slot N),
// "&N" (promise in slot N). Errors are {"#error": message, "name": name}; records are
// JSON objects with their keys sorted, so equal values always encode to equal bytes.
//
// This file must run unchanged in QuickJS (the vat worker) and in Node (its tests): no
// host APIs, no nondeterminism.

const { freeze, keys, getPrototypeOf, isFrozen } = Object;
const { isArray } = Array;

const remotables = new WeakMap(); // remotable -> interface name ("Alleged: …")

/** Marks `obj` (an object or function with only methods) as a pass-by-reference remotable. */
export function Remotable(iface = 'Remotable', _props = undefined, obj = {}) {
  if (typeof iface !== 'string') throw TypeError(`interface must be a string, got ${typeof iface}`);
  if (remotables.has(obj)) return obj;
  if (typeof obj !== 'object' && typeof obj !== 'function') {
    throw TypeError('a remotable must be an object or a function');
  }
  remotables.set(obj, iface);
  return freeze(obj);
}

/** `Far(name, methods)`: a remotable whose interface is "Alleged: name". */
export function Far(name, obj = {}) {
  return Remotable(`Alleged: ${name}`, undefined, obj);
}

export function getInterfaceOf(v) {
  return remotables.get(v);
}

function isPromise(v) {
  return v instanceof Promise;
}

/** The pass style of a value, as @endo/pass-style names it. */
export function passStyleOf(v) {
  switch (typeof v) {
    case 'undefined':
      return 'undefined';
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'number';
    case 'bigint':
      return 'bigint';
    case 'string':
      return 'string';
    case 'symbol':
      return 'symbol';
    case 'function':
      if (remotables.has(v)) return 'remotable';
      throw TypeError('a plain function is not passable: wrap it with Far');
    case 'object': {
      if (v === null) return 'null';
      if (remotables.has(v)) return 'remotable';
      if (isPromise(v)) return 'promise';
      if (v instanceof Error) return 'error';
      if (isArray(v)) return 'copyArray';
      const proto = getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) return 'copyRecord';
      throw TypeError(`not passable: an object with a custom prototype (${String(v)})`);
    }
    default:
      throw TypeError(`not passable: ${typeof v}`);
  }
}

const ERRORS = freeze({ Error, TypeError, RangeError, EvalError, ReferenceError, SyntaxError, URIError });

// Whether a string starts with "!" .. "-", the characters smallcaps gives a meaning (a
// char-code test: this runs for every string passed).
const isReserved = (s) => {
  const c = s.charCodeAt(0);
  return c >= 0x21 && c <= 0x2d;
};

// Encoding and decoding are module-level functions over a per-call context rather than
// recursive closures: a closure that names itself is a reference cycle, which QuickJS frees
// only at a full GC, so every (de)serialization would leak until the vat's next reap.

function slotFor(v, sigil, cx) {
  const vref = cx.convertValToSlot(v);
  if (cx.slotIndex === undefined) cx.slotIndex = new Map();
  let i = cx.slotIndex.get(vref);
  if (i === undefined) {
    i = cx.slots.length;
    cx.slots.push(vref);
    cx.slotIndex.set(vref, i);
  }
  if (sigil === '$') {
    const iface = getInterfaceOf(v);
    return iface === undefined ? `$${i}` : `$${i}.${iface}`;
  }
  return `${sigil}${i}`;
}

function encode(v, cx) {
  const style = passStyleOf(v);
  switch (style) {
    case 'undefined':
      return '#undefined';
    case 'null':
    case 'boolean':
      return v;
    case 'string':
      return isReserved(v) ? `!${v}` : v;
    case 'number':
      if (Number.isNaN(v)) return '#NaN';
      if (v === Infinity) return '#Infinity';
      if (v === -Infinity) return '#-Infinity';
      if (Object.is(v, -0)) return '#-0';
      return v;
    case 'bigint':
      return v >= 0n ? `+${v}` : `${v}`;
    case 'symbol': {
      const name = Symbol.keyFor(v);
      if (name === undefined) throw TypeError('only registered symbols (Symbol.for) are passable');
      return `%${name}`;
    }
    case 'remotable':
      return slotFor(v, '$', cx);
    case 'promise':
      return slotFor(v, '&', cx);
    case 'error':
      return { '#error': String(v.message), name: String(v.name) };
    case 'copyArray':
    case 'copyRecord': {
      if (cx.seen === undefined) cx.seen = new Set();
      if (cx.seen.has(v)) throw TypeError('cannot pass a cyclic structure');
      cx.seen.add(v);
      let out;
      if (style === 'copyArray') {
        out = [];
        for (let i = 0; i < v.length; i += 1) out.push(encode(v[i], cx));
      } else {
        out = {};
        for (const k of keys(v).sort()) {
          if (k.startsWith('#')) throw TypeError(`record key ${JSON.stringify(k)} is reserved`);
          out[k] = encode(v[k], cx);
        }
      }
      cx.seen.delete(v);
      return out;
    }
    default:
      throw TypeError(`cannot serialize ${style}`);
  }
}

function slotVal(cx, i, iface) {
  if (!(i >= 0 && i < cx.slots.length)) throw RangeError(`slot ${i} out of range`);
  if (cx.vals === undefined) cx.vals = new Map();
  if (!cx.vals.has(i)) cx.vals.set(i, cx.convertSlotToVal(cx.slots[i], iface));
  return cx.vals.get(i);
}

function decode(j, cx) {
  if (typeof j === 'string') {
    const c = j[0];
    if (c === '!') return j.slice(1);
    if (c === '#') {
      switch (j) {
        case '#undefined':
          return undefined;
        case '#NaN':
          return NaN;
        case '#Infinity':
          return Infinity;
        case '#-Infinity':
          return -Infinity;
        case '#-0':
          return -0;
        default:
          throw TypeError(`unknown special value ${j}`);
      }
    }
    if (c === '+') return BigInt(j.slice(1));
    if (c === '-') return BigInt(j);
    if (c === '%') return Symbol.for(j.slice(1));
    if (c === '$') {
      const dot = j.indexOf('.');
      const idx = Number(dot < 0 ? j.slice(1) : j.slice(1, dot));
      return slotVal(cx, idx, dot < 0 ? undefined : j.slice(dot + 1));
    }
    if (c === '&') return slotVal(cx, Number(j.slice(1)), undefined);
    if (isReserved(j)) throw TypeError(`unknown encoding ${JSON.stringify(j)}`);
    return j;
  }
  if (j === null || typeof j !== 'object') return j;
  if (isArray(j)) {
    // A loop, not `map`: no closure and no species lookup per array (a hot path).
    const out = [];
    for (let i = 0; i < j.length; i += 1) out.push(decode(j[i], cx));
    return freeze(out);
  }
  if ('#error' in j) {
    // Build the named error type; assigning `name` would fail once intrinsics are
    // frozen (the "override mistake"), so other names are defined as own properties.
    const C = ERRORS[j.name] ?? Error;
    const e = new C(decode(j['#error'], cx));
    if (typeof j.name === 'string' && e.name !== j.name) {
      Object.defineProperty(e, 'name', { value: j.name, enumerable: false });
    }
    return freeze(e);
  }
  const out = {};
  for (const k of keys(j)) out[k] = decode(j[k], cx);
  return freeze(out);
}

/**
 * makeMarshal(convertValToSlot, convertSlotToVal): serialize and unserialize with the
 * caller deciding what a remotable or a promise is called (a vref, in liveslots).
 */
export function makeMarshal(convertValToSlot, convertSlotToVal) {
  function serialize(root) {
    // The slot index and the cycle check are made when first needed: most values are
    // plain data without slots.
    const cx = { slots: [], slotIndex: undefined, seen: undefined, convertValToSlot };
    const body = `#${JSON.stringify(encode(root, cx))}`;
    return freeze({ body, slots: freeze(cx.slots) });
  }

  function unserialize(capdata) {
    const { body, slots } = capdata;
    if (typeof body !== 'string' || body[0] !== '#') {
      throw TypeError('capdata body must be a smallcaps string starting with "#"');
    }
    const cx = { slots, vals: undefined, convertSlotToVal };
    return decode(JSON.parse(body.slice(1)), cx);
  }

  return freeze({ serialize, unserialize });
}

export { isFrozen };
