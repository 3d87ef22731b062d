//! A vat's heap figures are the same whether its modules were compiled in this worker or
//! loaded from the process's bytecode cache (which a node fills or not depending on its
//! own history: restarts, evictions, other vats of the same bundle). The heap limit is
//! checked against these figures, so a difference would let one node run out of memory
//! where another does not: a consensus fork.

use std::collections::BTreeMap;

use vatchain_kernel::capdata::CapData;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::worker::{
    BytecodeCache, JsLimits, JsWorker, SyscallError, SyscallHandler, SyscallReply, VatDelivery,
    VatSyscall, VatWorker,
};

mod support;

/// Answers vatstore syscalls from a map; everything else is accepted.
#[derive(Default)]
struct Vatstore(BTreeMap<String, String>);

impl SyscallHandler for Vatstore {
    fn syscall(&mut self, sc: VatSyscall) -> Result<SyscallReply, SyscallError> {
        Ok(match sc {
            VatSyscall::VatstoreGet { key } => SyscallReply::Value(self.0.get(&key).cloned()),
            VatSyscall::VatstoreSet { key, value } => {
                self.0.insert(key, value);
                SyscallReply::Done
            }
            VatSyscall::VatstoreDelete { key } => {
                self.0.remove(&key);
                SyscallReply::Done
            }
            VatSyscall::VatstoreGetNextKey { prior } => SyscallReply::Value(
                self.0
                    .range::<String, _>((
                        std::ops::Bound::Excluded(&prior),
                        std::ops::Bound::Unbounded,
                    ))
                    .next()
                    .map(|(k, _)| k.clone()),
            ),
            _ => SyscallReply::Done,
        })
    }
}

fn message(method: &str, args: &str) -> VatDelivery {
    VatDelivery::Message {
        target: "o+0".into(),
        methargs: CapData {
            body: format!("#[\"{method}\",{args}]"),
            slots: vec![],
        },
        result: None,
    }
}

/// Starts `fixture` in a worker on `cache` and runs the same deliveries; returns the heap
/// figure after building the worker and after each delivery.
fn heap_figures(fixture: &str, methods: &[(&str, &str)], cache: &BytecodeCache) -> Vec<usize> {
    let bundle = Bundle::parse(&support::js::fixture(fixture)).expect("bundle");
    let mut w = JsWorker::new(&bundle, JsLimits::default(), cache.clone()).expect("worker");
    let mut store = Vatstore::default();
    let mut figures = vec![w.heap_bytes()];
    let mut deliveries = vec![VatDelivery::StartVat {
        vat_parameters: CapData {
            body: "#{}".into(),
            slots: vec![],
        },
    }];
    deliveries.extend(methods.iter().map(|(m, a)| message(m, a)));
    deliveries.push(VatDelivery::BringOutYourDead);
    for d in &deliveries {
        let out = w.deliver(d, &mut store);
        assert_eq!(out.status, Ok(()), "{} in {fixture}", d.name());
        figures.push(w.heap_bytes());
    }
    figures
}

#[test]
fn heap_figures_do_not_depend_on_the_bytecode_cache() {
    let cases: [(&str, &[(&str, &str)]); 2] = [
        (
            "durable-v1",
            &[
                ("version", "[]"),
                ("makeCounter", "[5]"),
                ("makeEphemeral", "[]"),
            ],
        ),
        (
            "pingpong",
            &[("pong", "[1]"), ("makeCounter", "[]"), ("getCount", "[]")],
        ),
    ];
    for (fixture, methods) in cases {
        let cache = BytecodeCache::default();
        let compiled = heap_figures(fixture, methods, &cache);
        assert!(
            !cache.borrow().is_empty(),
            "the first worker filled the cache"
        );
        let cached = heap_figures(fixture, methods, &cache);
        assert_eq!(
            compiled, cached,
            "{fixture}: heap bytes after build, startVat and each delivery"
        );
        assert!(
            compiled.windows(2).any(|w| w[0] != w[1]),
            "the figures move"
        );
    }
}
