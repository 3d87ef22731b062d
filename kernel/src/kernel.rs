//! The kernel: the crank loop over the acceptance-queue, GC actions, the reap queue and
//! the run-queue, and the host-facing API.
//!
//! A crank is one unit of work; its writes go to the store's crank buffer and are
//! committed (or, if the vat misbehaved, aborted) at its end. After every crank, refcounts
//! that reached zero are processed. The kernel never commits a block: the host does.

use std::collections::BTreeMap;

use crate::capdata::{self, CapData};
use crate::events::{KCapData, KMessage, KernelEvent};
use crate::gc::GcStep;
use crate::refs::{KRef, VatId};
use crate::state::promises::PromiseState;
use crate::state::vats::VatOptions;
use crate::state::{keys, KState, SCHEMA_VERSION};
use crate::store::{BlockSavepoint, Cf, Hash32, Store};
use crate::syscall::SyscallCtx;
use crate::transcript::{Recorder, Replayer, TranscriptItem};
use crate::vat_admin::{VAT_ADMIN_JS, VAT_ADMIN_NAME};
use crate::worker::bundle::{Bundle, BundleError};
use crate::worker::{VatDelivery, VatSource, VatWorker, WorkerFactory};

/// Kernel settings that are not consensus state.
#[derive(Clone, Debug)]
pub struct KernelConfig {
    /// Deliveries between bringOutYourDead for vats that set none (upstream mainnet: 1000).
    pub default_reap_interval: u64,
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
            default_reap_interval: 1000,
            max_live_workers: 50,
            slog: None,
            #[cfg(feature = "legacy-v2")]
            legacy_v2: false,
        }
    }
}

/// Errors of the kernel's host API (bad requests from the host, or a DB this binary cannot
/// use). Vat misbehaviour is never an error here: it terminates the vat.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error(
        "kernel DB has schema version {found}, but this binary runs version {expected}: {hint}"
    )]
    SchemaVersion {
        found: u32,
        expected: u32,
        hint: &'static str,
    },
    #[error(
        "the kernel DB awaits its migration from schema version {from} to {to}: nothing runs \
         until the host migrates it"
    )]
    MigrationPending { from: u32, to: u32 },
    #[error("a vat named {0:?} already exists")]
    DuplicateVatName(String),
    #[error("bad vat name {0:?}: use 1 to 200 characters of [A-Za-z0-9._-]")]
    BadVatName(String),
    #[error("{0} does not exist in the kernel")]
    UnknownKRef(KRef),
    #[error("{0} is not a live vat")]
    UnknownVat(String),
    #[error("bad bundle: {0}")]
    Bundle(#[from] BundleError),
    #[error("cannot open the slog file {path}: {reason}")]
    Slog { path: String, reason: String },
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

/// What one delivery did, before the kernel decides what follows from it.
pub(crate) struct DeliveryRun {
    pub(crate) records: Vec<crate::transcript::SyscallRecord>,
    pub(crate) computrons: u64,
    /// Why the delivery failed (an illegal syscall, or the worker's error), if it did.
    pub(crate) failure: Option<String>,
    /// The failure was a resource limit (meter, heap, a syscall cap or size, the storage
    /// quota) rather than the vat's own fault.
    pub(crate) by_limit: bool,
    pub(crate) exit: Option<crate::syscall::ExitRequest>,
    pub(crate) terminations: Vec<(VatId, KCapData)>,
}

/// The SwingSet-style kernel.
pub struct Kernel {
    pub(crate) st: KState,
    workers: BTreeMap<VatId, Box<dyn VatWorker>>,
    /// When each live worker was last used (for eviction; not consensus state).
    last_used: BTreeMap<VatId, u64>,
    use_clock: u64,
    pub(crate) factory: Box<dyn WorkerFactory>,
    config: KernelConfig,
    slog: Option<crate::slog::Slog>,
    /// The DB is older than this binary and awaits [`Kernel::migrate`]: nothing runs.
    pub(crate) pending: bool,
}

/// What rolling back a message delivery needs: the savepoint taken before it was
/// translated, and the message as it was queued.
struct Undo<'a> {
    sp: crate::store::Savepoint,
    target: KRef,
    msg: &'a KMessage,
}

/// The next unit of work, in upstream's priority order.
enum Work {
    Accept(KernelEvent),
    Gc(crate::gc::GcDelivery),
    GcNegated,
    Reap(VatId),
    /// A send from the host: delivered now if its target is a live object, else routed.
    Host(KernelEvent),
    Run(KernelEvent),
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
        let expected = binary_version(&config);
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
            workers: BTreeMap::new(),
            last_used: BTreeMap::new(),
            use_clock: 0,
            factory,
            config,
            pending,
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
        match self.pending_migration() {
            None => Ok(()),
            Some(p) => Err(KernelError::MigrationPending {
                from: p.from,
                to: p.to,
            }),
        }
    }

    /// The store, for reads (queries, dumps).
    pub fn store(&self) -> &Store {
        &self.st.store
    }

    /// The store, for the host to commit blocks and write host state between cranks.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.st.store
    }

    /// Takes the store back (e.g. to reopen the kernel on it).
    pub fn into_store(self) -> Store {
        self.st.store
    }

    /// Commits the block being built (host API; see [`Store::commit_block`]).
    pub fn commit_block(&mut self, height: u64) -> Result<Hash32, crate::store::StoreError> {
        if let Some(slog) = &mut self.slog {
            slog.flush();
        }
        self.st.store.commit_block(height)
    }

    /// A point between cranks to undo several host operations from, all or nothing (see
    /// [`Store::block_savepoint`]; end it with [`Kernel::rollback_block`] or
    /// [`Kernel::release_block`]). `None` while a crank is open.
    pub fn block_savepoint(&mut self) -> Option<BlockSavepoint> {
        self.st.store.block_savepoint()
    }

    /// Undoes every crank since `sp`. Every live worker is dropped too: a worker's heap may
    /// hold effects of the undone deliveries, and replay rebuilds it from the (restored)
    /// transcript when it is next needed. (With no delivery since `sp`, undoing the store
    /// alone, [`Store::rollback_block`], keeps the workers.)
    pub fn rollback_block(&mut self, sp: BlockSavepoint) {
        self.st.store.rollback_block(sp);
        self.workers.clear();
        self.last_used.clear();
    }

    /// Keeps everything since `sp` and ends the savepoint.
    pub fn release_block(&mut self, sp: BlockSavepoint) {
        self.st.store.release_block(sp);
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
        let b = Bundle::parse(bytes)?;
        let id = b.id();
        if !self.st.store.has(Cf::Bundles, id.as_bytes()) {
            self.st
                .store
                .set(Cf::Bundles, id.as_bytes(), &b.canonical_bytes());
            self.st.store.commit_crank();
        }
        Ok(id)
    }

    /// Whether the `bundles` family holds `bundle_id`.
    pub fn has_bundle(&self, bundle_id: &str) -> bool {
        self.st.store.has(Cf::Bundles, bundle_id.as_bytes())
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
        self.st.incref(target, true);
        for k in msg.krefs().collect::<Vec<_>>() {
            self.st.incref(k, true);
        }
        self.st.push_host(&KernelEvent::Send { target, msg });
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
        self.st.terminate_vat(v, &why);
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

    /// Runs cranks until there is no work left or `budget` is spent.
    pub fn run(&mut self, budget: RunBudget) -> RunReport {
        let mut report = RunReport::default();
        loop {
            if report.computrons >= budget.computrons || report.cranks >= budget.cranks {
                report.idle = !self.has_work();
                return report;
            }
            let Some(crank) = self.step() else {
                report.idle = true;
                return report;
            };
            report.cranks += 1;
            // Every crank costs something (routing, GC, a dead target's splat), so a block
            // budget bounds the number of cranks, not only the JS work.
            report.computrons += crank.computrons.max(1);
            if matches!(crank.kind, CrankKind::Delivery { .. }) {
                report.deliveries += 1;
            }
            report.terminated.extend(crank.terminated);
            report.rolled_back.extend(crank.rolled_back);
        }
    }

    /// Whether any queue holds work.
    pub fn has_work(&self) -> bool {
        self.st.queue_len(keys::ACCEPTANCE_QUEUE) > 0
            || self.st.queue_len(keys::RUN_QUEUE) > 0
            || self.st.queue_len(keys::HOST_QUEUE) > 0
            || !self.st.gc_actions().is_empty()
            || !self.st.reap_queue().is_empty()
    }

    fn next_work(&mut self) -> Option<Work> {
        if let Some(ev) = self.st.pop_acceptance() {
            return Some(Work::Accept(ev));
        }
        match self.st.next_gc_step() {
            GcStep::Deliver(d) => return Some(Work::Gc(d)),
            GcStep::Negated => return Some(Work::GcNegated),
            GcStep::Idle => {}
        }
        let mut reap = self.st.reap_queue();
        if !reap.is_empty() {
            let v = reap.remove(0);
            self.st.set_reap_queue(&reap);
            return Some(Work::Reap(v));
        }
        // Two lanes take turns: the host's sends (clients' txs) and the run-queue (work
        // vats made, carried over from earlier blocks). While both hold work they
        // alternate, so neither a vat that feeds itself forever nor a flood of txs can take
        // every delivery of a block. Whose turn it is lives in `laneTurn` (consensus
        // state, so every node, restarted or not, takes the same turns), written only when
        // both lanes compete.
        if self.st.queue_len(keys::HOST_QUEUE) == 0 {
            return self.st.pop_run().map(Work::Run);
        }
        if self.st.queue_len(keys::RUN_QUEUE) == 0 {
            return self.st.pop_host().map(Work::Host);
        }
        // A host send to a vat that has not started waits (its lane with it, keeping the
        // host's order) until the vat's startVat, which is in the run-queue, has run.
        if !self.host_head_ready() {
            return self.st.pop_run().map(Work::Run);
        }
        let host_turn = self.st.get(keys::LANE_TURN).as_deref() != Some("run");
        self.st
            .set(keys::LANE_TURN, if host_turn { "run" } else { "host" });
        if host_turn {
            self.st.pop_host().map(Work::Host)
        } else {
            self.st.pop_run().map(Work::Run)
        }
    }

    /// Whether the host lane's head may go now: anything but a send to a live vat that
    /// has not started yet.
    fn host_head_ready(&self) -> bool {
        match self.st.peek_host() {
            Some(KernelEvent::Send { target, .. }) if target.is_object() => {
                match self.st.object_owner(target) {
                    Some(o) if self.st.vat_is_live(o) => self.vat_started(o),
                    _ => true,
                }
            }
            _ => true,
        }
    }

    /// Whether `v`'s current incarnation has had its `startVat`.
    fn vat_started(&self, v: VatId) -> bool {
        self.st
            .current_span(v)
            .is_some_and(|s| s.end_pos > s.start_pos)
    }

    /// Runs one crank; `None` when there was no work.
    ///
    /// # Panics
    /// On a kernel whose DB awaits migration: the host must migrate first (a host bug; it
    /// stops the node rather than run cranks over a DB of another schema).
    pub fn step(&mut self) -> Option<CrankReport> {
        assert!(
            !self.pending,
            "host bug: a crank was asked of a kernel whose DB awaits migration"
        );
        debug_assert!(!self.st.store.crank_is_dirty(), "a crank is already open");
        let work = self.next_work()?;
        let mut report = CrankReport {
            kind: CrankKind::NoDelivery,
            computrons: 0,
            terminated: None,
            rolled_back: None,
        };
        match work {
            Work::Accept(ev) => {
                self.route(ev);
                report.kind = CrankKind::Routed;
            }
            Work::GcNegated => {}
            Work::Gc(gc) => {
                let vd = self.st.translate_gc(&gc);
                self.deliver(gc.vat, vd, &mut report);
            }
            Work::Reap(v) => {
                if self.st.vat_is_live(v) {
                    self.st.set_u64(&keys::vat_reap_dirt(v), 0);
                    self.deliver(v, VatDelivery::BringOutYourDead, &mut report);
                }
            }
            Work::Host(ev) => self.process_host(ev, &mut report),
            Work::Run(ev) => self.process(ev, &mut report),
        }
        self.end_crank();
        Some(report)
    }

    pub(crate) fn end_crank(&mut self) {
        debug_assert!(
            !self.pending,
            "a crank ended on a kernel awaiting migration"
        );
        self.st.process_refcounts();
        let n = self.st.get_u64(keys::CRANK_NUMBER).unwrap_or(0);
        self.st.set_u64(keys::CRANK_NUMBER, n + 1);
        self.st.store.commit_crank();
    }

    /// Routes an acceptance-queue event: sends find their target (or wait on a promise, or
    /// fail), everything else moves to the run-queue.
    fn route(&mut self, ev: KernelEvent) {
        let KernelEvent::Send { target, msg } = ev else {
            self.st.push_run(&ev);
            return;
        };
        match target {
            KRef::Object(_) => match self.st.object_owner(target) {
                Some(owner) if self.st.vat_is_live(owner) => {
                    self.st.push_run(&KernelEvent::Send { target, msg })
                }
                _ => {
                    let why = self.st.disconnection(target);
                    self.splat(target, &msg, &why);
                }
            },
            KRef::Promise(_) => match self.st.promise_state(target) {
                Some(PromiseState::Unresolved { decider }) => {
                    let pipelined = decider.is_some_and(|d| {
                        self.st.vat_is_live(d)
                            && self.st.vat_options(d).is_some_and(|o| o.enable_pipelining)
                    });
                    if pipelined {
                        self.st.push_run(&KernelEvent::Send { target, msg });
                    } else {
                        self.st.enqueue_on_promise(target, &msg);
                    }
                }
                Some(PromiseState::Fulfilled(data)) => match capdata::single_presence(&data) {
                    Some(obj) => {
                        // Retarget to the presence the promise became; the hold moves.
                        let obj = *obj;
                        self.st.incref(obj, true);
                        self.st.decref(target, true);
                        self.route(KernelEvent::Send { target: obj, msg });
                    }
                    None => self.splat(
                        target,
                        &msg,
                        &capdata::error("cannot send a message to a promise fulfilled to data"),
                    ),
                },
                Some(PromiseState::Rejected(data)) => self.splat(target, &msg, &data),
                None => panic!("queued send to missing promise {target}"),
            },
        }
    }

    /// A host send's crank: to a live object of a vat that has started it is delivered
    /// at once (skipping the run-queue, which is the other lane); anything else is routed
    /// as any send is (a vat not yet started gets it after its `startVat`, which waits in
    /// the run-queue).
    fn process_host(&mut self, ev: KernelEvent, report: &mut CrankReport) {
        let deliverable = match &ev {
            KernelEvent::Send { target, .. } if target.is_object() => self
                .st
                .object_owner(*target)
                .is_some_and(|o| self.st.vat_is_live(o) && self.vat_started(o)),
            _ => false,
        };
        if deliverable {
            self.process(ev, report);
        } else {
            self.route(ev);
            report.kind = CrankKind::Routed;
        }
    }

    /// A message that cannot be delivered: its result (if any) is rejected with `reason`
    /// and its holds are released.
    fn splat(&mut self, target: KRef, msg: &KMessage, reason: &KCapData) {
        if let Some(kp) = msg.result {
            if self.st.promise_state(kp).is_some_and(|s| s.is_unresolved()) {
                self.st.settle_promise(kp, true, reason);
            }
        }
        self.st.decref(target, true);
        for k in msg.krefs().collect::<Vec<_>>() {
            self.st.decref(k, true);
        }
    }

    /// Processes a run-queue event.
    fn process(&mut self, ev: KernelEvent, report: &mut CrankReport) {
        match ev {
            KernelEvent::Send { target, msg } => {
                let receiver = match target {
                    KRef::Object(_) => self
                        .st
                        .object_owner(target)
                        .filter(|o| self.st.vat_is_live(*o)),
                    KRef::Promise(_) => match self.st.promise_state(target) {
                        Some(PromiseState::Unresolved { decider: Some(d) })
                            if self.st.vat_is_live(d) =>
                        {
                            Some(d)
                        }
                        _ => {
                            // Settled (or its decider gone) since routing: route it again.
                            self.st.push_acceptance(&KernelEvent::Send { target, msg });
                            return;
                        }
                    },
                };
                match receiver {
                    None => {
                        let why = self.st.disconnection(target);
                        self.splat(target, &msg, &why);
                    }
                    Some(v) => {
                        // Where a message that reaches a resource limit is rolled back
                        // to: the event popped, nothing of its delivery done.
                        let sp = self.st.store.savepoint();
                        let vd = self.st.translate_message(v, target, &msg);
                        let undo = Undo {
                            sp,
                            target,
                            msg: &msg,
                        };
                        self.deliver_with(v, vd, Some(undo), report);
                        self.add_reap_dirt(v);
                    }
                }
            }
            KernelEvent::Notify { vat_id, kpid } => {
                if !self.st.vat_is_live(vat_id) {
                    self.st.decref(kpid, true);
                    return;
                }
                if let Some(vd) = self.st.translate_notify(vat_id, kpid) {
                    self.deliver(vat_id, vd, report);
                    self.add_reap_dirt(vat_id);
                }
            }
            KernelEvent::StartVat { vat_id } => {
                if self.st.vat_is_live(vat_id) {
                    let vd = self.st.translate_start_vat(vat_id);
                    self.deliver(vat_id, vd, report);
                }
            }
            KernelEvent::UpgradeVat {
                vat_id,
                upgrade_id,
                request,
            } => self.process_upgrade_event(vat_id, upgrade_id, request, report),
        }
    }

    fn add_reap_dirt(&mut self, v: VatId) {
        if !self.st.vat_is_live(v) {
            return;
        }
        let dirt = self.st.get_u64(&keys::vat_reap_dirt(v)).unwrap_or(0) + 1;
        self.st.set_u64(&keys::vat_reap_dirt(v), dirt);
        let interval = self
            .st
            .vat_options(v)
            .and_then(|o| o.reap_interval)
            .unwrap_or(self.config.default_reap_interval);
        if dirt >= interval {
            let mut q = self.st.reap_queue();
            if !q.contains(&v) {
                q.push(v);
                self.st.set_reap_queue(&q);
            }
        }
    }

    pub(crate) fn worker(&mut self, v: VatId) -> Result<Box<dyn VatWorker>, String> {
        if let Some(w) = self.workers.remove(&v) {
            return Ok(w);
        }
        self.build_worker(v).map(|(w, _)| w)
    }

    /// Makes a fresh worker for `v` and replays its span into it; also returns the
    /// computrons the span's deliveries were recorded with (what rebuilding costs, the
    /// same on every node whatever its worker cache holds).
    fn build_worker(&mut self, v: VatId) -> Result<(Box<dyn VatWorker>, u64), String> {
        let source = self
            .st
            .vat_source(v)
            .ok_or_else(|| format!("{v} has no recorded source"))?;
        let bundle = self.st.store.get(Cf::Bundles, source.bundle_id.as_bytes());
        let mut worker = self
            .factory
            .make_worker(v, &source, bundle.as_deref())
            .map_err(|e| format!("cannot start a worker for {v}: {e}"))?;
        let cost = self.replay(v, worker.as_mut());
        Ok((worker, cost))
    }

    /// Brings a fresh worker up to date by replaying the vat's current transcript span.
    ///
    /// A divergence (different syscalls, or a delivery that now fails) means this node
    /// would compute a different state than the one it committed: the kernel stops (panics,
    /// and `vatd` aborts) with both sides of the difference, rather than carry on forked.
    fn replay(&mut self, v: VatId, worker: &mut dyn VatWorker) -> u64 {
        let items = self.st.span_items(v);
        if items.is_empty() {
            return 0;
        }
        let recorded = items.iter().map(|i| i.computrons).sum();
        let start = self.st.current_span(v).map_or(0, |s| s.start_pos);
        let t0 = std::time::Instant::now();
        worker.set_replaying(true);
        for (i, item) in items.iter().enumerate() {
            let pos = start + i as u64;
            let mut r = Replayer {
                expected: &item.sc,
                next: 0,
                divergence: None,
            };
            let out = worker.deliver(&item.d, &mut r);
            let problem = r
                .divergence
                .or_else(|| {
                    out.status
                        .err()
                        .map(|e| format!("the delivery now fails: {e}"))
                })
                .or_else(|| {
                    (r.next < item.sc.len()).then(|| {
                        format!(
                            "replay made {} of {} recorded syscalls; next: {:?}",
                            r.next,
                            item.sc.len(),
                            item.sc[r.next].s
                        )
                    })
                });
            if let Some(p) = problem {
                panic!(
                    "transcript divergence in {v} at position {pos} ({}): {p}",
                    item.d.name()
                );
            }
            if (i + 1) % 1000 == 0 {
                tracing::info!(vat = %v, replayed = i + 1, total = items.len(), "replaying transcript");
            }
        }
        worker.set_replaying(false);
        tracing::debug!(vat = %v, deliveries = items.len(), ms = t0.elapsed().as_millis() as u64, "replayed transcript");
        recorded
    }

    /// Forgets a vat's live worker (terminated vats).
    pub(crate) fn drop_worker(&mut self, v: VatId) {
        self.workers.remove(&v);
        self.last_used.remove(&v);
    }

    /// Keeps `worker` live, evicting the least recently used one past the configured number
    /// (an evicted vat is rebuilt from its transcript when next needed).
    pub(crate) fn keep_worker(&mut self, v: VatId, worker: Box<dyn VatWorker>) {
        self.use_clock += 1;
        self.last_used.insert(v, self.use_clock);
        self.workers.insert(v, worker);
        while self.workers.len() > self.config.max_live_workers.max(1) {
            let oldest = self
                .workers
                .keys()
                .min_by_key(|w| self.last_used.get(w).copied().unwrap_or(0))
                .copied();
            let Some(old) = oldest else { break };
            self.workers.remove(&old);
            self.last_used.remove(&old);
        }
    }

    /// Runs one delivery on `worker`, with syscalls applied to the crank buffer and
    /// recorded, and logs it to the slog. Decides nothing: the caller applies the outcome.
    pub(crate) fn run_delivery(
        &mut self,
        v: VatId,
        worker: &mut dyn VatWorker,
        vd: &VatDelivery,
        allowance: Option<u64>,
    ) -> DeliveryRun {
        let limit = match (self.delivery_limit(), allowance) {
            (Some(l), Some(a)) => Some(l.min(a)),
            (l, a) => l.or(a),
        };
        worker.set_delivery_limit(limit);
        let mut ctx = SyscallCtx::new(&mut self.st, v);
        let mut rec = Recorder {
            inner: &mut ctx,
            records: Vec::new(),
        };
        let outcome = worker.deliver(vd, &mut rec);
        let records = std::mem::take(&mut rec.records);
        ctx.finish();
        let (fault, exit) = (ctx.fault.take(), ctx.exit.take());
        let limit_hit = ctx.limit.take();
        let terminations = std::mem::take(&mut ctx.terminations);
        if let Some(slog) = &mut self.slog {
            let crank = self.st.get_u64(keys::CRANK_NUMBER).unwrap_or(0);
            let status = fault
                .clone()
                .or_else(|| limit_hit.clone())
                .or_else(|| outcome.status.clone().err());
            slog.delivery(
                crank,
                v,
                vd,
                &records,
                outcome.computrons,
                status.as_deref(),
            );
        }
        // An illegal syscall is the vat's fault even if a limit was reached afterwards (a
        // limit refuses every later syscall, so at most one of the two is set).
        let by_limit = fault.is_none() && (limit_hit.is_some() || outcome.resource_limit);
        let failure = fault.map(|f| format!("illegal {f}")).or_else(|| {
            let status = match limit_hit {
                Some(l) => Err(l),
                None => outcome.status,
            };
            status.err().map(|e| {
                format!(
                    "{} delivery failed: {}",
                    vd.name(),
                    crate::syscall::show(&e)
                )
            })
        });
        DeliveryRun {
            records,
            computrons: outcome.computrons,
            failure,
            by_limit,
            exit,
            terminations,
        }
    }

    /// Delivers `vd` (anything but a message) to `v`; see [`Kernel::deliver_with`].
    fn deliver(&mut self, v: VatId, vd: VatDelivery, report: &mut CrankReport) {
        self.deliver_with(v, vd, None, report)
    }

    /// Delivers `vd` to `v` and applies the outcome: commit-ready state on success; on an
    /// illegal syscall or a failed delivery, the crank is aborted and the vat terminated.
    /// A message (`undo` given) that fails by a resource limit is rolled back instead
    /// (see [`Kernel::roll_back_message`]).
    fn deliver_with(
        &mut self,
        v: VatId,
        vd: VatDelivery,
        undo: Option<Undo<'_>>,
        report: &mut CrankReport,
    ) {
        report.kind = CrankKind::Delivery {
            vat: v,
            delivery: vd.name(),
        };
        let mut worker = match self.worker(v) {
            Ok(w) => w,
            Err(why) => {
                self.abort_and_terminate(
                    v,
                    &why,
                    &capdata::error(&format!("vat terminated: {why}")),
                    report,
                );
                return;
            }
        };
        let allowance = undo.as_ref().and_then(|u| u.msg.allowance);
        let run = self.run_delivery(v, worker.as_mut(), &vd, allowance);
        report.computrons = run.computrons;
        self.keep_worker(v, worker);
        if let Some(why) = run.failure {
            if let (true, Some(undo)) = (run.by_limit, undo) {
                drop(vd);
                self.roll_back_message(v, undo, &why, report);
                return;
            }
            let rejection = capdata::error(&format!("vat terminated: {why}"));
            self.abort_and_terminate(v, &why, &rejection, report);
            return;
        }
        self.apply_terminations(run.terminations);
        if run.exit.is_none() {
            let item = TranscriptItem {
                d: vd,
                sc: run.records,
                computrons: run.computrons,
            };
            self.st.append_transcript(v, &item);
        }
        if let Some(exit) = run.exit {
            let why = if exit.failure {
                "vat exited with failure"
            } else {
                "vat exited"
            };
            if exit.failure {
                // The info may name objects allocated by the crank being rolled back; then
                // only a plain error can survive the abort.
                let info = exit.info;
                let survives = |st: &KState| info.slots.iter().all(|k| st.kref_exists(*k));
                self.st.store.abort_crank();
                let rejection = if survives(&self.st) {
                    info
                } else {
                    capdata::error("vat exited with failure (its exit info named objects of the aborted crank)")
                };
                self.abort_and_terminate(v, why, &rejection, report);
            } else {
                self.drop_worker(v);
                self.st.notify_vat_admin(v, false, &exit.info);
                self.st.terminate_vat(v, &exit.info);
                report.terminated = Some((v, why.to_string()));
            }
        }
    }

    /// Undoes a message delivery that reached a resource limit, as if the message had been
    /// refused at the door: the vat's state goes back to before it (kernel state by the
    /// crank savepoint; the worker, whose heap the delivery changed, is rebuilt from the
    /// transcript, where the failed delivery was never recorded), the result is rejected
    /// with the reason, and the message's holds are released. The rebuild is charged to
    /// the crank at the span's recorded cost.
    ///
    /// Why a limit is not the vat's fault: how much a message costs depends on what it
    /// carries, so the sender, not the receiver, chose to reach the limit. The line
    /// (docs/ARCHITECTURE.md, "Where the line is drawn"): messages roll back; every other
    /// delivery (startVat, notify, GC, bringOutYourDead) runs the vat's own code on the
    /// vat's own schedule and still terminates it.
    fn roll_back_message(&mut self, v: VatId, undo: Undo<'_>, why: &str, report: &mut CrankReport) {
        self.st.store.rollback_to(undo.sp);
        self.drop_worker(v);
        match self.build_worker(v) {
            Ok((worker, cost)) => {
                report.computrons = report.computrons.saturating_add(cost);
                self.keep_worker(v, worker);
            }
            Err(e) => {
                let rejection = capdata::error(&format!("vat terminated: {e}"));
                self.abort_and_terminate(v, &e, &rejection, report);
                return;
            }
        }
        tracing::info!(vat = %v, reason = why, "message rolled back at a resource limit");
        let reason = capdata::error(&format!("the message was rolled back: {why}"));
        self.splat(undo.target, undo.msg, &reason);
        report.rolled_back = Some((v, why.to_string()));
    }

    /// Terminates the vats a delivery asked to end (vat-admin's `terminateWithFailure`).
    fn apply_terminations(&mut self, terminations: Vec<(VatId, KCapData)>) {
        for (t, reason) in terminations {
            if self.st.vat_is_live(t) {
                self.st.notify_vat_admin(t, true, &reason);
                self.drop_worker(t);
                self.st.terminate_vat(t, &reason);
            }
        }
    }

    /// Rolls the whole crank back (the event stays queued and will find the vat dead) and
    /// terminates `v`.
    fn abort_and_terminate(
        &mut self,
        v: VatId,
        why: &str,
        rejection: &KCapData,
        report: &mut CrankReport,
    ) {
        tracing::warn!(vat = %v, reason = why, "terminating vat");
        self.st.store.abort_crank();
        self.st.maybe_free.clear();
        self.drop_worker(v);
        self.st.notify_vat_admin(v, true, rejection);
        self.st.terminate_vat(v, rejection);
        report.terminated = Some((v, why.to_string()));
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
