// The commonly used helpers of upstream's `@agoric/internal`: the upgrade-API predicates
// (`isUpgradeDisconnection`, `isAbandonedError`, `makeUpgradeDisconnection`), object and
// promise utilities, and a console tracer. Behaviour follows packages/internal/src.

import { Fail, q } from './errors.js';
import { passStyleOf } from './marshal.js';
import { harden } from './liveslots.js';

const { isFrozen, entries, fromEntries, keys } = Object;

export { Fail };

/** What an upgraded vat's decided promises are rejected with (the kernel makes these). */
export const makeUpgradeDisconnection = (upgradeMessage, toIncarnationNumber) =>
  harden({ name: 'vatUpgraded', upgradeMessage, incarnationNumber: toIncarnationNumber });

export const isUpgradeDisconnection = (reason) =>
  reason !== null &&
  reason !== undefined &&
  isFrozen(reason) &&
  passStyleOf(reason) === 'copyRecord' &&
  keys(reason).length === 3 &&
  reason.name === 'vatUpgraded' &&
  typeof reason.upgradeMessage === 'string' &&
  typeof reason.incarnationNumber === 'number';

/** Whether `reason` is what a send to an abandoned (or dead vat's) object rejects with. */
export const isAbandonedError = (reason) =>
  reason !== null &&
  reason !== undefined &&
  isFrozen(reason) &&
  passStyleOf(reason) === 'error' &&
  reason.message === 'vat terminated';

export const objectMap = (obj, f) => harden(fromEntries(entries(obj).map(([k, v]) => [k, f(v, k)])));

export const fromUniqueEntries = (allEntries) => {
  const list = [...allEntries];
  const result = fromEntries(list);
  keys(result).length === list.length || Fail`collision on property name ${q(list.map(([k]) => k))}`;
  return harden(result);
};

export const allValues = async (obj) => {
  const ks = keys(obj);
  const values = await Promise.all(ks.map((k) => obj[k]));
  return harden(fromEntries(ks.map((k, i) => [k, values[i]])));
};

export const deeplyFulfilledObject = async (obj) => {
  passStyleOf(obj) === 'copyRecord' || Fail`param must be a record: ${q(passStyleOf(obj))}`;
  return allValues(obj);
};

export const zip = (xs, ys) => harden(xs.map((x, i) => [x, ys[+i]]));

export const assertAllDefined = (obj) => {
  const missing = entries(obj)
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  missing.length === 0 || Fail`missing ${q(missing)}`;
};

export const deepCopyJsonable = (value) => JSON.parse(JSON.stringify(value));

export const naiveCompare = (a, b) => {
  if (a === b) return 0;
  return a < b ? -1 : 1;
};

export const stripPrefix = (prefix, str) => {
  str.startsWith(prefix) || Fail`${q(str)} does not start with ${q(prefix)}`;
  return str.slice(prefix.length);
};

export const PromiseAllOrErrors = async (items) => {
  const settled = await Promise.allSettled(items);
  const rejected = settled.filter((r) => r.status === 'rejected').map((r) => r.reason);
  if (rejected.length === 1) throw rejected[0];
  if (rejected.length > 1) throw AggregateError(rejected);
  return settled.map((r) => r.value);
};

export const aggregateTryFinally = async (trier, finalizer) =>
  trier().then(
    async (result) => finalizer().then(() => result),
    async (tryError) =>
      finalizer()
        .then(() => tryError, (finalizeError) => AggregateError([tryError, finalizeError]))
        .then((error) => Promise.reject(error)),
  );

/** A tracer printing to the vat's console (which goes to the slog), as upstream's does. */
export const makeTracer = (label, enable = true) => {
  if (!enable) return () => {};
  return (...args) => globalThis.console.info(`----- ${label}`, ...args);
};
