// Interface guards, enforced: what @endo/exo does to an exo's methods, applied to the
// behavior of heap exos, virtual and durable exo classes and kinds given an
// `interfaceGuard`.
//
// `defendBehavior(tag, behavior, guard, thisful)` returns a behavior object of the same
// shape whose methods check their arguments against the method guard before running and
// their result after (for `M.callWhen`, after awaiting the `M.await` arguments and the
// result), with upstream's messages (`In "incr" method of (Counter): arg 0: …`). With an
// interface guard, every guarded method must be implemented, and every method guarded
// unless the guard has `defaultGuards` ('passable': arguments and result must be passable;
// 'raw': unchecked). Without one, exo methods (thisful) get the passable check and plain
// kinds' methods (context first) none, as upstream. Exo behavior also answers
// `__getInterfaceGuard__()`.
//
// `M.raw()` arguments are neither hardened nor checked: they are replaced by a sentinel
// while the rest is matched, as upstream does.

import { M, mustMatch, isRawGuard, isAwaitArgGuard, getInterfaceGuardPayload, getMethodGuardPayload } from './patterns.js';
import { getCopyMapEntryArray } from './copy.js';
import { Fail, q, makeError } from './errors.js';
import { assertPassable } from './marshal.js';
import { harden } from './liveslots.js';

const { freeze, entries, fromEntries } = Object;
const { ownKeys, apply } = Reflect;

export const GET_INTERFACE_GUARD = '__getInterfaceGuard__';

const RAW_ARG = '<redacted raw arg>';
const PassableMethodGuard = M.call().rest(M.any()).returns(M.any());

// What checking one call needs, worked out once per method.
function matchConfig({ argGuards, optionalArgGuards = [], restArgGuard }) {
  const all = [...argGuards, ...optionalArgGuards];
  const raw = [];
  const patts = all.map((g, i) => {
    if (!isRawGuard(g)) return g;
    raw.push(i);
    return RAW_ARG;
  });
  const restRaw = restArgGuard !== undefined && isRawGuard(restArgGuard);
  return {
    declared: all.length,
    raw,
    restRaw,
    hasRest: restArgGuard !== undefined,
    params: M.splitArray(
      freeze(patts.slice(0, argGuards.length)),
      freeze(patts.slice(argGuards.length)),
      restRaw ? M.arrayOf(RAW_ARG) : restArgGuard,
    ),
  };
}

// Arguments and results must be passable (as upstream, where matching a specimen checks
// its pass style all the way down): a guard's patterns see only data that could cross a
// vat boundary.
function mustBePassable(v, label) {
  try {
    assertPassable(v);
  } catch (e) {
    throw makeError(`${label}: ${e.message}`);
  }
}

function checkArgs(args, cfg, label) {
  let matchable = args;
  if ((cfg.restRaw && args.length > cfg.declared) || (cfg.raw.length > 0 && cfg.raw[0] < args.length)) {
    matchable = [...args];
    for (const i of cfg.raw) if (i < matchable.length) matchable[i] = RAW_ARG;
    if (cfg.restRaw) for (let i = cfg.declared; i < matchable.length; i += 1) matchable[i] = RAW_ARG;
  }
  if (matchable === args) harden(args);
  else for (let i = 0; i < args.length; i += 1) if (matchable[i] !== RAW_ARG) harden(args[i]);
  mustBePassable(freeze(matchable), label);
  mustMatch(freeze(matchable), cfg.params, label);
  // (After the match, as upstream: a call with a bad argument and too many reports the
  // bad argument.)
  if (!cfg.hasRest && args.length > cfg.declared) {
    Fail`${q(label)} accepts at most ${q(cfg.declared)} arguments, not ${q(args.length)}: ${args}`;
  }
}

const checkResult = (result, returnGuard, label) => {
  if (!isRawGuard(returnGuard)) {
    harden(result);
    mustBePassable(result, `${label}: result`);
    mustMatch(result, returnGuard, `${label}: result`);
  }
  return result;
};

// One guarded method. `contextFirst`: the behavior function takes the context as its
// first argument (plain kinds) rather than as `this` (exos).
function defendMethod(fn, methodGuard, label, contextFirst) {
  const payload = getMethodGuardPayload(methodGuard);
  const { callKind, returnGuard } = payload;
  const call = (self, args) => (contextFirst ? fn(self, ...args) : apply(fn, self, args));
  if (callKind === 'sync') {
    const cfg = matchConfig(payload);
    return function guarded(...all) {
      const self = contextFirst ? all[0] : this;
      const args = contextFirst ? all.slice(1) : all;
      checkArgs(args, cfg, label);
      return checkResult(call(self, args), returnGuard, label);
    };
  }
  // async: `M.await(p)` arguments are awaited, then checked against `p`.
  const awaitAt = [];
  const argGuards = payload.argGuards.map((g, i) => (isAwaitArgGuard(g) ? (awaitAt.push(i), g.payload.argGuard) : g));
  const optionalArgGuards = (payload.optionalArgGuards ?? []).map((g, i) =>
    isAwaitArgGuard(g) ? (awaitAt.push(payload.argGuards.length + i), g.payload.argGuard) : g,
  );
  const cfg = matchConfig({ ...payload, argGuards, optionalArgGuards });
  return function guardedWhen(...all) {
    const self = contextFirst ? all[0] : this;
    const args = [...(contextFirst ? all.slice(1) : all)];
    const waits = awaitAt.filter((i) => i < args.length);
    return Promise.all(waits.map((i) => args[i]))
      .then((values) => {
        values.forEach((v, j) => {
          args[waits[j]] = v;
        });
        checkArgs(args, cfg, label);
        return call(self, args);
      })
      .then((result) => checkResult(result, returnGuard, label));
  };
}

const methodNames = (behavior) =>
  ownKeys(behavior).filter((k) => typeof behavior[k] === 'function' && k !== 'constructor');

/**
 * The `[name, function]` methods of a behavior object, symbol-named ones included (an exo
 * may have `[Symbol.asyncIterator]()` or any other registered symbol as a method name).
 */
export const methodEntries = (behavior) => methodNames(behavior).map((k) => [k, behavior[k]]);

/**
 * Sets `obj[name] = fn` as an own data property, whatever the name: assignment would run
 * Object.prototype's `__proto__` setter for that name instead of defining a method.
 */
export const defineMethod = (obj, name, fn) => {
  Object.defineProperty(obj, name, { value: fn, writable: true, enumerable: true, configurable: true });
};

const missingFrom = (list, other) => list.filter((x) => !other.includes(x));

// Method names by their text, symbols before strings (upstream's getMethodNames order).
function compareStringified(a, b) {
  if (typeof a !== typeof b) return typeof a === 'symbol' ? -1 : 1;
  const [l, r] = [String(a), String(b)];
  return l < r ? -1 : l > r ? 1 : 0;
}

/** A behavior object whose methods enforce `interfaceGuard` (see the file comment). */
export function defendBehavior(tag, behavior, interfaceGuard, thisful) {
  // What is not an object of methods is left for the kind's own check to refuse.
  if (behavior === null || typeof behavior !== 'object') return behavior;
  // (No prototype: a method named "toString" must not find Object's as its guard.)
  const methodGuards = Object.create(null);
  let defaultGuards;
  if (interfaceGuard !== undefined) {
    const p = getInterfaceGuardPayload(interfaceGuard);
    Object.assign(
      methodGuards,
      p.methodGuards,
      p.symbolMethodGuards === undefined ? {} : fromEntries(getCopyMapEntryArray(p.symbolMethodGuards)),
    );
    defaultGuards = p.defaultGuards;
    // (Upstream's orders in the messages: the behavior's names sorted, symbols first; the
    // guard's as it lists them.)
    const names = [...methodNames(behavior)].sort(compareStringified);
    const guarded = ownKeys(methodGuards);
    const unimplemented = missingFrom(guarded, names);
    unimplemented.length === 0 || Fail`methods ${q(unimplemented)} not implemented by ${q(tag)}`;
    if (defaultGuards === undefined) {
      const unguarded = missingFrom(names, guarded);
      unguarded.length === 0 || Fail`methods ${q(unguarded)} not guarded by ${q(p.interfaceName)}`;
    }
  }
  const out = {};
  for (const name of methodNames(behavior)) {
    let guard = methodGuards[name];
    if (guard === undefined) {
      const raw = defaultGuards === 'raw' || (defaultGuards === undefined && !thisful);
      if (raw) {
        defineMethod(out, name, behavior[name]);
        continue;
      }
      guard = PassableMethodGuard;
    }
    defineMethod(out, name, defendMethod(behavior[name], guard, `In ${q(String(name))} method of (${tag})`, !thisful));
  }
  if (thisful && !Object.hasOwn(out, GET_INTERFACE_GUARD)) {
    defineMethod(out, GET_INTERFACE_GUARD, () => interfaceGuard);
  }
  return freeze(out);
}

/** `defendBehavior` for each facet of a kit; `guardKit` names a guard per facet. */
export function defendBehaviorKit(tag, facets, guardKit, thisful) {
  if (facets === null || typeof facets !== 'object') return facets;
  const facetNames = ownKeys(facets).sort();
  if (guardKit !== undefined) {
    const guardNames = ownKeys(guardKit);
    const unguarded = missingFrom(facetNames, guardNames);
    unguarded.length === 0 || Fail`Interfaces ${q(unguarded)} not implemented by ${q(tag)}`;
    const extra = missingFrom(guardNames, facetNames);
    extra.length === 0 || Fail`Facets ${q(extra)} of ${q(tag)} not guarded by interfaces`;
  }
  return freeze(
    fromEntries(
      entries(facets).map(([f, behavior]) => [
        f,
        defendBehavior(`${tag} ${f}`, behavior, guardKit === undefined ? undefined : guardKit[f], thisful),
      ]),
    ),
  );
}
