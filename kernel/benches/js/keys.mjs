// Figures for the key and pattern checks on data shaped to make naive checks slow (what a
// hostile sender could give a vat): each size doubles, so work about linear in the size
// shows as time about doubling. Run: node kernel/benches/js/keys.mjs
import { makeMarshal } from '../../src/worker/js/passstyle.js';
import { Far } from '../../src/worker/js/marshal.js';
import { isKey, keyEQ, makeCopySet, makeCopyMap, makeCopyBagFromElements } from '../../src/worker/js/copy.js';
import { setIsSuperset } from '../../src/worker/js/set-ops.js';
import { M, matches } from '../../src/worker/js/patterns.js';

const { fromCapData } = makeMarshal(
  () => 'unused',
  (slot) => Far(slot, {}),
);

const time = (f) => {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
};

function nestedSets(depth) {
  let n = 0;
  const slots = [];
  const mk = (d) =>
    d === 0 ? (slots.push(`o-${n}`), `$${n++}.Alleged: x`) : { '#tag': 'copySet', payload: [mk(d - 1), mk(d - 1)] };
  return fromCapData({ body: `#${JSON.stringify(mk(depth))}`, slots });
}

function tiedArrays(n) {
  const payload = Array.from({ length: n }, (_, i) => [`$${i}.Alleged: x`]);
  return fromCapData({
    body: `#${JSON.stringify({ '#tag': 'copySet', payload })}`,
    slots: Array.from({ length: n }, (_, i) => `o-${i}`),
  });
}

const strings = (n) => makeCopySet(Array.from({ length: n }, (_, i) => `s${i}`));

const cases = [
  ['isKey: binary nested sets (leaves)', (n) => nestedSets(Math.log2(n)), (v) => isKey(v)],
  ['isKey: set of rank-tied [remotable]', tiedArrays, (v) => isKey(v)],
  ['keyEQ: two string sets', (n) => [strings(n), strings(n)], ([a, b]) => keyEQ(a, b)],
  ['setIsSuperset: two string sets', (n) => [strings(n), strings(n)], ([a, b]) => setIsSuperset(a, b)],
  [
    'matches: CopyMap against a CopyMap pattern',
    (n) => [
      makeCopyMap(Array.from({ length: n }, (_, i) => [`k${i}`, i])),
      makeCopyMap(Array.from({ length: n }, (_, i) => [`k${i}`, M.number()])),
    ],
    ([m, p]) => matches(m, p),
  ],
  ['makeCopyBagFromElements', (n) => Array.from({ length: n }, (_, i) => `e${i % 97}`), (v) => makeCopyBagFromElements(v)],
];

for (const [name, make, run] of cases) {
  const row = [];
  for (const n of [1024, 2048, 4096, 8192]) {
    const v = make(n);
    row.push(`${n}: ${time(() => run(v)).toFixed(1)} ms`);
  }
  console.log(`${name.padEnd(46)} ${row.join('  ')}`);
}
