//! Chain parameters, fixed at genesis and kept in the host state.

use serde::{Deserialize, Serialize};

use crate::host::amount::{Amount, Fraction};
use crate::host::{HostRead, HostStore};

/// Where the parameters are kept (host state).
const KEY: &str = "app/params";

/// Bech32 prefix of account addresses.
pub const ADDRESS_PREFIX: &str = "vat";

pub use crate::host::limits::{MAX_BUNDLE_BYTES_LIMIT, MAX_TX_BYTES};

/// Chain-wide parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// The one denomination balances and deposits are counted in.
    pub denom: String,
    /// Largest bundle `MsgInstallBundle` may carry (uncompressed bytes).
    pub max_bundle_bytes: u64,
    /// Computrons the kernel may spend per block; leftover work continues next block.
    pub block_computrons: u64,
    /// Most messages one tx may carry (refused at CheckTx, and again in the block).
    pub max_msgs_per_tx: u64,
    /// Most messages one block may carry: proposals are built within it (PrepareProposal),
    /// refused past it (ProcessProposal), and a block past it fails the txs that do not fit.
    pub max_block_msgs: u64,
    /// Computrons one delivery may use (the kernel's per-delivery limit; a tx's gas may
    /// lower it for the deliveries it asks for, never raise it).
    pub delivery_computrons: u64,
    /// Deliveries a vat gets between bringOutYourDead when it sets no interval of its own
    /// (kept in the kernel's kv too: when BOYD runs changes transcripts and the app hash).
    pub default_reap_interval: u64,
    pub gas: crate::host::gas::GasParams,
    pub gov: GovParams,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            denom: "uvat".into(),
            max_bundle_bytes: 1 << 20,
            // With one delivery's overshoot, at most a second of execution on our machine
            // at the slowest JS measured (see ARCHITECTURE, "Metering").
            block_computrons: 5_000,
            max_msgs_per_tx: 100,
            max_block_msgs: 2_000,
            // At most a third of a second of JS (see ARCHITECTURE, "Metering").
            delivery_computrons: 2_500,
            default_reap_interval: vatchain_kernel::DEFAULT_REAP_INTERVAL,
            gas: crate::host::gas::GasParams::default(),
            gov: GovParams::default(),
        }
    }
}

/// Governance parameters (Cosmos SDK x/gov's names and defaults, periods in seconds of
/// block time).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GovParams {
    /// Deposit a proposal needs before voting starts (in `denom`).
    pub min_deposit: Amount,
    /// The share of `min_deposit` a proposal must bring when it is submitted (Cosmos's
    /// `min_initial_deposit_ratio`): proposals are never free to make.
    pub min_initial_deposit_ratio: Fraction,
    pub max_deposit_period_secs: u64,
    pub voting_period_secs: u64,
    /// Fractions, written as decimal strings ("0.334").
    pub quorum: Fraction,
    pub threshold: Fraction,
    pub veto_threshold: Fraction,
}

impl Default for GovParams {
    fn default() -> GovParams {
        GovParams {
            min_deposit: Amount(10_000_000),
            min_initial_deposit_ratio: fraction("0.25"),
            max_deposit_period_secs: 172_800,
            voting_period_secs: 172_800,
            quorum: fraction("0.334"),
            threshold: fraction("0.5"),
            veto_threshold: fraction("0.334"),
        }
    }
}

/// A default's fraction (a literal of this file).
fn fraction(s: &str) -> Fraction {
    Fraction::parse(s).expect("a valid default")
}

impl Params {
    /// The chain's parameters. Genesis wrote them; a chain without them is a host bug.
    pub fn load(h: &impl HostRead) -> Params {
        Params::stored(h).expect("the chain has no parameters: InitChain never ran")
    }

    /// The parameters, if genesis ran.
    pub fn stored(h: &impl HostRead) -> Option<Params> {
        crate::host::get(h, KEY)
    }

    pub fn save(&self, h: &mut HostStore<'_>) {
        crate::host::put(h, KEY, self);
    }

    /// These parameters with `changes` applied (a JSON object shaped as genesis
    /// `app_state.params`: the fields it names take its values, records merge field by
    /// field), checked as genesis's are. The denomination cannot change: balances and
    /// deposits are counted in it.
    pub fn with_changes(&self, changes: &serde_json::Value) -> Result<Params, String> {
        fn merge(into: &mut serde_json::Value, from: &serde_json::Value) {
            match (into, from) {
                (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                    for (k, v) in b {
                        match a.get_mut(k) {
                            Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                            _ => {
                                a.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
                (slot, v) => *slot = v.clone(),
            }
        }
        if !changes.is_object() {
            return Err("the changes must be a JSON object".into());
        }
        let mut v = serde_json::to_value(self).map_err(|e| e.to_string())?;
        merge(&mut v, changes);
        let next: Params = serde_json::from_value(v).map_err(|e| e.to_string())?;
        if next.denom != self.denom {
            return Err("params.denom cannot change after genesis".into());
        }
        next.validate()?;
        Ok(next)
    }

    /// Checks every field the types do not (amounts and fractions parse when read);
    /// genesis with bad parameters is refused.
    pub fn validate(&self) -> Result<(), String> {
        if self.denom.is_empty() || self.denom.len() > 64 {
            return Err("params.denom must be 1 to 64 characters".into());
        }
        if self.gov.voting_period_secs == 0 {
            return Err("params.gov.voting_period_secs must be positive".into());
        }
        if self.max_bundle_bytes == 0 || self.max_bundle_bytes > MAX_BUNDLE_BYTES_LIMIT {
            return Err(format!(
                "params.max_bundle_bytes must be between 1 and {MAX_BUNDLE_BYTES_LIMIT} (a tx is at most 4 MiB)"
            ));
        }
        if self.max_msgs_per_tx == 0 {
            return Err("params.max_msgs_per_tx must be positive".into());
        }
        if self.max_block_msgs < self.max_msgs_per_tx {
            return Err("params.max_block_msgs must be at least params.max_msgs_per_tx".into());
        }
        if self.block_computrons == 0 {
            return Err("params.block_computrons must be positive".into());
        }
        if self.delivery_computrons == 0 {
            return Err("params.delivery_computrons must be positive".into());
        }
        if self.default_reap_interval == 0 {
            return Err("params.default_reap_interval must be positive".into());
        }
        self.gas.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_written_as_cosmos_writes_them() {
        Params::default().validate().expect("defaults are valid");
        let json = serde_json::to_value(Params::default()).expect("json");
        assert_eq!(json["gov"]["min_deposit"], "10000000");
        assert_eq!(json["gov"]["quorum"], "0.334");
        let bad = serde_json::json!({"gov": {"quorum": "1.5"}});
        let err = serde_json::from_value::<Params>(bad).expect_err("refused");
        assert!(err.to_string().contains("between 0 and 1"), "{err}");
    }
}
