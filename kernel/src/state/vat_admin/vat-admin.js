// The vat-admin vat: the vatAdminService that vats use to create dynamic vats, and the
// adminNodes that watch, upgrade and control them. It reaches the kernel only through
// `vatPowers.kernelHook`, a syscall the kernel accepts from this vat alone (upstream uses
// the vat-admin device for the same purpose).
//
// It is upgradeable like any vat (by the host API or governance), so everything that must
// outlive an incarnation is durable: the adminNodes (a durable kind, so the references
// other vats hold stay valid), each dynamic vat's creation record, and how each one ended.
// What is not durable is a promise this vat decides: a `done()` or `upgrade()` answer still
// pending when vat-admin itself is upgraded is rejected (as every upgraded vat's are); the
// adminNode goes on working, and asking `done()` again answers from the durable record.
import { Far } from '@endo/far';
import { makePromiseKit } from '@endo/promise-kit';
import { prepareExoClass, provideDurableMapStore } from '@agoric/vat-data';

const VERSION = 1;

export function buildRootObject(vatPowers, _vatParameters, baggage) {
  const { kernelHook } = vatPowers;
  // vatID -> { bundleID, name }: what each dynamic vat was created from.
  const created = provideDurableMapStore(baggage, 'created');
  // vatID -> { failure, info }: how each dynamic vat ended.
  const ended = provideDurableMapStore(baggage, 'ended');
  // This incarnation's pending answers (promises cannot be durable).
  const waiting = new Map(); // vatID -> kit settled when the vat ends
  const pendingUpgrades = new Map(); // upgradeID -> kit settled by vatUpgradeCallback

  const ask = (...args) => {
    const answer = kernelHook(...args);
    if (answer && answer.error) throw Error(answer.error);
    return answer;
  };

  const makeAdminNode = prepareExoClass(baggage, 'AdminNode', undefined, (vatID) => ({ vatID }), {
    done() {
      const { vatID } = this.state;
      if (ended.has(vatID)) {
        const { failure, info } = ended.get(vatID);
        return failure ? Promise.reject(info) : Promise.resolve(info);
      }
      if (!waiting.has(vatID)) {
        const kit = makePromiseKit();
        // `done` rejections are expected outcomes; keep them from being "unhandled".
        kit.promise.catch(() => {});
        waiting.set(vatID, kit);
      }
      return waiting.get(vatID).promise;
    },
    terminateWithFailure(reason) {
      kernelHook('terminate', this.state.vatID, reason);
    },
    // Resolves { incarnationNumber } once the kernel upgraded the vat; rejects with the
    // cause if the new version failed (the old one then goes on unchanged).
    upgrade(bundleID, options = {}) {
      const { upgradeID } = ask('upgrade', this.state.vatID, bundleID, options);
      const kit = makePromiseKit();
      pendingUpgrades.set(upgradeID, kit);
      return kit.promise;
    },
  });

  return Far('vatAdminService', {
    version: () => VERSION,
    createVat(bundleID, options = {}) {
      const { vatID, root } = ask('createVat', bundleID, options);
      created.init(vatID, harden({ bundleID, name: options.name }));
      return harden({ root, adminNode: makeAdminNode(vatID) });
    },
    // Called by the kernel when a dynamic vat ends.
    vatTerminated(vatID, failure, info) {
      if (!created.has(vatID) || ended.has(vatID)) return;
      try {
        ended.init(vatID, harden({ failure, info }));
      } catch {
        // The completion is the ended vat's own data: one that durable state cannot hold
        // (it names a promise, say) must not fail this delivery.
        const kept = Error('the vat ended with a completion that cannot be kept durably');
        ended.init(vatID, harden({ failure, info: kept }));
      }
      const kit = waiting.get(vatID);
      if (!kit) return;
      waiting.delete(vatID);
      if (failure) kit.reject(info);
      else kit.resolve(info);
    },
    // Called by the kernel when an upgrade was processed.
    vatUpgradeCallback(upgradeID, success, error, incarnationNumber) {
      const kit = pendingUpgrades.get(upgradeID);
      if (!kit) return;
      pendingUpgrades.delete(upgradeID);
      if (success) kit.resolve({ incarnationNumber });
      else kit.reject(error);
    },
  });
}
