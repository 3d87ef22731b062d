// Node tests of liveslots' durability: kinds, stores, baggage and watchers across
// incarnations, with an in-memory vatstore standing in for the kernel's.
import test from 'node:test';
import assert from 'node:assert/strict';
import { makeLiveSlots, harden } from '../../src/worker/js/liveslots.js';
import { encodeKey } from '../../src/worker/js/keys.js';
import { recorder } from './support.mjs';

const flush = () => new Promise((r) => setImmediate(r));
const undef = { body: '#"#undefined"', slots: [] };

/**
 * One incarnation over `store`: returns its liveslots, recorded syscalls and root answers.
 * As the kernel's host does, each delivery ends with `flush` once the vat's jobs have run;
 * the previous incarnation gets nothing more (no bringOutYourDead): the next one must find
 * all it needs in the store already.
 */
async function incarnation(store, build) {
  const { calls, syscall } = recorder(store);
  let ls;
  ls = makeLiveSlots(syscall, {
    loadVat: async () => ({ buildRootObject: (_powers, _params, baggage) => build({ ...ls.vatData, Far: ls.Far }, baggage, ls) }),
  });
  await ls.dispatch({ type: 'startVat', vatParameters: undef });
  let n = 0;
  const call = async (method, ...args) => {
    n += 1;
    const result = `p-${1000 + n}`;
    const body = `#${JSON.stringify([method, args])}`;
    await ls.dispatch({ type: 'message', target: 'o+0', methargs: { body, slots: [] }, result });
    await flush();
    ls.flush();
    const r = calls.find((c) => c[0] === 'resolve' && c[1][0].vpid === result);
    assert.ok(r, `no answer to ${method}`);
    const { rejected, data } = r[1][0];
    const value = JSON.parse(data.body.slice(1));
    if (rejected) throw Error(value['#error']);
    return value;
  };
  return { ls, calls, call };
}

// A counter vat: version 1 counts by 1, version 2 by 10; the count is durable.
const counterVat = (step) => (vd, baggage) => {
  const handle = vd.provideKindHandle(baggage, 'Counter');
  const makeCounter = vd.defineDurableKind(handle, (start) => ({ count: start }), {
    increment: ({ state }) => {
      state.count += step;
      return state.count;
    },
    read: ({ state }) => state.count,
  });
  const counter = vd.provide(baggage, 'counter', () => makeCounter(5));
  let ephemeral = 0;
  return vd.Far('root', {
    increment: () => counter.increment(),
    read: () => counter.read(),
    bumpEphemeral: () => {
      ephemeral += 1;
      return ephemeral;
    },
  });
};

test('a durable object keeps its state and gets new behaviour in the next incarnation', async () => {
  const store = new Map();
  const v1 = await incarnation(store, counterVat(1));
  assert.equal(await v1.call('increment'), 6);
  assert.equal(await v1.call('increment'), 7);
  assert.equal(await v1.call('bumpEphemeral'), 1);
  const v2 = await incarnation(store, counterVat(10));
  assert.equal(await v2.call('read'), 7);
  assert.equal(await v2.call('increment'), 17);
  assert.equal(await v2.call('bumpEphemeral'), 1, 'ephemeral state starts over');
  // Instance state is in the vatstore, under the durable vref.
  const stateKeys = [...store.keys()].filter((k) => /^vom\.o\+d\d+\/1$/.test(k));
  assert.equal(stateKeys.length, 1);
});

test('a durable kind that the new incarnation does not redefine fails startVat, naming it', async () => {
  const store = new Map();
  await incarnation(store, counterVat(1));
  await assert.rejects(
    incarnation(store, (vd) => vd.Far('root', {})),
    /defineDurableKind not called for "Counter" \(kind \d+\)/,
  );
});

test('facets of a multi-facet durable kind may be added but not removed', async () => {
  const kit = (facets) => (vd, baggage) => {
    const h = vd.provideKindHandle(baggage, 'Kit');
    const make = vd.defineDurableKindMulti(h, () => ({ n: 1 }), facets);
    vd.provide(baggage, 'kit', () => make());
    return vd.Far('root', {});
  };
  const store = new Map();
  await incarnation(store, kit({ a: { get: ({ state }) => state.n }, b: { get: () => 0 } }));
  await incarnation(store, kit({ a: { get: () => 1 }, b: { get: () => 0 }, c: { get: () => 2 } }));
  await assert.rejects(
    incarnation(store, kit({ a: { get: () => 1 }, c: { get: () => 2 } })),
    /Kit" facets \(a, c\) is missing "b"/,
  );
  await assert.rejects(
    incarnation(store, (vd, baggage) => {
      vd.defineDurableKind(vd.provideKindHandle(baggage, 'Kit'), () => ({}), { get: () => 0 });
      return vd.Far('root', {});
    }),
    /originally multi-facet/,
  );
});

test('a stateShape may only grow by fields that accept undefined', async () => {
  const shaped = (stateShape) => (vd, baggage) => {
    const h = vd.provideKindHandle(baggage, 'Shaped');
    const make = vd.defineDurableKind(h, () => ({ x: 1 }), { x: ({ state }) => state.x }, { stateShape });
    vd.provide(baggage, 'one', () => make());
    return vd.Far('root', {});
  };
  const store = new Map();
  await incarnation(store, (vd, b) => shaped({ x: vd.M.number() })(vd, b));
  await incarnation(store, (vd, b) => shaped({ x: vd.M.number(), y: vd.M.opt(vd.M.string()) })(vd, b));
  await assert.rejects(
    incarnation(store, (vd, b) => shaped({ x: vd.M.number(), y: vd.M.opt(vd.M.string()), z: vd.M.string() })(vd, b)),
    /adds "z"/,
  );
  await assert.rejects(
    incarnation(store, (vd, b) => shaped({ x: vd.M.string(), y: vd.M.opt(vd.M.string()) })(vd, b)),
    /changes the pattern of "x"/,
  );
});

test('durable state refuses non-durable values; virtual state accepts them', async () => {
  const store = new Map();
  const v = await incarnation(store, (vd, baggage) => {
    const makeD = vd.defineDurableKind(vd.provideKindHandle(baggage, 'D'), (x) => ({ x }), {});
    const makeV = vd.defineKind('V', (x) => ({ x }), { get: ({ state }) => state.x });
    const eph = vd.Far('eph', {});
    assert.throws(() => makeD(eph), /value for "x" is not durable/);
    assert.throws(() => makeD(makeV(1)), /not durable/);
    assert.throws(() => baggage.init('eph', eph), /not durable/);
    assert.throws(() => makeD(Promise.resolve()), /not durable/);
    assert.equal(makeV(eph).get(), eph);
    baggage.init('d', makeD(harden({ deep: [1, 'two'] })));
    return vd.Far('root', {});
  });
  assert.ok(v);
});

test('stores iterate in key order and count their entries', async () => {
  const store = new Map();
  let keys;
  await incarnation(store, (vd, baggage) => {
    const s = vd.makeScalarBigMapStore('numbers', { durable: true });
    for (const k of [10, -1, 2.5, 0, -300, 7n, -7n, 'b', 'a', 100n]) s.init(k, String(k));
    assert.equal(s.getSize(), 10);
    assert.throws(() => s.init(10, 'again'), /already registered/);
    assert.throws(() => s.get(11), /not found/);
    s.delete(0);
    keys = s.keys();
    baggage.init('numbers', s);
    return vd.Far('root', {});
  });
  assert.deepEqual(keys, [-300, -1, 2.5, 10, -7n, 7n, 100n, 'a', 'b']);
  const order = [-Infinity, -1e300, -2, -0.5, 0, 1e-300, 3, Infinity];
  const enc = order.map((n) => encodeKey(n));
  assert.deepEqual([...enc].sort(), enc);
  const big = [-(10n ** 30n), -12n, -3n, 0n, 4n, 99n, 10n ** 30n];
  const encb = big.map((n) => encodeKey(n));
  assert.deepEqual([...encb].sort(), encb);
});

test('a durable watcher on a local promise fires in the next incarnation (self-subscription)', async () => {
  const store = new Map();
  const watcherVat = (vd, baggage) => {
    const makeWatcher = vd.defineDurableKind(vd.provideKindHandle(baggage, 'Watcher'), () => ({}), {
      onFulfilled: (_ctx, v) => baggage.init('outcome', `fulfilled ${v}`),
      onRejected: (_ctx, e) => baggage.init('outcome', `rejected ${e.name} ${e.incarnationNumber}`),
    });
    return vd.Far('root', {
      watchForever: () => {
        vd.watchPromise(new Promise(() => {}), makeWatcher());
      },
      outcome: () => (baggage.has('outcome') ? baggage.get('outcome') : 'none'),
    });
  };
  const v1 = await incarnation(store, watcherVat);
  await v1.call('watchForever');
  const sub = v1.calls.find((c) => c[0] === 'subscribe');
  assert.ok(sub, 'the vat subscribes to its own watched promise');
  const vpid = sub[1];
  assert.match(vpid, /^p\+\d+$/);
  const v2 = await incarnation(store, watcherVat);
  assert.equal(await v2.call('outcome'), 'none');
  const rejection = { body: '#{"incarnationNumber":0,"name":"vatUpgraded","upgradeMessage":"up"}', slots: [] };
  await v2.ls.dispatch({ type: 'notify', resolutions: [{ vpid, rejected: true, data: rejection }] });
  await flush();
  v2.ls.flush();
  assert.equal(await v2.call('outcome'), 'rejected vatUpgraded 0');
  assert.equal(store.get(`watch.${vpid}`), undefined, 'the watch record is gone once it fired');
});

test('vrefs are never reused by a later incarnation', async () => {
  const store = new Map();
  const exporter = (vd) =>
    vd.Far('root', {
      fresh: () => {
        const d = vd.defineKind('thing', () => ({}), {});
        return [d(), vd.Far('x', {})];
      },
    });
  const v1 = await incarnation(store, exporter);
  await v1.call('fresh');
  const first = v1.calls.find((c) => c[0] === 'resolve')[1][0].data.slots;
  const v2 = await incarnation(store, exporter);
  await v2.call('fresh');
  const second = v2.calls.find((c) => c[0] === 'resolve')[1][0].data.slots;
  assert.equal(first.length, 2);
  for (const s of second) assert.ok(!first.includes(s), `${s} reused`);
});

test('promise ids are not reused either, past any number of reservations', async () => {
  const store = new Map();
  // Each `tell` sends to an import, allocating a result promise (p+N) per send.
  const sender = (vd, _baggage, ls) =>
    vd.Far('root', {
      tell: (target, n) => {
        for (let i = 0; i < n; i += 1) ls.E(target).hi(i);
      },
    });
  const sent = (calls) => calls.filter((c) => c[0] === 'send').map((c) => c[3]);
  const tell = async (inc, n) => {
    const body = `#${JSON.stringify(['tell', ['$0.Alleged: peer', n]])}`;
    await inc.ls.dispatch({ type: 'message', target: 'o+0', methargs: { body, slots: ['o-1'] }, result: null });
    await flush();
    inc.ls.flush();
  };
  const v1 = await incarnation(store, sender);
  await tell(v1, 150); // more than one reservation's worth
  await tell(v1, 7);
  const before = sent(v1.calls);
  assert.equal(before.length, 157);
  const v2 = await incarnation(store, sender);
  await tell(v2, 3);
  const ids = (vpids) => vpids.map((p) => Number(p.slice(2)));
  const highest = Math.max(...ids(before));
  for (const id of ids(sent(v2.calls))) assert.ok(id > highest, `p+${id} reused (had up to p+${highest})`);
});
