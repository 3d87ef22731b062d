//! A block's limits as block building sees them: how PrepareProposal fills a proposal
//! and ProcessProposal checks one, from each tx's shape (`msgs::TxShape`, one decode per
//! tx) and the chain's message and gas limits. FinalizeBlock applies the same limits tx by
//! tx (`block.rs`), for a block a faulty majority committed anyway.

use crate::host::params::Params;
use crate::msgs::TxShape;

/// The gas a tx declares (what CheckTx reports as `gas_wanted`).
pub fn gas_wanted(tx: &[u8]) -> u64 {
    TxShape::of(tx).gas
}

/// The mempool's txs that fit, in order, within `max_bytes` and the chain's message and
/// gas limits. It stops at the first tx that does not fit: the rest wait for a later block
/// (skipping it would let a sender's next tx overtake it and fail on its sequence).
pub fn fill<T: AsRef<[u8]>>(txs: Vec<T>, params: &Params, max_bytes: u64) -> Vec<T> {
    let (max_msgs, max_gas) = (params.max_block_msgs, params.gas.max_block_gas);
    let (mut msgs, mut bytes, mut gas) = (0u64, 0u64, 0u64);
    let mut fitting = Vec::new();
    for tx in txs {
        let shape = TxShape::of(tx.as_ref());
        let b = tx.as_ref().len() as u64;
        if msgs + shape.msgs > max_msgs
            || bytes + b > max_bytes
            || gas.saturating_add(shape.gas) > max_gas
        {
            break;
        }
        msgs += shape.msgs;
        bytes += b;
        gas += shape.gas;
        fitting.push(tx);
    }
    fitting
}

/// What a proposal over the limits carries (an honest proposer never makes one).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the proposal carries {msgs} messages (at most {max_msgs}) and {gas} gas (at most {max_gas})"
)]
pub struct OverLimits {
    pub msgs: u64,
    pub max_msgs: u64,
    pub gas: u64,
    pub max_gas: u64,
}

/// Whether a proposed block is within the chain's message and gas limits.
pub fn check<T: AsRef<[u8]>>(txs: &[T], params: &Params) -> Result<(), OverLimits> {
    let (max_msgs, max_gas) = (params.max_block_msgs, params.gas.max_block_gas);
    let (msgs, gas) = txs
        .iter()
        .map(|tx| TxShape::of(tx.as_ref()))
        .fold((0u64, 0u64), |(m, g), s| {
            (m + s.msgs, g.saturating_add(s.gas))
        });
    if msgs <= max_msgs && gas <= max_gas {
        Ok(())
    } else {
        Err(OverLimits {
            msgs,
            max_msgs,
            gas,
            max_gas,
        })
    }
}
