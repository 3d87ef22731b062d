// Shared by the Node tests: a syscall object that records every call but the vatstore ones,
// which an in-memory store answers (as the kernel's vatstore would).
export function recorder(store = new Map()) {
  const calls = [];
  const vatstore = {
    vatstoreGet: (k) => store.get(k),
    vatstoreSet: (k, v) => {
      store.set(k, v);
    },
    vatstoreDelete: (k) => {
      store.delete(k);
    },
    vatstoreGetNextKey: (prior) => [...store.keys()].sort().find((k) => k > prior),
  };
  const syscall = new Proxy({}, { get: (_, name) => vatstore[name] ?? ((...args) => calls.push([name, ...args])) });
  return { calls, syscall, store };
}
