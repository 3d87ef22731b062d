//! The schema-version-2 kernel, kept only to make real v2 DBs for the v2→v3 migration's
//! tests, benchmark and end-to-end run (feature `legacy-v2`, off by default; the default
//! `vatd` never has it).
//!
//! It differs from the current kernel in exactly two ways, both upstream's before #10252:
//! - a fresh DB gets schema version 2 (and a v3 DB is refused as newer);
//! - a vat upgrade rejects the promises the vat decided but leaves every one of them in the
//!   vat's c-list (the bug, #9039): each entry keeps one reference, and the promise record
//!   lives on. Self-subscribed promises still get their notify, whose delivery removes the
//!   entry, as upstream's did.
//!
//! It is selected at run time by `KernelConfig::legacy_v2`, which exists only in builds
//! with the feature; `vatd-legacy-v2` (the "old binary") sets it.

/// The schema version the legacy kernel writes.
pub const SCHEMA_VERSION: u32 = 2;
