// The virtual object manager: kinds whose instances keep their state in the vatstore, not
// in the JS heap. A virtual kind (`defineKind`) lives for one incarnation; a durable kind
// (`makeKindHandle` + `defineDurableKind`) outlives upgrades and must be redefined by every
// later incarnation, with compatible facets and state shape.
//
// Names: instances are `o+vK/I` (virtual) or `o+dK/I` (durable), facet F of a multi-facet
// instance `…:F`; kind handles are `o+d1/K`. Vatstore records (liveslots' own, outside the
// user's `vvs.` space):
//   vom.dkind.<K>.descriptor  {kindID, tag, nextInstanceID, unfaceted | facets, stateShapeCapData?,
//                             shapeTagged? (the shape is in tagged patterns, not the legacy records)}
//   vom.<baseRef>             JSON {property: capdata} — the instance's state
//
// Invariant: a representative (the JS object for an instance) holds no strong reference to
// itself or to its facets — `self` and `facets` are looked up on use — so an unreferenced
// representative is freed at once by refcounting, whatever the number of instances.

import { matches } from './patterns.js';
import { sameAsLegacyPattern } from './legacy-patterns.js';
import { methodEntries, defineMethod } from './guards.js';

const { freeze, keys, entries } = Object;

export const KIND_HANDLE_KIND = 1;
const STATE_CACHE_SIZE = 64;

export function makeKindManager(deps) {
  const { vs, allocateExportID, register, lookup, vrefOf, serialize, unserialize, Far } = deps;
  const { checkDurable, addDataRefs, removeDataRefs } = deps;

  const kinds = new Map(); // kindID -> kind record
  const dirtyDescriptors = new Set(); // kindIDs whose descriptor must be written

  // ---- descriptors ----

  const descriptorKey = (kindID) => `vom.dkind.${kindID}.descriptor`;

  function descriptor(kindID) {
    const k = kinds.get(kindID);
    if (k) return k.descriptor;
    const raw = vs.get(descriptorKey(kindID));
    return raw === undefined ? undefined : JSON.parse(raw);
  }

  function saveDescriptor(kind) {
    vs.set(descriptorKey(kind.kindID), JSON.stringify(kind.descriptor));
    dirtyDescriptors.delete(kind.kindID);
  }

  /** Writes what changed since the last delivery (instance counters). */
  function flush() {
    // (The host calls this after every delivery; nearly always there is nothing to do.)
    if (dirtyDescriptors.size === 0) return;
    for (const kindID of [...dirtyDescriptors].sort((a, b) => a - b)) {
      saveDescriptor(kinds.get(kindID));
    }
  }

  // ---- state records (write-through, small LRU read cache) ----

  const cache = new Map(); // baseRef -> record {prop: capdata}

  function readRecord(baseRef) {
    let rec = cache.get(baseRef);
    if (rec !== undefined) {
      cache.delete(baseRef);
    } else {
      const raw = vs.get(`vom.${baseRef}`);
      if (raw === undefined) throw Error(`no state for ${baseRef} (it was deleted)`);
      rec = JSON.parse(raw);
    }
    cache.set(baseRef, rec);
    if (cache.size > STATE_CACHE_SIZE) cache.delete(cache.keys().next().value);
    return rec;
  }

  function writeRecord(baseRef, rec) {
    vs.set(`vom.${baseRef}`, JSON.stringify(rec));
    cache.delete(baseRef);
    cache.set(baseRef, rec);
    if (cache.size > STATE_CACHE_SIZE) cache.delete(cache.keys().next().value);
  }

  function checkShape(kind, prop, value) {
    const shape = kind.stateShape;
    if (shape === undefined) return;
    if (!Object.hasOwn(shape, prop)) {
      throw TypeError(`state of kind "${kind.tag}" has no property "${prop}" in its stateShape`);
    }
    if (!matches(value, shape[prop])) {
      throw TypeError(`value for "${prop}" does not match the stateShape of kind "${kind.tag}"`);
    }
  }

  function encodeProp(kind, prop, value) {
    if (kind.durable && !checkDurable(value)) {
      throw TypeError(`value for "${prop}" is not durable (kind "${kind.tag}" is durable)`);
    }
    checkShape(kind, prop, value);
    return serialize(value);
  }

  // The `state` of one instance: an accessor per property; new properties cannot be added.
  function makeState(kind, baseRef, props) {
    const state = {};
    for (const prop of props) {
      Object.defineProperty(state, prop, {
        enumerable: true,
        get: () => unserialize(readRecord(baseRef)[prop]),
        set: (value) => {
          const data = encodeProp(kind, prop, value);
          const rec = { ...readRecord(baseRef) };
          const old = rec[prop];
          rec[prop] = data;
          addDataRefs(data.slots);
          writeRecord(baseRef, rec);
          removeDataRefs(old.slots);
        },
      });
    }
    return Object.seal(state);
  }

  // ---- representatives ----

  function facetVref(baseRef, i) {
    return `${baseRef}:${i}`;
  }

  function makeFacet(kind, baseRef, props, methods, name) {
    const ctx = { state: makeState(kind, baseRef, props) };
    if (kind.facetNames) {
      Object.defineProperty(ctx, 'facets', { get: () => cohort(kind, baseRef) });
    } else {
      Object.defineProperty(ctx, 'self', { get: () => reanimate(baseRef) });
    }
    freeze(ctx);
    const obj = {};
    for (const [m, fn] of methodEntries(methods)) {
      defineMethod(obj, m, kind.thisful ? (...args) => fn.apply(ctx, args) : (...args) => fn(ctx, ...args));
    }
    return { rep: Far(name, obj), ctx };
  }

  /** The facets record of a multi-facet instance (each facet looked up or revived). */
  function cohort(kind, baseRef) {
    const out = {};
    kind.facetNames.forEach((name, i) => {
      out[name] = reanimate(facetVref(baseRef, i));
    });
    return freeze(out);
  }

  function parseVref(vref) {
    const m = /^o\+([vd])(\d+)\/(\d+)(?::(\d+))?$/.exec(vref);
    if (!m) return undefined;
    return { durable: m[1] === 'd', kindID: Number(m[2]), instance: Number(m[3]), facet: m[4] };
  }

  /** The live representative of `vref`, or a new one built from the vatstore. */
  function reanimate(vref) {
    const live = lookup(vref);
    if (live !== undefined) return live;
    const p = parseVref(vref);
    if (p === undefined) throw Error(`liveslots: ${vref} is not a virtual object`);
    if (p.kindID === KIND_HANDLE_KIND) return reviveHandle(p.instance);
    const revive = deps.reviveOther(vref, p);
    if (revive !== undefined) return revive;
    const kind = kinds.get(p.kindID);
    if (kind === undefined || !kind.defined) {
      const d = p.durable ? descriptor(p.kindID) : undefined;
      const tag = d ? ` (tag "${d.tag}")` : '';
      throw Error(`cannot revive ${vref}: its kind ${p.kindID}${tag} is not defined in this incarnation`);
    }
    const baseRef = `o+${p.durable ? 'd' : 'v'}${p.kindID}/${p.instance}`;
    const props = keys(readRecord(baseRef));
    if (kind.facetNames) {
      const i = Number(p.facet);
      const name = kind.facetNames[i];
      if (name === undefined) throw Error(`cannot revive ${vref}: kind "${kind.tag}" has no facet ${p.facet}`);
      const { rep } = makeFacet(kind, baseRef, props, kind.behavior[name], `${kind.tag} ${name}`);
      register(vref, rep);
      return rep;
    }
    const { rep } = makeFacet(kind, baseRef, props, kind.behavior, kind.tag);
    register(vref, rep);
    return rep;
  }

  // ---- kinds ----

  function makeMaker(kind) {
    const { init = () => ({}) } = kind;
    return (...args) => {
      const initial = init(...args);
      if (initial === null || typeof initial !== 'object' || Array.isArray(initial)) {
        throw TypeError(`init of kind "${kind.tag}" must return a record, got ${typeof initial}`);
      }
      const instance = kind.descriptor.nextInstanceID;
      kind.descriptor.nextInstanceID += 1;
      if (kind.durable) dirtyDescriptors.add(kind.kindID);
      const baseRef = `o+${kind.durable ? 'd' : 'v'}${kind.kindID}/${instance}`;
      const rec = {};
      const props = keys(initial).sort();
      if (kind.stateShape) {
        for (const prop of keys(kind.stateShape)) {
          if (!Object.hasOwn(initial, prop) && !matches(undefined, kind.stateShape[prop])) {
            throw TypeError(`init of kind "${kind.tag}" is missing "${prop}" of its stateShape`);
          }
        }
      }
      for (const prop of props) rec[prop] = encodeProp(kind, prop, initial[prop]);
      for (const prop of props) addDataRefs(rec[prop].slots);
      writeRecord(baseRef, rec);
      let result;
      if (kind.facetNames) {
        const facets = {};
        const ctxs = [];
        kind.facetNames.forEach((name, i) => {
          const { rep, ctx } = makeFacet(kind, baseRef, props, kind.behavior[name], `${kind.tag} ${name}`);
          register(facetVref(baseRef, i), rep);
          facets[name] = rep;
          ctxs.push(ctx);
        });
        result = freeze(facets);
        if (kind.finish) kind.finish(ctxs[0]);
      } else {
        const { rep, ctx } = makeFacet(kind, baseRef, props, kind.behavior, kind.tag);
        register(baseRef, rep);
        result = rep;
        if (kind.finish) kind.finish(ctx);
      }
      return result;
    };
  }

  function checkBehavior(tag, behavior, multi) {
    if (behavior === null || typeof behavior !== 'object') {
      throw TypeError(`behavior of kind "${tag}" must be an object of methods`);
    }
    if (multi) {
      for (const [name, facet] of entries(behavior)) {
        if (facet === null || typeof facet !== 'object') {
          throw TypeError(`facet "${name}" of kind "${tag}" must be an object of methods`);
        }
      }
    }
  }

  function defineKindInternal(tag, init, behavior, options = {}, multi = false) {
    if (typeof tag !== 'string') throw TypeError('a kind tag must be a string');
    checkBehavior(tag, behavior, multi);
    const kindID = allocateExportID();
    const kind = {
      kindID,
      tag,
      durable: false,
      defined: true,
      init,
      behavior,
      thisful: !!options.thisfulMethods,
      finish: options.finish,
      facetNames: multi ? keys(behavior).sort() : undefined,
      stateShape: options.stateShape,
      descriptor: { kindID, tag, nextInstanceID: 1 },
    };
    kinds.set(kindID, kind);
    return makeMaker(kind);
  }

  // Kind handles: durable objects of kind 1, one per durable kind.
  function makeHandleRep(kindID, tag) {
    const h = Far('kind handle', { getTag: () => tag });
    register(`o+d${KIND_HANDLE_KIND}/${kindID}`, h);
    return h;
  }

  function reviveHandle(kindID) {
    const d = descriptor(kindID);
    if (d === undefined) throw Error(`no durable kind ${kindID}`);
    return makeHandleRep(kindID, d.tag);
  }

  function makeKindHandle(tag) {
    if (typeof tag !== 'string') throw TypeError('a kind tag must be a string');
    const kindID = allocateExportID();
    const kind = {
      kindID,
      tag,
      durable: true,
      defined: false,
      descriptor: { kindID, tag, nextInstanceID: 1 },
    };
    kinds.set(kindID, kind);
    saveDescriptor(kind);
    return makeHandleRep(kindID, tag);
  }

  function handleKindID(handle) {
    const vref = vrefOf(handle);
    const p = vref && parseVref(vref);
    if (!p || p.kindID !== KIND_HANDLE_KIND || !p.durable) {
      throw TypeError('defineDurableKind needs a kind handle (from makeKindHandle)');
    }
    return p.instance;
  }

  /** The tag of a kind handle (for messages), or the string itself if given a tag. */
  function tagOf(tagOrHandle) {
    if (typeof tagOrHandle === 'string') return tagOrHandle;
    try {
      const kindID = handleKindID(tagOrHandle);
      return (kinds.get(kindID)?.descriptor ?? descriptor(kindID))?.tag ?? 'kind';
    } catch {
      return 'kind';
    }
  }

  // Checks a redefinition against what an earlier incarnation recorded (upstream's rules).
  function reconcile(kind, old, facetNames, shapeData) {
    const tag = old.tag;
    if ('unfaceted' in old || 'facets' in old) {
      const wasMulti = 'facets' in old;
      if (wasMulti !== !!facetNames) {
        const was = wasMulti ? 'multi-facet' : 'single-facet';
        throw TypeError(`durable kind "${tag}" was originally ${was} and cannot change that`);
      }
      if (wasMulti) {
        for (const f of old.facets) {
          if (!facetNames.includes(f)) {
            throw TypeError(
              `durable kind "${tag}" facets (${facetNames.join(', ')}) is missing "${f}" from the original definition (${old.facets.join(', ')})`,
            );
          }
        }
        // New facets are appended (sorted) so old facet numbers keep their meaning.
        facetNames = [...old.facets, ...facetNames.filter((f) => !old.facets.includes(f)).sort()];
      }
    }
    if (old.stateShapeCapData !== undefined || shapeData !== undefined) {
      const oldShape = old.stateShapeCapData ? unserialize(old.stateShapeCapData) : {};
      const newShape = shapeData ? unserialize(shapeData) : {};
      if (old.stateShapeCapData !== undefined && shapeData === undefined) {
        throw TypeError(`durable kind "${tag}" had a stateShape and must keep one`);
      }
      const keyOf = (v) => JSON.stringify(serialize(v));
      for (const prop of keys(oldShape)) {
        // (A shape stored without `shapeTagged` predates tagged patterns: legacy-patterns.js.)
        let same = Object.hasOwn(newShape, prop);
        if (same && old.shapeTagged) same = keyOf(oldShape[prop]) === keyOf(newShape[prop]);
        else if (same) same = sameAsLegacyPattern(oldShape[prop], newShape[prop], keyOf);
        if (!same) {
          throw TypeError(`durable kind "${tag}" stateShape changes the pattern of "${prop}"`);
        }
      }
      if (old.nextInstanceID > 1) {
        for (const prop of keys(newShape)) {
          if (!Object.hasOwn(oldShape, prop) && !matches(undefined, newShape[prop])) {
            throw TypeError(
              `durable kind "${tag}" stateShape adds "${prop}", which existing instances lack: its pattern must accept undefined`,
            );
          }
        }
      }
    }
    return facetNames;
  }

  function defineDurableKindInternal(handle, init, behavior, options = {}, multi = false) {
    const kindID = handleKindID(handle);
    const kind = kinds.get(kindID) ?? { kindID, durable: true, descriptor: descriptor(kindID) };
    if (kind.descriptor === undefined) throw Error(`no descriptor for durable kind ${kindID}`);
    const tag = kind.descriptor.tag;
    if (kind.defined) throw Error(`redefinition of durable kind "${tag}"`);
    checkBehavior(tag, behavior, multi);
    const shapeData = options.stateShape === undefined ? undefined : serialize(options.stateShape);
    if (shapeData && shapeData.slots.length > 0 && !shapeData.slots.every((s) => s.startsWith('o-') || s.startsWith('o+d'))) {
      throw TypeError(`the stateShape of durable kind "${tag}" names non-durable objects`);
    }
    const facetNames = reconcile(kind, kind.descriptor, multi ? keys(behavior).sort() : undefined, shapeData);
    Object.assign(kind, {
      tag,
      defined: true,
      init,
      behavior,
      thisful: !!options.thisfulMethods,
      finish: options.finish,
      facetNames,
      stateShape: options.stateShape,
    });
    const d = { ...kind.descriptor };
    delete d.unfaceted;
    delete d.facets;
    if (facetNames) d.facets = facetNames;
    else d.unfaceted = true;
    delete d.shapeTagged;
    if (shapeData) {
      d.stateShapeCapData = shapeData;
      d.shapeTagged = true;
    }
    kind.descriptor = d;
    kinds.set(kindID, kind);
    saveDescriptor(kind);
    return makeMaker(kind);
  }

  /** Throws, naming them, if durable kinds of earlier incarnations were not redefined. */
  function insistAllDurableKindsReconnected() {
    const missing = [];
    let key = vs.getNextKey('vom.dkind.');
    while (key !== undefined && key.startsWith('vom.dkind.')) {
      const kindID = Number(key.slice('vom.dkind.'.length).split('.')[0]);
      const k = kinds.get(kindID);
      if (!k || !k.defined) {
        const d = descriptor(kindID);
        missing.push(`"${d.tag}" (kind ${kindID})`);
      }
      key = vs.getNextKey(key);
    }
    if (missing.length > 0) {
      throw Error(
        `defineDurableKind not called for ${missing.join(', ')}: every durable kind of an earlier incarnation must be redefined by buildRootObject`,
      );
    }
  }

  function isVirtualVref(vref) {
    return parseVref(vref) !== undefined;
  }

  /** The vrefs of an instance: its facets', or its own. */
  function facetVrefs(baseRef) {
    const p = parseVref(baseRef);
    if (p === undefined || p.kindID === KIND_HANDLE_KIND) return [baseRef];
    const kind = kinds.get(p.kindID);
    const facets = kind ? kind.facetNames : p.durable ? descriptor(p.kindID)?.facets : undefined;
    return facets ? facets.map((_, i) => facetVref(baseRef, i)) : [baseRef];
  }

  /** Deletes an instance's state, releasing what it named (the GC decided it is garbage). */
  function deleteInstance(baseRef) {
    const raw = vs.get(`vom.${baseRef}`);
    if (raw === undefined) return;
    vs.delete(`vom.${baseRef}`);
    cache.delete(baseRef);
    const rec = JSON.parse(raw);
    for (const prop of keys(rec).sort()) removeDataRefs(rec[prop].slots);
  }

  /**
   * Up to `budget` instances of virtual kinds of earlier incarnations (kind ids below
   * `firstKindID`): nothing can reach them, and the GC deletes them.
   */
  // Where the scan for them resumes: what it returned is deleted before the next scan, and
  // starting after it skips the deleted keys (a scan walks over those one by one).
  let oldCursor = 'vom.o+v';
  function oldInstances(firstKindID, budget) {
    const out = [];
    let k = vs.getNextKey(oldCursor);
    while (out.length < budget && k !== undefined && k.startsWith('vom.o+v')) {
      const kindID = Number(/^vom\.o\+v(\d+)\//.exec(k)?.[1]);
      if (!(kindID < firstKindID)) {
        // This incarnation's kind: skip all of its instances ('~' sorts after digits).
        k = vs.getNextKey(`vom.o+v${kindID}/~`);
        continue;
      }
      out.push(k.slice('vom.'.length));
      oldCursor = k;
      k = vs.getNextKey(k);
    }
    return out;
  }

  return freeze({
    defineKind: (tag, init, behavior, options) => defineKindInternal(tag, init, behavior, options, false),
    defineKindMulti: (tag, init, behavior, options) => defineKindInternal(tag, init, behavior, options, true),
    makeKindHandle,
    defineDurableKind: (h, init, behavior, options) => defineDurableKindInternal(h, init, behavior, options, false),
    defineDurableKindMulti: (h, init, behavior, options) => defineDurableKindInternal(h, init, behavior, options, true),
    insistAllDurableKindsReconnected,
    tagOf,
    reanimate,
    parseVref,
    isVirtualVref,
    facetVrefs,
    deleteInstance,
    oldInstances,
    flush,
  });
}
