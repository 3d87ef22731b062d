//! upgrade's host keys (the only place they are spelled).
//!
//! - `upg/plan` → the scheduled [`super::Plan`]
//! - `upg/done/<name>` → the height upgrade `name` ran at
//! - `upg/result/<name>` → what its handler reported ([`super::Applied`])
//! - `upg/last` → the name of the last upgrade applied

pub const PLAN: &str = "upg/plan";
pub const RESULTS: &str = "upg/result/";
pub const LAST: &str = "upg/last";

pub fn done(name: &str) -> String {
    format!("upg/done/{name}")
}

pub fn result(name: &str) -> String {
    format!("{RESULTS}{name}")
}
