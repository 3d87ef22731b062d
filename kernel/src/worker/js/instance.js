// The vat's liveslots instance, inside its QuickJS runtime. The host (Rust) prepends
// `const ENTRY = "vat/…";` and provides two native functions, taken from globalThis and
// removed before any vat code runs:
//   __syscall(type, ...args) -> value  one syscall: its type and arguments in; its
//                             answer out (undefined, a vatstore string or null, a kernel
//                             hook's capdata), or throws
//   __gc()                    a full garbage collection
//   __console(level, text)    one line of console output (taken by console.js), kept out
//                             of consensus state
// It exports `deliver(json)`, which starts a delivery (and `deliverMessage`/`deliverNotify`,
// which start the two common ones from their fields), and `outcome()` (with `failure()`),
// which report how the last one ended once the host has drained the job queue.
import './console.js';
import './errors.js';
import { makeLiveSlots, harden } from './liveslots.js';

const rawSyscall = globalThis.__syscall;
const rawGc = globalThis.__gc;
delete globalThis.__syscall;
delete globalThis.__gc;

const syscall = harden({
  send: (target, methargs, result) => rawSyscall('send', target, methargs, result ?? null),
  subscribe: (vpid) => rawSyscall('subscribe', vpid),
  // resolutions: [{ vpid, rejected, data }]
  resolve: (resolutions) => rawSyscall('resolve', resolutions),
  exit: (failure, info) => rawSyscall('exit', failure, info),
  dropImports: (vrefs) => rawSyscall('dropImports', vrefs),
  retireImports: (vrefs) => rawSyscall('retireImports', vrefs),
  retireExports: (vrefs) => rawSyscall('retireExports', vrefs),
  abandonExports: (vrefs) => rawSyscall('abandonExports', vrefs),
  vatstoreGet: (key) => rawSyscall('vatstoreGet', key),
  vatstoreSet: (key, value) => rawSyscall('vatstoreSet', key, value),
  vatstoreDelete: (key) => rawSyscall('vatstoreDelete', key),
  vatstoreGetNextKey: (prior) => rawSyscall('vatstoreGetNextKey', prior),
  kernelHook: (name, args) => rawSyscall('kernelHook', name, args),
});

// Two turns after the collection, so that finalizer jobs queued by it have run.
const gcAndFinalize = async () => {
  rawGc();
  await null;
  await null;
};

const state = { done: false, error: null };

export const ls = makeLiveSlots(syscall, {
  gcAndFinalize,
  loadVat: () => import(ENTRY),
  onFatal: (reason) => {
    state.error = reason;
  },
});

// Upstream vat code finds `HandledPromise` as a global (SES installs it); lockdown
// freezes it with the other globals.
globalThis.HandledPromise = ls.HandledPromise;

function describe(e) {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try {
    return `thrown: ${JSON.stringify(e)}`;
  } catch {
    return 'thrown: (unprintable)';
  }
}

const markDone = () => {
  state.done = true;
};
const markFailed = (e) => {
  state.error = describe(e);
};

function begin() {
  state.done = false;
  state.error = null;
  // (A fatal error reported during this delivery's jobs lands in state.error.)
}

export function deliver(json) {
  begin();
  let p;
  try {
    p = ls.dispatch(JSON.parse(json));
  } catch (e) {
    markFailed(e);
    return;
  }
  if (p === undefined) markDone();
  else p.then(markDone, markFailed);
}

// Runs a delivery whose own work finishes synchronously (what remains are the vat's jobs).
function deliverSync(start, a, b, c, d) {
  begin();
  try {
    start(a, b, c, d);
  } catch (e) {
    markFailed(e);
    return;
  }
  markDone();
}

const startMessage = (target, body, slots, result) =>
  ls.deliverMessage(target, { body, slots }, result ?? null);
const startNotify = (vpid, rejected, body, slots) =>
  ls.deliverNotify([{ vpid, rejected, data: { body, slots } }]);

// A message, its fields as arguments (the host's fast path: no JSON either side).
export function deliverMessage(target, body, slots, result) {
  deliverSync(startMessage, target, body, slots, result);
}

// A notify of one promise, its fields as arguments.
export function deliverNotify(vpid, rejected, body, slots) {
  deliverSync(startNotify, vpid, rejected, body, slots);
}

// How the last delivery ended: 0 done, 1 still pending, 2 failed (see `failure()`).
// A number, not a record: the host asks once after every delivery, when the vat's jobs
// have run, which is when liveslots persists what the delivery changed (`flush`).
export function outcome() {
  if (state.error === null) {
    try {
      ls.flush();
    } catch (e) {
      markFailed(e);
    }
  }
  if (state.error !== null) return 2;
  return state.done ? 0 : 1;
}

export function failure() {
  return String(state.error);
}
