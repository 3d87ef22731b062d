// The chainStorage vat: where vats publish data for clients. Its root is handed to genesis
// (and governance-created) vats as `vatParameters.chainStorage`.
//
// The data lives in this vat's vatstore, which the host reads directly (queries and block
// events) without a delivery:
//   vvs.data.<path>        the latest value, JSON
//   vvs.seq                number of changes so far
//   vvs.change.<seq:020>   the path changed by change <seq>; only the last KEEP are kept
import { Far } from '@endo/far';

const KEEP = 1000;
const PATH = /^[A-Za-z0-9_.\-/]{1,200}$/;
const MAX_VALUE = 64 * 1024;

export function buildRootObject(vatPowers) {
  const { vatstore } = vatPowers;
  const pad = (n) => String(n).padStart(20, '0');
  return Far('chainStorage', {
    // Publishes `value` (plain JSON data) under `path`; returns the change number.
    setValue(path, value) {
      if (typeof path !== 'string' || !PATH.test(path)) {
        throw TypeError(`path must be 1 to 200 characters of [A-Za-z0-9_.-/], got ${JSON.stringify(path)}`);
      }
      const json = JSON.stringify(value);
      if (json === undefined) throw TypeError('value must be JSON data');
      if (json.length > MAX_VALUE) throw RangeError(`value is over ${MAX_VALUE} characters of JSON`);
      const seq = Number(vatstore.get('seq') ?? '0') + 1;
      vatstore.set(`data.${path}`, json);
      vatstore.set('seq', String(seq));
      vatstore.set(`change.${pad(seq)}`, path);
      if (seq > KEEP) vatstore.delete(`change.${pad(seq - KEEP)}`);
      return seq;
    },
    getValue(path) {
      const json = vatstore.get(`data.${path}`);
      return json === undefined ? undefined : JSON.parse(json);
    },
  });
}
