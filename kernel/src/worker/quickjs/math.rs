//! Deterministic transcendental functions for QuickJS.
//!
//! QuickJS computes `Math.sin`, `Math.exp`, `**` and the rest by calling the C library's
//! `sin`, `exp`, `pow`…, and those are not specified to the last bit: glibc releases, musl
//! and other systems round some inputs differently, so validators on different systems
//! would compute different numbers in a vat and fork. This module defines those symbols
//! itself, in the executable, from the `libm` crate (the Rust project's port of musl's
//! libm, pure Rust, the same bits on every machine and build). The static linker binds
//! QuickJS's references to these definitions before it ever looks at the system's
//! `libm.so`, so every vat (and any other caller in this process) gets them.
//!
//! The functions whose results IEEE 754 fixes exactly (`sqrt`, `fmod`, `trunc`, `round`,
//! `lrint`, `frexp`, `modf`, `scalbn`) are left to the system: every conforming library
//! returns the same bits.
//!
//! [`ensure_linked`] must be called where a worker is made: it names every function here,
//! so the object file that holds them is always part of the link (a static archive member
//! that nothing references would be left out, and QuickJS would bind to the system's).

// `no_mangle` is what `unsafe_code` objects to here: these symbols replace the C library's
// for the whole executable. SAFETY: each has exactly the C signature and the semantics of
// the function it replaces (`double f(double[, double])`, pure, no errno reliance in
// QuickJS), and none calls back into the C library's version.
#![allow(unsafe_code)]

macro_rules! deterministic {
    ($($name:ident($($arg:ident),+);)+) => {
        $(
            #[no_mangle]
            pub extern "C" fn $name($($arg: f64),+) -> f64 {
                libm::$name($($arg),+)
            }
        )+

        /// Keeps every definition above in the link (see the module docs).
        pub(crate) fn ensure_linked() {
            $(std::hint::black_box($name as extern "C" fn($(deterministic!(@f64 $arg)),+) -> f64);)+
        }
    };
    (@f64 $arg:ident) => { f64 };
}

deterministic! {
    sin(x);
    cos(x);
    tan(x);
    asin(x);
    acos(x);
    atan(x);
    atan2(y, x);
    sinh(x);
    cosh(x);
    tanh(x);
    asinh(x);
    acosh(x);
    atanh(x);
    exp(x);
    expm1(x);
    log(x);
    log1p(x);
    log2(x);
    log10(x);
    cbrt(x);
    hypot(x, y);
    pow(x, y);
}
