// Liveslots: the vat side of the kernel protocol. It turns deliveries into calls on the
// vat's objects, and the vat's eventual sends, promise resolutions and garbage into
// syscalls. One instance per vat incarnation (one QuickJS runtime).
//
// Names: the vat's exports are "o+N" (root "o+0"), its promises "p+N"; imports are
// "o-N"/"p-N", named by the kernel. Reference: upstream swingset-liveslots (behaviour only).
//
// Determinism: no iteration over weak collections; garbage is *reported* only at
// bringOutYourDead, in sorted vref order, after the host has run a full GC.

import { Far, Remotable, passStyleOf, makeMarshal, getInterfaceOf } from './marshal.js';

const { freeze } = Object;

/**
 * @param syscall  { send, subscribe, resolve, exit, dropImports, retireImports,
 *                   retireExports, vatstoreGet, vatstoreSet, vatstoreDelete, vatstoreGetNextKey }
 * @param options  { gcAndFinalize(): Promise — run a full GC and let finalizers run;
 *                   loadVat(): namespace with buildRootObject }
 */
export function makeLiveSlots(syscall, { gcAndFinalize = async () => {}, loadVat, onFatal = () => {} } = {}) {
  let nextExportID = 1;
  let nextPromiseID = 5;
  const valToSlot = new WeakMap(); // value -> vref
  const slotToVal = new Map(); // vref -> WeakRef(value)
  const reachableExports = new Map(); // vref -> value: exports the kernel can reach (strong)
  const droppedExports = new Set(); // vrefs the kernel dropped (may be retired once dead)
  const importedPromises = new Map(); // vpid -> { resolve, reject } for promises others decide
  const deadImports = new Set(); // presences collected since the last reap
  const registry = new FinalizationRegistry((vref) => deadImports.add(vref));

  function register(vref, v) {
    valToSlot.set(v, vref);
    slotToVal.set(vref, new WeakRef(v));
  }

  function lookup(vref) {
    const w = slotToVal.get(vref);
    return w === undefined ? undefined : w.deref();
  }

  // A promise this vat decides, exported as p+N: its settlement is reported once.
  function exportPromise(p) {
    const vpid = `p+${nextPromiseID++}`;
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
    // QuickJS reports a native stack overflow as a catchable RangeError. One that escapes to
    // a result is fatal to the delivery: the depth at which it happens depends on the
    // native stack, which no vat should be able to turn into an answer.
    if (rejected && value instanceof RangeError && /call stack/.test(value.message)) {
      onFatal(`stack overflow: ${value.message}`);
      return;
    }
    let data;
    try {
      data = m.serialize(value);
    } catch (e) {
      // An unpassable answer rejects the promise instead of breaking the vat.
      rejected = true;
      data = m.serialize(Error(`unpassable result: ${e.message}`));
    }
    syscall.resolve([[vpid, rejected, data]]);
  }

  function convertValToSlot(v) {
    const known = valToSlot.get(v);
    if (known !== undefined) {
      if (known.startsWith('o+')) {
        reachableExports.set(known, v); // re-exported after a drop: reachable again
        droppedExports.delete(known);
      }
      return known;
    }
    switch (passStyleOf(v)) {
      case 'remotable': {
        const vref = `o+${nextExportID++}`;
        register(vref, v);
        reachableExports.set(vref, v);
        return vref;
      }
      case 'promise':
        return exportPromise(v);
      default:
        throw TypeError('only remotables and promises become slots');
    }
  }

  function makeImportedPromise(vpid) {
    let kit;
    const p = new Promise((resolve, reject) => {
      kit = { resolve, reject };
    });
    register(vpid, p);
    importedPromises.set(vpid, kit);
    return p;
  }

  function convertSlotToVal(vref, iface) {
    const known = lookup(vref);
    if (known !== undefined) return known;
    if (vref.startsWith('o-')) {
      const presence = Remotable(iface ?? 'Alleged: presence', undefined, {});
      register(vref, presence);
      registry.register(presence, vref);
      deadImports.delete(vref);
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

  // Eventual send: to an import or an imported promise goes to the kernel; to a local
  // object runs in a later turn; to a local promise waits for it.
  function eventualSend(target, method, args) {
    const vref = valToSlot.get(target);
    if (vref !== undefined && (vref.startsWith('o-') || importedPromises.has(vref))) {
      const result = makeImportedPromise(`p+${nextPromiseID++}`);
      const rvpid = valToSlot.get(result);
      syscall.send(vref, m.serialize(harden([method, args])), rvpid);
      syscall.subscribe(rvpid);
      return result;
    }
    if (target instanceof Promise) {
      return target.then((t) => eventualSend(t, method, args));
    }
    return Promise.resolve().then(() => {
      const f = target === null || target === undefined ? undefined : target[method];
      if (typeof f !== 'function') {
        throw TypeError(`target has no method ${JSON.stringify(String(method))}`);
      }
      return f.apply(target, args);
    });
  }

  function E(target) {
    return new Proxy(
      {},
      {
        get: (_, method) => (...args) => eventualSend(target, method, harden(args)),
      },
    );
  }

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
    exitVat: (completion) => syscall.exit(false, m.serialize(completion)),
    exitVatWithFailure: (reason) => syscall.exit(true, m.serialize(reason)),
    vatstore,
    // Only the vat-admin vat may use this (the kernel refuses it from any other vat).
    kernelHook: (name, ...args) => m.unserialize(syscall.kernelHook(name, m.serialize(harden(args)))),
  });

  // ---- deliveries ----

  function deliverMessage(targetVref, methargs, result) {
    const target = lookup(targetVref);
    if (target === undefined) throw Error(`liveslots: message to unknown ${targetVref}`);
    const [method, args] = m.unserialize(methargs);
    const answer = eventualSend(target, method, args);
    if (result) {
      // The vat decides the result promise from now on.
      answer.then(
        (v) => resolveVpid(result, false, v),
        (e) => resolveVpid(result, true, e),
      );
    }
  }

  function deliverNotify(resolutions) {
    // Unserialize every resolution before settling any, so data that names a promise
    // resolved by the same notify sees it as a known promise.
    const settled = resolutions.map(([vpid, rejected, data]) => [vpid, rejected, m.unserialize(data)]);
    for (const [vpid, rejected, value] of settled) {
      const kit = importedPromises.get(vpid);
      if (kit === undefined) continue;
      const p = lookup(vpid);
      if (rejected) kit.reject(value);
      else kit.resolve(value);
      retirePromise(vpid, p);
    }
  }

  async function startVat(vatParameters) {
    if (typeof loadVat !== 'function') throw Error('liveslots: no vat code to start');
    const ns = await loadVat();
    if (typeof ns.buildRootObject !== 'function') {
      throw Error('the vat module does not export buildRootObject');
    }
    const params = m.unserialize(vatParameters);
    const root = await ns.buildRootObject(vatPowers, params, undefined);
    if (passStyleOf(root) !== 'remotable') {
      throw Error(`buildRootObject must return a Far object, got ${passStyleOf(root)}`);
    }
    register('o+0', root);
    reachableExports.set('o+0', root);
  }

  async function bringOutYourDead() {
    // The host collects garbage; finalizers then run as jobs, before this continues.
    await gcAndFinalize();
    const dead = [...deadImports].filter((v) => lookup(v) === undefined).sort();
    deadImports.clear();
    for (const vref of dead) slotToVal.delete(vref);
    if (dead.length > 0) {
      syscall.dropImports(dead);
      // Nothing can recognise a collected presence (no weak collections hold it).
      syscall.retireImports(dead);
    }
    const gone = [...droppedExports].filter((v) => lookup(v) === undefined).sort();
    for (const vref of gone) {
      droppedExports.delete(vref);
      slotToVal.delete(vref);
    }
    if (gone.length > 0) syscall.retireExports(gone);
  }

  /**
   * Handles one delivery. Returns a promise that settles when the delivery's own work is
   * done; the host drains the job queue and then checks it.
   */
  function dispatch(d) {
    switch (d.type) {
      case 'message':
        deliverMessage(d.target, d.methargs, d.result);
        return Promise.resolve();
      case 'notify':
        deliverNotify(d.resolutions.map((r) => [r.vpid, r.rejected, r.data]));
        return Promise.resolve();
      case 'dropExports':
        for (const vref of d.vrefs) {
          reachableExports.delete(vref);
          droppedExports.add(vref);
        }
        return Promise.resolve();
      case 'retireExports':
        for (const vref of d.vrefs) {
          const v = lookup(vref);
          if (v !== undefined) valToSlot.delete(v);
          slotToVal.delete(vref);
          droppedExports.delete(vref);
        }
        return Promise.resolve();
      case 'retireImports':
        for (const vref of d.vrefs) {
          const v = lookup(vref);
          if (v !== undefined) valToSlot.delete(v);
          slotToVal.delete(vref);
        }
        return Promise.resolve();
      case 'startVat':
        return startVat(d.vatParameters);
      case 'bringOutYourDead':
        return bringOutYourDead();
      default:
        return Promise.reject(Error(`liveslots: unknown delivery ${JSON.stringify(d.type)}`));
    }
  }

  return freeze({ dispatch, E, Far, Remotable, passStyleOf, getInterfaceOf, vatPowers });
}

// `harden` as far as this runtime needs: a deep freeze of plain data.
export function harden(v) {
  if (v !== null && (typeof v === 'object' || typeof v === 'function') && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, k);
      if (d && 'value' in d) harden(d.value);
    }
  }
  return v;
}
