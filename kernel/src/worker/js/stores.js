// Scalar stores (@agoric/store's MapStore / SetStore and their weak forms): virtual and
// durable ones whose entries live in the vatstore, and in-heap ones for `@agoric/store`'s
// `makeScalarMapStore` & co. Keys are scalars (primitives, remotables); iteration is in key
// order (see keys.js).
//
// Vatstore records of collection C (kind ids as upstream: 2..9 in STORE_KINDS order):
//   vc.<C>.<encodedKey>  JSON capdata of the value (sets: of null)
//   vc.<C>.|entryCount   decimal
//   vc.<C>.|label        the label given at creation
//   vc.<C>.|kind         its kind id (absent in stores made before it was recorded)
// '|' sorts after every key-encoding letter, so entries come first in a scan.
// A weak store's object keys are not references (gc.js): each entry keyed by an object
// is recorded as a recognizer of it instead, and goes when the object does.

import { passStyleOf } from './marshal.js';
import { encodeKey, decodeKey } from './keys.js';
import { matches } from './patterns.js';

const { freeze } = Object;

export const STORE_KINDS = freeze([
  'scalarMapStore',
  'scalarWeakMapStore',
  'scalarSetStore',
  'scalarWeakSetStore',
  'scalarDurableMapStore',
  'scalarDurableWeakMapStore',
  'scalarDurableSetStore',
  'scalarDurableWeakSetStore',
]);
export const FIRST_STORE_KIND = 2;
export const BAGGAGE_KIND = FIRST_STORE_KIND + STORE_KINDS.indexOf('scalarDurableMapStore');

const q = (v) => {
  try {
    return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? `${v}n` : String(v);
  } catch {
    return '(a key)';
  }
};
const MAX_ENCODED_KEY = 900;

// The methods shared by every store flavour, over primitive `ops`.
function storeMethods(label, ops, { set, weak }) {
  const notFound = (k) => RangeError(`key ${q(k)} not found in collection ${q(label)}`);
  const common = {
    has: (k) => ops.has(k),
    delete: (k) => {
      if (!ops.has(k)) throw notFound(k);
      ops.remove(k);
    },
  };
  if (set) {
    Object.assign(common, {
      add: (k) => {
        if (!ops.has(k)) ops.put(k, null, true);
      },
      addAll: (ks) => {
        for (const k of ks) common.add(k);
      },
    });
  } else {
    Object.assign(common, {
      get: (k) => {
        if (!ops.has(k)) throw notFound(k);
        return ops.get(k);
      },
      init: (k, v) => {
        if (ops.has(k)) throw RangeError(`key ${q(k)} already registered in collection ${q(label)}`);
        ops.put(k, v, true);
      },
      set: (k, v) => {
        if (!ops.has(k)) throw notFound(k);
        ops.put(k, v, false);
      },
      addAll: (es) => {
        for (const [k, v] of es) {
          if (ops.has(k)) ops.put(k, v, false);
          else ops.put(k, v, true);
        }
      },
    });
  }
  if (!weak) {
    const filtered = function* filtered(keyPatt, valuePatt) {
      for (const [k, v] of ops.entries()) {
        if (keyPatt !== undefined && !matches(k, keyPatt)) continue;
        if (valuePatt !== undefined && !set && !matches(v, valuePatt)) continue;
        yield [k, v];
      }
    };
    Object.assign(common, {
      keys: (kp, vp) => [...filtered(kp, vp)].map(([k]) => k),
      values: (kp, vp) => [...filtered(kp, vp)].map(([k, v]) => (set ? k : v)),
      entries: (kp, vp) => [...filtered(kp, vp)],
      getSize: (kp, vp) => (kp === undefined && vp === undefined ? ops.size() : [...filtered(kp, vp)].length),
      clear: (kp, vp) => {
        for (const [k] of [...filtered(kp, vp)]) ops.remove(k);
      },
      snapshot: () => freeze([...filtered()].map(([k, v]) => (set ? k : [k, v]))),
      [Symbol.iterator]: () => [...filtered()].map(([k, v]) => (set ? k : [k, v]))[Symbol.iterator](),
    });
  }
  return common;
}

/** Stores whose entries live in the vatstore (virtual or durable). */
export function makeCollectionManager(deps) {
  const { vs, register, lookup, slotFor, valFor, serialize, unserialize, Far } = deps;
  const { checkDurable, addDataRefs, removeDataRefs, allocateCollectionID, gc, weakKey } = deps;
  const isWeakKind = (kindID) => STORE_KINDS[kindID - FIRST_STORE_KIND].includes('Weak');
  const keySlotOf = (encoded) => (encoded.startsWith('r') ? encoded.slice(1) : undefined);

  function flavour(kindName) {
    return {
      durable: kindName.includes('Durable'),
      weak: kindName.includes('Weak'),
      set: kindName.includes('Set'),
    };
  }

  function makeRep(kindID, collectionID, label) {
    const kindName = STORE_KINDS[kindID - FIRST_STORE_KIND];
    const { durable, weak, set } = flavour(kindName);
    const prefix = `vc.${collectionID}.`;
    const countKey = `${prefix}|entryCount`;
    const what = durable ? 'durable ' : '';
    const encode = (k) => {
      if (durable && !checkDurable(k)) throw TypeError(`key ${q(k)} is not durable (collection ${q(label)} is durable)`);
      const e = encodeKey(k, slotFor);
      if (e.length > MAX_ENCODED_KEY) throw RangeError(`key too long for collection ${q(label)}`);
      return `${prefix}${e}`;
    };
    const count = () => Number(vs.get(countKey) ?? '0');
    const ops = {
      has: (k) => {
        let key;
        try {
          key = encode(k);
        } catch (e) {
          // A key that cannot be stored is not in the store.
          if (e instanceof TypeError && durable) return false;
          throw e;
        }
        return vs.get(key) !== undefined;
      },
      get: (k) => unserialize(JSON.parse(vs.get(encode(k)))),
      put: (k, v, isNew) => {
        const key = encode(k);
        if (durable && !checkDurable(v)) {
          throw TypeError(`value for key ${q(k)} is not durable (${what}collection ${q(label)})`);
        }
        const data = serialize(set ? null : v);
        const old = isNew ? undefined : JSON.parse(vs.get(key));
        addDataRefs(data.slots);
        vs.set(key, JSON.stringify(data));
        if (old) removeDataRefs(old.slots);
        if (isNew) {
          const keySlot = keySlotOf(key.slice(prefix.length));
          if (keySlot !== undefined && weak) {
            gc.recognize(keySlot, collectionID);
            weakKey(keySlot, k);
          } else if (keySlot !== undefined) {
            addDataRefs([keySlot]);
          }
          vs.set(countKey, String(count() + 1));
        }
      },
      remove: (k) => {
        const key = encode(k);
        const old = JSON.parse(vs.get(key));
        vs.delete(key);
        removeDataRefs(old.slots);
        const keySlot = keySlotOf(key.slice(prefix.length));
        if (keySlot !== undefined && weak) gc.unrecognize(keySlot, collectionID);
        else if (keySlot !== undefined) removeDataRefs([keySlot]);
        vs.set(countKey, String(count() - 1));
      },
      size: count,
      *entries() {
        let key = vs.getNextKey(prefix);
        while (key !== undefined && key.startsWith(prefix) && key[prefix.length] !== '|') {
          const k = decodeKey(key.slice(prefix.length), valFor);
          const v = set ? undefined : unserialize(JSON.parse(vs.get(key)));
          yield [k, v];
          key = vs.getNextKey(key);
        }
      },
    };
    const rep = Far(kindName, storeMethods(label, ops, { set, weak }));
    register(`o+${durable ? 'd' : 'v'}${kindID}/${collectionID}`, rep);
    return rep;
  }

  function makeStore(kindName, label) {
    const kindID = FIRST_STORE_KIND + STORE_KINDS.indexOf(kindName);
    const collectionID = allocateCollectionID();
    const prefix = `vc.${collectionID}.`;
    vs.set(`${prefix}|label`, String(label));
    vs.set(`${prefix}|entryCount`, '0');
    vs.set(`${prefix}|kind`, String(kindID));
    return makeRep(kindID, collectionID, String(label));
  }

  /** Deletes one entry of an entry's data, releasing what it named. */
  function deleteEntry(collectionID, key, weak) {
    const raw = vs.get(key);
    if (raw === undefined) return;
    vs.delete(key);
    removeDataRefs(JSON.parse(raw).slots);
    const keySlot = keySlotOf(key.slice(`vc.${collectionID}.`.length));
    if (keySlot !== undefined && weak) gc.unrecognize(keySlot, collectionID);
    else if (keySlot !== undefined) removeDataRefs([keySlot]);
  }

  /**
   * Deletes up to `budget` entries of collection `collectionID` (kind `kindID`), from the
   * first after `from` (default: its first), and the collection's own records once it has
   * no entries left. Returns the entries deleted and the last one's key (undefined once
   * the collection is gone).
   */
  function deleteEntries(kindID, collectionID, budget, from = `vc.${collectionID}.`) {
    const prefix = `vc.${collectionID}.`;
    const weak = isWeakKind(kindID);
    let n = 0;
    let k = vs.getNextKey(from);
    while (k !== undefined && k.startsWith(prefix) && k[prefix.length] !== '|') {
      if (n >= budget) return { n, last: from };
      const next = vs.getNextKey(k);
      deleteEntry(collectionID, k, weak);
      n += 1;
      from = k;
      k = next;
    }
    for (const field of ['|entryCount', '|kind', '|label']) vs.delete(`${prefix}${field}`);
    return { n, last: undefined };
  }

  /** Deletes a collection the GC found unreachable (all of it: its entries are paid for). */
  function deleteCollection(kindID, collectionID) {
    deleteEntries(kindID, collectionID, Infinity);
  }

  /** The weak store entry of `collectionID` keyed by `keyVref` goes (its key is gone). */
  function deleteWeakEntry(collectionID, keyVref) {
    const prefix = `vc.${collectionID}.`;
    const key = `${prefix}r${keyVref}`;
    const raw = vs.get(key);
    if (raw === undefined) return;
    vs.delete(key);
    removeDataRefs(JSON.parse(raw).slots);
    vs.set(`${prefix}|entryCount`, String(Number(vs.get(`${prefix}|entryCount`) ?? '1') - 1));
  }

  // Where the sweep of earlier incarnations' stores resumes (as kinds.js's oldInstances).
  let sweepCursor = 'vc.';

  /**
   * Deletes up to `budget` entries of virtual (not durable) stores of earlier incarnations
   * (ids below `firstCollectionID`): nothing can reach them. Returns the budget used.
   */
  function sweepOld(firstCollectionID, budget) {
    let used = 0;
    let k = vs.getNextKey(sweepCursor);
    while (used < budget && k !== undefined && k.startsWith('vc.')) {
      const id = Number(/^vc\.(\d+)\./.exec(k)?.[1]);
      const kindID = Number(vs.get(`vc.${id}.|kind`));
      const name = STORE_KINDS[kindID - FIRST_STORE_KIND];
      if (id < firstCollectionID && name !== undefined && !name.includes('Durable')) {
        // Resume where the last sweep stopped inside it, or at its start.
        const from = sweepCursor.startsWith(`vc.${id}.`) ? sweepCursor : `vc.${id}.`;
        const { n, last } = deleteEntries(kindID, id, budget - used, from);
        used += n + 1;
        if (last !== undefined) {
          sweepCursor = last;
          return used;
        }
      }
      // Past this collection ('~' sorts after every key-encoding letter and '|').
      sweepCursor = `vc.${id}.~`;
      k = vs.getNextKey(sweepCursor);
    }
    return used;
  }

  /** The representative of collection `vref` (kind in 2..9), or undefined for other kinds. */
  function revive(vref, p) {
    const i = p.kindID - FIRST_STORE_KIND;
    if (i < 0 || i >= STORE_KINDS.length) return undefined;
    const live = lookup(vref);
    if (live !== undefined) return live;
    const label = vs.get(`vc.${p.instance}.|label`);
    if (label === undefined) throw Error(`liveslots: no collection ${vref}`);
    return makeRep(p.kindID, p.instance, label);
  }

  /** A store made by `makeScalarBig*Store(label, { durable })`. */
  function bigStore(base, label = base, options = {}) {
    const durable = !!(options && options.durable);
    const name = durable ? base.replace('scalar', 'scalarDurable') : base;
    return makeStore(name, label);
  }

  /** Baggage: the durable map handed to every incarnation's buildRootObject. */
  function provideBaggage() {
    const existing = vs.get('baggageID');
    if (existing !== undefined) return valFor(existing);
    const b = makeStore('scalarDurableMapStore', 'baggage');
    vs.set('baggageID', deps.vrefOf(b));
    return b;
  }

  return freeze({
    bigStore,
    revive,
    provideBaggage,
    deleteCollection,
    deleteWeakEntry,
    sweepOld,
    isCollectionKind: (kindID) => STORE_KINDS[kindID - FIRST_STORE_KIND] !== undefined,
  });
}

/** In-heap stores (`@agoric/store`): same interface, entries in a JS Map. */
export function makeHeapStores(Far) {
  function heapStore(kindName, label) {
    const { weak, set } = { weak: kindName.includes('Weak'), set: kindName.includes('Set') };
    // A weak store holds its keys weakly, as upstream's does: only remotables can be keys
    // (upstream's rule), and an entry goes when its key is collected.
    const map = weak ? new WeakMap() : new Map();
    const ordinals = new WeakMap();
    let nextOrdinal = 1;
    const slotFor = (r) => {
      if (!ordinals.has(r)) {
        ordinals.set(r, String(nextOrdinal).padStart(10, '0'));
        nextOrdinal += 1;
      }
      return ordinals.get(r);
    };
    const check = weak
      ? (k) => {
          if (passStyleOf(k) !== 'remotable') {
            throw TypeError(`only remotables can be keys of scalar WeakStores: ${q(k)}`);
          }
        }
      : (k) => encodeKey(k, slotFor); // throws for non-keys
    const ops = {
      has: (k) => map.has(k),
      get: (k) => map.get(k),
      put: (k, v) => {
        check(k);
        map.set(k, v);
      },
      remove: (k) => map.delete(k),
      size: () => (weak ? undefined : map.size),
      *entries() {
        const sorted = [...map.entries()].map(([k, v]) => [check(k), k, v]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
        for (const [, k, v] of sorted) yield [k, v];
      },
    };
    return Far(kindName, storeMethods(label, ops, { set, weak }));
  }
  return freeze({
    makeScalarMapStore: (label = 'map') => heapStore('scalarMapStore', label),
    makeScalarSetStore: (label = 'set') => heapStore('scalarSetStore', label),
    makeScalarWeakMapStore: (label = 'weakMap') => heapStore('scalarWeakMapStore', label),
    makeScalarWeakSetStore: (label = 'weakSet') => heapStore('scalarWeakSetStore', label),
  });
}
