//! swingset's host keys (the only place they are spelled).
//!
//! - `app/chainStorage` → the chainStorage vat's root (held, not published: publishing it
//!   would let any account write any path)
//! - `pub/<name>` → the kref of a published object (target of `MsgDeliverInbound`)
//! - `pub-seen` → the last chainStorage change reported as an event
//! - `res/pending/<kpid>` → the height of a delivery whose result has not settled
//! - `res/<kpid>` → a settled (or expired) result

pub const CHAIN_STORAGE: &str = "app/chainStorage";
pub const PUBLISHED: &str = "pub/";
pub const PUBLISHED_SEEN: &str = "pub-seen";
pub const PENDING_RESULTS: &str = "res/pending/";

pub fn published(name: &str) -> String {
    format!("{PUBLISHED}{name}")
}

pub fn pending_result(kp: &str) -> String {
    format!("{PENDING_RESULTS}{kp}")
}

pub fn result(kp: &str) -> String {
    format!("res/{kp}")
}
