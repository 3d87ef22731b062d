// Node tests of the liveslots marshal (run: node --test kernel/tests/js/).
import test from 'node:test';
import assert from 'node:assert/strict';
import { Far, makeMarshal, passStyleOf } from '../../src/worker/js/marshal.js';

const refs = new Map();
const m = makeMarshal(
  (v) => {
    if (!refs.has(v)) refs.set(v, `o+${refs.size + 1}`);
    return refs.get(v);
  },
  (vref, iface) => Far(iface ?? vref, { vref: () => vref }),
);

test('plain data encodes as upstream smallcaps', () => {
  const cd = m.serialize({ b: [1, '#x', '$y', undefined, null], a: 10n, n: -5n, z: NaN });
  assert.equal(cd.body, '#{"a":"+10","b":[1,"!#x","!$y","#undefined",null],"n":"-5","z":"#NaN"}');
  assert.deepEqual(cd.slots, []);
  assert.deepEqual(m.unserialize(cd), { a: 10n, b: [1, '#x', '$y', undefined, null], n: -5n, z: NaN });
});

test('remotables and promises become slots, one per distinct ref', () => {
  const counter = Far('counter', { inc: () => 1 });
  const p = Promise.resolve(1);
  const cd = m.serialize([counter, counter, p]);
  assert.equal(cd.body, '#["$0.Alleged: counter","$0.Alleged: counter","&1"]');
  assert.equal(cd.slots.length, 2);
  const back = m.unserialize(cd);
  assert.equal(back[0], back[1], 'one slot, one value');
  assert.equal(passStyleOf(back[0]), 'remotable');
});

test('errors pass as name and message', () => {
  const e = new TypeError('bad');
  const cd = m.serialize(e);
  assert.equal(cd.body, '#{"#error":"bad","name":"TypeError"}');
  const back = m.unserialize(cd);
  assert.equal(back.message, 'bad');
  assert.equal(back.name, 'TypeError');
});

test('unpassable values are refused', () => {
  assert.throws(() => m.serialize(() => 1), /Remotables must be explicitly declared/);
  assert.throws(() => m.serialize(new (class X {})()), /prototype/);
  const cyc = [];
  cyc.push(cyc);
  assert.throws(() => m.serialize(cyc), /cyclic/);
  assert.throws(() => m.unserialize({ body: '{}', slots: [] }), /smallcaps/);
  assert.throws(() => m.unserialize({ body: '#"$3"', slots: [] }), /out of range/);
});

test('data nests at most MAX_DEPTH levels, both ways', async () => {
  const { MAX_DEPTH } = await import('../../src/worker/js/marshal.js');
  const nest = (n) => {
    let v = 1;
    for (let i = 0; i < n; i += 1) v = [v];
    return v;
  };
  const ok = m.serialize(nest(MAX_DEPTH));
  assert.deepEqual(m.unserialize(ok), nest(MAX_DEPTH));
  assert.throws(() => m.serialize(nest(MAX_DEPTH + 1)), /nests deeper than 64/);
  const deep = { body: `#${'['.repeat(MAX_DEPTH + 1)}1${']'.repeat(MAX_DEPTH + 1)}`, slots: [] };
  assert.throws(() => m.unserialize(deep), /nests deeper than 64/);
});
