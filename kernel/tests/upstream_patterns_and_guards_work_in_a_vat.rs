//! Upstream vat code over `@endo/patterns` (`fixtures/vats/upstream-patterns`): CopySets,
//! CopyBags and CopyMaps cross the kernel in upstream's encoding (`{"#tag": …}`) and are
//! stored durably; patterns made of records of matchers match (a durable kind's
//! stateShape among them); interface guards are enforced on exo methods, with upstream's
//! messages, against remote and local callers alike (a call that breaks a guard is
//! rejected, the vat goes on); the global `HandledPromise` works with local handlers.
//! (`kernel/tests/js/patterns.test.mjs` compares the same modules with upstream's case by
//! case; this is them in a vat.)

mod support;

use support::js::{
    audit, call, call_for_objects, create, fixture, js_kernel, named, upgrade_request,
};
use vatchain_kernel::{KRef, Kernel, PromiseState, RunBudget};

fn vat() -> (Kernel, String, KRef) {
    let mut k = js_kernel();
    let id = k
        .install_bundle(&fixture("upstream-patterns"))
        .expect("install");
    let (_, root) = create(&mut k, &id, named("patterns"), "#{\"incarnation\":1}");
    k.run(RunBudget::UNLIMITED);
    assert!(k.halted().is_none(), "{:?}", k.halted());
    (k, id, root)
}

/// The fulfilled body of `method(args)` (args: a JSON array's inside).
fn body(k: &mut Kernel, target: KRef, method: &str, args: &str, slots: &[KRef]) -> String {
    match call(k, target, &format!("#[\"{method}\",[{args}]]"), slots) {
        PromiseState::Fulfilled(d) => d.body,
        other => panic!("{method} gave {other:?}"),
    }
}

fn rejection(k: &mut Kernel, target: KRef, method: &str, args: &str, slots: &[KRef]) -> String {
    match call(k, target, &format!("#[\"{method}\",[{args}]]"), slots) {
        PromiseState::Rejected(d) => d.body,
        other => panic!("{method} was not rejected: {other:?}"),
    }
}

#[test]
fn collections_cross_the_kernel_in_upstreams_encoding() {
    let (mut k, _, root) = vat();
    let copies = match call(&mut k, root, "#[\"copies\",[]]", &[]) {
        PromiseState::Fulfilled(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        copies.body,
        "#[{\"#tag\":\"copySet\",\"payload\":[\"c\",\"b\",\"a\"]},\
         {\"#tag\":\"copyBag\",\"payload\":[[\"y\",\"+1\"],[\"x\",\"+2\"]]},\
         {\"#tag\":\"copyMap\",\"payload\":{\"keys\":[\"k\",\"$0.Alleged: Brand\"],\"values\":[\"+1\",\"the brand\"]}},\
         {\"#tag\":\"custom\",\"payload\":{\"n\":1}}]"
    );
    // A CopySet made elsewhere (here: by the host) is one in the vat.
    assert_eq!(
        body(
            &mut k,
            root,
            "inspect",
            "{\"#tag\":\"copySet\",\"payload\":[\"y\",\"x\"]}",
            &[]
        ),
        "#[\"tagged\",\"copySet\",true,true,true,[\"y\",\"x\"]]"
    );
    // One out of order is a tagged value but no CopySet.
    assert_eq!(
        body(
            &mut k,
            root,
            "inspect",
            "{\"#tag\":\"copySet\",\"payload\":[\"x\",\"y\"]}",
            &[]
        ),
        "#[\"tagged\",\"copySet\",false,false,false,null]"
    );
    assert_eq!(
        body(&mut k, root, "inspect", "[1]", &[]),
        "#[\"copyArray\",null,false,false,false,null]"
    );
    audit(&k);
}

#[test]
fn records_of_matchers_are_patterns() {
    let (mut k, _, root) = vat();
    assert_eq!(
        body(&mut k, root, "shapes", "", &[]),
        "#[true,false,false,true,[[\"x\",\"+1\"]],\
         \"Error: amount: value: string (a string) - Must be a bigint\",\
         \"Error: (an object) - Must have missing properties [\\\"value\\\"]\",\
         \"tagged\",\"guard:interfaceGuard\"]"
    );
}

#[test]
fn interface_guards_are_enforced_for_remote_and_local_callers() {
    let (mut k, _, root) = vat();
    let purse = call_for_objects(&mut k, root, "#[\"purse\",[]]", &[])[0];
    let brand = call_for_objects(&mut k, root, "#[\"brand\",[]]", &[])[0];
    let amount = |v: &str| format!("{{\"brand\":\"$0.Alleged: Brand\",\"value\":\"{v}\"}}");
    assert_eq!(
        body(&mut k, purse, "deposit", &amount("+5"), &[brand]),
        "#\"+5\""
    );
    // A remote caller breaking the guard gets upstream's error; the vat goes on.
    let r = rejection(&mut k, purse, "deposit", &amount("-5"), &[brand]);
    assert_eq!(
        r,
        "#{\"#error\":\"In \\\"deposit\\\" method of (Purse): arg 0: value: (a bigint) - Must be non-negative\",\"name\":\"Error\"}"
    );
    let r = rejection(&mut k, purse, "deposit", "", &[]);
    assert!(
        r.contains("In \\\"deposit\\\" method of (Purse): Expected at least 1 arguments"),
        "{r}"
    );
    let r = rejection(&mut k, purse, "getBalance", "1", &[]);
    assert!(r.contains("accepts at most 0 arguments, not 1"), "{r}");
    // callWhen: the awaited argument is checked once it settles.
    assert_eq!(body(&mut k, purse, "sendLater", "\"+1\"", &[]), "#\"+2\"");
    let r = rejection(&mut k, purse, "sendLater", "\"x\"", &[]);
    assert!(
        r.contains(
            "In \\\"sendLater\\\" method of (Purse): arg 0: string (a string) - Must be a bigint"
        ),
        "{r}"
    );
    assert_eq!(
        body(&mut k, purse, "getBalance", "", &[]),
        format!("#{}", amount("+5"))
    );
    // The same guards for calls from inside the vat; a guard must cover the methods.
    assert_eq!(
        body(&mut k, root, "guardedLocally", "", &[]),
        "#[\"hello\",\
         \"Error: In \\\"set\\\" method of (Cell writer): arg 0: number (a number) - Must be a string\",\
         \"Error: \\\"In \\\\\\\"get\\\\\\\" method of (Cell reader)\\\" accepts at most 0 arguments, not 1: (an object)\",\
         \"Error: In \\\"deposit\\\" method of (Purse): arg 0: value: number (a number) - Must be a bigint\",\
         \"tagged\",\
         \"Error: methods [\\\"b\\\"] not guarded by \\\"Half\\\"\"]"
    );
    k.unpin(purse);
    k.unpin(brand);
    k.run(RunBudget::UNLIMITED);
    audit(&k);
}

#[test]
fn store_has_upstreams_set_algebra_and_helpers() {
    let (mut k, _, root) = vat();
    assert_eq!(
        body(&mut k, root, "storeHelpers", "", &[]),
        "#[{\"#tag\":\"copySet\",\"payload\":[\"b\",\"a\"]},true,\
         {\"#tag\":\"copyBag\",\"payload\":[[\"x\",\"+3\"]]},1,\
         \"Error: \\\"thing\\\" already registered: (a function)\",[\"value\",\"value\"],1]"
    );
}

#[test]
fn handled_promise_is_a_global_with_local_handlers() {
    let (mut k, _, root) = vat();
    assert_eq!(
        body(&mut k, root, "handled", "", &[]),
        "#[\"function\",\"hi direct\",\"hi E\",\"handled anything\",true,\"got field\",\
         \"handled early\",[\"anything(1,2)\",\"early(x)\"],true]"
    );
}

#[test]
fn stored_collections_and_guarded_durable_kinds_outlive_an_upgrade() {
    let (mut k, id, root) = vat();
    let purse = call_for_objects(&mut k, root, "#[\"purse\",[]]", &[])[0];
    let brand = call_for_objects(&mut k, root, "#[\"brand\",[]]", &[])[0];
    assert_eq!(
        body(
            &mut k,
            root,
            "remember",
            "{\"#tag\":\"copySet\",\"payload\":[\"q\",\"p\"]}",
            &[]
        ),
        "#2"
    );
    // Not a set of strings: refused before anything is stored.
    let r = rejection(
        &mut k,
        root,
        "remember",
        "{\"#tag\":\"copySet\",\"payload\":[2,1]}",
        &[],
    );
    assert!(
        r.contains("tags: set elements[0]: number (a number) - Must be a string"),
        "{r}"
    );
    let deposit = "{\"brand\":\"$0.Alleged: Brand\",\"value\":\"+3\"}";
    assert_eq!(body(&mut k, purse, "deposit", deposit, &[brand]), "#\"+3\"");

    let v = k.vat_id("patterns").expect("the vat");
    k.upgrade_vat(v, upgrade_request(&id, "again", "#{\"incarnation\":2}"))
        .expect("upgrade");
    k.run(RunBudget::UNLIMITED);
    assert_eq!(body(&mut k, root, "incarnation", "", &[]), "#2");
    assert_eq!(
        body(&mut k, root, "recall", "", &[]),
        "#[true,true,[\"p\",\"q\"]]"
    );
    // The purse and its guard, redefined by the new incarnation.
    assert_eq!(body(&mut k, purse, "deposit", deposit, &[brand]), "#\"+6\"");
    let r = rejection(&mut k, purse, "deposit", "1", &[]);
    assert!(r.contains("In \\\"deposit\\\" method of (Purse): arg 0: (a number) - Must be a copyRecord to match a copyRecord pattern: (a string)"), "{r}");
    k.unpin(purse);
    k.unpin(brand);
    k.run(RunBudget::UNLIMITED);
    audit(&k);
}
