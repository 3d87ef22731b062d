//! The app's own state, in the store's `host` family, as JSON under string keys. It
//! commits in the same `WriteBatch` as the kernel's state (one batch per block).
//!
//! Key schema (all under `Cf::Host`):
//! - `app/params`, `app/chainID`, `app/initialHeight`, `app/chainStorage` (the chainStorage root, held, not published)
//! - `acct/<address>` → [`crate::modules::auth::accounts::Account`]; `acct/next` → next account number
//! - `val/<address>` → validator power
//! - `pub/<name>` → the kref of a published object (target of `MsgDeliverInbound`)
//! - `pub-seen` → the last chainStorage change reported as an event
//! - `res/pending/<kpid>` → the height of a delivery whose result has not settled;
//!   `res/<kpid>` → a settled (or expired) result (see `results.rs`)
//! - `gov/next`, `gov/p/<id:020>` → proposal, `gov/v/<id:020>/<voter>` → vote,
//!   `gov/dq/<deposit end:020>/<id:020>` and `gov/vq/<voting end:020>/<id:020>` → id: the
//!   proposals in their deposit and voting periods, by the time the period ends
//! - `upg/plan` → the scheduled software-upgrade plan; `upg/done/<name>` → its height;
//!   `upg/result/<name>` → what its handler reported ([`crate::modules::upgrade::Applied`]);
//!   `upg/last` → the name of the last upgrade applied
//!
//! The store's own keys (`height`, `appHash`) live in the same family without a `/`.

pub mod codes;
pub mod events;
pub mod gas;
pub mod params;

use serde::de::DeserializeOwned;
use serde::Serialize;
use vatchain_kernel::store::{Cf, Store};

/// Reads a JSON value (`None`: absent). A value that does not parse is a bug in this
/// crate (only it writes these keys), so it reads as absent and is logged.
pub fn get<T: DeserializeOwned>(store: &Store, key: &str) -> Option<T> {
    let bytes = store.get(Cf::Host, key.as_bytes())?;
    match serde_json::from_slice(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(key, error = %e, "unreadable host value");
            None
        }
    }
}

/// Writes a JSON value into the open crank (the caller commits it).
pub fn put<T: Serialize>(store: &mut Store, key: &str, value: &T) {
    // Serializing our own plain structs cannot fail.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    store.set(Cf::Host, key.as_bytes(), &bytes);
}

pub fn delete(store: &mut Store, key: &str) {
    store.delete(Cf::Host, key.as_bytes());
}

/// Every `(key, value)` under `prefix`, in key order.
pub fn scan<T: DeserializeOwned>(store: &Store, prefix: &str) -> Vec<(String, T)> {
    store
        .scan_prefix(Cf::Host, prefix.as_bytes())
        .into_iter()
        .filter_map(|(k, v)| {
            let key = String::from_utf8(k).ok()?;
            let value = serde_json::from_slice(&v).ok()?;
            Some((key, value))
        })
        .collect()
}
