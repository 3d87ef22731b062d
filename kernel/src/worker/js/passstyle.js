// The parts of `@endo/pass-style` and `@endo/marshal` upstream vat code imports, over our
// marshal (smallcaps only, see ARCHITECTURE's list of differences).

import {
  Far,
  Remotable,
  getInterfaceOf,
  passStyleOf,
  makeMarshal as makeSmallcaps,
  ERRORS,
  PASS_STYLE,
  makeTagged,
  getTag,
  assertPassable,
} from './marshal.js';
import { Fail, q } from './errors.js';
import { harden } from './liveslots.js';

export { Far, Remotable, getInterfaceOf, passStyleOf, PASS_STYLE, makeTagged, getTag, assertPassable };

export const QCLASS = '@qclass';

export const isPrimitive = (v) => v === null || (typeof v !== 'object' && typeof v !== 'function');
export const isObject = (v) => !isPrimitive(v);

const styleIs = (style) => (v) => {
  try {
    return passStyleOf(v) === style;
  } catch {
    return false;
  }
};
export const isRemotable = styleIs('remotable');
export const isRecord = styleIs('copyRecord');
export const isCopyArray = styleIs('copyArray');
const asserting = (check, what) => (v, optNameOfValue = 'Alleged value') => {
  check(v) || Fail`${q(optNameOfValue)} ${v} must be ${what}`;
};
export const assertRemotable = asserting(isRemotable, 'a remotable');
export const assertRecord = asserting(isRecord, 'a pass-by-copy record');
export const assertCopyArray = asserting(isCopyArray, 'a pass-by-copy array');

/** Whether `v` and everything in it is passable. */
export const isPassable = (v) => {
  try {
    assertPassable(v);
    return true;
  } catch {
    return false;
  }
};


export const isErrorLike = (v) => v instanceof Error;
export const getErrorConstructor = (name) => ERRORS[name];
export const toPassableError = (e) => (e instanceof Error ? e : Error(String(e)));
export const toThrowable = toPassableError;

/** Waits for every promise inside pass-by-copy data; resolves to the data without them. */
export const deeplyFulfilled = async (v) => {
  const style = passStyleOf(v);
  if (style === 'promise') return deeplyFulfilled(await v);
  if (style === 'copyArray') return harden(await Promise.all(v.map(deeplyFulfilled)));
  if (style === 'copyRecord') {
    const keys = Object.keys(v);
    const values = await Promise.all(keys.map((k) => deeplyFulfilled(v[k])));
    return harden(Object.fromEntries(keys.map((k, i) => [k, values[i]])));
  }
  if (style === 'tagged') return makeTagged(getTag(v), await deeplyFulfilled(v.payload));
  return v;
};

const noSlot = () => Fail`this marshaller has no slots`;

/**
 * Upstream's `makeMarshal(convertValToSlot, convertSlotToVal, options)`: the smallcaps
 * body format only (asking for another fails), with upstream's method names.
 */
export const makeMarshal = (convertValToSlot = noSlot, convertSlotToVal = noSlot, options = {}) => {
  const { serializeBodyFormat = 'smallcaps' } = options;
  serializeBodyFormat === 'smallcaps' || Fail`only the smallcaps body format is supported, not ${q(serializeBodyFormat)}`;
  const { serialize, unserialize } = makeSmallcaps(convertValToSlot, convertSlotToVal);
  const fromCapData = (data) => unserialize(data);
  return harden({ toCapData: serialize, fromCapData, serialize, unserialize });
};

const plain = makeMarshal();
/** Passable data without remotables or promises, as a string (a smallcaps body). */
export const stringify = (v) => plain.toCapData(v).body;
export const parse = (body) => plain.fromCapData({ body, slots: [] });
