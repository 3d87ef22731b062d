// Garbage collection of the vat's objects (upstream's virtualReferences.js and boyd-gc.js,
// in behaviour). An object stays while any of its pillars stands:
//   RAM     a live JS object for it: a presence, a representative (of any facet), a
//           remotable
//   vdata   virtual or durable data naming it: `vom.rc.<baseRef>` counts the references
//           from state records, store entries (keys and values of strong stores, values of
//           weak ones) and watcher records
//   export  the kernel can reach it: `vom.es.<vref>` is 'r' (reachable) or 's' (dropped
//           by the kernel, still recognizable) for virtual and durable objects; heap
//           remotables the kernel reaches are held in memory by liveslots
// Weak stores only *recognize* their keys: `vom.ir.<vref>` lists (JSON, sorted) the
// virtual and durable weak stores with an entry keyed by the object. (A record per object
// rather than a key per entry: the GC's questions are then point reads, never scans.)
//
// At bringOutYourDead, after a full GC, in sorted order and until nothing more falls:
//  - a virtual or durable object with no pillar is deleted: its state or its entries go
//    (releasing what they named, which may make more fall), entries of weak stores keyed
//    by it go, and the vrefs the kernel could still recognize are retired;
//  - an import with no RAM or vdata pillar is dropped, and retired when no weak store
//    recognizes it (else when the last such entry goes, or when the kernel retires it);
//  - a heap remotable that is gone leaves the weak stores that it keyed.
// Syscalls are made only there, in upstream's order: dropImports, retireImports,
// retireExports. Outside bringOutYourDead this module only reads and writes the vatstore.
//
// Vats whose data predates this module (their vatstore has `idCounters` but no
// `vom.gcVersion`) never had their references to virtual objects counted: their virtual
// and durable objects are never deleted (imports are handled as before).

const { freeze } = Object;
const rcKey = (r) => `vom.rc.${r}`;
const esKey = (vref) => `vom.es.${vref}`;
const irKey = (vref) => `vom.ir.${vref}`;
export const GC_VERSION_KEY = 'vom.gcVersion';

/** `o+v3/7:1` → `o+v3/7`. */
export const baseRefOf = (vref) => {
  const i = vref.indexOf(':');
  return i < 0 ? vref : vref.slice(0, i);
};

export function makeGC(deps) {
  const { vs, lookup, presenceHeld, forget, isVirtual, syscall } = deps;
  // Set by liveslots once the kinds and stores exist.
  let objects; // { facetVrefs(baseRef), pinned(baseRef), isOld(baseRef), delete(baseRef) }
  let weakEntries; // { delete(collectionID, keyVref) }: removes one weak store entry
  let heap; // { kernelRecognizes(vref), retired(vref) }: heap remotables the kernel dropped
  let collecting = true; // false for a vat whose data predates counting (see above)

  const possiblyDead = new Set(); // baseRefs and vrefs whose pillars may all be down
  const possiblyRetired = new Set(); // imports that may no longer be recognized
  // This incarnation's virtual (not durable) objects ever exported, or ever keying a weak
  // store: only those can have `vom.es` or `vom.ir` records (an earlier incarnation's are
  // all garbage), so deleting any other reads neither.
  const exportedHere = new Set();
  const recognizedHere = new Set();
  const mayHave = (set, vref, old) => old || !vref.startsWith('o+v') || set.has(vref);

  const scanPrefix = (prefix, each) => {
    let k = vs.getNextKey(prefix);
    while (k !== undefined && k.startsWith(prefix)) {
      const next = vs.getNextKey(k);
      each(k);
      k = next;
    }
  };

  // ---- the vdata pillar ----

  function addRef(vref) {
    const key = rcKey(baseRefOf(vref));
    vs.set(key, String(Number(vs.get(key) ?? '0') + 1));
  }

  function removeRef(vref) {
    const base = baseRefOf(vref);
    const key = rcKey(base);
    const n = Number(vs.get(key) ?? '0') - 1;
    if (n > 0) {
      vs.set(key, String(n));
    } else {
      vs.delete(key);
      possiblyDead.add(base);
    }
  }

  const hasRefs = (baseRef) => vs.get(rcKey(baseRef)) !== undefined;

  // ---- the export pillar (virtual and durable objects) ----

  function exported(vref) {
    if (vref.startsWith('o+v')) exportedHere.add(vref);
    if (vs.get(esKey(vref)) !== 'r') vs.set(esKey(vref), 'r');
  }

  function dropped(vref) {
    if (vs.get(esKey(vref)) === 'r') {
      vs.set(esKey(vref), 's');
      possiblyDead.add(baseRefOf(vref));
    }
  }

  function retired(vref) {
    vs.delete(esKey(vref));
  }

  // ---- recognizers (weak store keys) ----

  const recognizers = (vref) => {
    const raw = vs.get(irKey(vref));
    return raw === undefined ? [] : JSON.parse(raw);
  };

  function recognize(vref, collectionID) {
    if (vref.startsWith('o+v')) recognizedHere.add(vref);
    const ids = recognizers(vref);
    if (ids.includes(collectionID)) return;
    ids.push(collectionID);
    vs.set(irKey(vref), JSON.stringify(ids.sort((a, b) => a - b)));
  }

  function unrecognize(vref, collectionID) {
    const ids = recognizers(vref).filter((id) => id !== collectionID);
    if (ids.length > 0) vs.set(irKey(vref), JSON.stringify(ids));
    else vs.delete(irKey(vref));
    if (vref.startsWith('o-')) possiblyRetired.add(vref);
  }

  const isRecognized = (vref) => vs.get(irKey(vref)) !== undefined;

  /** Deletes every weak store entry keyed by `vref` (and its recognizer record). */
  function ceaseRecognition(vref, old = false) {
    if (!mayHave(recognizedHere, vref, old)) return;
    recognizedHere.delete(vref);
    const ids = recognizers(vref);
    if (ids.length === 0) return;
    vs.delete(irKey(vref));
    for (const id of ids) weakEntries.delete(id, vref);
  }

  // ---- deciding ----

  /**
   * Deletes virtual or durable object `baseRef` if no pillar holds it (`old`: an earlier
   * incarnation's virtual object, garbage whatever it says); returns the vrefs the kernel
   * must forget (those it could still recognize), or undefined if the object stays.
   */
  function collectObject(baseRef, old) {
    if (!old && objects.pinned(baseRef)) return undefined;
    const facets = objects.facetVrefs(baseRef);
    if (!old) {
      for (const v of facets) if (lookup(v) !== undefined) return undefined;
      if (hasRefs(baseRef)) return undefined;
    }
    const statuses = facets.map((v) => (mayHave(exportedHere, v, old) ? vs.get(esKey(v)) : undefined));
    if (!old && statuses.includes('r')) return undefined;
    const retire = [];
    facets.forEach((v, i) => {
      if (statuses[i] === undefined) return;
      // The kernel abandoned an earlier incarnation's virtual exports already.
      if (statuses[i] === 's' && !old) retire.push(v);
      vs.delete(esKey(v));
    });
    if (old) {
      vs.delete(rcKey(baseRef));
      // Its kind's facets are not known any more: any facet's record goes.
      scanPrefix(`${esKey(baseRef)}:`, (k) => vs.delete(k));
    }
    objects.delete(baseRef);
    for (const v of facets) {
      forget(v);
      exportedHere.delete(v);
      ceaseRecognition(v, old);
    }
    return retire;
  }

  /**
   * bringOutYourDead's collection (see the top of this file). `gcAndFinalize` runs a full
   * GC and lets finalizers run.
   */
  async function collect(gcAndFinalize) {
    await gcAndFinalize();
    const drop = new Set();
    const retireImports = new Set();
    const retireExports = new Set();
    while (possiblyDead.size > 0) {
      const batch = [...possiblyDead].sort();
      possiblyDead.clear();
      for (const r of batch) {
        if (isVirtual(r)) {
          if (!collecting) continue;
          for (const v of collectObject(r, objects.isOld(r)) ?? []) retireExports.add(v);
        } else if (r.startsWith('o-')) {
          // An import: dropped once neither a presence (until its finalizer ran: see
          // liveslots' `registry`) nor stored data holds it.
          if (!presenceHeld(r) && !hasRefs(r) && !drop.has(r)) {
            drop.add(r);
            possiblyRetired.add(r);
          }
        } else if (lookup(r) === undefined) {
          // A heap remotable that is gone: weak stores forget it, and so may the kernel.
          forget(r);
          ceaseRecognition(r);
          if (heap.kernelRecognizes(r)) {
            heap.retired(r);
            retireExports.add(r);
          }
        }
      }
    }
    for (const v of [...possiblyRetired].sort()) {
      possiblyRetired.delete(v);
      const reachable = !drop.has(v) && (presenceHeld(v) || hasRefs(v));
      if (!reachable && !isRecognized(v)) retireImports.add(v);
    }
    if (drop.size > 0) syscall.dropImports([...drop].sort());
    if (retireImports.size > 0) syscall.retireImports([...retireImports].sort());
    return [...retireExports].sort();
  }

  return freeze({
    addRef,
    removeRef,
    hasRefs,
    exported,
    dropped,
    retired,
    recognize,
    unrecognize,
    isRecognized,
    ceaseRecognition,
    possiblyDead: (r) => possiblyDead.add(r),
    /** The kernel retired import `vref`: the weak stores it keyed forget it. */
    importRetired(vref) {
      ceaseRecognition(vref);
      possiblyRetired.delete(vref);
      possiblyDead.delete(vref);
    },
    collect,
    connect(parts) {
      ({ objects, weakEntries, heap } = parts);
    },
    /** At startVat: whether this vat's references have always been counted. */
    startCounting(firstIncarnation) {
      if (firstIncarnation) vs.set(GC_VERSION_KEY, '1');
      collecting = vs.get(GC_VERSION_KEY) !== undefined;
    },
  });
}
