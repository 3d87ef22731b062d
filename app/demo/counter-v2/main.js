// The demo counter vat, version 2: what a governance upgrade installs. Same durable count
// (baggage), a new method (`reset`) and a version string clients can see change.
import { E, Far } from '@endo/far';

const VERSION = 'v2';

export function buildRootObject(_vatPowers, vatParameters, baggage) {
  const { chainStorage } = vatParameters;
  // An upgrade finds the count version 1 left; a fresh vat starts at zero.
  if (!baggage.has('count')) baggage.init('count', 0);
  const publish = (n) => chainStorage && E(chainStorage).setValue('counter.count', n);
  return Far('counter', {
    increment(by = 1) {
      if (!Number.isSafeInteger(by) || by < 1 || by > 1000) {
        throw RangeError(`increment takes a whole number from 1 to 1000, got ${by}`);
      }
      const n = baggage.get('count') + by;
      baggage.set('count', n);
      publish(n);
      return n;
    },
    read() {
      return baggage.get('count');
    },
    reset() {
      baggage.set('count', 0);
      publish(0);
      return 0;
    },
    version() {
      return VERSION;
    },
  });
}
