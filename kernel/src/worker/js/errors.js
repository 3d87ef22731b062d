// `@endo/errors` as upstream vat code uses it (and SES's global `assert`, which it wraps):
// `assert` and its methods, `Fail`, `q`/`quote`, `X`/`details`, `b`/`bare`, `makeError`,
// `annotateError`/`note`, `redacted`, `throwRedacted`, `hideAndHardenFunction`.
//
// Messages are built as SES builds them, since upstream code and tests compare them: a
// quoted substitution (`q(v)`) shows as a best-effort JSON rendering, a bare one (`b(s)`)
// as itself, anything else is redacted to its kind, `(a string)`, `(an object)`, or an
// error's name (`(a TypeError)`). Annotations (`note`) are kept per error, not printed.

const { freeze, defineProperty, is } = Object;

export const an = (str) => {
  const s = `${str}`;
  return s.length >= 1 && 'aeiouAEIOU'.includes(s[0]) ? `an ${s}` : `a ${s}`;
};

// JSON.stringify that survives cycles, bigints, symbols, functions, errors, undefined.
const bestEffortStringify = (value, spaces = undefined) => {
  const seen = new Set();
  const replacer = (_key, v) => {
    switch (typeof v) {
      case 'object': {
        if (v === null) return null;
        if (seen.has(v)) return '[Seen]';
        seen.add(v);
        if (v instanceof Error) return `[${v.name}: ${v.message}]`;
        if (v instanceof Promise) return '[Promise]';
        const tag = v[Symbol.toStringTag];
        if (typeof tag === 'string' && tag.startsWith('Alleged')) return `[${tag}]`;
        return v;
      }
      case 'function':
        return `[Function ${v.name || '<anon>'}]`;
      case 'string':
        return v.startsWith('[') ? `[${v}]` : v;
      case 'undefined':
      case 'symbol':
        return `[${String(v)}]`;
      case 'bigint':
        return `[${v}n]`;
      case 'number':
        if (is(v, NaN)) return '[NaN]';
        if (v === Infinity) return '[Infinity]';
        if (v === -Infinity) return '[-Infinity]';
        return v;
      default:
        return v;
    }
  };
  try {
    return JSON.stringify(value, replacer, spaces);
  } catch {
    return '[Something that failed to stringify]';
  }
};

// quote/bare results, to the value they declassify.
const declassifiers = new WeakMap();

export const quote = (value, spaces = undefined) => {
  const result = freeze({ toString: freeze(() => bestEffortStringify(value, spaces)) });
  declassifiers.set(result, value);
  return result;
};

const canBeBare = /^[\w:-]( ?[\w:-])*$/;
export const bare = (text, spaces = undefined) => {
  if (typeof text !== 'string' || !canBeBare.test(text)) return quote(text, spaces);
  const result = freeze({ toString: freeze(() => text) });
  declassifiers.set(result, text);
  return result;
};

// details tokens, to their template and substitutions.
const hiddenDetails = new WeakMap();

const messageOf = ({ template, args }) => {
  const parts = [template[0]];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    let s;
    if (declassifiers.has(arg)) s = `${arg}`;
    else if (arg instanceof Error) s = `(${an(arg.name)})`;
    else s = `(${an(typeof arg)})`;
    parts.push(s, template[i + 1]);
  }
  return parts.join('');
};

const DetailsTokenProto = freeze({
  toString() {
    const d = hiddenDetails.get(this);
    return d === undefined ? '[Not a DetailsToken]' : messageOf(d);
  },
});

export const details = (template, ...args) => {
  const token = freeze({ __proto__: DetailsTokenProto });
  hiddenDetails.set(token, { template, args });
  return token;
};

const messageOfDetails = (optDetails) => {
  if (typeof optDetails === 'string') return optDetails;
  const d = hiddenDetails.get(optDetails);
  return d === undefined ? String(optDetails) : messageOf(d);
};

const notes = new WeakMap();

export const makeError = (
  optDetails = details`Assert failed`,
  errConstructor = globalThis.Error,
  { errorName = undefined, cause = undefined, errors = undefined } = {},
) => {
  const message = messageOfDetails(optDetails);
  const opts = cause === undefined ? undefined : { cause };
  let error;
  if (errConstructor === globalThis.AggregateError) {
    error = new errConstructor(errors ?? [], message, opts);
  } else {
    error = new errConstructor(message, opts);
    if (errors !== undefined) defineProperty(error, 'errors', { value: errors });
  }
  if (errorName !== undefined) defineProperty(error, 'errorName', { value: `${errorName}` });
  return error;
};

export const note = (error, detailsNote) => {
  const list = notes.get(error) ?? [];
  list.push(messageOfDetails(detailsNote));
  notes.set(error, list);
};

const fail = (optDetails = details`Check failed`, errConstructor = undefined, options = undefined) => {
  throw makeError(optDetails, errConstructor, options);
};

export const Fail = (template, ...args) => fail(details(template, ...args));

const equal = (actual, expected, optDetails = undefined, errConstructor = undefined, options = undefined) => {
  if (!is(actual, expected)) {
    fail(optDetails || details`Expected ${actual} is same as ${expected}`, errConstructor || RangeError, options);
  }
};

const assertTypeof = (specimen, typename, optDetails = undefined) => {
  // eslint-disable-next-line valid-typeof
  if (typeof specimen === typename) return;
  if (typeof typename !== 'string') Fail`${quote(typename)} must be a string`;
  fail(optDetails ?? details`${specimen} must be ${bare(an(typename))}`, TypeError);
};

const makeAssert = () => {
  const assert = (condition, optDetails = undefined, errConstructor = undefined, options = undefined) => {
    if (!condition) fail(optDetails, errConstructor, options);
  };
  return freeze(
    Object.assign(assert, {
      equal: freeze(equal),
      typeof: freeze(assertTypeof),
      string: freeze((specimen, optDetails = undefined) => assertTypeof(specimen, 'string', optDetails)),
      fail: freeze(fail),
      makeError: freeze(makeError),
      error: freeze(makeError),
      note: freeze(note),
      details: freeze(details),
      Fail: freeze(Fail),
      quote: freeze(quote),
      bare: freeze(bare),
      makeAssert,
    }),
  );
};

export const assert = makeAssert();
export const b = bare;
export const X = details;
export const q = quote;
export const annotateError = note;
export const redacted = details;
export const throwRedacted = Fail;

export const hideAndHardenFunction = (func) => {
  if (typeof func !== 'function') Fail`${func} must be a function`;
  defineProperty(func, 'name', { value: `__HIDE_${String(func.name)}` });
  return freeze(func);
};

// Upstream vats also use SES's global `assert` without importing it.
globalThis.assert = assert;
