// The vat-admin vat: the vatAdminService that vats use to create dynamic vats, and the
// adminNodes that watch, upgrade and control them. It reaches the kernel only through
// `vatPowers.kernelHook`, a syscall the kernel accepts from this vat alone (upstream uses
// the vat-admin device for the same purpose). Its state lives in JS variables and comes
// back by transcript replay.
import { Far } from '@endo/far';
import { makePromiseKit } from '@endo/promise-kit';

export function buildRootObject(vatPowers) {
  const { kernelHook } = vatPowers;
  const running = new Map(); // vatID -> kit settled when the vat ends
  const pendingUpgrades = new Map(); // upgradeID -> kit settled by vatUpgradeCallback

  const adminNodeFor = (vatID, done) =>
    Far('adminNode', {
      done: () => done.promise,
      terminateWithFailure: (reason) => {
        kernelHook('terminate', vatID, reason);
      },
      // Resolves { incarnationNumber } once the kernel upgraded the vat; rejects with the
      // cause if the new version failed (the old one then goes on unchanged).
      upgrade: (bundleID, options = {}) => {
        const answer = kernelHook('upgrade', vatID, bundleID, options);
        if (answer.error) throw Error(answer.error);
        const kit = makePromiseKit();
        pendingUpgrades.set(answer.upgradeID, kit);
        return kit.promise;
      },
    });

  return Far('vatAdminService', {
    createVat(bundleID, options = {}) {
      const answer = kernelHook('createVat', bundleID, options);
      if (answer.error) throw Error(answer.error);
      const done = makePromiseKit();
      // `done` rejections are expected outcomes; keep them from being "unhandled".
      done.promise.catch(() => {});
      running.set(answer.vatID, done);
      return { root: answer.root, adminNode: adminNodeFor(answer.vatID, done) };
    },
    // Called by the kernel when a dynamic vat ends.
    vatTerminated(vatID, failure, info) {
      const done = running.get(vatID);
      if (!done) return;
      running.delete(vatID);
      if (failure) done.reject(info);
      else done.resolve(info);
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
