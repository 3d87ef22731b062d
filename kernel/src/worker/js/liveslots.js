// Liveslots: the vat side of the kernel protocol. It turns deliveries into calls on the
// vat's objects, and the vat's eventual sends, promise resolutions and garbage into
// syscalls. One instance per vat incarnation (one QuickJS runtime).
//
// Names: the vat's exports are "o+N" (root "o+0"), its promises "p+N"; imports are
// "o-N"/"p-N", named by the kernel. Reference: upstream swingset-liveslots (behaviour only).
//
// Determinism: no iteration over weak collections; garbage is *reported* only at
// bringOutYourDead, in sorted vref order, after the host has run a full GC.
//
// Durability (kinds.js, stores.js, watchers.js): virtual and durable objects and stores
// keep their state in the vatstore; `baggage` carries durable state to the next
// incarnation. Counters are persisted (`idCounters`) so no incarnation reuses a vref.
// Garbage (gc.js): imports and virtual/durable objects named by stored data are counted
// (`vom.rc.<baseRef>`); virtual and durable objects the kernel can reach are recorded
// (`vom.es.<vref>`); ephemeral exports named by virtual data are held in memory while
// named. At bringOutYourDead what nothing holds is dropped, deleted and retired.

import { Far, Remotable, passStyleOf, makeMarshal, getInterfaceOf } from './marshal.js';
import { makeKindManager, KIND_HANDLE_KIND } from './kinds.js';
import { makeCollectionManager, makeHeapStores, STORE_KINDS, FIRST_STORE_KIND } from './stores.js';
import { makeWatcherManager } from './watchers.js';
import { M, matches, mustMatch } from './patterns.js';
import { defendBehavior, defendBehaviorKit } from './guards.js';
import { defineHeapExoClass, defineHeapExoClassKit } from './heap-exo.js';
import { makeHandledPromise } from './handled-promise.js';
import { makeGC, baseRefOf } from './gc.js';

const { freeze, isFrozen, getOwnPropertyDescriptor } = Object;
const { ownKeys } = Reflect;
const { isArray } = Array;
// Intrinsics named once at module scope: a module binding is a slot read, a global name a
// property lookup on the global object, on every call.
const PromiseCtor = Promise;
const WeakRefCtor = WeakRef;
const ProxyCtor = Proxy;
const RangeErrorCtor = RangeError;

/**
 * @param syscall  { send, subscribe, resolve, exit, dropImports, retireImports,
 *                   retireExports, vatstoreGet, vatstoreSet, vatstoreDelete, vatstoreGetNextKey }
 * @param options  { gcAndFinalize(): Promise — run a full GC and let finalizers run;
 *                   loadVat(): namespace with buildRootObject }
 */
export function makeLiveSlots(syscall, { gcAndFinalize = async () => {}, loadVat, onFatal = () => {} } = {}) {
  // The next id of each kind. What is persisted (`idCounters`, by flush at the end of any
  // delivery that moved it) is a reservation: a limit at least RESERVE past the counter,
  // renewed only when the counter reaches it. A next incarnation starts at the limits, so
  // it never reuses an id however this incarnation ends (no last bringOutYourDead needed),
  // and a vat that allocates a promise per delivery writes once per RESERVE deliveries
  // rather than every one. Ids skipped at an upgrade are never used; nothing depends on
  // ids being dense.
  // Invariant: after any delivery that did not fail, each persisted limit exceeds every id
  // of its kind this incarnation has handed out.
  const RESERVE = 100;
  let counters = { exportID: 1, collectionID: 1, promiseID: 5 };
  let limits = { exportID: 1, collectionID: 1, promiseID: 5 };
  let countersDirty = false;
  const allocate = (kind) => {
    const id = counters[kind];
    counters[kind] = id + 1;
    if (id + 1 > limits[kind]) {
      limits[kind] = id + 1 + RESERVE;
      countersDirty = true;
    }
    return id;
  };
  const allocateExportID = () => allocate('exportID');
  const allocateCollectionID = () => allocate('collectionID');
  const allocatePromiseID = () => `p+${allocate('promiseID')}`;
  const valToSlot = new WeakMap(); // value -> vref
  const slotToVal = new Map(); // vref -> WeakRef(value)
  const reachableExports = new Map(); // vref -> value: exports the kernel can reach (strong)
  const droppedExports = new Set(); // vrefs the kernel dropped (may be retired once dead)
  const importedPromises = new Map(); // vpid -> { resolve, reject } for promises others decide
  // Counts `toKernel` serializations under way: what they name, the kernel can reach (an
  // export); what other serializations name is stored data, which gc.js counts instead.
  let toKernel = 0;

  // Only the tables are touched when these run (what they note is acted on at
  // bringOutYourDead), so when they run cannot change what the vat does.
  // A presence, or a heap remotable keying a weak store, is gone: it may be garbage. A
  // presence's table entry stays until this runs (not only until its WeakRef empties): the
  // GC counts an import as held while the entry is there, so that a presence freed in the
  // middle of a collection is dropped once, at a later one, after this has run.
  const registry = new FinalizationRegistry((vref) => {
    const w = slotToVal.get(vref);
    if (w !== undefined && w.deref() === undefined) slotToVal.delete(vref);
    gc.possiblyDead(vref);
  });
  // A virtual representative's entry goes when it is collected (a new one may be made for
  // the same vref later): otherwise every instance ever touched would leave an entry.
  const repRegistry = new FinalizationRegistry((vref) => {
    const w = slotToVal.get(vref);
    if (w !== undefined && w.deref() === undefined) slotToVal.delete(vref);
    gc.possiblyDead(baseRefOf(vref));
  });

  function register(vref, v) {
    valToSlot.set(v, vref);
    slotToVal.set(vref, new WeakRefCtor(v));
    if (isVirtual(vref)) repRegistry.register(v, vref);
  }

  function lookup(vref) {
    const w = slotToVal.get(vref);
    return w === undefined ? undefined : w.deref();
  }

  // A promise this vat decides, exported as p+N: its settlement is reported once.
  function exportPromise(p) {
    const vpid = allocatePromiseID();
    register(vpid, p);
    reachableExports.set(vpid, p);
    const settle = (rejected, value) => {
      retirePromise(vpid, p);
      resolveVpid(vpid, rejected, value);
    };
    p.then(
      (v) => settle(false, v),
      (e) => settle(true, e),
    );
    return vpid;
  }

  function retirePromise(vpid, p) {
    valToSlot.delete(p);
    slotToVal.delete(vpid);
    reachableExports.delete(vpid);
    importedPromises.delete(vpid);
  }

  function resolveVpid(vpid, rejected, value) {
    // A stack overflow (QuickJS's catchable RangeError) that escapes to a result is fatal
    // to the delivery: a vat whose recursion ran away is broken. (Where it happens is
    // deterministic, worker/quickjs/stack.rs, so a vat that catches it may go on.)
    if (rejected && value instanceof RangeErrorCtor && /call stack/.test(value.message)) {
      onFatal(`stack overflow: ${value.message}`);
      return;
    }
    let data;
    try {
      data = serializeToKernel(value);
    } catch (e) {
      // An unpassable answer rejects the promise instead of breaking the vat.
      rejected = true;
      data = serializeToKernel(Error(`unpassable result: ${e.message}`));
    }
    syscall.resolve([{ vpid, rejected, data }]);
  }

  function convertValToSlot(v) {
    const known = valToSlot.get(v);
    if (known !== undefined) {
      if (toKernel > 0 && known.startsWith('o+')) {
        if (isVirtual(known)) {
          gc.exported(known);
        } else {
          reachableExports.set(known, v); // (re-)exported: the kernel can reach it
          droppedExports.delete(known);
        }
      }
      return known;
    }
    switch (passStyleOf(v)) {
      case 'remotable': {
        const vref = `o+${allocateExportID()}`;
        register(vref, v);
        // Named by stored data only, it is held while the data names it (addDataRefs).
        if (toKernel > 0) reachableExports.set(vref, v);
        return vref;
      }
      case 'promise':
        return exportPromise(v);
      default:
        throw TypeError('only remotables and promises become slots');
    }
  }

  function makeImportedPromise(vpid) {
    const kit = newPromiseKit();
    register(vpid, kit.promise);
    importedPromises.set(vpid, kit);
    return kit.promise;
  }

  function convertSlotToVal(vref, iface) {
    const known = lookup(vref);
    if (known !== undefined) return known;
    if (isVirtual(vref)) return kindsM.reanimate(vref);
    if (vref.startsWith('o-')) {
      const presence = Remotable(iface ?? 'Alleged: presence', undefined, {});
      register(vref, presence);
      registry.register(presence, vref);
      return presence;
    }
    if (vref.startsWith('p')) {
      const p = makeImportedPromise(vref);
      syscall.subscribe(vref);
      return p;
    }
    throw Error(`liveslots: no value for ${vref} (an export this vat no longer has)`);
  }

  const m = makeMarshal(convertValToSlot, convertSlotToVal);
  // Serializes what goes to the kernel (a send, a resolution, an exit, a kernel hook).
  const serializeToKernel = (v) => {
    toKernel += 1;
    try {
      return m.serialize(v);
    } finally {
      toKernel -= 1;
    }
  };

  // ---- durability ----

  // Liveslots' own vatstore records (the user's are confined to "vvs.").
  const vs = freeze({
    get: (key) => syscall.vatstoreGet(key) ?? undefined,
    set: (key, value) => syscall.vatstoreSet(key, value),
    delete: (key) => syscall.vatstoreDelete(key),
    getNextKey: (prior) => syscall.vatstoreGetNextKey(prior) ?? undefined,
  });

  function isVirtual(vref) {
    return vref.startsWith('o+v') || vref.startsWith('o+d');
  }

  /** Whether `v` may be stored in durable state: no promises, ephemeral or virtual objects. */
  function checkDurable(v) {
    switch (passStyleOf(v)) {
      case 'promise':
        return false;
      case 'remotable': {
        const vref = valToSlot.get(v);
        return vref !== undefined && (vref.startsWith('o-') || vref.startsWith('o+d'));
      }
      case 'copyArray':
        return v.every(checkDurable);
      case 'copyRecord':
        return Object.values(v).every(checkDurable);
      case 'tagged':
        return checkDurable(v.payload);
      default:
        return true;
    }
  }

  // Stored data (state, store entries, watchers) as capdata. Promises cannot be stored:
  // their vpids do not outlive their settlement.
  function serializeData(v) {
    const data = m.serialize(v);
    if (data.slots.some((s) => s.startsWith('p'))) {
      throw TypeError('promises cannot be stored in virtual or durable state');
    }
    return data;
  }

  const heldByData = new Map(); // ephemeral vref -> { value, count } named by virtual data
  const gc = makeGC({
    vs,
    lookup,
    presenceHeld: (vref) => slotToVal.has(vref),
    forget: (vref) => slotToVal.delete(vref),
    isVirtual,
    syscall,
  });

  function addDataRefs(slots) {
    for (const vref of slots) {
      if (vref.startsWith('o-') || isVirtual(vref)) {
        gc.addRef(vref);
      } else {
        const h = heldByData.get(vref);
        if (h) h.count += 1;
        else heldByData.set(vref, { value: lookup(vref), count: 1 });
      }
    }
  }

  function removeDataRefs(slots) {
    for (const vref of slots) {
      if (vref.startsWith('o-') || isVirtual(vref)) {
        gc.removeRef(vref); // collected at the next reap if nothing else holds it
      } else {
        const h = heldByData.get(vref);
        if (h) {
          h.count -= 1;
          if (h.count === 0) heldByData.delete(vref);
        }
      }
    }
  }

  const vrefOf = (v) => valToSlot.get(v);
  let collections;
  const kindsM = makeKindManager({
    vs,
    allocateExportID,
    register,
    lookup,
    vrefOf,
    serialize: serializeData,
    unserialize: m.unserialize,
    Far,
    checkDurable,
    addDataRefs,
    removeDataRefs,
    reviveOther: (vref, p) => collections.revive(vref, p),
  });
  collections = makeCollectionManager({
    vs,
    register,
    lookup,
    vrefOf,
    slotFor: convertValToSlot,
    valFor: convertSlotToVal,
    serialize: serializeData,
    unserialize: m.unserialize,
    Far,
    checkDurable,
    addDataRefs,
    removeDataRefs,
    allocateCollectionID,
    gc,
    // A heap remotable keying a weak store: its entry goes when it does.
    weakKey: (vref, key) => {
      if (vref.startsWith('o+') && !isVirtual(vref)) registry.register(key, vref);
    },
  });
  const watchers = makeWatcherManager({
    vs,
    serialize: serializeData,
    unserialize: m.unserialize,
    slotFor: convertValToSlot,
    valFor: convertSlotToVal,
    checkDurable,
    syscall,
    addDataRefs,
    removeDataRefs,
    passStyleOf,
    // A promise the old incarnation decided: its rejection will come as a notify.
    expectNotify: (vpid) => lookup(vpid) ?? makeImportedPromise(vpid),
  });

  // The first ids of this incarnation: below them, virtual (not durable) kinds and stores
  // are an earlier incarnation's, which nothing can reach any more.
  let firstIDs = { ...counters };
  const isOld = (baseRef) => {
    const p = kindsM.parseVref(baseRef);
    if (p === undefined || p.durable) return false;
    return collections.isCollectionKind(p.kindID)
      ? p.instance < firstIDs.collectionID
      : p.kindID < firstIDs.exportID;
  };
  // Objects never collected: kind handles, baggage, the promise-watcher table.
  const pinnedRefs = new Set();
  gc.connect({
    objects: {
      facetVrefs: (baseRef) => kindsM.facetVrefs(baseRef),
      pinned: (baseRef) => {
        const p = kindsM.parseVref(baseRef);
        return p.kindID === KIND_HANDLE_KIND || pinnedRefs.has(baseRef);
      },
      isOld,
      delete: (baseRef) => {
        const p = kindsM.parseVref(baseRef);
        if (collections.isCollectionKind(p.kindID)) collections.deleteCollection(p.kindID, p.instance);
        else kindsM.deleteInstance(baseRef);
      },
    },
    weakEntries: { delete: (collectionID, keyVref) => collections.deleteWeakEntry(collectionID, keyVref) },
    heap: {
      kernelRecognizes: (vref) => droppedExports.has(vref),
      retired: (vref) => {
        droppedExports.delete(vref);
        slotToVal.delete(vref);
      },
    },
  });

  function loadCounters() {
    const raw = vs.get('idCounters');
    gc.startCounting(raw === undefined);
    // A first incarnation has no earlier garbage; a later one sweeps what the last left.
    if (raw === undefined) vs.set('vom.oldGarbageSwept', '1');
    else vs.delete('vom.oldGarbageSwept');
    if (raw !== undefined) {
      // The last incarnation's reservations: this one starts past them.
      limits = JSON.parse(raw);
      counters = { ...limits };
      firstIDs = { ...limits };
      countersDirty = false;
      return;
    }
    // First incarnation: the kind-handle kind, the store kinds, then baggage (o+d6/1).
    const kindIDID = allocateExportID();
    if (kindIDID !== KIND_HANDLE_KIND) throw Error('liveslots: counters already in use');
    vs.set('kindIDID', String(kindIDID));
    const table = {};
    for (const name of STORE_KINDS) table[name] = allocateExportID();
    if (table[STORE_KINDS[0]] !== FIRST_STORE_KIND) throw Error('liveslots: bad store kind ids');
    vs.set('storeKindIDTable', JSON.stringify(table));
  }

  /**
   * Persists the counters' reservations and the durable kinds' descriptors that changed. The host calls
   * it at the end of every delivery that did not fail (after the vat's jobs ran), so the
   * kernel holds them as they change: an upgrade needs nothing from this incarnation (not
   * even a last bringOutYourDead, which may fail) for the next one never to reuse a vref.
   * A failed delivery leaves them dirty: the kernel may have undone its writes.
   * Invariant: after any successful delivery, the vatstore's `idCounters` exceeds every id
   * this incarnation has allocated, and each durable descriptor's `nextInstanceID` every
   * instance id.
   */
  function flush() {
    kindsM.flush();
    if (countersDirty) {
      vs.set('idCounters', JSON.stringify(limits));
      countersDirty = false;
    }
  }

  // ---- the vat-data API (what @agoric/vat-data, @agoric/store, @endo/exo expose) ----

  const provide = (store, key, make) => {
    if (!store.has(key)) store.init(key, make(key));
    return store.get(key);
  };
  const initEmpty = () => harden({});
  const provideKindHandle = (baggage, tag) => provide(baggage, `${tag}_kindHandle`, () => kindsM.makeKindHandle(tag));
  const bigStore = (base) => (label, options) => collections.bigStore(base, label, options);
  const makeScalarBigMapStore = bigStore('scalarMapStore');
  const makeScalarBigSetStore = bigStore('scalarSetStore');
  const makeScalarBigWeakMapStore = bigStore('scalarWeakMapStore');
  const makeScalarBigWeakSetStore = bigStore('scalarWeakSetStore');
  const durable = (make) => (baggage, name, options = {}) =>
    provide(baggage, name, () => make(name, { ...options, durable: true }));
  // (Defined as functions: `defineDurableKind` is the guarded one, below.)
  function prepareKind(baggage, tag, init, behavior, options) {
    return defineDurableKind(provideKindHandle(baggage, tag), init, behavior, options);
  }
  function prepareKindMulti(baggage, tag, init, behavior, options) {
    return defineDurableKindMulti(provideKindHandle(baggage, tag), init, behavior, options);
  }
  const thisful = (options = {}) => ({ ...options, thisfulMethods: true });
  // Exo classes are kinds with thisful methods whose interface guards are enforced
  // (guards.js) on the behavior given to the kind; plain kinds are guarded only when their
  // options name an `interfaceGuard`, as upstream's VOM does.
  const guardedKind = (define) => (tag, init, behavior, options = {}) =>
    define(tag, init, defendBehavior(kindsM.tagOf(tag), behavior, options.interfaceGuard, !!options.thisfulMethods), options);
  const guardedKindMulti = (define) => (tag, init, facets, options = {}) => {
    const guards = options.interfaceGuardKit ?? options.interfaceGuard;
    return define(tag, init, defendBehaviorKit(kindsM.tagOf(tag), facets, guards, !!options.thisfulMethods), options);
  };
  const defineKind = guardedKind(kindsM.defineKind);
  const defineKindMulti = guardedKindMulti(kindsM.defineKindMulti);
  const defineDurableKind = guardedKind(kindsM.defineDurableKind);
  const defineDurableKindMulti = guardedKindMulti(kindsM.defineDurableKindMulti);
  const defineVirtualExoClass = (tag, guard, init, methods, options) =>
    defineKind(tag, init, methods, thisful({ ...options, interfaceGuard: guard }));
  const defineVirtualExoClassKit = (tag, guards, init, facets, options) =>
    defineKindMulti(tag, init, facets, thisful({ ...options, interfaceGuardKit: guards }));
  const defineDurableExoClass = (handle, guard, init, methods, options) =>
    defineDurableKind(handle, init, methods, thisful({ ...options, interfaceGuard: guard }));
  const defineDurableExoClassKit = (handle, guards, init, facets, options) =>
    defineDurableKindMulti(handle, init, facets, thisful({ ...options, interfaceGuardKit: guards }));
  const pickFacet = (maker, facetName) => (...args) => maker(...args)[facetName];
  const partialAssign = (target, source) => {
    for (const [key, value] of Object.entries(source)) {
      if (!(key in target)) throw TypeError(`partialAssign: ${JSON.stringify(key)} is not a field of the target`);
      target[key] = value;
    }
  };
  const ignoreContext = (fn) => (_context, ...args) => fn(...args);
  const prepareExoClass = (baggage, tag, guard, init, methods, options) =>
    prepareKind(baggage, tag, init, methods, thisful({ ...options, interfaceGuard: guard }));
  const prepareExoClassKit = (baggage, tag, guards, init, facets, options) =>
    prepareKindMulti(baggage, tag, init, facets, thisful({ ...options, interfaceGuardKit: guards }));
  const prepareExo = (baggage, tag, guard, methods, options) => {
    const make = prepareExoClass(baggage, tag, guard, initEmpty, methods, options);
    return provide(baggage, `the_${tag}`, () => make());
  };
  const prepareSingleton = (baggage, tag, methods, options) => {
    const make = prepareKind(baggage, tag, initEmpty, methods, options);
    return provide(baggage, `the_${tag}`, () => make());
  };
  let watcherTable;
  const providePromiseWatcher = (handle, onFulfilled = (x) => x, onRejected = (e) => { throw e; }) => {
    const make = kindsM.defineDurableKind(handle, initEmpty, {
      onFulfilled: (_ctx, v, ...args) => onFulfilled(v, ...args),
      onRejected: (_ctx, e, ...args) => onRejected(e, ...args),
    });
    if (watcherTable === undefined) {
      const id = vs.get('promiseWatcherByKindTableID');
      if (id !== undefined) {
        watcherTable = convertSlotToVal(id);
      } else {
        watcherTable = makeScalarBigMapStore('promiseWatcherByKind', { durable: true });
        vs.set('promiseWatcherByKindTableID', valToSlot.get(watcherTable));
      }
      pinnedRefs.add(valToSlot.get(watcherTable));
    }
    return provide(watcherTable, handle, () => make());
  };

  // Ephemeral (heap) exos, @endo/exo style (heap-exo.js).
  const defineExoClass = defineHeapExoClass;
  const defineExoClassKit = defineHeapExoClassKit;
  const makeExo = (tag, guard, methods, options) => defineExoClass(tag, guard, initEmpty, methods, options)();

  // Zones (@agoric/zone): one vocabulary over heap or durable storage.
  const makeHeapZone = (name = 'heapZone') => {
    const heap = makeHeapStores(Far);
    const zone = freeze({
      name,
      exoClass: defineExoClass,
      exoClassKit: defineExoClassKit,
      exo: makeExo,
      mapStore: (label) => heap.makeScalarMapStore(label),
      setStore: (label) => heap.makeScalarSetStore(label),
      weakMapStore: (label) => heap.makeScalarWeakMapStore(label),
      weakSetStore: (label) => heap.makeScalarWeakSetStore(label),
      subZone: (label) => makeHeapZone(`${name}.${label}`),
      makeOnce: (_key, make) => make(_key),
      isStorable: () => true,
      watchPromise: (p, watcher, ...args) => p.then((v) => watcher.onFulfilled?.(v, ...args), (e) => watcher.onRejected?.(e, ...args)),
    });
    return zone;
  };
  const makeDurableZone = (baggage, name = 'durableZone') => {
    const zone = freeze({
      name,
      exoClass: (tag, guard, init, methods, options) => prepareExoClass(baggage, tag, guard, init, methods, options),
      exoClassKit: (tag, guards, init, facets, options) => prepareExoClassKit(baggage, tag, guards, init, facets, options),
      exo: (tag, guard, methods, options) => prepareExo(baggage, tag, guard, methods, options),
      mapStore: (label, options) => durable(makeScalarBigMapStore)(baggage, label, options),
      setStore: (label, options) => durable(makeScalarBigSetStore)(baggage, label, options),
      weakMapStore: (label, options) => durable(makeScalarBigWeakMapStore)(baggage, label, options),
      weakSetStore: (label, options) => durable(makeScalarBigWeakSetStore)(baggage, label, options),
      subZone: (label) => makeDurableZone(durable(makeScalarBigMapStore)(baggage, label), `${name}.${label}`),
      makeOnce: (key, make) => provide(baggage, key, make),
      isStorable: checkDurable,
      watchPromise: watchers.watchPromise,
    });
    return zone;
  };

  const vatData = freeze({
    defineKind,
    defineKindMulti,
    makeKindHandle: kindsM.makeKindHandle,
    defineDurableKind,
    defineDurableKindMulti,
    provideKindHandle,
    prepareKind,
    prepareKindMulti,
    prepareExoClass,
    prepareExoClassKit,
    prepareExo,
    prepareSingleton,
    defineVirtualExoClass,
    defineVirtualExoClassKit,
    defineDurableExoClass,
    defineDurableExoClassKit,
    pickFacet,
    partialAssign,
    ignoreContext,
    makeScalarBigMapStore,
    makeScalarBigSetStore,
    makeScalarBigWeakMapStore,
    makeScalarBigWeakSetStore,
    provideDurableMapStore: durable(makeScalarBigMapStore),
    provideDurableSetStore: durable(makeScalarBigSetStore),
    provideDurableWeakMapStore: durable(makeScalarBigWeakMapStore),
    provideDurableWeakSetStore: durable(makeScalarBigWeakSetStore),
    provide,
    provideLazy: provide,
    watchPromise: watchers.watchPromise,
    providePromiseWatcher,
    canBeDurable: checkDurable,
    isStorable: checkDurable,
    initEmpty,
    defineExoClass,
    defineExoClassKit,
    makeExo,
    makeHeapZone,
    makeDurableZone,
    M,
    matches,
    mustMatch,
    ...makeHeapStores(Far),
  });

  // Eventual send: to an import or an imported promise goes to the kernel; to a local
  // object runs in a later turn; to a local promise waits for it.
  // Local handlers of HandledPromise (handled-promise.js): a presence it made, or one of
  // its promises while unsettled, to the handler its sends go to.
  const localHandlers = new WeakMap();

  function eventualSend(target, method, args) {
    const handler = target !== null && typeof target === 'object' ? localHandlers.get(target) : undefined;
    if (handler !== undefined) {
      const op = method === undefined ? handler.applyFunction : handler.applyMethod;
      if (typeof op === 'function') {
        return PromiseCtor.resolve().then(() =>
          method === undefined ? op.call(handler, target, args) : op.call(handler, target, method, args),
        );
      }
    }
    const vref = valToSlot.get(target);
    if (vref !== undefined && (vref.startsWith('o-') || importedPromises.has(vref))) {
      const rvpid = allocatePromiseID();
      const result = makeImportedPromise(rvpid);
      // `args` is hardened already, and the pair itself never leaves this function.
      syscall.send(vref, serializeToKernel([method, args]), rvpid);
      syscall.subscribe(rvpid);
      return result;
    }
    if (target instanceof PromiseCtor) {
      return target.then((t) => eventualSend(t, method, args));
    }
    return PromiseCtor.resolve().then(() => {
      // A method of undefined is a function application (`E(f)(…)`).
      if (method === undefined) {
        if (typeof target !== 'function') throw TypeError('target is not a function');
        return target(...args);
      }
      const f = target === null || target === undefined ? undefined : target[method];
      if (typeof f !== 'function') {
        throw TypeError(`target has no method ${JSON.stringify(String(method))}`);
      }
      return f.apply(target, args);
    });
  }

  function eventualGet(target, prop) {
    const handler = target !== null && typeof target === 'object' ? localHandlers.get(target) : undefined;
    if (handler !== undefined && typeof handler.get === 'function') {
      return PromiseCtor.resolve().then(() => handler.get(target, prop));
    }
    return PromiseCtor.resolve(target).then((o) => o[prop]);
  }

  const HandledPromise = makeHandledPromise({ eventualSend, eventualGet, handlers: localHandlers, harden });

  // One handler for every E() proxy; the proxy's own target records what to send to.
  const eHandler = freeze({
    get: (holder, method) => (...args) => eventualSend(holder.target, method, hardenArgs(args)),
  });
  function E(target) {
    return new ProxyCtor({ target }, eHandler);
  }
  // The rest of upstream's E: `E.when` and `E.resolve` (a promise of the value, in a later
  // turn), `E.sendOnly` (a send whose answer nobody waits for), `E.get` (an eventual
  // property read, of local objects and of records passed by copy).
  E.when = (x, onFulfilled, onRejected) => PromiseCtor.resolve(x).then(onFulfilled, onRejected);
  E.resolve = (x) => PromiseCtor.resolve(x);
  E.sendOnly = (target) => {
    const p = E(target);
    return new ProxyCtor({}, {
      get: (_h, method) => (...args) => {
        p[method](...args).catch(() => {});
      },
    });
  };
  const getHandler = freeze({
    get: (holder, prop) => eventualGet(holder.target, prop),
  });
  E.get = (target) => new ProxyCtor({ target }, getHandler);
  freeze(E);

  // Userspace vatstore: confined to "vvs." so it cannot touch liveslots' own records.
  const USER = 'vvs.';
  const checkKey = (key) => {
    if (typeof key !== 'string') throw TypeError(`vatstore keys are strings, got ${typeof key}`);
    return `${USER}${key}`;
  };
  const vatstore = freeze({
    get: (key) => syscall.vatstoreGet(checkKey(key)) ?? undefined,
    set: (key, value) => {
      if (typeof value !== 'string') throw TypeError(`vatstore values are strings, got ${typeof value}`);
      syscall.vatstoreSet(checkKey(key), value);
    },
    delete: (key) => syscall.vatstoreDelete(checkKey(key)),
    getNextKey: (prior) => {
      const next = syscall.vatstoreGetNextKey(checkKey(prior));
      return typeof next === 'string' && next.startsWith(USER) ? next.slice(USER.length) : undefined;
    },
  });

  const vatPowers = freeze({
    exitVat: (completion) => syscall.exit(false, serializeToKernel(completion)),
    exitVatWithFailure: (reason) => syscall.exit(true, serializeToKernel(reason)),
    vatstore,
    // Only the vat-admin vat may use this (the kernel refuses it from any other vat).
    kernelHook: (name, ...args) => m.unserialize(syscall.kernelHook(name, serializeToKernel(harden(args)))),
  });

  // ---- deliveries ----

  function deliverMessage(targetVref, methargs, result) {
    // A virtual or durable object needs no live representative: one is made from the
    // vatstore (and freed again when no longer used).
    const target = lookup(targetVref) ?? (isVirtual(targetVref) ? kindsM.reanimate(targetVref) : undefined);
    if (target === undefined) throw Error(`liveslots: message to unknown ${targetVref}`);
    // Indexing rather than destructuring: QuickJS destructures arrays through the iterator
    // protocol, which is slow on a path every message takes.
    // Arguments that do not decode are the sender's fault: the message is rejected and
    // the vat goes on (before any of its code ran).
    let ma;
    try {
      ma = m.unserialize(methargs);
      if (!isArray(ma) || ma.length !== 2) throw TypeError('methargs must be [method, args]');
    } catch (e) {
      if (result) resolveVpid(result, true, Error(`bad message: ${e && e.message}`));
      return;
    }
    const answer = eventualSend(target, ma[0], ma[1]);
    if (result) {
      // The vat decides the result promise from now on.
      answer.then(
        (v) => resolveVpid(result, false, v),
        (e) => resolveVpid(result, true, e),
      );
    }
  }

  /** @param resolutions [{ vpid, rejected, data }] */
  function deliverNotify(resolutions) {
    // Unserialize every resolution before settling any, so data that names a promise
    // resolved by the same notify sees it as a known promise.
    // Data that does not decode (nested too deep, say) is another vat's doing: the
    // promise is rejected with the reason, and this vat goes on.
    const values = [];
    const bad = [];
    for (let i = 0; i < resolutions.length; i += 1) {
      try {
        values.push(m.unserialize(resolutions[i].data));
        bad.push(false);
      } catch (e) {
        values.push(Error(`bad resolution data: ${e && e.message}`));
        bad.push(true);
      }
    }
    for (let i = 0; i < resolutions.length; i += 1) {
      const { vpid, rejected } = resolutions[i];
      const kit = importedPromises.get(vpid);
      if (kit === undefined) continue;
      if (rejected || bad[i]) kit.reject(values[i]);
      else kit.resolve(values[i]);
      retirePromise(vpid, kit.promise);
    }
  }

  // The same code starts the first incarnation and every later one: counters and
  // baggage come from the vatstore; kinds of earlier incarnations must be redefined.
  async function startVat(vatParameters) {
    if (typeof loadVat !== 'function') throw Error('liveslots: no vat code to start');
    loadCounters();
    const baggage = collections.provideBaggage();
    pinnedRefs.add(valToSlot.get(baggage));
    const watcherTableID = vs.get('promiseWatcherByKindTableID');
    if (watcherTableID !== undefined) pinnedRefs.add(watcherTableID);
    let ns;
    try {
      ns = await loadVat();
    } catch (e) {
      // Name the module (and line) that failed: an upgrade's error must say where.
      const at = /((?:vat\/)?[\w./@-]+\.js):(\d+)/.exec(String(e && e.stack));
      const where = at ? ` (in ${at[1].replace(/^vat\//, '')} line ${at[2]})` : '';
      throw Error(`cannot load the vat's code: ${e && e.name}${where}: ${e && e.message}`);
    }
    if (typeof ns.buildRootObject !== 'function') {
      throw Error('the vat module does not export buildRootObject');
    }
    const params = m.unserialize(vatParameters);
    const root = await ns.buildRootObject(vatPowers, params, baggage);
    if (passStyleOf(root) !== 'remotable') {
      throw Error(`buildRootObject must return a Far object, got ${passStyleOf(root)}`);
    }
    const rootVref = valToSlot.get(root);
    if (rootVref !== undefined && isVirtual(rootVref)) {
      throw Error('buildRootObject must return an ephemeral object, not a virtual or durable one');
    }
    register('o+0', root);
    reachableExports.set('o+0', root);
    watchers.revive();
    kindsM.insistAllDurableKindsReconnected();
    flush();
  }

  // Virtual objects and store entries of earlier incarnations deleted per reap: enough to
  // keep up with any vat, few enough that one reap stays small.
  const OLD_GARBAGE_PER_REAP = 200;

  // Set once no earlier incarnation's virtual garbage is left (cleared at each upgrade).
  const SWEPT = 'vom.oldGarbageSwept';

  async function bringOutYourDead() {
    // An earlier incarnation's virtual garbage, a budget's worth at a time.
    if (vs.get(SWEPT) === undefined) {
      let budget = OLD_GARBAGE_PER_REAP;
      budget -= collections.sweepOld(firstIDs.collectionID, budget);
      const old = kindsM.oldInstances(firstIDs.exportID, Math.max(budget, 0));
      for (const baseRef of old) gc.possiblyDead(baseRef);
      if (budget === OLD_GARBAGE_PER_REAP && old.length === 0) vs.set(SWEPT, '1');
    }
    // Heap exports the kernel dropped are retired once they are gone.
    for (const vref of droppedExports) gc.possiblyDead(vref);
    // The host collects garbage (finalizers then run as jobs) before gc.js decides.
    const retire = await gc.collect(gcAndFinalize);
    if (retire.length > 0) syscall.retireExports(retire);
    flush();
  }

  /**
   * Handles one delivery. For startVat and bringOutYourDead, returns a promise that settles
   * when the delivery's own work is done; the others finish synchronously (and return
   * undefined), leaving only the vat's own promise jobs, which the host drains.
   */
  function dispatch(d) {
    switch (d.type) {
      case 'message':
        deliverMessage(d.target, d.methargs, d.result);
        return undefined;
      case 'notify':
        deliverNotify(d.resolutions);
        return undefined;
      case 'dropExports':
        for (const vref of d.vrefs) {
          if (isVirtual(vref)) {
            gc.dropped(vref);
          } else {
            reachableExports.delete(vref);
            droppedExports.add(vref);
          }
        }
        return undefined;
      case 'retireExports':
        for (const vref of d.vrefs) {
          if (isVirtual(vref)) {
            gc.retired(vref);
            continue;
          }
          // The kernel forgets it; the vat may still hold it (in its heap, or named by
          // stored data), so its vref stays (as upstream's retireOneExport).
          droppedExports.delete(vref);
        }
        return undefined;
      case 'retireImports':
        for (const vref of d.vrefs) {
          const v = lookup(vref);
          if (v !== undefined) valToSlot.delete(v);
          slotToVal.delete(vref);
          // Weak stores keyed by it forget it (the kernel will not name it again).
          gc.importRetired(vref);
        }
        return undefined;
      case 'startVat':
        return startVat(d.vatParameters);
      case 'bringOutYourDead':
        return bringOutYourDead();
      default:
        throw Error(`liveslots: unknown delivery ${JSON.stringify(d.type)}`);
    }
  }

  return freeze({
    dispatch,
    deliverMessage,
    deliverNotify,
    flush,
    E,
    HandledPromise,
    Far,
    Remotable,
    passStyleOf,
    getInterfaceOf,
    vatPowers,
    vatData,
  });
}

// { promise, resolve, reject }: QuickJS has Promise.withResolvers (one native call, no
// executor closure); older hosts (the Node tests') get the same record the long way.
const newPromiseKit =
  typeof PromiseCtor.withResolvers === 'function'
    ? () => PromiseCtor.withResolvers()
    : () => {
        const kit = {};
        kit.promise = new PromiseCtor((resolve, reject) => {
          kit.resolve = resolve;
          kit.reject = reject;
        });
        return kit;
      };

// `harden` as far as this runtime needs: a deep freeze of plain data. (Indexed loops: a
// `for…of` goes through the iterator protocol.)
export function harden(v) {
  if (v !== null && (typeof v === 'object' || typeof v === 'function') && !isFrozen(v)) {
    freeze(v);
    const ks = ownKeys(v);
    for (let i = 0; i < ks.length; i += 1) {
      const d = getOwnPropertyDescriptor(v, ks[i]);
      if (d && 'value' in d) harden(d.value);
    }
  }
  return v;
}

// `harden` of a rest-parameter array, which the engine makes with data elements only: they
// are read directly rather than through a descriptor each.
function hardenArgs(args) {
  freeze(args);
  for (let i = 0; i < args.length; i += 1) harden(args[i]);
  return args;
}
