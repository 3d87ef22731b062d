//! The app's own state, in the store's `host` family, as JSON under string keys, reached
//! through the kernel's host facet (`Kernel::host`, `Kernel::update_host`). It commits in
//! the same `WriteBatch` as the kernel's state (one batch per block).
//!
//! Whose keys are whose: each module spells its own in its `keys.rs`
//! (`modules/{auth,gov,swingset,upgrade}/keys.rs`), the chain its own in `chain/keys.rs`,
//! and the parameters are `app/params` (`params.rs`). The store's own records
//! (`store.height`, `store.app_hash`) are out of the host's reach.

pub mod address;
pub mod amount;
pub mod codes;
pub mod events;
pub mod gas;
pub mod limits;
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
    parse_all(h.scan(prefix))
}

/// Every `(key, value)` with `start <= key < end`, in key order (parsed as [`scan`] does).
pub fn range<T: DeserializeOwned>(h: &impl HostRead, start: &str, end: &str) -> Vec<(String, T)> {
    parse_all(h.range(start, end))
}

/// Every `(key, value)` under `prefix` but `skip` (a key of another type sharing the
/// prefix), parsed as [`scan`] does.
pub fn scan_except<T: DeserializeOwned>(
    h: &impl HostRead,
    prefix: &str,
    skip: &str,
) -> Vec<(String, T)> {
    parse_all(
        h.scan(prefix)
            .into_iter()
            .filter(|(k, _)| k != skip)
            .collect(),
    )
}

fn parse_all<T: DeserializeOwned>(entries: Vec<(String, Vec<u8>)>) -> Vec<(String, T)> {
    entries
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
