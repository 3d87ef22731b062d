//! `vatd doctor`: the kernel's full audit over a stopped node's DB (or a copy of one), for
//! operators. It reads only: nothing is committed, nothing runs, and a DB awaiting a schema
//! migration is audited as it is (that is when the leak it counts matters most).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use vatchain_kernel::store::Store;
use vatchain_kernel::worker::JsWorkers;
use vatchain_kernel::{keys, Kernel, KernelConfig, VatId};

/// What the doctor found.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    pub db: PathBuf,
    pub height: u64,
    pub app_hash: String,
    pub schema_version: u32,
    pub binary_schema_version: u32,
    pub live_vats: usize,
    pub terminated_vats: usize,
    pub objects: usize,
    pub promises: usize,
    /// Settled promises left in live vats' c-lists with no notify pending (upstream #9039).
    pub stale_promise_entries: StaleEntries,
    /// Broken kernel invariants (refcounts, c-list pairing, dead vats' records…).
    pub problems: Vec<String>,
    pub healthy: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaleEntries {
    pub total: u64,
    pub by_vat: Vec<VatCount>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VatCount {
    pub vat: String,
    pub name: String,
    pub count: u64,
}

/// Audits the DB under `home` (`data/vatd.db`).
pub fn diagnose(home: &Path) -> anyhow::Result<Diagnosis> {
    let db = home.join("data").join("vatd.db");
    if !db.join("CURRENT").exists() {
        anyhow::bail!("no node DB at {} (is --home right?)", db.display());
    }
    let store = Store::open(&db).with_context(|| {
        format!(
            "opening {} (a running node holds its DB: stop it, or run doctor on a copy)",
            db.display()
        )
    })?;
    // No worker is ever made: the audit reads kernel state only.
    let kernel = Kernel::new(
        store,
        Box::new(JsWorkers::default()),
        KernelConfig::default(),
    )
    .context("opening the kernel state")?;
    eprintln!("vatd doctor: auditing {} …", db.display());
    let audit = kernel.audit();
    let committed = kernel.committed();
    let by_vat = audit
        .stale_by_vat()
        .into_iter()
        .map(|(v, count)| VatCount {
            vat: v.to_string(),
            name: vat_name(&kernel, v),
            count,
        })
        .collect::<Vec<_>>();
    let terminated: Vec<String> = kernel
        .kv_get(keys::VATS_TERMINATED)
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    Ok(Diagnosis {
        db,
        height: committed.height,
        app_hash: hex::encode(committed.app_hash),
        schema_version: kernel.db_version(),
        binary_schema_version: kernel.binary_version(),
        live_vats: kernel.vats().len(),
        terminated_vats: terminated.len(),
        objects: audit.objects,
        promises: audit.promises,
        stale_promise_entries: StaleEntries {
            total: audit.stale_promise_entries.len() as u64,
            by_vat,
        },
        healthy: audit.is_healthy(),
        problems: audit.problems,
    })
}

fn vat_name(kernel: &Kernel, v: VatId) -> String {
    kernel
        .kv_get(&keys::vat_options(v))
        .and_then(|s| serde_json::from_str::<BTreeMap<String, serde_json::Value>>(&s).ok())
        .and_then(|o| o.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .unwrap_or_default()
}

impl Diagnosis {
    /// The report for people.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let migration = if self.schema_version < self.binary_schema_version {
            format!(
                " (this binary: {}; the DB awaits its migration)",
                self.binary_schema_version
            )
        } else {
            String::new()
        };
        s.push_str(&format!(
            "DB {}\n  height {}, app hash {}\n  kernel schema version {}{migration}\n  \
             {} live vats, {} terminated; {} objects, {} promises\n",
            self.db.display(),
            self.height,
            self.app_hash,
            self.schema_version,
            self.live_vats,
            self.terminated_vats,
            self.objects,
            self.promises
        ));
        s.push_str(&format!(
            "findings:\n  settled promises left in a c-list with no notify pending \
             (leaked by pre-v3 vat upgrades, upstream #9039; the v3-remediation upgrade \
             removes them): {}\n",
            self.stale_promise_entries.total
        ));
        for c in &self.stale_promise_entries.by_vat {
            s.push_str(&format!("    {} ({}): {}\n", c.vat, c.name, c.count));
        }
        s.push_str(&format!(
            "  broken kernel invariants: {}\n",
            self.problems.len()
        ));
        for p in &self.problems {
            s.push_str(&format!("    {p}\n"));
        }
        let total = self.stale_promise_entries.total + self.problems.len() as u64;
        if self.healthy {
            s.push_str("healthy: no findings\n");
        } else {
            s.push_str(&format!("unhealthy: {total} findings\n"));
        }
        s
    }
}
