// The global `HandledPromise` of @endo/eventual-send, over liveslots' eventual send.
//
//   new HandledPromise((resolve, reject, resolveWithPresence) => …, unfulfilledHandler?)
//     a promise (an ordinary one: `instanceof Promise`, `then` as usual). Until it settles,
//     eventual sends to it go to `unfulfilledHandler` (`applyMethod`, `applyFunction`,
//     `get`; when it lacks one, the send waits for the settlement). `resolveWithPresence(h)`
//     fulfills it with a fresh presence whose sends all go to `h`.
//   HandledPromise.applyMethod(target, method, args), .applyFunction(target, args),
//     .get(target, prop) and their `…SendOnly` forms, .resolve(value)
//     eventual operations on anything: a presence or import (a message to its vat), a local
//     object (a later turn), a promise (when it settles, or its handler).
//
// `handlers` is liveslots' table of local handlers (presence or unsettled promise ->
// handler), which its eventual send consults first, so `E(p).m()` and
// `HandledPromise.applyMethod(p, 'm', [])` behave alike.

import { Far } from './marshal.js';

const { freeze } = Object;

export function makeHandledPromise({ eventualSend, eventualGet, handlers, harden }) {
  const PromiseCtor = Promise;

  function HandledPromise(executor, unfulfilledHandler = undefined) {
    if (new.target === undefined) throw TypeError('HandledPromise must be called with new');
    let settle;
    const promise = new PromiseCtor((resolve, reject) => {
      settle = { resolve, reject };
    });
    if (unfulfilledHandler !== undefined) handlers.set(promise, unfulfilledHandler);
    const done = () => handlers.delete(promise);
    const resolve = (value) => {
      done();
      settle.resolve(value);
    };
    const reject = (reason) => {
      done();
      settle.reject(reason);
    };
    const resolveWithPresence = (presenceHandler = unfulfilledHandler, _options = undefined) => {
      const presence = Far('presence', {});
      if (presenceHandler !== undefined) handlers.set(presence, presenceHandler);
      resolve(presence);
      return presence;
    };
    try {
      executor(resolve, reject, resolveWithPresence);
    } catch (e) {
      reject(e);
    }
    return promise;
  }
  HandledPromise.prototype = PromiseCtor.prototype;

  const sendOnly = (p) => {
    p.catch(() => {});
    return undefined;
  };
  const statics = {
    applyMethod: (target, method, args) => eventualSend(target, method, harden([...args])),
    applyFunction: (target, args) => eventualSend(target, undefined, harden([...args])),
    get: (target, prop) => eventualGet(target, prop),
    applyMethodSendOnly: (target, method, args) => sendOnly(statics.applyMethod(target, method, args)),
    applyFunctionSendOnly: (target, args) => sendOnly(statics.applyFunction(target, args)),
    getSendOnly: (target, prop) => sendOnly(statics.get(target, prop)),
    resolve: (value) => PromiseCtor.resolve(value),
  };
  Object.assign(HandledPromise, statics);
  return freeze(HandledPromise);
}
