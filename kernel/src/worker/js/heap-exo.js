// Ephemeral (heap) exos, as @endo/exo makes them: `defineExoClass(tag, guard, init,
// methods)` returns a maker whose instances are remotables (`Far(tag, …)`) with the
// methods, guarded by guards.js's `defendBehavior`, run with `this` a context of
// `{ state, self }` (`{ state, facets }` for a kit). Nothing here touches the vat's stores:
// a heap exo lives and dies with its JS object.

import { Far } from './marshal.js';
import { defendBehavior, defendBehaviorKit, methodEntries, defineMethod } from './guards.js';

const { freeze, seal } = Object;

// A facet object calling each defended method with `ctx` as `this` (symbol-named methods
// included).
function bindFacet(name, defended, ctx) {
  const obj = {};
  for (const [m, fn] of methodEntries(defended)) defineMethod(obj, m, (...a) => fn.apply(ctx, a));
  return Far(name, obj);
}

/** A maker of heap exos (upstream's `defineExoClass`). */
export function defineHeapExoClass(tag, guard, init, methods, options = {}) {
  const defended = defendBehavior(tag, methods, guard, true);
  return (...args) => {
    const ctx = { state: seal({ ...init(...args) }) };
    ctx.self = bindFacet(tag, defended, ctx);
    freeze(ctx);
    if (options.finish) options.finish(ctx);
    return ctx.self;
  };
}

/** A maker of heap exo kits (upstream's `defineExoClassKit`): one remotable per facet. */
export function defineHeapExoClassKit(tag, guards, init, facetMethods, options = {}) {
  const defended = defendBehaviorKit(tag, facetMethods, guards, true);
  return (...args) => {
    const ctx = { state: seal({ ...init(...args) }) };
    const facets = {};
    for (const [fname, methods] of Object.entries(defended)) facets[fname] = bindFacet(`${tag} ${fname}`, methods, ctx);
    ctx.facets = freeze(facets);
    freeze(ctx);
    if (options.finish) options.finish(ctx);
    return ctx.facets;
  };
}
