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
//
// Its surface is upstream's (packages/SwingSet/src/vats/vat-admin): bundlecaps
// (`getBundleCap`, `getNamedBundleCap`, `waitForBundleCap`, `getBundleIDByName`),
// `createVat(bundlecap, options)` with an optional name, `createVatByName`,
// `adminNode.upgrade(bundlecap, options)`, `changeOptions`, and `createVatAdminService`
// for bootstrap code. A bundlecap is a durable object of this vat (upstream's is a device
// node): one per bundle id, so passing it around and back works across upgrades. Bundle-id
// strings are accepted wherever a bundlecap is, as a convenience.
import { Far, passStyleOf } from '@endo/far';
import { makePromiseKit } from '@endo/promise-kit';
import { prepareExoClass, provideDurableMapStore } from '@agoric/vat-data';
import { Fail, q } from '@endo/errors';

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

  // bundleID -> its bundlecap (the same object every time).
  const bundlecaps = provideDurableMapStore(baggage, 'bundlecaps');
  // This incarnation's waits for bundles not yet installed (bundleID -> kit).
  const pendingBundles = new Map();

  const ask = (...args) => {
    const answer = kernelHook(...args);
    if (answer && answer.error) throw Error(answer.error);
    return answer;
  };

  const makeBundleCap = prepareExoClass(baggage, 'BundleCap', undefined, (bundleID) => ({ bundleID }), {
    getBundleID() {
      return this.state.bundleID;
    },
  });
  const bundleCapFor = (bundleID) => {
    if (!bundlecaps.has(bundleID)) bundlecaps.init(bundleID, makeBundleCap(bundleID));
    return bundlecaps.get(bundleID);
  };
  const installed = (bundleID) => typeof bundleID === 'string' && ask('hasBundle', bundleID).installed;
  // The bundle id a bundlecap (or, as a convenience, a bundle-id string) stands for.
  const bundleIDOf = (capOrID, what) => {
    if (typeof capOrID === 'string') return capOrID;
    if (passStyleOf(capOrID) === 'remotable') {
      try {
        // Only this vat's own objects answer synchronously (another vat's object arrives as
        // a presence, which has no methods), and of those only bundlecaps have this method.
        const id = capOrID.getBundleID();
        if (typeof id === 'string' && bundlecaps.has(id)) return id;
      } catch {
        // not a bundlecap
      }
    }
    throw Error(`${what} requires a bundlecap`);
  };
  const vatOptions = (options) => {
    const { name, vatParameters, enablePipelining, reapInterval, ...rest } = options;
    const unknown = Object.keys(rest).filter((k) => !['critical', 'managerType', 'meter', 'enableSetup', 'enableVatstore', 'useTranscript'].includes(k));
    unknown.length === 0 || Fail`CreateVatOptions: unknown options ${q(unknown)}`;
    name === undefined || typeof name === 'string' || Fail`CreateVatOptions: bad vat name ${q(name)}`;
    const co = { name, vatParameters, enablePipelining, reapInterval };
    return harden(Object.fromEntries(Object.entries(co).filter(([, v]) => v !== undefined)));
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
    upgrade(bundlecap, options = {}) {
      const bundleID = bundleIDOf(bundlecap, 'vatAdmin.upgrade()');
      const { upgradeID } = ask('upgrade', this.state.vatID, bundleID, options);
      const kit = makePromiseKit();
      pendingUpgrades.set(upgradeID, kit);
      return kit.promise;
    },
    changeOptions(options) {
      for (const [option, value] of Object.entries(options)) {
        option === 'reapInterval' || Fail`invalid option ${q(option)}`;
        value === 'never' || (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) || Fail`invalid reapInterval value`;
      }
      ask('changeOptions', this.state.vatID, options);
    },
  });

  const createVat = (bundleID, options) => {
    const co = vatOptions(options);
    const { vatID, root } = ask('createVat', bundleID, co);
    created.init(vatID, harden({ bundleID, name: co.name }));
    return harden({ root, adminNode: makeAdminNode(vatID) });
  };

  const service = Far('vatAdminService', {
    version: () => VERSION,
    // Bootstrap code asks for the service with the vat-admin device (upstream); here the
    // root is the service, and the device stands for nothing more.
    createVatAdminService: (_device) => service,
    getBundleCap(bundleID) {
      if (!installed(bundleID)) throw Error(`bundleID not yet installed: ${bundleID}`);
      return bundleCapFor(bundleID);
    },
    waitForBundleCap(bundleID) {
      if (installed(bundleID)) return bundleCapFor(bundleID);
      typeof bundleID === 'string' || Fail`waitForBundleCap() requires a bundleID string`;
      if (!pendingBundles.has(bundleID)) pendingBundles.set(bundleID, makePromiseKit());
      return pendingBundles.get(bundleID).promise;
    },
    getBundleIDByName(name) {
      typeof name === 'string' || Fail`a bundle name must be a string`;
      return ask('bundleIDByName', name).bundleID;
    },
    getNamedBundleCap(name) {
      return bundleCapFor(service.getBundleIDByName(name));
    },
    createVat(bundlecap, options = {}) {
      return createVat(bundleIDOf(bundlecap, 'Vat Creation Error: createVat()'), options);
    },
    createVatByName(bundleName, options = {}) {
      typeof bundleName === 'string' || Fail`createVatByName() requires bundleName to be a string`;
      return createVat(service.getBundleIDByName(bundleName), options);
    },
    // Called by the kernel when a bundle is installed: settles waitForBundleCap().
    bundleInstalled(bundleID) {
      const kit = pendingBundles.get(bundleID);
      if (!kit) return;
      pendingBundles.delete(bundleID);
      kit.resolve(bundleCapFor(bundleID));
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
  return service;
}
