//! Raw workers: vats written in Rust, used to test the kernel without a JS engine.

use std::collections::BTreeMap;

use super::{
    DeliveryOutcome, SyscallError, SyscallHandler, SyscallReply, VatDelivery, VatSource,
    VatSyscall, VatWorker, WorkerError, WorkerFactory,
};
use crate::refs::VatId;

/// A vat written in Rust: it receives each delivery and issues syscalls directly.
pub trait RawVat {
    /// Handles one delivery. An `Err` fails the delivery (the kernel terminates the vat).
    fn deliver(
        &mut self,
        delivery: &VatDelivery,
        sys: &mut dyn SyscallHandler,
    ) -> Result<(), String>;
}

impl<F> RawVat for F
where
    F: FnMut(&VatDelivery, &mut dyn SyscallHandler) -> Result<(), String>,
{
    fn deliver(&mut self, d: &VatDelivery, sys: &mut dyn SyscallHandler) -> Result<(), String> {
        self(d, sys)
    }
}

/// Adapts a [`RawVat`] to the worker seam, charging one computron per delivery and one per
/// syscall.
pub struct RawWorker<V: RawVat>(pub V);

struct Counting<'a> {
    inner: &'a mut dyn SyscallHandler,
    count: u64,
}

impl SyscallHandler for Counting<'_> {
    fn syscall(&mut self, sc: VatSyscall) -> Result<SyscallReply, SyscallError> {
        self.count += 1;
        self.inner.syscall(sc)
    }
}

impl<V: RawVat> VatWorker for RawWorker<V> {
    fn deliver(
        &mut self,
        delivery: &VatDelivery,
        syscalls: &mut dyn SyscallHandler,
    ) -> DeliveryOutcome {
        let mut counting = Counting {
            inner: syscalls,
            count: 0,
        };
        let status = self.0.deliver(delivery, &mut counting);
        DeliveryOutcome {
            status,
            resource_limit: false,
            computrons: 1 + counting.count,
            console: Vec::new(),
        }
    }
}

type Maker = Box<dyn FnMut(VatId) -> Box<dyn VatWorker>>;

/// A worker factory for raw vats: a bundle id names a registered constructor.
#[derive(Default)]
pub struct RawWorkers {
    makers: BTreeMap<String, Maker>,
}

impl RawWorkers {
    pub fn new() -> RawWorkers {
        RawWorkers::default()
    }

    /// Registers `make` under `bundle_id`.
    pub fn register<V, F>(&mut self, bundle_id: &str, mut make: F)
    where
        V: RawVat + 'static,
        F: FnMut(VatId) -> V + 'static,
    {
        self.makers.insert(
            bundle_id.to_string(),
            Box::new(move |vat| Box::new(RawWorker(make(vat))) as Box<dyn VatWorker>),
        );
    }
}

impl WorkerFactory for RawWorkers {
    fn make_worker(
        &mut self,
        vat: VatId,
        source: &VatSource,
        _bundle: Option<&[u8]>,
    ) -> Result<Box<dyn VatWorker>, WorkerError> {
        match self.makers.get_mut(&source.bundle_id) {
            Some(make) => Ok(make(vat)),
            None => Err(WorkerError::Node(format!(
                "no raw vat registered as {:?}",
                source.bundle_id
            ))),
        }
    }
}
