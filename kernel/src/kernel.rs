//! The kernel: its settings, errors and reports, opening a DB, and the host-facing API.
//! The crank loop is in [`crank`], a delivery and its outcome in [`outcome`], the live
//! workers in [`crate::warehouse`].
//!
//! A crank is one unit of work; its writes go to the store's crank buffer and are
//! committed (or, if the vat misbehaved, aborted) at its end. After every crank, refcounts
//! that reached zero are processed. The kernel never commits a block: the host does.

mod crank;
mod outcome;

use crate::capdata::{self, CapData};
pub use crate::error::KernelError;
use crate::events::{KCapData, KMessage};
use crate::migrate::{MigrateError, MigrationReport, PendingMigration, Progress};
use crate::refs::{KRef, VatId};
use crate::state::promises::PromiseState;
use crate::state::vat_admin::{VAT_ADMIN_JS, VAT_ADMIN_NAME};
use crate::state::vats::VatOptions;
use crate::state::{keys, KState, SCHEMA_VERSION};
use crate::store::{Cf, Hash32, Store};
use crate::warehouse::Warehouse;
use crate::worker::bundle::Bundle;
use crate::worker::{VatSource, VatWorker, WorkerError, WorkerFactory};

/// Deliveries between bringOutYourDead for a vat that sets no interval, while the host has
/// set none either (upstream mainnet: 1000). See [`Kernel::set_default_reap_interval`].
pub const DEFAULT_REAP_INTERVAL: u64 = 1000;

/// Kernel settings that are not consensus state: a node may set them as it likes, and
/// nothing here can reach the app hash. Whatever does (when BOYD runs, delivery limits)
/// lives in the kernel's kv, set by the host from its chain parameters.
#[derive(Clone, Debug)]
pub struct KernelConfig {
    /// Workers kept live at once; others are rebuilt by replay when needed.
    pub max_live_workers: usize,
    /// Where to append the structured crank log (JSON lines), if anywhere.
    pub slog: Option<std::path::PathBuf>,
    /// Behave as the schema-version-2 kernel did (see [`crate::legacy`]): only in builds
    /// with the `legacy-v2` feature, which the default binary never has.
    #[cfg(feature = "legacy-v2")]
    pub legacy_v2: bool,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig {
            max_live_workers: 50,
            slog: None,
            #[cfg(feature = "legacy-v2")]
            legacy_v2: false,
        }
    }
}

/// How much work one `run` may do.
#[derive(Clone, Copy, Debug)]
pub struct RunBudget {
    /// Stop after the crank that brings the total to or past this many computrons.
    pub computrons: u64,
    /// Stop after this many cranks.
    pub cranks: u64,
}

impl RunBudget {
    pub const UNLIMITED: RunBudget = RunBudget {
        computrons: u64::MAX,
        cranks: u64::MAX,
    };
    pub fn computrons(n: u64) -> RunBudget {
        RunBudget {
            computrons: n,
            cranks: u64::MAX,
        }
    }
}

/// What one crank did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CrankKind {
    /// An acceptance-queue event was routed.
    Routed,
    /// A delivery to a vat (name of the delivery).
    Delivery { vat: VatId, delivery: &'static str },
    /// Work that needed no delivery (a dead target, stale GC actions…).
    NoDelivery,
}

/// The outcome of one crank.
#[derive(Clone, Debug)]
pub struct CrankReport {
    pub kind: CrankKind,
    pub computrons: u64,
    /// A vat terminated in this crank, and why.
    pub terminated: Option<(VatId, String)>,
    /// A message delivery reached a resource limit and was rolled back (the vat kept its
    /// state from before the message; the result was rejected), and why.
    pub rolled_back: Option<(VatId, String)>,
}

/// What `run` did.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    pub cranks: u64,
    pub deliveries: u64,
    pub computrons: u64,
    /// No work was left when `run` returned.
    pub idle: bool,
    pub terminated: Vec<(VatId, String)>,
    /// Message deliveries rolled back at a resource limit (see [`CrankReport`]).
    pub rolled_back: Vec<(VatId, String)>,
}

/// The SwingSet-style kernel.
pub struct Kernel {
    pub(crate) st: KState,
    /// The live workers (not consensus state; see [`crate::warehouse`]).
    pub(crate) warehouse: Warehouse,
    config: KernelConfig,
    pub(crate) slog: Option<crate::slog::Slog>,
    /// The DB is older than this binary and awaits [`Kernel::migrate`]: nothing runs.
    pub(crate) pending: bool,
    /// Why this node cannot go on (see [`Kernel::halted`]); set once, never cleared.
    halted: Option<String>,
}

impl Kernel {
    /// Opens the kernel on `store`, initialising a fresh DB (schema version, counters) in a
    /// crank of its own. A DB at an older schema version for which this binary has
    /// migration steps opens *pending migration* ([`Kernel::pending_migration`]): it can be
    /// read, but nothing runs until [`Kernel::migrate`]. Any other version is refused:
    /// migrations never run silently.
    pub fn new(
        store: Store,
        factory: Box<dyn WorkerFactory>,
        config: KernelConfig,
    ) -> Result<Kernel, KernelError> {
        let mut st = KState::new(store);
        let pending = open_state(&mut st, &config)?;
        let slog = match &config.slog {
            None => None,
            Some(path) => Some(
                crate::slog::Slog::open(path).map_err(|e| KernelError::Slog {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?,
            ),
        };
        Ok(Kernel {
            slog,
            st,
            warehouse: Warehouse::new(factory, config.max_live_workers),
            config,
            pending,
            halted: None,
        })
    }

    /// The schema version this binary writes: [`SCHEMA_VERSION`], or 2 for the legacy
    /// kernel.
    pub fn binary_version(&self) -> u32 {
        binary_version(&self.config)
    }

    /// Whether this kernel behaves as the schema-version-2 kernel did.
    pub(crate) fn legacy_v2(&self) -> bool {
        legacy_v2(&self.config)
    }

    /// Refuses host requests that would run or change kernel work while a migration is
    /// pending.
    fn ready(&self) -> Result<(), KernelError> {
        if let Some(why) = &self.halted {
            return Err(KernelError::Halted(why.clone()));
        }
        match self.pending_migration() {
            None => Ok(()),
            Some(p) => Err(KernelError::MigrationPending {
                from: p.from,
                to: p.to,
            }),
        }
    }

    /// The store, for reads (dumps, I/O figures). The host reads its own keys through
    /// [`Kernel::host`] and writes them through [`Kernel::update_host`].
    pub fn store(&self) -> &Store {
        &self.st.store
    }

    /// Takes the store back (e.g. to reopen the kernel on it).
    pub fn into_store(self) -> Store {
        self.st.store
    }

    /// The last committed height and app hash.
    pub fn committed(&self) -> crate::store::Committed {
        self.st.store.committed()
    }

    /// The app hash the block being built would commit with.
    pub fn pending_app_hash(&self) -> Hash32 {
        self.st.store.pending_app_hash()
    }

    /// Abandons the block being built, as if it never ran: its writes are dropped, every
    /// live worker with them (their heaps saw the block), and the DB is as last committed
    /// (a fresh DB is initialised again). For a consensus engine that restarted before
    /// Commit and sends the same height again.
    pub fn abandon_block(&mut self) -> Result<(), KernelError> {
        self.st.store.abort_block();
        self.st.maybe_free.clear();
        self.warehouse.clear();
        self.pending = open_state(&mut self.st, &self.config)?;
        Ok(())
    }

    /// Commits the block being built (host API; see [`Store::commit_block`]).
    pub fn commit_block(&mut self, height: u64) -> Result<Hash32, crate::store::StoreError> {
        self.check_store();
        if let Some(why) = &self.halted {
            return Err(crate::store::StoreError::Halted(why.clone()));
        }
        if let Some(slog) = &mut self.slog {
            slog.flush();
        }
        self.st.store.commit_block(height)
    }

    /// Creates a vat and queues its `startVat`. Its root object (`o+0`) exists at once, so
    /// the host can hand it out before the vat starts.
    pub fn create_vat(
        &mut self,
        source: VatSource,
        options: VatOptions,
        vat_parameters: KCapData,
    ) -> Result<VatId, KernelError> {
        self.ready()?;
        if options.name == VAT_ADMIN_NAME {
            return Err(KernelError::DuplicateVatName(options.name));
        }
        let v = self.st.create_vat(&source, &options, &vat_parameters)?;
        self.st.store.commit_crank();
        Ok(v)
    }

    /// Installs the vat-admin vat (once; later calls return it): the vatAdminService that
    /// vats use to create dynamic vats. Needs a worker factory that runs JavaScript.
    pub fn install_vat_admin(&mut self) -> Result<VatId, KernelError> {
        self.ready()?;
        if let Some(v) = self.st.vat_id_by_name(VAT_ADMIN_NAME) {
            return Ok(v);
        }
        let bundle = Bundle::new(
            "vat-admin.js",
            [("vat-admin.js".to_string(), VAT_ADMIN_JS.to_string())].into(),
        )?;
        let id = self.install_bundle(&bundle.canonical_bytes())?;
        let options = VatOptions {
            name: VAT_ADMIN_NAME.into(),
            ..VatOptions::default()
        };
        let v = self.st.create_vat(
            &VatSource { bundle_id: id },
            &options,
            &capdata::undefined(),
        )?;
        self.st.store.commit_crank();
        Ok(v)
    }

    /// The vatAdminService object (the vat-admin vat's root), once installed.
    pub fn vat_admin_service(&self) -> Option<KRef> {
        self.st
            .vat_id_by_name(VAT_ADMIN_NAME)
            .and_then(|v| self.vat_root(v))
    }

    /// Checks and stores a bundle in the `bundles` family; returns its id. Installing the
    /// same bundle twice is harmless.
    pub fn install_bundle(&mut self, bytes: &[u8]) -> Result<String, KernelError> {
        self.ready()?;
        let b = crate::worker::parse_bundle(bytes)?;
        let id = b.id();
        if !self.st.store.has(Cf::Bundles, id.as_bytes()) {
            self.st
                .store
                .set(Cf::Bundles, id.as_bytes(), &b.canonical_bytes());
            self.st.notify_bundle_installed(&id);
            self.st.store.commit_crank();
        }
        Ok(id)
    }

    /// Registers `bundle_id` (installed) under `name`, for vat-admin's
    /// `getNamedBundleCap(name)` and `createVatByName(name)` (upstream's named bundles, set
    /// up from the chain's genesis). A name may be pointed at a new bundle later.
    pub fn name_bundle(&mut self, name: &str, bundle_id: &str) -> Result<(), KernelError> {
        self.ready()?;
        if name.is_empty() || name.len() > 200 {
            return Err(KernelError::BadBundleName(name.to_string()));
        }
        if !self.has_bundle(bundle_id) {
            return Err(KernelError::UnknownBundle(bundle_id.to_string()));
        }
        self.st.set(&keys::named_bundle(name), bundle_id);
        self.st.store.commit_crank();
        Ok(())
    }

    /// The bundle registered under `name` ([`Kernel::name_bundle`]).
    pub fn named_bundle(&self, name: &str) -> Option<String> {
        self.st.named_bundle(name)
    }

    /// Queues `bootstrap(vats, devices)` to the root of static vat `v`, as upstream's
    /// kernel does to the vat its config names: `vats` maps every static vat's name
    /// (vat-admin's is `vatAdmin`) to its root, `devices.vatAdmin` is what
    /// `E(vats.vatAdmin).createVatAdminService(devices.vatAdmin)` takes. Once per kernel.
    pub fn bootstrap(&mut self, v: VatId) -> Result<(), KernelError> {
        self.ready()?;
        if !self.st.vat_is_live(v) || self.st.vat_options(v).is_some_and(|o| o.dynamic) {
            return Err(KernelError::UnknownVat(v.to_string()));
        }
        if let Some(done) = self.st.get(keys::BOOTSTRAP) {
            return Err(KernelError::AlreadyBootstrapped(done));
        }
        let mut slots = Vec::new();
        let mut vats = serde_json::Map::new();
        let names: Vec<String> = self.st.get_json(keys::VAT_NAMES).unwrap_or_default();
        let mut named: Vec<(String, KRef)> = Vec::new();
        for name in names {
            let root = self
                .st
                .vat_id_by_name(&name)
                .filter(|w| self.st.vat_is_live(*w))
                .and_then(|w| self.st.clist_kref(w, "o+0"));
            if let Some(root) = root {
                named.push((name, root));
            }
        }
        named.sort();
        let slot_of = |k: KRef, slots: &mut Vec<KRef>| {
            let i = slots.iter().position(|s| *s == k).unwrap_or_else(|| {
                slots.push(k);
                slots.len() - 1
            });
            serde_json::Value::String(format!("${i}.Alleged: root"))
        };
        for (name, root) in &named {
            vats.insert(name.clone(), slot_of(*root, &mut slots));
        }
        let mut devices = serde_json::Map::new();
        if let Some(admin) = named.iter().find(|(n, _)| n == VAT_ADMIN_NAME) {
            devices.insert("vatAdmin".into(), slot_of(admin.1, &mut slots));
        }
        let methargs = capdata::methargs(
            "bootstrap",
            vec![
                serde_json::Value::Object(vats),
                serde_json::Value::Object(devices),
            ],
            slots,
        );
        let target = self
            .st
            .clist_kref(v, "o+0")
            .ok_or_else(|| KernelError::UnknownVat(v.to_string()))?;
        self.st.set(keys::BOOTSTRAP, &v.to_string());
        self.queue_to_kref(target, methargs, false)?;
        Ok(())
    }

    /// Whether the `bundles` family holds `bundle_id`.
    pub fn has_bundle(&self, bundle_id: &str) -> bool {
        self.st.store.has(Cf::Bundles, bundle_id.as_bytes())
    }

    /// An installed bundle's bytes (queries).
    pub fn bundle(&self, bundle_id: &str) -> Option<Vec<u8>> {
        self.st.store.get(Cf::Bundles, bundle_id.as_bytes())
    }

    /// The vat named `name`, if live.
    pub fn vat_id(&self, name: &str) -> Option<VatId> {
        self.st
            .vat_id_by_name(name)
            .filter(|v| self.st.vat_is_live(*v))
    }

    /// Live vats, static then dynamic, in creation order.
    pub fn vats(&self) -> Vec<VatId> {
        self.st.live_vats()
    }

    /// A live vat's options.
    pub fn vat_options(&self, v: VatId) -> Option<VatOptions> {
        self.st.vat_options(v).filter(|_| self.st.vat_is_live(v))
    }

    /// A live vat's name.
    pub fn vat_name(&self, v: VatId) -> Option<String> {
        self.vat_options(v).map(|o| o.name)
    }

    /// A live vat's own reap interval (`None`: the kernel default).
    pub fn vat_reap_interval(&self, v: VatId) -> Option<u64> {
        self.vat_options(v).and_then(|o| o.reap_interval)
    }

    /// The kernel object of a vat's root.
    pub fn vat_root(&self, v: VatId) -> Option<KRef> {
        self.st.clist_kref(v, "o+0")
    }

    fn check_kref(&self, k: KRef) -> Result<(), KernelError> {
        self.st
            .kref_exists(k)
            .then_some(())
            .ok_or(KernelError::UnknownKRef(k))
    }

    /// Sends a message from outside the kernel (the host). With `want_result`, returns a
    /// promise for the answer, pinned until [`Kernel::unpin`].
    pub fn queue_to_kref(
        &mut self,
        target: KRef,
        methargs: KCapData,
        want_result: bool,
    ) -> Result<Option<KRef>, KernelError> {
        self.queue_to_kref_metered(target, methargs, want_result, None)
    }

    /// [`Kernel::queue_to_kref`] with a computron allowance: the message's delivery may
    /// use at most `allowance` computrons (and never more than the per-delivery limit).
    /// Past it the delivery is rolled back and the result rejected; the vat stays as it
    /// was. This is how a tx's declared gas bounds the work its messages cause.
    pub fn queue_to_kref_metered(
        &mut self,
        target: KRef,
        methargs: KCapData,
        want_result: bool,
        allowance: Option<u64>,
    ) -> Result<Option<KRef>, KernelError> {
        self.ready()?;
        self.check_kref(target)?;
        for k in &methargs.slots {
            self.check_kref(*k)?;
        }
        let result = want_result.then(|| {
            let kp = self.st.add_kernel_promise(None);
            self.pin_inner(kp);
            kp
        });
        let msg = KMessage {
            methargs,
            result,
            allowance,
        };
        self.st.queue_send(keys::HOST_QUEUE, target, msg);
        self.st.store.commit_crank();
        Ok(result)
    }

    fn pin_inner(&mut self, k: KRef) {
        self.st.incref(k, true);
        let n = self.st.pin_count(k);
        self.st.set_pin_count(k, n + 1);
    }

    /// Holds `k` on behalf of the host (one count per pin).
    pub fn pin(&mut self, k: KRef) -> Result<(), KernelError> {
        self.ready()?;
        self.check_kref(k)?;
        self.pin_inner(k);
        self.st.store.commit_crank();
        Ok(())
    }

    /// Releases one pin of `k` (frees it if nothing else holds it).
    pub fn unpin(&mut self, k: KRef) {
        assert!(
            !self.pending,
            "host bug: unpin on a kernel awaiting migration"
        );
        if self.halted.is_some() {
            // Nothing may change any more (and nothing will be committed).
            return;
        }
        let n = self.st.pin_count(k);
        if n > 0 {
            self.st.set_pin_count(k, n - 1);
            self.st.decref(k, true);
            self.st.process_refcounts();
            self.st.store.commit_crank();
        }
    }

    /// Where a kernel promise stands (`None`: no such promise).
    pub fn promise_state(&self, kp: KRef) -> Option<PromiseState> {
        self.st.promise_state(kp)
    }

    /// Sets the computron limit of every live delivery (consensus state, kept in the
    /// kernel's kv: the chain's parameter, not a node's configuration). Without it, a
    /// worker uses its own default (`JsLimits::delivery_computrons`).
    pub fn set_delivery_limit(&mut self, computrons: u64) -> Result<(), KernelError> {
        self.ready()?;
        self.st.set_u64(keys::DELIVERY_LIMIT, computrons.max(1));
        self.st.store.commit_crank();
        Ok(())
    }

    /// Sets how many deliveries a vat that sets no interval of its own gets between
    /// bringOutYourDead (consensus state, kept in the kernel's kv: BOYD's timing changes
    /// transcripts and the vatstore, so every node must use the chain's value).
    pub fn set_default_reap_interval(&mut self, deliveries: u64) -> Result<(), KernelError> {
        self.ready()?;
        self.st
            .set_u64(keys::DEFAULT_REAP_INTERVAL, deliveries.max(1));
        self.st.store.commit_crank();
        Ok(())
    }

    /// The interval [`Kernel::set_default_reap_interval`] set, or
    /// [`DEFAULT_REAP_INTERVAL`].
    pub fn default_reap_interval(&self) -> u64 {
        self.st
            .get_u64(keys::DEFAULT_REAP_INTERVAL)
            .unwrap_or(DEFAULT_REAP_INTERVAL)
    }

    /// Why the kernel stopped, if a failure of this node's own stopped it: a vat's worker
    /// could not be built (QuickJS could not allocate a runtime, say) or its transcript no
    /// longer replays. Such a failure says nothing about the vat, and other nodes do not
    /// have it, so it must never change state: the crank it struck is aborted (its event
    /// stays queued), nothing more runs, and every later call that would change state is
    /// refused ([`KernelError::Halted`]). The host must stop without committing the block;
    /// after a restart, once the cause is gone, the block runs as on every other node.
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    /// Records a node-local failure (see [`Kernel::halted`]); the first reason is kept.
    pub(crate) fn halt(&mut self, why: String) {
        // A failed store read is the root cause of whatever went wrong after it (a replay
        // that read a missing transcript item diverges, say): name it first.
        let why = match self.st.store.read_fault() {
            Some(f) if !why.contains(&f) => {
                format!("the store could not be read: {f} (then: {why})")
            }
            _ => why,
        };
        tracing::error!(reason = %why, "the kernel stops: a failure of this node's own");
        self.halted.get_or_insert(why);
    }

    /// The per-delivery computron limit set by [`Kernel::set_delivery_limit`].
    pub fn delivery_limit(&self) -> Option<u64> {
        self.st.get_u64(keys::DELIVERY_LIMIT)
    }

    /// Terminates a vat on the host's behalf (e.g. governance), rejecting its promises.
    pub fn terminate_vat(&mut self, v: VatId, reason: &str) -> Result<(), KernelError> {
        self.ready()?;
        if !self.st.vat_is_live(v) {
            return Err(KernelError::UnknownVat(v.to_string()));
        }
        self.drop_worker(v);
        let why = capdata::error(reason);
        self.st.notify_vat_admin(v, true, &why);
        self.st.terminate_vat(v);
        self.end_crank();
        Ok(())
    }

    /// Reads a kv key (host queries, tests).
    pub fn kv_get(&self, key: &str) -> Option<String> {
        self.st.get(key)
    }

    /// Every kv entry whose key starts with `prefix`.
    pub fn kv_scan(&self, prefix: &str) -> Vec<(String, String)> {
        self.st.scan(prefix)
    }

    /// Vat `v`'s own vatstore value under `key` (what its code wrote with
    /// `vatPowers.vatstore.set`), for hosts that publish what a vat stores (chainStorage)
    /// without a delivery. Liveslots' own records are not reachable this way.
    pub fn user_vatstore_get(&self, v: VatId, key: &str) -> Option<String> {
        self.st.get(&keys::vatstore(
            v,
            &format!("{}{key}", crate::worker::USER_VATSTORE_PREFIX),
        ))
    }

    /// Vat `v`'s own vatstore keys under `prefix` (without the prefix the kernel keeps
    /// them under) and values, in key order.
    pub fn user_vatstore_scan(&self, v: VatId, prefix: &str) -> Vec<(String, String)> {
        let base = keys::vatstore(v, crate::worker::USER_VATSTORE_PREFIX);
        self.st
            .scan(&format!("{base}{prefix}"))
            .into_iter()
            .map(|(k, val)| (k[base.len()..].to_string(), val))
            .collect()
    }

    /// The migration this kernel's DB awaits, if any. While one is pending the kernel runs
    /// nothing (see [`crate::migrate`]).
    pub fn pending_migration(&self) -> Option<PendingMigration> {
        self.pending.then(|| PendingMigration {
            from: self.db_version(),
            to: self.binary_version(),
        })
    }

    /// The schema version the DB is at.
    pub fn db_version(&self) -> u32 {
        self.st
            .get(keys::VERSION)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Runs every migration step from the DB's version to this binary's, in one crank of
    /// its own (committed into the block buffer on success, aborted on error), and leaves
    /// the kernel ready. `progress` hears of long steps as they go.
    pub fn migrate(
        &mut self,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<MigrationReport, MigrateError> {
        let target = self.binary_version();
        let from = self.db_version();
        if !self.pending {
            return Err(MigrateError::NothingPending(from));
        }
        if self.st.store.crank_is_dirty() {
            return Err(MigrateError::CrankOpen);
        }
        let io0 = self.st.store.io_stats();
        let (steps, timing) = match crate::migrate::run_steps(&mut self.st, from, target, progress)
        {
            Ok(done) => done,
            Err(e) => {
                self.st.store.abort_crank();
                self.st.maybe_free.clear();
                return Err(e);
            }
        };
        // Promises whose last reference went are freed here, as at any crank's end.
        self.pending = false;
        self.end_crank();
        Ok(MigrationReport {
            from,
            to: target,
            steps,
            io: self.st.store.io_stats().since(&io0),
            timing,
        })
    }

    /// `v`'s worker, taken out of the warehouse (or built and replayed); give it back with
    /// [`Kernel::keep_worker`].
    pub(crate) fn worker(&mut self, v: VatId) -> Result<Box<dyn VatWorker>, WorkerError> {
        self.warehouse.take(&self.st, v)
    }

    /// A fresh worker for `v`, replayed, and the span's recorded computrons.
    pub(crate) fn build_worker(
        &mut self,
        v: VatId,
    ) -> Result<(Box<dyn VatWorker>, u64), WorkerError> {
        self.warehouse.build(&self.st, v)
    }

    pub(crate) fn drop_worker(&mut self, v: VatId) {
        self.warehouse.drop_worker(v);
    }

    pub(crate) fn keep_worker(&mut self, v: VatId, worker: Box<dyn VatWorker>) {
        self.warehouse.keep(v, worker);
    }

    /// The worker factory (an upgrade makes the new incarnation's worker itself).
    pub(crate) fn factory(&mut self) -> &mut dyn WorkerFactory {
        self.warehouse.factory()
    }

    /// Checks every refcount and c-list pairing from scratch (see [`crate::audit`]).
    pub fn audit(&self) -> crate::audit::AuditReport {
        crate::audit::audit(&self.st)
    }
}

#[cfg(feature = "legacy-v2")]
fn legacy_v2(config: &KernelConfig) -> bool {
    config.legacy_v2
}

#[cfg(not(feature = "legacy-v2"))]
fn legacy_v2(_: &KernelConfig) -> bool {
    false
}

/// Reads the DB's schema version, initialising a fresh DB (schema version, counters) in a
/// crank of its own; returns whether a migration is pending. See [`Kernel::new`].
fn open_state(st: &mut KState, config: &KernelConfig) -> Result<bool, KernelError> {
    let expected = binary_version(config);
    let mut pending = false;
    match st.get(keys::VERSION) {
        None => {
            st.set(keys::VERSION, &expected.to_string());
            st.set_u64(keys::CRANK_NUMBER, 0);
            st.set_json(keys::RUN_QUEUE, &(1u64, 1u64));
            st.set_json(keys::ACCEPTANCE_QUEUE, &(1u64, 1u64));
            st.store.commit_crank();
        }
        Some(v) => {
            let found: u32 = v.parse().unwrap_or(0);
            if found > expected {
                return Err(KernelError::SchemaVersion {
                    found,
                    expected,
                    hint: "the DB was written by a newer binary; run that binary",
                });
            }
            // Pins were one comma-joined list before a pre-release layout change that
            // kept schema version 3: such a DB (a dev chain of an earlier build; no
            // network ran one) is refused rather than read wrong.
            if st.has(keys::LEGACY_PINNED_LIST) {
                return Err(KernelError::SchemaVersion {
                    found,
                    expected,
                    hint: "the DB keeps its pins in `pinnedObjects`, a layout of an \
                           earlier pre-release build that no release migrates; \
                           re-initialize this home",
                });
            }
            if found < expected {
                if !crate::migrate::has_path(found, expected) {
                    return Err(KernelError::SchemaVersion {
                        found,
                        expected,
                        hint: "this binary has no migration from that version; run the \
                               binary that wrote the DB, and upgrade one release at a time",
                    });
                }
                pending = true;
            }
        }
    }
    Ok(pending)
}

fn binary_version(config: &KernelConfig) -> u32 {
    if legacy_v2(config) {
        crate::legacy::SCHEMA_VERSION
    } else {
        SCHEMA_VERSION
    }
}

/// Builds capdata from a body and slots (convenience for hosts and tests).
pub fn kcapdata(body: &str, slots: &[KRef]) -> KCapData {
    CapData {
        body: body.to_string(),
        slots: slots.to_vec(),
    }
}
