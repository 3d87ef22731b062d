//! A vat that creates and drops a million virtual objects (ten thousand per delivery, a
//! reap after each, a block committed after each) ends with the vatstore it started with:
//! the VOM deletes every dropped object's record at bringOutYourDead. A target of its own:
//! it takes minutes in a debug build.

mod support;

use support::js::{call, fixture, fulfilled, js_kernel, reaping_vat};
use vatchain_kernel::RunBudget;

#[test]
fn churning_a_million_virtual_objects_leaves_the_vatstore_flat() {
    let mut k = js_kernel();
    let bundle = k.install_bundle(&fixture("collector")).expect("install");
    let (v, root) = reaping_vat(&mut k, &bundle, "churner");
    k.run(RunBudget::UNLIMITED);
    let vatstore = |k: &vatchain_kernel::Kernel| {
        let entries = k.kv_scan(&format!("{v}.vs."));
        let bytes: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
        (entries.len(), bytes)
    };
    // The first delivery's objects are gone once the next one reaps.
    call(&mut k, root, "#[\"churn\",[10000]]", &[]);
    call(&mut k, root, "#[\"has\",[\"-\"]]", &[]);
    let base = vatstore(&k);
    for block in 1..100 {
        assert_eq!(
            call(&mut k, root, "#[\"churn\",[10000]]", &[]),
            fulfilled("#10000")
        );
        k.commit_block(block).expect("commit");
        if block % 33 == 0 {
            // Mid-way too, not only at the end.
            call(&mut k, root, "#[\"has\",[\"-\"]]", &[]);
            assert_eq!(
                vatstore(&k).0,
                base.0,
                "after {} objects",
                (block + 1) * 10_000
            );
        }
    }
    call(&mut k, root, "#[\"has\",[\"-\"]]", &[]);
    let after = vatstore(&k);
    // The same records; sizes may differ by the counters' digits.
    assert_eq!(after.0, base.0, "{base:?} → {after:?}");
    assert!(after.1 <= base.1 + 64, "{base:?} → {after:?}");
}
