//! Shared helpers for kernel scenarios: raw vats written as closures, a delivery log, and
//! syscall shorthands.
#![allow(dead_code)]

pub mod js;

use std::cell::RefCell;
use std::rc::Rc;

use vatchain_kernel::capdata::CapData;
use vatchain_kernel::worker::{
    RawWorkers, SyscallHandler, VCapData, VResolution, VatDelivery, VatSource, VatSyscall,
};
use vatchain_kernel::{Kernel, KernelConfig, RunBudget, VatId, VatOptions};

pub type Behavior = Box<dyn FnMut(&VatDelivery, &mut dyn SyscallHandler) -> Result<(), String>>;

/// Every delivery each vat received, in order.
pub type Log = Rc<RefCell<Vec<(VatId, VatDelivery)>>>;

pub struct World {
    pub kernel: Kernel,
    pub log: Log,
    pub vats: Vec<VatId>,
}

/// A vat that does nothing.
pub fn idle() -> Behavior {
    Box::new(|_, _| Ok(()))
}

/// Builds a kernel on an in-memory store with one raw vat per `(name, behavior)`, starts
/// them all, and runs until idle.
pub fn world(vats: Vec<(&str, Behavior)>) -> World {
    world_with(vats, |_| {}, KernelConfig::default())
}

pub fn world_with(
    vats: Vec<(&str, Behavior)>,
    opts: impl Fn(&mut VatOptions),
    config: KernelConfig,
) -> World {
    let log: Log = Rc::default();
    let mut workers = RawWorkers::new();
    let mut specs = Vec::new();
    for (name, behavior) in vats {
        let shared = Rc::new(RefCell::new(behavior));
        let log = log.clone();
        workers.register(name, move |vat| {
            let shared = shared.clone();
            let log = log.clone();
            move |d: &VatDelivery, sys: &mut dyn SyscallHandler| {
                log.borrow_mut().push((vat, d.clone()));
                (shared.borrow_mut())(d, sys)
            }
        });
        specs.push(name.to_string());
    }
    let mut kernel = Kernel::new(
        vatchain_kernel::store::Store::in_memory(),
        Box::new(workers),
        config,
    )
    .expect("fresh kernel");
    let mut ids = Vec::new();
    for name in specs {
        let mut o = VatOptions {
            name: name.clone(),
            ..VatOptions::default()
        };
        opts(&mut o);
        let v = kernel
            .create_vat(
                VatSource { bundle_id: name },
                o,
                vatchain_kernel::capdata::undefined(),
            )
            .expect("create vat");
        ids.push(v);
    }
    kernel.run(RunBudget::UNLIMITED);
    World {
        kernel,
        log,
        vats: ids,
    }
}

impl World {
    pub fn run(&mut self) -> vatchain_kernel::RunReport {
        let r = self.kernel.run(RunBudget {
            computrons: u64::MAX,
            cranks: 100_000,
        });
        assert!(r.idle, "kernel did not settle within 100k cranks");
        r
    }

    /// Deliveries received by `v` since the start (excluding startVat).
    pub fn received(&self, v: VatId) -> Vec<VatDelivery> {
        self.log
            .borrow()
            .iter()
            .filter(|(w, d)| *w == v && !matches!(d, VatDelivery::StartVat { .. }))
            .map(|(_, d)| d.clone())
            .collect()
    }

    /// Asserts a clean audit.
    pub fn audit(&self) {
        let a = self.kernel.audit();
        assert!(a.is_clean(), "audit problems:\n{a}");
    }

    pub fn live(&self, v: VatId) -> bool {
        self.kernel.vats().contains(&v)
    }
}

/// Smallcaps references to slots `0..n`: `"$i"` for objects, `"&i"` for promises.
pub fn slot_refs(is_promise: impl Iterator<Item = bool>) -> String {
    let refs: Vec<String> = is_promise
        .enumerate()
        .map(|(i, p)| {
            if p {
                format!("\"&{i}\"")
            } else {
                format!("\"${i}\"")
            }
        })
        .collect();
    refs.join(",")
}

/// Upstream's methargs body shape: `["method", [args]]`.
pub fn methargs(method: &str, slots: &[&str]) -> VCapData {
    CapData {
        body: format!(
            "#[\"{method}\",[{}]]",
            slot_refs(slots.iter().map(|s| s.starts_with('p')))
        ),
        slots: slots.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn kmethargs(method: &str, slots: &[vatchain_kernel::KRef]) -> vatchain_kernel::KCapData {
    CapData {
        body: format!(
            "#[\"{method}\",[{}]]",
            slot_refs(slots.iter().map(|s| s.is_promise()))
        ),
        slots: slots.to_vec(),
    }
}

/// The method name of a message delivery.
pub fn method_of(d: &VatDelivery) -> Option<String> {
    let VatDelivery::Message { methargs, .. } = d else {
        return None;
    };
    let v: serde_json::Value = serde_json::from_str(methargs.body.strip_prefix('#')?).ok()?;
    v.get(0)?.as_str().map(str::to_string)
}

pub fn send(
    sys: &mut dyn SyscallHandler,
    target: &str,
    method: &str,
    slots: &[&str],
    result: Option<&str>,
) {
    sys.syscall(VatSyscall::Send {
        target: target.into(),
        methargs: methargs(method, slots),
        result: result.map(str::to_string),
    })
    .expect("legal send");
}

pub fn subscribe(sys: &mut dyn SyscallHandler, vpid: &str) {
    sys.syscall(VatSyscall::Subscribe { vpid: vpid.into() })
        .expect("legal subscribe");
}

pub fn resolve(
    sys: &mut dyn SyscallHandler,
    vpid: &str,
    rejected: bool,
    body: &str,
    slots: &[&str],
) {
    sys.syscall(VatSyscall::Resolve {
        resolutions: vec![VResolution {
            vpid: vpid.into(),
            rejected,
            data: CapData {
                body: body.into(),
                slots: slots.iter().map(|s| s.to_string()).collect(),
            },
        }],
    })
    .expect("legal resolve");
}

pub fn syscall(sys: &mut dyn SyscallHandler, sc: VatSyscall) {
    sys.syscall(sc).expect("legal syscall");
}

/// The vrefs of a message's argument slots.
pub fn arg_slots(d: &VatDelivery) -> Vec<String> {
    match d {
        VatDelivery::Message { methargs, .. } => methargs.slots.clone(),
        _ => Vec::new(),
    }
}

/// The result vpid of a message delivery.
pub fn result_of(d: &VatDelivery) -> Option<String> {
    match d {
        VatDelivery::Message { result, .. } => result.clone(),
        _ => None,
    }
}

/// A shared cell a vat closure and the test both see.
pub fn cell<T: Default>() -> Rc<RefCell<T>> {
    Rc::default()
}
