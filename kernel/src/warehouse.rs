//! The vat warehouse (upstream's `vat-warehouse.js`): the live workers, which of them to
//! keep, and how a missing one is made and brought up to date from its transcript.
//!
//! None of this is consensus state. Which workers are live depends on a node's cache size
//! and history; a rebuilt worker is, by the worker invariant (`worker::VatWorker`), the
//! same as the one it replaces. So nothing here may decide what the kernel writes: a cost
//! the kernel charges for a rebuild is the span's *recorded* computrons, which
//! [`Warehouse::build`] returns, never how long this node's replay took.

use std::collections::BTreeMap;

use crate::refs::VatId;
use crate::state::KState;
use crate::store::Cf;
use crate::transcript::Replayer;
use crate::worker::{VatWorker, WorkerError, WorkerFactory};

pub(crate) struct Warehouse {
    factory: Box<dyn WorkerFactory>,
    workers: BTreeMap<VatId, Box<dyn VatWorker>>,
    /// When each live worker was last used (for eviction).
    last_used: BTreeMap<VatId, u64>,
    use_clock: u64,
    max_live: usize,
    /// How many times a worker was taken out, built or made: a block transaction that sees
    /// it unchanged knows no vat heap saw its undone work.
    uses: u64,
}

impl Warehouse {
    pub(crate) fn new(factory: Box<dyn WorkerFactory>, max_live: usize) -> Warehouse {
        Warehouse {
            factory,
            workers: BTreeMap::new(),
            last_used: BTreeMap::new(),
            use_clock: 0,
            max_live: max_live.max(1),
            uses: 0,
        }
    }

    pub(crate) fn uses(&self) -> u64 {
        self.uses
    }

    /// The factory, for a worker of a new incarnation (an upgrade makes it itself).
    pub(crate) fn factory(&mut self) -> &mut dyn WorkerFactory {
        self.uses += 1;
        self.factory.as_mut()
    }

    /// Takes `v`'s live worker out (give it back with [`Warehouse::keep`]), or builds one.
    pub(crate) fn take(
        &mut self,
        st: &KState,
        v: VatId,
    ) -> Result<Box<dyn VatWorker>, WorkerError> {
        self.uses += 1;
        if let Some(w) = self.workers.remove(&v) {
            return Ok(w);
        }
        self.build(st, v).map(|(w, _)| w)
    }

    /// Makes a fresh worker for `v` and replays its span into it; also returns the
    /// computrons the span's deliveries were recorded with (what rebuilding costs, the
    /// same on every node whatever its worker cache holds).
    pub(crate) fn build(
        &mut self,
        st: &KState,
        v: VatId,
    ) -> Result<(Box<dyn VatWorker>, u64), WorkerError> {
        self.uses += 1;
        let source = st
            .vat_source(v)
            .ok_or_else(|| WorkerError::Node(format!("{v} has no recorded source")))?;
        let bundle = st.store.get(Cf::Bundles, source.bundle_id.as_bytes());
        let mut worker = self
            .factory
            .make_worker(v, &source, bundle.as_deref())
            .map_err(|e| e.context(&format!("cannot start a worker for {v}")))?;
        let cost = replay(st, v, worker.as_mut())?;
        Ok((worker, cost))
    }

    /// Forgets a vat's live worker (terminated vats, or a heap that saw undone work).
    pub(crate) fn drop_worker(&mut self, v: VatId) {
        self.workers.remove(&v);
        self.last_used.remove(&v);
    }

    /// Forgets every live worker (a block rolled back).
    pub(crate) fn clear(&mut self) {
        self.workers.clear();
        self.last_used.clear();
    }

    /// Keeps `worker` live, evicting the least recently used one past the configured number
    /// (an evicted vat is rebuilt from its transcript when next needed).
    pub(crate) fn keep(&mut self, v: VatId, worker: Box<dyn VatWorker>) {
        self.use_clock += 1;
        self.last_used.insert(v, self.use_clock);
        self.workers.insert(v, worker);
        while self.workers.len() > self.max_live {
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
}

/// Brings a fresh worker up to date by replaying the vat's current transcript span;
/// returns the computrons the span was recorded with.
///
/// A divergence (different syscalls) means this node would compute a different state than
/// the one it committed: the error (both sides of the difference) is this node's
/// (`WorkerError::Node`), which halts the kernel (`Kernel::halted`) rather than let it
/// carry on forked. A recorded delivery that now fails outright is the vat's code meeting
/// this binary (a tighter limit, an engine that no longer runs it): the same on every node
/// with this binary (`WorkerError::Code`). Both halt an ordinary delivery; an upgrade may
/// go on without the old incarnation after the second.
fn replay(st: &KState, v: VatId, worker: &mut dyn VatWorker) -> Result<u64, WorkerError> {
    let items = st.span_items(v);
    if items.is_empty() {
        return Ok(0);
    }
    let recorded = items.iter().map(|i| i.computrons).sum();
    let start = st.current_span(v).map_or(0, |s| s.start_pos);
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
        let at = || format!("in {v} at position {pos} ({})", item.d.name());
        if let Some(d) = r.divergence {
            return Err(WorkerError::Node(format!(
                "transcript divergence {}: {d}",
                at()
            )));
        }
        if let Err(e) = out.status {
            return Err(WorkerError::Code(format!(
                "a recorded delivery now fails {}: {e}",
                at()
            )));
        }
        if r.next < item.sc.len() {
            return Err(WorkerError::Node(format!(
                "transcript divergence {}: replay made {} of {} recorded syscalls; next: {:?}",
                at(),
                r.next,
                item.sc.len(),
                item.sc[r.next].s
            )));
        }
        if (i + 1) % 1000 == 0 {
            tracing::info!(vat = %v, replayed = i + 1, total = items.len(), "replaying transcript");
        }
    }
    worker.set_replaying(false);
    tracing::debug!(vat = %v, deliveries = items.len(), ms = t0.elapsed().as_millis() as u64, "replayed transcript");
    Ok(recorded)
}
