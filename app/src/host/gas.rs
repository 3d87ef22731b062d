//! Gas: what a tx declares it may cost (`AuthInfo.fee.gas_limit`, Cosmos's field) and
//! what that buys.
//!
//! A tx is charged its *intrinsic* gas up front: `tx_size_cost_per_byte` per byte (as
//! Cosmos's ante handler charges) and `msg_cost` per message. What the declared limit
//! leaves over is the tx's allowance for the vat work it asks for: each
//! `MsgDeliverInbound` may use an equal share of it, at `gas_per_computron`, and never more
//! than the chain's per-delivery limit. The share travels with the message into the kernel
//! (`Kernel::queue_to_kref_metered`); a delivery that passes it is rolled back and its
//! result rejected, the vat untouched. So the gas a tx declares bounds both its own cost
//! (checked before anything runs: CheckTx and the block refuse a tx whose limit does not
//! cover its intrinsic gas) and the cost of the deliveries it causes.
//!
//! Blocks are bounded by the sum of their txs' declared gas (`max_block_gas`): CheckTx
//! refuses a tx declaring more than a block may hold, PrepareProposal fills blocks up to
//! it, ProcessProposal refuses a block past it, and FinalizeBlock fails the txs past it.
//!
//! This chain charges no fee: gas is a bound, not a price (see docs/ARCHITECTURE.md).

use serde::{Deserialize, Serialize};

use crate::host::codes;

/// The gas schedule (chain parameters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GasParams {
    /// Gas per byte of the tx (Cosmos's `tx_size_cost_per_byte`).
    pub tx_size_cost_per_byte: u64,
    /// Gas per message.
    pub msg_cost: u64,
    /// Gas one computron of vat work costs.
    pub gas_per_computron: u64,
    /// Most gas the txs of one block may declare in all.
    pub max_block_gas: u64,
}

impl Default for GasParams {
    fn default() -> GasParams {
        GasParams {
            tx_size_cost_per_byte: 10,
            msg_cost: 1_000,
            gas_per_computron: 100,
            // A full 4 MiB tx (42M gas) fits twice.
            max_block_gas: 100_000_000,
        }
    }
}

impl GasParams {
    pub fn validate(&self) -> Result<(), String> {
        if self.gas_per_computron == 0 {
            return Err("params.gas.gas_per_computron must be positive".into());
        }
        let max_tx = self.intrinsic(crate::host::limits::MAX_TX_BYTES as u64, 1);
        if self.max_block_gas < max_tx {
            return Err(format!(
                "params.gas.max_block_gas must hold one tx of the largest size ({max_tx} gas)"
            ));
        }
        Ok(())
    }

    /// The gas a tx of `bytes` bytes carrying `msgs` messages costs before anything runs.
    pub fn intrinsic(&self, bytes: u64, msgs: u64) -> u64 {
        bytes
            .saturating_mul(self.tx_size_cost_per_byte)
            .saturating_add(msgs.saturating_mul(self.msg_cost))
    }
}

/// A tx's gas, as checked before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxGas {
    /// What the tx declared (`gas_wanted`).
    pub limit: u64,
    /// What it is charged (`gas_used`): intrinsic gas plus its deliveries' allowances.
    pub used: u64,
    /// Computrons each of its deliveries may use (`None`: it has none).
    pub allowance: Option<u64>,
}

/// Why a tx's gas does not check out: the ABCI code (Cosmos's) and the reason.
pub type GasError = (u32, String);

/// Checks a tx's declared `limit` against its size, its messages and the block limit,
/// and divides what is left among its `deliveries`.
pub fn check(
    gas: &GasParams,
    delivery_limit: u64,
    limit: u64,
    bytes: u64,
    msgs: u64,
    deliveries: u64,
) -> Result<TxGas, GasError> {
    if limit > gas.max_block_gas {
        return Err((
            codes::INVALID_GAS_LIMIT,
            format!(
                "the tx declares {limit} gas, more than a block may hold ({})",
                gas.max_block_gas
            ),
        ));
    }
    let intrinsic = gas.intrinsic(bytes, msgs);
    if intrinsic > limit {
        return Err((
            codes::OUT_OF_GAS,
            format!(
                "out of gas: the tx's {bytes} bytes and {msgs} messages cost {intrinsic} gas; \
                 it declares {limit}"
            ),
        ));
    }
    if deliveries == 0 {
        return Ok(TxGas {
            limit,
            used: intrinsic,
            allowance: None,
        });
    }
    let share = (limit - intrinsic) / gas.gas_per_computron / deliveries;
    let allowance = share.min(delivery_limit);
    if allowance == 0 {
        return Err((
            codes::OUT_OF_GAS,
            format!(
                "out of gas: after its intrinsic {intrinsic} gas the tx's {limit} leave less \
                 than one computron ({} gas) for each of its {deliveries} deliveries",
                gas.gas_per_computron
            ),
        ));
    }
    Ok(TxGas {
        limit,
        used: intrinsic + allowance * deliveries * gas.gas_per_computron,
        allowance: Some(allowance),
    })
}

/// What a wallet declares by default for `messages` (`vatd tx --gas auto`): the intrinsic
/// gas of a tx of about that size under the default schedule, and `computrons` for each
/// delivery. The node checks the real figures; this only has to be enough.
pub fn estimate(body_bytes: usize, msgs: u64, deliveries: u64, computrons: u64) -> u64 {
    let g = GasParams::default();
    // AuthInfo (key, sequence, fee), the signature and framing: under 300 bytes.
    let bytes = body_bytes as u64 + 300;
    g.intrinsic(bytes, msgs)
        .saturating_add(deliveries * computrons * g.gas_per_computron)
        .min(g.max_block_gas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_pays_for_size_then_deliveries() {
        let g = GasParams::default();
        // 300 bytes, 2 messages: 5,000 intrinsic; 2 deliveries share 195,000 gas.
        let t = check(&g, 5_000, 200_000, 300, 2, 2).expect("enough gas");
        assert_eq!(t.allowance, Some(975));
        assert_eq!(t.used, 5_000 + 2 * 975 * 100);
        // Capped by the per-delivery limit.
        let t = check(&g, 500, 10_000_000, 300, 1, 1).expect("enough gas");
        assert_eq!(t.allowance, Some(500));
        // No deliveries: only intrinsic gas is used.
        let t = check(&g, 5_000, 50_000, 1_000, 1, 0).expect("enough gas");
        assert_eq!((t.used, t.allowance), (11_000, None));
    }

    #[test]
    fn too_little_or_too_much_gas_is_refused() {
        let g = GasParams::default();
        let (code, why) = check(&g, 5_000, 3_999, 300, 1, 0).expect_err("refused");
        assert_eq!(code, codes::OUT_OF_GAS);
        assert!(why.contains("cost 4000 gas"), "{why}");
        // Intrinsic covered, but not one computron for the delivery.
        let (code, _) = check(&g, 5_000, 4_050, 300, 1, 1).expect_err("refused");
        assert_eq!(code, codes::OUT_OF_GAS);
        let (code, _) = check(&g, 5_000, g.max_block_gas + 1, 300, 1, 1).expect_err("refused");
        assert_eq!(code, codes::INVALID_GAS_LIMIT);
        g.validate().expect("defaults are valid");
    }
}
