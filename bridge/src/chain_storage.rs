//! Published data: the chainStorage vat (`js/chain-storage.js`), where vats put data for
//! clients, and the host's read side of it (queries, and one event per change).
//!
//! The host reads the vat's own vatstore through the kernel
//! ([`Kernel::user_vatstore_get`]): a query needs no delivery, and the app never writes it.

use std::collections::BTreeMap;

use serde_json::Value;
use vatchain_kernel::capdata::CapData;
use vatchain_kernel::worker::bundle::Bundle;
use vatchain_kernel::worker::VatSource;
use vatchain_kernel::{KRef, Kernel, KernelError, VatId, VatOptions};

/// The chainStorage vat's name (its root is published under it too).
pub const CHAIN_STORAGE_NAME: &str = "chainStorage";

const SOURCE: &str = include_str!("js/chain-storage.js");

/// How many changes the vat remembers (events beyond it in one block are not reported,
/// though the data itself is kept).
pub const KEEP_CHANGES: u64 = 1000;

/// Installs the chainStorage vat (once; later calls return it) and returns its root.
pub fn install(kernel: &mut Kernel) -> Result<KRef, KernelError> {
    if let Some(v) = kernel.vat_id(CHAIN_STORAGE_NAME) {
        return kernel
            .vat_root(v)
            .ok_or_else(|| KernelError::UnknownVat(v.to_string()));
    }
    let bundle = Bundle::new(
        "chain-storage.js",
        BTreeMap::from([("chain-storage.js".to_string(), SOURCE.to_string())]),
    )?;
    let bundle_id = kernel.install_bundle(&bundle.canonical_bytes())?;
    let v = kernel.create_vat(
        VatSource { bundle_id },
        VatOptions {
            name: CHAIN_STORAGE_NAME.into(),
            ..VatOptions::default()
        },
        vatchain_kernel::capdata::undefined(),
    )?;
    kernel
        .vat_root(v)
        .ok_or_else(|| KernelError::UnknownVat(v.to_string()))
}

fn storage_vat(kernel: &Kernel) -> Option<VatId> {
    kernel.vat_id(CHAIN_STORAGE_NAME)
}

/// The chainStorage vat's own vatstore.
fn vvs(kernel: &Kernel, v: VatId, key: &str) -> Option<String> {
    kernel.user_vatstore_get(v, key)
}

/// The value published under `path`, if any.
pub fn read(kernel: &Kernel, path: &str) -> Option<Value> {
    let v = storage_vat(kernel)?;
    serde_json::from_str(&vvs(kernel, v, &format!("data.{path}"))?).ok()
}

/// Up to `limit` paths published under `prefix`, in order.
pub fn list(kernel: &Kernel, prefix: &str, limit: usize) -> Vec<String> {
    let Some(v) = storage_vat(kernel) else {
        return Vec::new();
    };
    kernel
        .user_vatstore_scan(v, &format!("data.{prefix}"))
        .into_iter()
        .take(limit)
        .map(|(k, _)| k["data.".len()..].to_string())
        .collect()
}

/// The number of changes published so far.
pub fn change_count(kernel: &Kernel) -> u64 {
    storage_vat(kernel)
        .and_then(|v| vvs(kernel, v, "seq"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Changes `seen + 1 ..= last` (`last` from [`change_count`]), oldest first: (change
/// number, path, current value).
pub fn changes_since(kernel: &Kernel, seen: u64, last: u64) -> Vec<(u64, String, Value)> {
    let Some(v) = storage_vat(kernel) else {
        return Vec::new();
    };
    let first = (seen + 1).max(last.saturating_sub(KEEP_CHANGES) + 1);
    (first..=last)
        .filter_map(|seq| {
            let path = vvs(kernel, v, &format!("change.{seq:020}"))?;
            let value = read(kernel, &path).unwrap_or(Value::Null);
            Some((seq, path, value))
        })
        .collect()
}

/// vatParameters for a vat that may publish: `params` (a JSON object, or null) with
/// `chainStorage` added as a slot.
pub fn vat_parameters(params: &Value, storage: KRef) -> Result<CapData<KRef>, String> {
    let obj = match params {
        Value::Null => serde_json::Map::new(),
        Value::Object(m) => m.clone(),
        _ => return Err("vat parameters must be a JSON object".into()),
    };
    if let Some(k) = crate::smallcaps::reserved_key(params) {
        return Err(format!(
            "vat parameters: record key {k:?} is reserved by smallcaps"
        ));
    }
    if obj.contains_key("chainStorage") {
        return Err("vat parameters may not set chainStorage (the chain provides it)".into());
    }
    // Encode the plain data, then add the slot reference as smallcaps writes one (the
    // escaping of plain strings must not apply to it).
    let Value::Object(mut record) = crate::smallcaps::encode_value(&Value::Object(obj)) else {
        return Err("internal: an encoded record is not a record".into());
    };
    record.insert(
        "chainStorage".into(),
        Value::String("$0.Alleged: chainStorage".into()),
    );
    let body = format!("#{}", Value::Object(record));
    Ok(CapData {
        body,
        slots: vec![storage],
    })
}
