// Run once per vat runtime after liveslots is set up and before vat code loads: removes
// what is nondeterministic and freezes every intrinsic reachable from the global object,
// so vats cannot tamper with shared prototypes.
(() => {
  delete Math.random;
  globalThis.harden = (v) => {
    const stack = [v];
    while (stack.length > 0) {
      const o = stack.pop();
      if (o === null || (typeof o !== 'object' && typeof o !== 'function') || Object.isFrozen(o)) continue;
      Object.freeze(o);
      for (const k of Reflect.ownKeys(o)) {
        const d = Object.getOwnPropertyDescriptor(o, k);
        if ('value' in d) stack.push(d.value);
        else stack.push(d.get, d.set);
      }
    }
    return v;
  };
  const roots = [
    globalThis,
    Object.getPrototypeOf(function* () {}),
    Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(async function* () {}),
    Object.getPrototypeOf([][Symbol.iterator]()),
    Object.getPrototypeOf(new Map().entries()),
    Object.getPrototypeOf(new Set().values()),
    Object.getPrototypeOf(''[Symbol.iterator]()),
    Object.getPrototypeOf(Uint8Array),
  ];
  const seen = new Set();
  const stack = [...roots];
  while (stack.length > 0) {
    const o = stack.pop();
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
    seen.add(o);
    if (o !== globalThis) Object.freeze(o);
    stack.push(Object.getPrototypeOf(o));
    for (const k of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      if ('value' in d) stack.push(d.value);
      else stack.push(d.get, d.set);
    }
  }
})();
