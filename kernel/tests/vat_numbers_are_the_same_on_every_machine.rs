//! Numbers must not depend on the machine (ARCHITECTURE, "Remaining determinism hazards").
//! A vat's `Math.sin`, `Math.pow`, `**` and the other transcendental functions give the
//! bits of the `libm` crate (a port of musl's libm), not of the system's C library: the
//! known vectors below are inputs where glibc 2.36 rounds the last bit the other way
//! (found by comparing the two on random inputs), so this fails if QuickJS ever calls the
//! system's functions again.
//!
//! And the depth at which a vat's recursion hits the stack limit, which a vat can catch and
//! turn into data, is the same on every node: live and after a replay (the replay checks it,
//! since the answer is in the transcript), and whatever the binary's native frame sizes. A
//! binary whose frames are k times larger is, to QuickJS, the same as one with k times less
//! native room, so the tests vary the room: the deterministic limit (the patched engine's
//! frame-cost count, worker/quickjs/stack.rs) must give the same depth at every room, where
//! the native limit alone does not.

mod support;

use support::js::{call, create, fixture, named};
use vatchain_kernel::store::Store;
use vatchain_kernel::worker::{JsLimits, JsWorkers};
use vatchain_kernel::{Kernel, KernelConfig, PromiseState, RunBudget};

/// (function, x bits, y bits, the result's bits as `libm` computes them); glibc 2.36 gives
/// the neighbouring double for each.
const KNOWN: &[(&str, u64, u64, u64)] = &[
    (
        "sin",
        0x40a3e954328afc04,
        0x0000000000000000,
        0xbfe7ac9f9a9ea6c1,
    ),
    (
        "sin",
        0x409abcf2f6f269f0,
        0x0000000000000000,
        0x3fe9aa6cb53b786e,
    ),
    (
        "cos",
        0x40a7dee7288fd490,
        0x0000000000000000,
        0xbfcffe450f2cea84,
    ),
    (
        "cos",
        0xc0bc89363385760c,
        0x0000000000000000,
        0xbfe10d4be50e7232,
    ),
    (
        "tan",
        0xc0c2ddb654c20e74,
        0x0000000000000000,
        0x3ff77ed6e45ef399,
    ),
    (
        "tan",
        0xc0b525ecac5452d8,
        0x0000000000000000,
        0xbff6df1147ed0b7b,
    ),
    (
        "asin",
        0xbfeddf465f7a763a,
        0x0000000000000000,
        0xbff343dc350e3328,
    ),
    (
        "asin",
        0x3fea02117f8f52e8,
        0x0000000000000000,
        0x3fee5d11e7276fe8,
    ),
    (
        "acos",
        0xbfe981c8be2d762c,
        0x0000000000000000,
        0x4003f23334cd5dd2,
    ),
    (
        "acos",
        0xbfed5f3c4bc00880,
        0x0000000000000000,
        0x4005de2ff399327c,
    ),
    (
        "atan",
        0xc074324b771aeba0,
        0x0000000000000000,
        0xbff9154e6a41d33e,
    ),
    (
        "atan",
        0x4059207e33fbc880,
        0x0000000000000000,
        0x3ff8f93ae188060e,
    ),
    (
        "sinh",
        0x407f4092bdb7274c,
        0x0000000000000000,
        0x6cf519baba1e9524,
    ),
    (
        "sinh",
        0xc08069e73667cc3c,
        0x0000000000000000,
        0xef3b0f737d0d51f2,
    ),
    (
        "cosh",
        0xc05374888b42dac0,
        0x0000000000000000,
        0x46e350eb584fc930,
    ),
    (
        "cosh",
        0x40828d5854694cd6,
        0x0000000000000000,
        0x7566590f53aabdc2,
    ),
    (
        "asinh",
        0x40aade782dfc5428,
        0x0000000000000000,
        0x4021ac1c0b6fe07e,
    ),
    (
        "asinh",
        0xc0a26332490a20ec,
        0x0000000000000000,
        0xc020e9e7f4fe1edc,
    ),
    (
        "acosh",
        0x4007c9f400017850,
        0x0000000000000000,
        0x3ffc0dce19e63552,
    ),
    (
        "acosh",
        0x400861cbc395c031,
        0x0000000000000000,
        0x3ffc78c0cde146e4,
    ),
    (
        "atanh",
        0xbfdc6f8e397394bc,
        0x0000000000000000,
        0xbfde90c7def1263b,
    ),
    (
        "atanh",
        0xbfc50c7cfa83b8f8,
        0x0000000000000000,
        0xbfc53ddcf4ec6b6d,
    ),
    (
        "exp",
        0xc07145345b881a76,
        0x0000000000000000,
        0x270459574084df8e,
    ),
    (
        "exp",
        0x40823bec15ebd8b2,
        0x0000000000000000,
        0x748bd446de461e6e,
    ),
    (
        "expm1",
        0x407704f5dbacec00,
        0x0000000000000000,
        0x6124856f1c2172f4,
    ),
    (
        "expm1",
        0x4033c94a1e915780,
        0x0000000000000000,
        0x41b75a8b40611145,
    ),
    (
        "log",
        0x4096da40d4a74575,
        0x0000000000000000,
        0x401d26db481652b8,
    ),
    (
        "log",
        0x40948ba7117d068e,
        0x0000000000000000,
        0x401cb9e1ecdb37f8,
    ),
    (
        "log1p",
        0x408a52a6e242bffa,
        0x0000000000000000,
        0x401af30e86dc1809,
    ),
    (
        "log1p",
        0x40845cf6e1037738,
        0x0000000000000000,
        0x4019ec8a2e4217d7,
    ),
    (
        "log2",
        0x405705c9c7f8669f,
        0x0000000000000000,
        0x401a19943a120cf4,
    ),
    (
        "log2",
        0x4075c4454cb20d3a,
        0x0000000000000000,
        0x4020e35a79225d2e,
    ),
    (
        "log10",
        0x409cb54d31e92db0,
        0x0000000000000000,
        0x400a1d0d96d555a1,
    ),
    (
        "log10",
        0x409dbf4225843f44,
        0x0000000000000000,
        0x400a3cabd9818c77,
    ),
    (
        "cbrt",
        0x406077488d51decd,
        0x0000000000000000,
        0x40145a4101cde659,
    ),
    (
        "cbrt",
        0x4088d93073fbb925,
        0x0000000000000000,
        0x4022875c1db565f5,
    ),
    (
        "atan2",
        0xc0b35216737dd6cf,
        0xc03a84d0cb55f600,
        0xbff937f14ace403e,
    ),
    (
        "atan2",
        0x40b278e740a4bc9e,
        0x40a0566290bad5dc,
        0x3ff27890fc94d1fa,
    ),
    (
        "hypot",
        0x40bad72e3f788120,
        0x40baa0fcad072350,
        0x40c2e78938a2b47a,
    ),
    (
        "hypot",
        0x40c1e7ea26081ce2,
        0xc0a39104affc8d74,
        0x40c28fe2aa6fb07e,
    ),
    (
        "pow",
        0x4031b2ee7c5ec254,
        0xc0380787d2b20c44,
        0x39b4e084e9b545e2,
    ),
    (
        "pow",
        0x404663f67ae0e78e,
        0xc0314ca929001b04,
        0x3a01560b8b028c56,
    ),
];

fn libm_of(name: &str, x: f64, y: f64) -> f64 {
    match name {
        "sin" => libm::sin(x),
        "cos" => libm::cos(x),
        "tan" => libm::tan(x),
        "asin" => libm::asin(x),
        "acos" => libm::acos(x),
        "atan" => libm::atan(x),
        "sinh" => libm::sinh(x),
        "cosh" => libm::cosh(x),
        "tanh" => libm::tanh(x),
        "asinh" => libm::asinh(x),
        "acosh" => libm::acosh(x),
        "atanh" => libm::atanh(x),
        "exp" => libm::exp(x),
        "expm1" => libm::expm1(x),
        "log" => libm::log(x),
        "log1p" => libm::log1p(x),
        "log2" => libm::log2(x),
        "log10" => libm::log10(x),
        "cbrt" => libm::cbrt(x),
        "atan2" => libm::atan2(x, y),
        "hypot" => libm::hypot(x, y),
        "pow" | "exponent" => libm::pow(x, y),
        _ => panic!("no function {name}"),
    }
}

/// Runs `calls` in the vat; returns each result's bits.
fn compute(k: &mut Kernel, root: vatchain_kernel::KRef, calls: &[(&str, f64, f64)]) -> Vec<u64> {
    let list: Vec<serde_json::Value> = calls
        .iter()
        .map(|(n, x, y)| {
            serde_json::json!([
                n,
                format!("{:016x}", x.to_bits()),
                format!("{:016x}", y.to_bits())
            ])
        })
        .collect();
    let body = format!("#{}", serde_json::json!(["compute", [list]]));
    let data = match call(k, root, &body, &[]) {
        PromiseState::Fulfilled(data) => data,
        other => panic!("compute failed: {other:?}"),
    };
    let values: Vec<String> = serde_json::from_str(&data.body[1..]).expect("a JSON array");
    values
        .iter()
        .map(|v| u64::from_str_radix(v, 16).expect("hex bits"))
        .collect()
}

fn numbers_vat() -> (Kernel, vatchain_kernel::KRef) {
    let mut k = support::js::js_kernel();
    let id = k.install_bundle(&fixture("numbers")).expect("install");
    let (_, root) = create(&mut k, &id, named("numbers"), "#{}");
    k.run(RunBudget::UNLIMITED);
    (k, root)
}

#[test]
fn transcendental_functions_give_libm_bits_on_the_known_vectors() {
    let (mut k, root) = numbers_vat();
    let mut calls: Vec<(&str, f64, f64)> = KNOWN
        .iter()
        .map(|(n, x, y, _)| (*n, f64::from_bits(*x), f64::from_bits(*y)))
        .collect();
    // `**` ("exponent") is the same operation as Math.pow.
    calls.extend(
        KNOWN
            .iter()
            .filter(|(n, ..)| *n == "pow")
            .map(|(_, x, y, _)| ("exponent", f64::from_bits(*x), f64::from_bits(*y))),
    );
    let got = compute(&mut k, root, &calls);
    let mut expected: Vec<u64> = KNOWN.iter().map(|(.., r)| *r).collect();
    expected.extend(KNOWN.iter().filter(|(n, ..)| *n == "pow").map(|(.., r)| *r));
    for (i, (c, (g, e))) in calls.iter().zip(got.iter().zip(&expected)).enumerate() {
        assert_eq!(
            g, e,
            "vector {i}: {}({:e}, {:e}) gave {g:#018x}, libm gives {e:#018x}",
            c.0, c.1, c.2
        );
    }
}

#[test]
fn transcendental_functions_match_libm_on_random_inputs() {
    let (mut k, root) = numbers_vat();
    let mut rng = fastrand::Rng::with_seed(20261202);
    let names = [
        "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
        "atanh", "exp", "expm1", "log", "log1p", "log2", "log10", "cbrt", "atan2", "hypot", "pow",
        "exponent",
    ];
    let mut calls = Vec::new();
    for name in names {
        for _ in 0..200 {
            let x = match name {
                "asin" | "acos" | "atanh" => rng.f64() * 2.0 - 1.0,
                "acosh" => 1.0 + rng.f64() * 100.0,
                "log" | "log1p" | "log2" | "log10" | "cbrt" => rng.f64() * 1e6,
                "exp" | "expm1" | "sinh" | "cosh" => rng.f64() * 1400.0 - 700.0,
                "pow" | "exponent" => rng.f64() * 50.0,
                _ => rng.f64() * 2e4 - 1e4,
            };
            let y = match name {
                "pow" | "exponent" => rng.f64() * 60.0 - 30.0,
                _ => rng.f64() * 2e4 - 1e4,
            };
            calls.push((name, x, y));
        }
    }
    let got = compute(&mut k, root, &calls);
    for ((name, x, y), g) in calls.iter().zip(got) {
        let e = libm_of(name, *x, *y).to_bits();
        assert_eq!(
            g, e,
            "{name}({x:e}, {y:e}) gave {g:#018x}, libm gives {e:#018x}"
        );
    }
}

#[test]
fn a_caught_stack_overflow_happens_at_the_same_depth_live_and_in_replay() {
    // One live worker: talking to the other vat evicts this one, which is then rebuilt by
    // replaying its transcript, whose recorded answers include the depth.
    let config = KernelConfig {
        max_live_workers: 1,
        ..KernelConfig::default()
    };
    let mut k =
        Kernel::new(Store::in_memory(), Box::new(JsWorkers::default()), config).expect("kernel");
    let id = k.install_bundle(&fixture("numbers")).expect("install");
    let (_, root) = create(&mut k, &id, named("numbers"), "#{}");
    let (_, other) = create(&mut k, &id, named("other"), "#{}");
    k.run(RunBudget::UNLIMITED);
    let PromiseState::Fulfilled(first) = call(&mut k, root, "#[\"depth\",[]]", &[]) else {
        panic!("depth failed");
    };
    let depth: i64 = first.body[1..].parse().expect("a number");
    assert!(depth > 100, "the recursion got {depth} deep");
    for _ in 0..3 {
        call(&mut k, other, "#[\"depth\",[]]", &[]);
        let again = call(&mut k, root, "#[\"depth\",[]]", &[]);
        assert!(
            k.halted().is_none(),
            "the replay diverged: {:?}",
            k.halted()
        );
        assert_eq!(again, PromiseState::Fulfilled(first.clone()));
    }
}

/// A kernel running the numbers vat with the given stack limits; returns it and the root.
fn numbers_vat_with(js_stack_bytes: u32, native_bytes: usize) -> (Kernel, vatchain_kernel::KRef) {
    let mut k = support::js::js_kernel_with_limits(JsLimits {
        js_stack_bytes,
        stack_bytes: native_bytes,
        ..JsLimits::default()
    });
    let id = k.install_bundle(&fixture("numbers")).expect("install");
    let (_, root) = create(&mut k, &id, named("numbers"), "#{}");
    k.run(RunBudget::UNLIMITED);
    (k, root)
}

/// The depth the vat reaches through `through` before a caught RangeError.
fn depth_through(k: &mut Kernel, root: vatchain_kernel::KRef, through: &str) -> i64 {
    match call(k, root, &format!("#[\"depth\",[\"{through}\"]]"), &[]) {
        PromiseState::Fulfilled(d) => d.body[1..].parse().expect("a number"),
        other => panic!("depth through {through} failed: {other:?}"),
    }
}

/// What stands between two levels of recursion in the fixture: a plain call, a builtin
/// calling back (Array.prototype.map), a getter, Reflect.apply. With the depth each reaches
/// under the default limit: these numbers are consensus data (a vat can return them), so a
/// change to them, by a change to liveslots or to the engine's frame costs, is a consensus
/// change and must be one on purpose.
const DEPTHS: &[(&str, i64)] = &[("call", 977), ("map", 761), ("getter", 655), ("apply", 727)];

#[test]
fn the_depth_limit_is_the_same_whatever_the_native_frame_sizes() {
    let default = JsLimits::default();
    // Native room of a quarter, all, and four times ours: frames four times larger than
    // ours, ours, a quarter of ours.
    let rooms = [
        default.stack_bytes / 4,
        default.stack_bytes,
        default.stack_bytes * 4,
    ];
    for room in rooms {
        let (mut k, root) = numbers_vat_with(default.js_stack_bytes, room);
        for (through, expected) in DEPTHS {
            let got = depth_through(&mut k, root, through);
            assert_eq!(
                got, *expected,
                "through {through} with {room} bytes of native room the recursion got {got} deep"
            );
        }
    }
}

#[test]
fn without_the_deterministic_limit_the_depth_follows_the_native_room() {
    // What the test above rules out: the native limit alone lets the room, that is the
    // binary's frame sizes, decide the depth.
    let depth_at = |room: usize| {
        let (mut k, root) = numbers_vat_with(0, room);
        depth_through(&mut k, root, "call")
    };
    let (small, large) = (depth_at(1 << 20), depth_at(4 << 20));
    assert!(
        large > 3 * small,
        "native room ×4 took the depth from {small} to {large}"
    );
}

#[test]
fn native_only_recursion_fails_the_delivery_even_when_caught() {
    let (mut k, root) = numbers_vat_with(JsLimits::default().js_stack_bytes, 16 << 20);
    // Nested data within the native room: JSON.stringify recurses in C and succeeds.
    let PromiseState::Fulfilled(ok) = call(&mut k, root, "#[\"nested\",[10000]]", &[]) else {
        panic!("a 10,000-deep array did not stringify");
    };
    assert_eq!(ok.body, "#20002");
    // Past it: the vat catches the RangeError, but where the native limit falls depends on
    // the binary, so the delivery fails as a resource limit and its result says why.
    match call(&mut k, root, "#[\"nested\",[400000]]", &[]) {
        PromiseState::Rejected(why) => assert!(
            why.body.contains("native stack exhausted"),
            "rejected with {}",
            why.body
        ),
        other => panic!("a 400,000-deep stringify gave {other:?}"),
    }
    // A resource limit rolls the message back; the vat is not terminated for it.
    assert_eq!(depth_through(&mut k, root, "call"), DEPTHS[0].1);
}
