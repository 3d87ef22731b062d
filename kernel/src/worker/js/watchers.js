// Durable promise watchers: `watchPromise(p, watcher, ...args)` calls
// `watcher.onFulfilled(value, ...args)` or `watcher.onRejected(reason, ...args)` when `p`
// settles, even if that happens in a later incarnation of the vat.
//
// Vatstore: `watch.<vpid>` = JSON capdata of `[[watcher, ...args], …]`. Watchers and their
// arguments must be durable. A watched promise the vat decides itself is exported and the
// vat subscribes to it: if an upgrade comes first, the kernel rejects it and the `notify`
// reaches the new incarnation, whose revived watchers then fire (seed 001). Unlike
// upstream, this holds also for a promise that was exported before it was watched.

const { freeze } = Object;

export function makeWatcherManager(deps) {
  const { vs, serialize, unserialize, slotFor, valFor, checkDurable, syscall } = deps;
  const { addDataRefs, removeDataRefs, expectNotify, passStyleOf } = deps;

  const key = (vpid) => `watch.${vpid}`;
  const watching = new Set(); // vpids with a settlement handler in this incarnation

  function fire(vpid, rejected, value) {
    watching.delete(vpid);
    const raw = vs.get(key(vpid));
    if (raw === undefined) return;
    const data = JSON.parse(raw);
    vs.delete(key(vpid));
    const list = unserialize(data);
    removeDataRefs(data.slots);
    for (const [watcher, ...args] of list) {
      const method = rejected ? 'onRejected' : 'onFulfilled';
      if (typeof watcher[method] === 'function') {
        try {
          const r = watcher[method](value, ...args);
          if (r instanceof Promise) r.catch(() => {});
        } catch {
          // A watcher's failure is its own; the others still run.
        }
      }
    }
  }

  function follow(vpid, p) {
    if (watching.has(vpid)) return;
    watching.add(vpid);
    p.then(
      (v) => fire(vpid, false, v),
      (e) => fire(vpid, true, e),
    );
  }

  function watchPromise(p, watcher, ...args) {
    if (passStyleOf(p) !== 'promise') throw TypeError('watchPromise needs a promise');
    if (passStyleOf(watcher) !== 'remotable' || !checkDurable(watcher)) {
      throw TypeError('watchPromise needs a durable watcher (an instance of a durable kind)');
    }
    if (!checkDurable(args)) throw TypeError('watchPromise arguments must be durable');
    const vpid = slotFor(p);
    const raw = vs.get(key(vpid));
    const old = raw === undefined ? [] : unserialize(JSON.parse(raw));
    const data = serialize([...old, [watcher, ...args]]);
    addDataRefs(data.slots);
    vs.set(key(vpid), JSON.stringify(data));
    if (raw !== undefined) removeDataRefs(JSON.parse(raw).slots);
    if (raw === undefined && vpid.startsWith('p+')) syscall.subscribe(vpid);
    follow(vpid, p);
  }

  /** At startVat: re-arm the watchers an earlier incarnation left. */
  function revive() {
    let k = vs.getNextKey('watch.');
    const vpids = [];
    while (k !== undefined && k.startsWith('watch.')) {
      vpids.push(k.slice('watch.'.length));
      k = vs.getNextKey(k);
    }
    for (const vpid of vpids) {
      // An imported promise is subscribed to again; one the old incarnation decided was
      // rejected by the upgrade, and its notify is already queued for this incarnation.
      const p = vpid.startsWith('p-') ? valFor(vpid) : expectNotify(vpid);
      follow(vpid, p);
    }
  }

  return freeze({ watchPromise, revive });
}
