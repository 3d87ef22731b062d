// Node tests of liveslots' protocol, with a recording syscall in place of the kernel.
import test from 'node:test';
import assert from 'node:assert/strict';
import { makeLiveSlots } from '../../src/worker/js/liveslots.js';
import { recorder } from './support.mjs';


const flush = () => new Promise((r) => setImmediate(r));
const undef = { body: '#"#undefined"', slots: [] };

async function started(vat) {
  const { calls, syscall } = recorder();
  const ls = makeLiveSlots(syscall, { loadVat: async () => vat(() => ls) });
  await ls.dispatch({ type: 'startVat', vatParameters: undef });
  return { ls, calls };
}

test('a message to the root runs the method and resolves the result', async () => {
  const { ls, calls } = await started((get) => ({
    buildRootObject: () => get().Far('root', { double: (n) => n * 2 }),
  }));
  await ls.dispatch({ type: 'message', target: 'o+0', methargs: { body: '#["double",[21]]', slots: [] }, result: 'p-60' });
  await flush();
  assert.deepEqual(calls, [['resolve', [{ vpid: 'p-60', rejected: false, data: { body: '#42', slots: [] } }]]]);
});

test('a throwing method rejects the result with the error', async () => {
  const { ls, calls } = await started((get) => ({
    buildRootObject: () => get().Far('root', { boom: () => { throw RangeError('no'); } }),
  }));
  await ls.dispatch({ type: 'message', target: 'o+0', methargs: { body: '#["boom",[]]', slots: [] }, result: 'p-60' });
  await ls.dispatch({ type: 'message', target: 'o+0', methargs: { body: '#["missing",[]]', slots: [] }, result: 'p-61' });
  await flush();
  assert.deepEqual(calls[0], ['resolve', [{ vpid: 'p-60', rejected: true, data: { body: '#{"#error":"no","name":"RangeError"}', slots: [] } }]]);
  assert.equal(calls[1][1][0].rejected, true);
  assert.match(calls[1][1][0].data.body, /no method/);
});

test('E() on an import sends, subscribes, and a notify settles the answer', async () => {
  let answer;
  const { ls, calls } = await started((get) => ({
    buildRootObject: () =>
      get().Far('root', {
        callOther: (other) => {
          answer = get().E(other).ping(get().Far('cb', {}));
        },
      }),
  }));
  await ls.dispatch({ type: 'message', target: 'o+0', methargs: { body: '#["callOther",["$0"]]', slots: ['o-50'] } });
  await flush();
  assert.deepEqual(calls, [
    ['send', 'o-50', { body: '#["ping",["$0.Alleged: cb"]]', slots: ['o+10'] }, 'p+5'],
    ['subscribe', 'p+5'],
  ]);
  await ls.dispatch({ type: 'notify', resolutions: [{ vpid: 'p+5', rejected: false, data: { body: '#"pong"', slots: [] } }] });
  assert.equal(await answer, 'pong');
});

test('returning a local promise exports it and reports its settlement once', async () => {
  let release;
  const { ls, calls } = await started((get) => ({
    buildRootObject: () =>
      get().Far('root', {
        later: () => ({ p: new Promise((r) => { release = r; }) }),
      }),
  }));
  await ls.dispatch({ type: 'message', target: 'o+0', methargs: { body: '#["later",[]]', slots: [] }, result: 'p-60' });
  await flush();
  assert.deepEqual(calls, [['resolve', [{ vpid: 'p-60', rejected: false, data: { body: '#{"p":"&0"}', slots: ['p+5'] } }]]]);
  release(7);
  await flush();
  assert.deepEqual(calls[1], ['resolve', [{ vpid: 'p+5', rejected: false, data: { body: '#7', slots: [] } }]]);
});

test('startVat refuses a root that is not Far', async () => {
  const { syscall } = recorder();
  const ls = makeLiveSlots(syscall, { loadVat: async () => ({ buildRootObject: () => ({ plain: 1 }) }) });
  await assert.rejects(ls.dispatch({ type: 'startVat', vatParameters: undef }), /Far object/);
});
