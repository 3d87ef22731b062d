// The demo counter vat, version 1. Its count lives in baggage (durable), so a governance
// upgrade to version 2 keeps it; every change is published to chainStorage under
// `counter.count`, where clients query it (`vatd query data counter.count`).
import { E, Far } from '@endo/far';

const VERSION = 'v1';

export function buildRootObject(_vatPowers, vatParameters, baggage) {
  const { chainStorage } = vatParameters;
  if (!baggage.has('count')) baggage.init('count', 0);
  const publish = (n) => chainStorage && E(chainStorage).setValue('counter.count', n);
  return Far('counter', {
    // Adds `by` (default 1) and returns the new count.
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
    version() {
      return VERSION;
    },
  });
}
