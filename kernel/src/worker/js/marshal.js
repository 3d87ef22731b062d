// Smallcaps marshalling for liveslots: JS values <-> capdata { body, slots }.
//
// The encoding is upstream's (@endo/marshal "smallcaps"): the body is "#" + JSON, where
// strings that start with one of the reserved characters "!" .. "-" are escaped with "!",
// and special values are strings: "#undefined", "#NaN", "#Infinity", "#-Infinity",
// "+7"/"-7" (bigints), "%name" (registered symbols), "$N.iface" (remotable in slot N),
// "&N" (promise in slot N). Errors are {"#error": message, "name": name}; tagged values
// (CopySet, CopyBag, CopyMap, patterns, guards) are {"#tag": tag, "payload": payload};
// records are JSON objects with their keys sorted, so equal values always encode to equal
// bytes.
//
// This file must run unchanged in QuickJS (the vat worker) and in Node (its tests): no
// host APIs, no nondeterminism.

const { freeze, keys, getPrototypeOf, isFrozen, is, defineProperty } = Object;
const { isArray } = Array;
const { isNaN, isFinite } = Number;
const { stringify, parse } = JSON;
const ObjectPrototype = Object.prototype;
// Intrinsics named once at module scope: a module binding is a slot read, a global name a
// property lookup on the global object, on every call.
const PromiseCtor = Promise;
const ErrorCtor = Error;
const TypeErrorCtor = TypeError;
const RangeErrorCtor = RangeError;
const SymbolCtor = Symbol;
const BigIntFn = BigInt;
const MapCtor = Map;
const SetCtor = Set;

const remotables = new WeakMap(); // remotable -> interface name ("Alleged: …")

/** @endo/pass-style's marker of a tagged value (a registered symbol, as upstream's). */
export const PASS_STYLE = SymbolCtor.for('passStyle');
const TO_STRING_TAG = SymbolCtor.toStringTag;

/**
 * `makeTagged(tag, payload)`: upstream's tagged value, a frozen object of the plain
 * prototype whose only own properties are the non-enumerable `[PASS_STYLE]: 'tagged'` and
 * `[Symbol.toStringTag]: tag`, and the enumerable `payload`. The payload must be passable
 * (checked when the value is serialized or matched).
 */
export function makeTagged(tag, payload) {
  if (typeof tag !== 'string') throw TypeErrorCtor(`the tag of a tagged value must be a string, got ${typeof tag}`);
  const t = Object.create(ObjectPrototype, {
    [PASS_STYLE]: { value: 'tagged' },
    [TO_STRING_TAG]: { value: tag },
    payload: { value: payload, enumerable: true },
  });
  if (payload !== null && typeof payload === 'object') freezeDeep(payload);
  return freeze(t);
}

// A payload is frozen with everything in it (data only: makeTagged's callers pass
// passable data, and a remotable is frozen already).
function freezeDeep(v) {
  if (v === null || typeof v !== 'object' || isFrozen(v)) return;
  freeze(v);
  const ks = keys(v);
  for (let i = 0; i < ks.length; i += 1) freezeDeep(v[ks[i]]);
}

/** The tag of a tagged value. */
export const getTag = (tagged) => tagged[TO_STRING_TAG];

/** Marks `obj` (an object or function with only methods) as a pass-by-reference remotable. */
export function Remotable(iface = 'Remotable', _props = undefined, obj = {}) {
  if (typeof iface !== 'string') throw TypeErrorCtor(`interface must be a string, got ${typeof iface}`);
  if (remotables.has(obj)) return obj;
  if (typeof obj !== 'object' && typeof obj !== 'function') {
    throw TypeErrorCtor('a remotable must be an object or a function');
  }
  remotables.set(obj, iface);
  // (As upstream's: `String(far)` is "[object Alleged: name]".)
  if (Object.isExtensible(obj) && !Object.hasOwn(obj, TO_STRING_TAG)) {
    defineProperty(obj, TO_STRING_TAG, { value: iface, enumerable: false });
  }
  return freeze(obj);
}

/** `Far(name, methods)`: a remotable whose interface is "Alleged: name". */
export function Far(name, obj = {}) {
  return Remotable(`Alleged: ${name}`, undefined, obj);
}

export function getInterfaceOf(v) {
  return remotables.get(v);
}

// Pass styles as small integers for the encoder's dispatch (comparing numbers, not
// strings), and their names as @endo/pass-style gives them.
const UNDEFINED = 0;
const NULL = 1;
const BOOLEAN = 2;
const NUMBER = 3;
const BIGINT = 4;
const STRING = 5;
const SYMBOL = 6;
const REMOTABLE = 7;
const PROMISE = 8;
const ERROR = 9;
const COPY_ARRAY = 10;
const COPY_RECORD = 11;
const TAGGED = 12;
const STYLE_NAMES = freeze([
  'undefined', 'null', 'boolean', 'number', 'bigint', 'string', 'symbol',
  'remotable', 'promise', 'error', 'copyArray', 'copyRecord', 'tagged',
]);

function styleOf(v) {
  const t = typeof v;
  // Most often first: objects and strings, then numbers.
  if (t === 'object') {
    if (v === null) return NULL;
    if (remotables.has(v)) return REMOTABLE;
    if (v instanceof PromiseCtor) return PROMISE;
    if (v instanceof ErrorCtor) return ERROR;
    if (isArray(v)) return COPY_ARRAY;
    const proto = getPrototypeOf(v);
    if (proto === ObjectPrototype || proto === null) {
      // A plain object is a record unless it carries the tagged marker (a symbol-keyed
      // property: one lookup, which a record's keys cannot collide with).
      if (v[PASS_STYLE] === undefined) return COPY_RECORD;
      if (v[PASS_STYLE] === 'tagged' && typeof v[TO_STRING_TAG] === 'string' && isFrozen(v)) return TAGGED;
      throw TypeErrorCtor(`not passable: an object marked as ${stringify(String(v[PASS_STYLE]))}`);
    }
    throw TypeErrorCtor(`not passable: an object with a custom prototype (${String(v)})`);
  }
  if (t === 'string') return STRING;
  if (t === 'number') return NUMBER;
  if (t === 'boolean') return BOOLEAN;
  if (t === 'undefined') return UNDEFINED;
  if (t === 'bigint') return BIGINT;
  if (t === 'symbol') return SYMBOL;
  if (t === 'function') {
    if (remotables.has(v)) return REMOTABLE;
    // (Upstream's message, with the function shown as SES's `q` shows one.)
    throw TypeErrorCtor(`Remotables must be explicitly declared: ${stringify(`[Function ${v.name || '<anon>'}]`)}`);
  }
  throw TypeErrorCtor(`not passable: ${t}`);
}

/** The pass style of a value, as @endo/pass-style names it. */
export function passStyleOf(v) {
  return STYLE_NAMES[styleOf(v)];
}

/** Throws unless `v` and everything in it is passable (passStyleOf looks at `v` only). */
export function assertPassable(v, depth = 0) {
  if (depth > MAX_DEPTH) throw TypeErrorCtor(`data nests deeper than ${MAX_DEPTH} levels`);
  const style = styleOf(v);
  if (style === COPY_ARRAY) {
    for (let i = 0; i < v.length; i += 1) assertPassable(v[i], depth + 1);
  } else if (style === COPY_RECORD) {
    const ks = keys(v);
    for (let i = 0; i < ks.length; i += 1) assertPassable(v[ks[i]], depth + 1);
  } else if (style === TAGGED) {
    assertPassable(v.payload, depth + 1);
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
  const style = styleOf(v);
  switch (style) {
    case STRING:
      return isReserved(v) ? `!${v}` : v;
    case NUMBER:
      if (isNaN(v)) return '#NaN';
      if (v === Infinity) return '#Infinity';
      if (v === -Infinity) return '#-Infinity';
      // -0 is sent as 0, as upstream does ("#-0" is still read, as older bodies have it).
      if (is(v, -0)) return 0;
      return v;
    case COPY_ARRAY:
    case COPY_RECORD: {
      if (cx.seen === undefined) cx.seen = new SetCtor();
      if (cx.seen.has(v)) throw TypeErrorCtor('cannot pass a cyclic structure');
      // `seen` holds the ancestors of `v`: its size is the depth. What could not be
      // decoded is never sent.
      if (cx.seen.size >= MAX_DEPTH) throw TypeErrorCtor(`data nests deeper than ${MAX_DEPTH} levels`);
      cx.seen.add(v);
      let out;
      if (style === COPY_ARRAY) {
        out = [];
        for (let i = 0; i < v.length; i += 1) out.push(encode(v[i], cx));
      } else {
        out = {};
        const ks = keys(v).sort();
        for (let i = 0; i < ks.length; i += 1) {
          const k = ks[i];
          // A name is encoded as a string is (upstream's): one starting with a character
          // smallcaps reserves ("#", "+", "!" …) gets a "!" before it.
          out[isReserved(k) ? `!${k}` : k] = encode(v[k], cx);
        }
      }
      cx.seen.delete(v);
      return out;
    }
    case UNDEFINED:
      return '#undefined';
    case NULL:
    case BOOLEAN:
      return v;
    case BIGINT:
      return v >= 0n ? `+${v}` : `${v}`;
    case SYMBOL: {
      const name = SymbolCtor.keyFor(v);
      if (name === undefined) throw TypeErrorCtor('only registered symbols (Symbol.for) are passable');
      return `%${name}`;
    }
    case REMOTABLE:
      return slotFor(v, '$', cx);
    case PROMISE:
      return slotFor(v, '&', cx);
    case ERROR:
      // (Message and name are encoded as strings are: one starting with a reserved
      // character, as redacted messages do ("(a string) …"), gets its "!".)
      return { '#error': encode(String(v.message), cx), name: encode(String(v.name), cx) };
    case TAGGED: {
      if (cx.seen === undefined) cx.seen = new SetCtor();
      if (cx.seen.size >= MAX_DEPTH) throw TypeErrorCtor(`data nests deeper than ${MAX_DEPTH} levels`);
      cx.seen.add(v);
      const out = { '#tag': encode(getTag(v), cx), payload: encode(v.payload, cx) };
      cx.seen.delete(v);
      return out;
    }
    default:
      throw TypeErrorCtor(`cannot serialize ${STYLE_NAMES[style]}`);
  }
}

function slotVal(cx, i, iface) {
  if (!(i >= 0 && i < cx.slots.length)) throw RangeErrorCtor(`slot ${i} out of range`);
  if (cx.vals === undefined) cx.vals = new MapCtor();
  if (!cx.vals.has(i)) cx.vals.set(i, cx.convertSlotToVal(cx.slots[i], iface));
  return cx.vals.get(i);
}

function decodeString(j, cx) {
  // By the first character's code: a number compare, where `j[0]` would make a string.
  switch (j.charCodeAt(0)) {
    case 0x21: // !
      return j.slice(1);
    case 0x23: // #
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
          throw TypeErrorCtor(`unknown special value ${j}`);
      }
    case 0x2b: // +
      return BigIntFn(j.slice(1));
    case 0x2d: // -
      return BigIntFn(j);
    case 0x25: // %
      return SymbolCtor.for(j.slice(1));
    case 0x24: {
      // $
      const dot = j.indexOf('.');
      const idx = Number(dot < 0 ? j.slice(1) : j.slice(1, dot));
      return slotVal(cx, idx, dot < 0 ? undefined : j.slice(dot + 1));
    }
    case 0x26: // &
      return slotVal(cx, Number(j.slice(1)), undefined);
    default:
      if (isReserved(j)) throw TypeErrorCtor(`Special char ${stringify(j[0])} reserved for future use: (a string)`);
      return j;
  }
}

/**
 * How deeply decoded data may nest. Deeper capdata is refused with an ordinary error
 * before the engine's native stack could run out (where that happens depends on the
 * native stack, which must never decide what a vat sees): a vat is never broken by what
 * it is sent.
 */
export const MAX_DEPTH = 64;

// Why a record property name with a reserved prefix other than "!" is refused, in
// upstream's words (which decode it first and name what it decoded to).
function reservedNameReason(encoded) {
  const what = { '+': 'a bigint', '-': 'a bigint', '%': 'a symbol', $: 'an object', '&': 'an object' }[encoded[0]];
  return what === undefined
    ? `Special char ${stringify(encoded[0])} reserved for future use: (a string)`
    : `Decoded property name (${what}) from (an object) must be a string`;
}

function decode(j, cx, depth = 0) {
  if (typeof j === 'string') return decodeString(j, cx);
  if (j === null || typeof j !== 'object') return j;
  if (depth >= MAX_DEPTH) throw RangeErrorCtor(`capdata nests deeper than ${MAX_DEPTH} levels`);
  if (isArray(j)) {
    // A loop, not `map`: no closure and no species lookup per array (a hot path).
    const out = [];
    for (let i = 0; i < j.length; i += 1) out.push(decode(j[i], cx, depth + 1));
    return freeze(out);
  }
  if ('#tag' in j) {
    const tag = decode(j['#tag'], cx, depth + 1);
    if (typeof tag !== 'string') throw TypeErrorCtor('the tag of a tagged value must be a string');
    // (Exactly "#tag" and "payload", checked before "#error", as upstream's reader.)
    const extra = keys(j).filter((k) => k !== '#tag' && k !== 'payload');
    if (extra.length > 0) throw TypeErrorCtor(`#tag record unexpected properties: ${stringify(extra)}`);
    if (!('payload' in j)) throw TypeErrorCtor('a #tag record must have a payload');
    return makeTagged(tag, decode(j.payload, cx, depth + 1));
  }
  if ('#error' in j) {
    // Build the named error type; assigning `name` would fail once intrinsics are
    // frozen (the "override mistake"), so other names are defined as own properties.
    const message = typeof j['#error'] === 'string' ? decodeString(j['#error'], cx) : j['#error'];
    if (typeof message !== 'string') throw TypeErrorCtor(`invalid error message typeof ${stringify(typeof message)}`);
    // (A missing name is an Error's, as older senders wrote none.)
    const name = j.name === undefined ? 'Error' : typeof j.name === 'string' ? decodeString(j.name, cx) : j.name;
    if (typeof name !== 'string') throw TypeErrorCtor(`invalid error name typeof ${stringify(typeof name)}`);
    const C = ERRORS[name] ?? ErrorCtor;
    const e = new C(message);
    if (e.name !== name) defineProperty(e, 'name', { value: name, enumerable: false });
    return freeze(e);
  }
  // A record. Its names are encoded strings ("!#x" is "#x"); one starting with "#" is a
  // kind of record this reader does not know. Properties are defined, not assigned, so
  // that a "__proto__" name is a property like any other.
  const out = {};
  const ks = keys(j);
  for (let i = 0; i < ks.length; i += 1) {
    const encoded = ks[i];
    if (encoded.charCodeAt(0) === 0x23) throw TypeErrorCtor(`Unrecognized record type ${stringify(encoded)}: (an object)`);
    // (Of the reserved prefixes only "!" decodes to a string: the others, slots among them,
    // are refused without being decoded.)
    let name = encoded;
    if (isReserved(encoded)) {
      if (encoded.charCodeAt(0) !== 0x21) throw TypeErrorCtor(reservedNameReason(encoded));
      name = encoded.slice(1);
    }
    defineProperty(out, name, { value: decode(j[encoded], cx, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return freeze(out);
}

/**
 * makeMarshal(convertValToSlot, convertSlotToVal): serialize and unserialize with the
 * caller deciding what a remotable or a promise is called (a vref, in liveslots).
 */
export function makeMarshal(convertValToSlot, convertSlotToVal) {
  function serialize(root) {
    // A finite number (the commonest answer) encodes as itself: JSON writes it as
    // ToString does (and -0 as 0, which is what upstream sends).
    if (typeof root === 'number' && isFinite(root)) {
      return freeze({ body: `#${root}`, slots: freeze([]) });
    }
    // The slot index and the cycle check are made when first needed: most values are
    // plain data without slots.
    const cx = { slots: [], slotIndex: undefined, seen: undefined, convertValToSlot };
    const body = `#${stringify(encode(root, cx))}`;
    return freeze({ body, slots: freeze(cx.slots) });
  }

  function unserialize(capdata) {
    const { body, slots } = capdata;
    if (typeof body !== 'string' || body.charCodeAt(0) !== 0x23) {
      throw TypeErrorCtor('capdata body must be a smallcaps string starting with "#"');
    }
    const cx = { slots, vals: undefined, convertSlotToVal };
    return decode(parse(body.slice(1)), cx);
  }

  return freeze({ serialize, unserialize });
}

export { isFrozen, ERRORS };
