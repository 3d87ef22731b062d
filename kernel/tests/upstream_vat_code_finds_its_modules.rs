//! Upstream vat code imports `@endo/errors`, `@endo/eventual-send`, `@endo/pass-style`,
//! `@endo/marshal`, the fuller `@agoric/vat-data` and `@agoric/store`, uses SES's global
//! `assert`, and ships pure-JS packages of its own in its bundle. The fixture
//! (`fixtures/vats/upstream-surface`) does all of that; the messages it reports are the
//! ones SES's assert makes (redacted substitutions, quoted ones shown).

mod support;

use support::js::{call, create, fixture, js_kernel, named};
use vatchain_kernel::{KRef, Kernel, PromiseState, RunBudget};

fn vat() -> (Kernel, KRef) {
    let mut k = js_kernel();
    let id = k
        .install_bundle(&fixture("upstream-surface"))
        .expect("install");
    let (_, root) = create(&mut k, &id, named("surface"), "#{}");
    k.run(RunBudget::UNLIMITED);
    assert!(k.halted().is_none(), "{:?}", k.halted());
    (k, root)
}

/// The fulfilled answer of `method()`, as JSON: the smallcaps body without its `#`, and
/// strings unescaped (smallcaps writes `!` before a string that starts with `!`…`-`).
fn answer(k: &mut Kernel, root: KRef, method: &str) -> serde_json::Value {
    fn unescape(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::String(s) => Value::String(s.strip_prefix('!').map_or(s.clone(), String::from)),
            Value::Array(a) => Value::Array(a.into_iter().map(unescape).collect()),
            Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, unescape(v))).collect())
            }
            other => other,
        }
    }
    match call(k, root, &format!("#[\"{method}\",[]]"), &[]) {
        PromiseState::Fulfilled(d) => unescape(serde_json::from_str(&d.body[1..]).expect("JSON")),
        other => panic!("{method} gave {other:?}"),
    }
}

#[test]
fn errors_are_made_as_ses_makes_them() {
    let (mut k, root) = vat();
    assert_eq!(
        answer(&mut k, root, "errors"),
        serde_json::json!([
            "Error: bad (a string) and \"shown\" and bare",
            "TypeError: (a number) must be a string",
            "RangeError: Expected (a number) is same as (a number)",
            "Error: 1 is not 2",
            "TypeError: made {\"a\":1}",
            "function",
            "Error: an error (an Error)",
        ])
    );
}

#[test]
fn pass_styles_and_marshal_work_as_upstream_names_them() {
    let (mut k, root) = vat();
    assert_eq!(
        answer(&mut k, root, "passStyles"),
        serde_json::json!([
            "remotable",
            true,
            true,
            "#{\"a\":[\"+1\",\"x\"]}",
            "#[1,\"two\"]",
            "v",
        ])
    );
    assert_eq!(
        answer(&mut k, root, "deep"),
        serde_json::json!({"five": 5, "list": ["x"]})
    );
    assert_eq!(
        answer(&mut k, root, "hi"),
        serde_json::json!("hi undefined")
    );
}

#[test]
fn vat_data_and_store_have_upstreams_exo_helpers() {
    let (mut k, root) = vat();
    assert_eq!(
        answer(&mut k, root, "kinds"),
        serde_json::json!([11, 12, 7, "right", "g", 1, {}])
    );
    assert_eq!(
        answer(&mut k, root, "weakKeys"),
        serde_json::json!(
            "TypeError: only remotables can be keys of scalar WeakStores: \"a string\""
        )
    );
    assert_eq!(answer(&mut k, root, "patterns"), serde_json::json!(true));
}

#[test]
fn a_bundle_carries_its_own_packages_but_not_liveslots_coupled_ones() {
    let (mut k, root) = vat();
    // tiny-math (with its own module and a nested node_modules dependency) comes from the
    // bundle; so does @endo/promise-kit, which would otherwise be a built-in; the bundle's
    // @endo/far is ignored (the vat would fail to start if it were loaded).
    assert_eq!(
        answer(&mut k, root, "bundled"),
        serde_json::json!([10, "the bundle’s own promise-kit"])
    );
}
