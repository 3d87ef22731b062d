//! What a soak run did, counted as it ran, and printed as one table at the end.

use std::fmt;
use std::time::Duration;

#[derive(Clone, Debug, Default)]
pub struct Figures {
    pub validators: usize,
    pub blocks: u64,
    pub seed: u64,
    pub txs: u64,
    pub txs_ok: u64,
    pub txs_failed: u64,
    pub heavy_deliveries: u64,
    pub vats_created: u64,
    pub vats_terminated: u64,
    pub vat_upgrades: u64,
    pub vat_upgrades_failed: u64,
    pub proposals_failed: u64,
    pub software_upgrades: u64,
    /// Reap-interval changes passed by governance.
    pub params_changes: u64,
    /// SIGKILLs sent by the harness, by when they struck.
    pub kills_before_block: u64,
    pub kills_after_finalize: u64,
    pub kills_during_finalize: u64,
    pub kills_during_commit: u64,
    /// Nodes that killed themselves at an armed crash point (`VATD_CRASH_AT`).
    pub crash_points: u64,
    pub restarts: u64,
    /// Restarts that found the node behind and replayed blocks into it, and how many.
    pub catch_ups: u64,
    pub blocks_replayed: u64,
    /// Blocks a node ran a second time after dying before its Commit was answered.
    pub blocks_reexecuted: u64,
    /// Blocks whose results included kernel work carried over from an earlier block.
    pub blocks_with_carried_work: u64,
    pub divergences: u64,
    pub elapsed: Duration,
}

impl Figures {
    pub fn kills(&self) -> u64 {
        self.kills_before_block
            + self.kills_after_finalize
            + self.kills_during_finalize
            + self.kills_during_commit
            + self.crash_points
    }
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: [(&str, String); 15] = [
            ("validators", self.validators.to_string()),
            ("blocks", format!("{} (seed {})", self.blocks, self.seed)),
            (
                "txs",
                format!(
                    "{} ({} ok, {} failed; {} heavy deliveries, of up to 4,000 computrons each)",
                    self.txs, self.txs_ok, self.txs_failed, self.heavy_deliveries
                ),
            ),
            (
                "vats",
                format!(
                    "{} created by governance, {} terminated",
                    self.vats_created, self.vats_terminated
                ),
            ),
            (
                "vat upgrades",
                format!(
                    "{} applied, {} failed and unwound",
                    self.vat_upgrades, self.vat_upgrades_failed
                ),
            ),
            ("software upgrades", self.software_upgrades.to_string()),
            (
                "parameter changes",
                format!("{} (the default reap interval)", self.params_changes),
            ),
            (
                "kills (SIGKILL)",
                format!(
                    "{} (before a block {}, inside FinalizeBlock {}, between FinalizeBlock and \
                     Commit {}, inside Commit {}, at crash points {})",
                    self.kills(),
                    self.kills_before_block,
                    self.kills_during_finalize,
                    self.kills_after_finalize,
                    self.kills_during_commit,
                    self.crash_points
                ),
            ),
            ("restarts", self.restarts.to_string()),
            (
                "catch-ups",
                format!(
                    "{} ({} blocks replayed)",
                    self.catch_ups, self.blocks_replayed
                ),
            ),
            (
                "blocks run again",
                format!(
                    "{} (died before Commit was answered)",
                    self.blocks_reexecuted
                ),
            ),
            (
                "kernel work carried over",
                format!("{} blocks", self.blocks_with_carried_work),
            ),
            (
                "proposals voted down",
                format!(
                    "{} (vat creations, parameter changes)",
                    self.proposals_failed
                ),
            ),
            ("divergences", self.divergences.to_string()),
            ("time", format!("{:.1} s", self.elapsed.as_secs_f64())),
        ];
        for (k, v) in rows {
            writeln!(f, "  {k:<26} {v}")?;
        }
        Ok(())
    }
}
