//! Chain parameters, fixed at genesis and kept in the host state.

use serde::{Deserialize, Serialize};

/// Bech32 prefix of account addresses.
pub const ADDRESS_PREFIX: &str = "vat";

/// Largest transaction accepted (bytes): bounds what one tx can make a node decode.
pub const MAX_TX_BYTES: usize = 4 << 20;

/// The largest `max_bundle_bytes` genesis may set (uncompressed bundles of up to 64 MiB).
pub const MAX_BUNDLE_BYTES_LIMIT: u64 = 64 << 20;

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
    pub min_deposit: String,
    /// The share of `min_deposit` a proposal must bring when it is submitted (Cosmos's
    /// `min_initial_deposit_ratio`): proposals are never free to make.
    pub min_initial_deposit_ratio: String,
    pub max_deposit_period_secs: u64,
    pub voting_period_secs: u64,
    /// Fractions as decimal strings ("0.334").
    pub quorum: String,
    pub threshold: String,
    pub veto_threshold: String,
}

impl Default for GovParams {
    fn default() -> GovParams {
        GovParams {
            min_deposit: "10000000".into(),
            min_initial_deposit_ratio: "0.25".into(),
            max_deposit_period_secs: 172_800,
            voting_period_secs: 172_800,
            quorum: "0.334".into(),
            threshold: "0.5".into(),
            veto_threshold: "0.334".into(),
        }
    }
}

/// A fraction in parts per billion, parsed from a decimal string in [0, 1].
pub fn parse_fraction(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a decimal fraction between 0 and 1");
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole = match int {
        "0" | "" => 0,
        "1" => 1_000_000_000,
        _ => return Err(bad()),
    };
    let digits = format!("{frac:0<9}");
    let part: u64 = digits.parse().map_err(|_| bad())?;
    let v = whole + part;
    if v > 1_000_000_000 {
        return Err(bad());
    }
    Ok(v)
}

/// An amount of coins: a non-negative decimal integer.
pub fn parse_amount(s: &str) -> Result<u128, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not an amount (a non-negative integer)"));
    }
    s.parse().map_err(|_| format!("amount {s:?} is too large"))
}

impl Params {
    /// Checks every field; genesis with bad parameters is refused.
    pub fn validate(&self) -> Result<(), String> {
        if self.denom.is_empty() || self.denom.len() > 64 {
            return Err("params.denom must be 1 to 64 characters".into());
        }
        parse_amount(&self.gov.min_deposit).map_err(|e| format!("params.gov.min_deposit: {e}"))?;
        for (name, v) in [
            ("quorum", &self.gov.quorum),
            ("threshold", &self.gov.threshold),
            ("veto_threshold", &self.gov.veto_threshold),
            (
                "min_initial_deposit_ratio",
                &self.gov.min_initial_deposit_ratio,
            ),
        ] {
            parse_fraction(v).map_err(|e| format!("params.gov.{name}: {e}"))?;
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
        self.gas.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_parse_exactly() {
        assert_eq!(parse_fraction("0.334"), Ok(334_000_000));
        assert_eq!(parse_fraction("0.5"), Ok(500_000_000));
        assert_eq!(parse_fraction("1"), Ok(1_000_000_000));
        assert_eq!(parse_fraction("1.000"), Ok(1_000_000_000));
        assert!(parse_fraction("1.5").is_err());
        assert!(parse_fraction("-0.1").is_err());
        assert!(parse_fraction("0.1234567891").is_err());
        assert_eq!(parse_amount("10"), Ok(10));
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("").is_err());
        Params::default().validate().expect("defaults are valid");
    }
}
