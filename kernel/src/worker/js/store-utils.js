// @agoric/store's helpers beyond the stores themselves: `makeAtomicProvider` (provide a
// value whose maker is asynchronous, making it once however many ask meanwhile),
// `appendToStoredArray`, and the legacy maps (`makeLegacyMap`/`makeLegacyWeakMap`: a Map
// with the store vocabulary, for keys that are not passable).

import { Fail, q } from './errors.js';
import { harden } from './liveslots.js';

export const makeAtomicProvider = (store) => {
  const pending = new Map(); // key -> promise of the value being made
  const provideAsync = (key, makeValue, finishValue) => {
    if (store.has(key)) return Promise.resolve(store.get(key));
    if (!pending.has(key)) {
      const made = makeValue(key)
        .then((v) => {
          store.init(key, v);
          return v;
        })
        .then((v) => (finishValue ? finishValue(key, v).then(() => v) : v))
        .finally(() => pending.delete(key));
      pending.set(key, made);
    }
    return pending.get(key);
  };
  return harden({ provideAsync });
};

export const appendToStoredArray = (mapStore, key, item) => {
  if (mapStore.has(key)) mapStore.set(key, harden([...mapStore.get(key), item]));
  else mapStore.init(key, harden([item]));
};

function legacy(m, tag, iterable) {
  const mustLack = (key) => !m.has(key) || Fail`${q(tag)} already registered: ${key}`;
  const mustHave = (key) => m.has(key) || Fail`${q(tag)} not found: ${key}`;
  const api = {
    has: (key) => m.has(key),
    init: (key, value) => {
      mustLack(key);
      m.set(key, value);
    },
    get: (key) => {
      mustHave(key);
      return m.get(key);
    },
    set: (key, value) => {
      mustHave(key);
      m.set(key, value);
    },
    delete: (key) => {
      mustHave(key);
      m.delete(key);
    },
  };
  if (iterable) {
    Object.assign(api, {
      keys: () => m.keys(),
      values: () => m.values(),
      entries: () => m.entries(),
      getSize: () => m.size,
      clear: () => m.clear(),
    });
  }
  return harden(api);
}

export const makeLegacyMap = (tag = 'key') => legacy(new Map(), tag, true);
export const makeLegacyWeakMap = (tag = 'key') => legacy(new WeakMap(), tag, false);
