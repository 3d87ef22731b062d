//! Upstream vat code logs with `console`: the output reaches the slog for live deliveries,
//! never consensus state (the same store with or without anyone reading it), is silent
//! when a vat is rebuilt by replay, and costs the vat what writing it costs.

mod support;

use std::path::Path;

use support::js::{call, create, fixture, named, slog_lines};
use vatchain_kernel::store::Store;
use vatchain_kernel::worker::JsWorkers;
use vatchain_kernel::{Kernel, KernelConfig, PromiseState, RunBudget};

fn kernel(slog: Option<&Path>, max_live_workers: usize) -> Kernel {
    // Every field but those of the `legacy-v2` build (which has one more).
    #[allow(clippy::needless_update)]
    let config = KernelConfig {
        slog: slog.map(Path::to_path_buf),
        max_live_workers,
        ..KernelConfig::default()
    };
    Kernel::new(Store::in_memory(), Box::new(JsWorkers::default()), config).expect("kernel")
}

/// The console lines of the slog at `path`: (level, text).
fn console_lines(path: &Path) -> Vec<(String, String)> {
    slog_lines(path)
        .into_iter()
        .filter(|l| l["type"] == "console")
        .map(|l| {
            let s = |k: &str| l[k].as_str().expect("a string").to_string();
            (s("level"), s("text"))
        })
        .collect()
}

/// The scenario: the console vat and a second vat, and calls that log.
fn scenario(k: &mut Kernel) {
    let id = k.install_bundle(&fixture("console")).expect("install");
    let (_, root) = create(k, &id, named("console"), "#{}");
    let (_, other) = create(k, &id, named("other"), "#{}");
    k.run(RunBudget::UNLIMITED);
    assert_eq!(
        call(k, root, "#[\"say\",[\"hello\",{\"n\":1}]]", &[]),
        PromiseState::Fulfilled(vatchain_kernel::capdata::CapData::data("#2"))
    );
    // With one live worker, talking to `other` evicts the console vat; its next delivery
    // rebuilds it by replaying its transcript (which logged before).
    call(k, other, "#[\"say\",[\"from other\"]]", &[]);
    assert_eq!(
        call(k, root, "#[\"shapes\",[]]", &[]),
        PromiseState::Fulfilled(vatchain_kernel::capdata::CapData::data("#\"ok\""))
    );
    assert!(k.halted().is_none(), "{:?}", k.halted());
}

#[test]
fn console_output_reaches_the_slog_once_and_never_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("slog");
    let mut logged = kernel(Some(&path), 1);
    scenario(&mut logged);
    let mut silent = kernel(None, 1);
    scenario(&mut silent);
    assert!(
        logged.store().dump() == silent.store().dump(),
        "console output changed the store"
    );
    drop(logged);
    let lines = console_lines(&path);
    let expected: Vec<(String, String)> = [
        ("log", "starting 1 2n undefined"),
        ("log", "starting 1 2n undefined"),
        ("info", "said hello { n: 1 }"),
        ("info", "said from other"),
        ("warn", "{ a: [1, \"x\", { b: null }], e: Error: boom }"),
        ("error", "TypeError: bad"),
        ("log", "outer"),
        ("debug", "  inside"),
        ("error", "Assertion failed math"),
    ]
    .iter()
    .map(|(l, t)| (l.to_string(), t.to_string()))
    .collect();
    // Each vat's startVat logged once; the replays that rebuilt the console vat did not.
    assert_eq!(lines, expected);
}

#[test]
fn a_vat_that_floods_its_console_pays_for_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("slog");
    let mut k = kernel(Some(&path), 10);
    let id = k.install_bundle(&fixture("console")).expect("install");
    let (_, root) = create(&mut k, &id, named("console"), "#{}");
    k.run(RunBudget::UNLIMITED);
    // Twenty thousand lines: kept up to the per-delivery cap, the rest counted.
    assert_eq!(
        call(&mut k, root, "#[\"flood\",[20000]]", &[]),
        PromiseState::Fulfilled(vatchain_kernel::capdata::CapData::data("#20000"))
    );
    // Without end: the meter stops it, as it would any other work.
    match call(&mut k, root, "#[\"flood\",[100000000]]", &[]) {
        PromiseState::Rejected(why) => {
            assert!(why.body.contains("computron limit"), "{}", why.body)
        }
        other => panic!("an endless flood gave {other:?}"),
    }
    drop(k);
    let lines = console_lines(&path);
    let flood: Vec<_> = lines
        .iter()
        .filter(|(_, t)| t.starts_with("line "))
        .collect();
    assert!(
        flood.len() > 1000 && flood.len() < 20000,
        "{} lines kept",
        flood.len()
    );
    assert!(lines
        .iter()
        .any(|(l, t)| l == "warn" && t.contains("more console lines dropped")));
}
