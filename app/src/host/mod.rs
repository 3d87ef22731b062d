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

pub mod amount;
pub mod codes;
pub mod events;
pub mod gas;
pub mod params;

use serde::de::DeserializeOwned;
use serde::Serialize;
pub use vatchain_kernel::{HostRead, HostStore};

/// Reads a JSON value (`None`: absent).
///
/// Panics on a value that does not parse: only this crate writes these keys, so an
/// unreadable one is a host bug or a damaged DB, and a node that carried on with a
/// default would compute a different state than its peers. Stopping is what keeps it
/// from forking (vatd aborts on a panic, and nothing of the block reaches disk).
pub fn get<T: DeserializeOwned>(h: &impl HostRead, key: &str) -> Option<T> {
    let bytes = h.get(key)?;
    Some(parse(key, &bytes))
}

fn parse<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> T {
    match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => panic!(
            "host state is damaged: {key:?} holds {:?}, which does not parse: {e}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// Writes a JSON value (inside [`vatchain_kernel::Kernel::update_host`], which commits it).
pub fn put<T: Serialize>(h: &mut HostStore<'_>, key: &str, value: &T) {
    let bytes = serde_json::to_vec(value).expect("host values are plain data");
    h.set(key, &bytes);
}

pub fn delete(h: &mut HostStore<'_>, key: &str) {
    h.delete(key);
}

/// Every `(key, value)` under `prefix`, in key order (panics on an unparsable value, as
/// [`get`] does).
pub fn scan<T: DeserializeOwned>(h: &impl HostRead, prefix: &str) -> Vec<(String, T)> {
    h.scan(prefix)
        .into_iter()
        .map(|(k, v)| {
            let value = parse(&k, &v);
            (k, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vatchain_kernel::store::Store;
    use vatchain_kernel::worker::RawWorkers;
    use vatchain_kernel::{Kernel, KernelConfig};

    fn kernel() -> Kernel {
        Kernel::new(
            Store::in_memory(),
            Box::new(RawWorkers::new()),
            KernelConfig::default(),
        )
        .expect("kernel")
    }

    #[test]
    fn values_round_trip_and_absent_keys_read_as_none() {
        let mut k = kernel();
        k.update_host(|h| put(h, "gov/next", &7u64));
        assert_eq!(get::<u64>(&k.host(), "gov/next"), Some(7));
        assert_eq!(get::<u64>(&k.host(), "gov/none"), None);
    }

    #[test]
    #[should_panic(expected = "host state is damaged")]
    fn an_unparsable_value_stops_the_node_rather_than_read_as_a_default() {
        let mut k = kernel();
        k.update_host(|h| h.set("gov/next", b"seven"));
        let _ = get::<u64>(&k.host(), "gov/next");
    }
}
