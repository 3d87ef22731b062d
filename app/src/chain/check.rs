//! CheckTx's view of the chain: the last committed accounts and chain parameters, plus the
//! sequences of transactions already admitted to the mempool since (so a client may send
//! several transactions per block). Refreshed by the owner thread after every Commit;
//! read by the mempool connection without waiting for the kernel.

use std::collections::BTreeMap;

use vatchain_kernel::Kernel;

use crate::chain::keys;
use crate::host::codes;
use crate::host::params::Params;
use crate::modules::auth::accounts;
use crate::modules::auth::{verify_tx, AccountInfo};
use crate::msgs::decode_tx_msgs;

#[derive(Debug, Default)]
pub struct CheckState {
    chain_id: String,
    params: Params,
    /// The last committed height (a tx admitted now executes in a later block).
    height: u64,
    accounts: BTreeMap<String, AccountInfo>,
    /// Next sequence per account, counting admitted transactions not yet committed.
    pending: BTreeMap<String, u64>,
}

impl CheckState {
    /// Loads everything from the kernel's state (at start and after genesis).
    pub fn refresh(&mut self, kernel: &Kernel) {
        let h = kernel.host();
        // Before InitChain there is no chain yet: nothing checks out (no account exists).
        self.chain_id = keys::chain_id(&h).unwrap_or_default();
        self.height = kernel.committed().height;
        self.params = Params::stored(&h).unwrap_or_default();
        self.accounts = accounts::all(&h)
            .into_iter()
            .map(|a| (a.address.clone(), a.auth_info()))
            .collect();
        self.pending.clear();
    }

    /// After a Commit: the new height, the accounts the block's txs signed for (only a
    /// signer's sequence moves; accounts are created only at genesis), and no pending
    /// sequences (RECHECK re-admits the mempool's txs on top of the new state).
    pub fn after_commit(&mut self, kernel: &Kernel, signers: &[String]) {
        self.height = kernel.committed().height;
        // Governance may have changed them (MsgUpdateParams): CheckTx and block building
        // must use what the chain now has, as a freshly restarted node would.
        self.params = Params::load(&kernel.host());
        for addr in signers {
            if let Some(a) = accounts::get(&kernel.host(), addr) {
                self.accounts.insert(a.address.clone(), a.auth_info());
            }
        }
        self.pending.clear();
    }

    /// The chain parameters as of the last commit.
    pub fn params(&self) -> Params {
        self.params.clone()
    }

    /// Admits `tx` or says why not (ABCI code and log). `recheck` is CometBFT's re-check
    /// after a block: the same rules apply.
    pub fn check(&mut self, tx: &[u8], _recheck: bool) -> Result<(), (u32, String)> {
        let pending = &self.pending;
        let accounts = &self.accounts;
        let verified = verify_tx(tx, &self.chain_id, self.height + 1, |addr| {
            accounts.get(addr).map(|a| AccountInfo {
                account_number: a.account_number,
                sequence: pending.get(addr).copied().unwrap_or(a.sequence),
            })
        })
        .map_err(|e| (e.code(), e.to_string()))?;
        let msgs = decode_tx_msgs(&verified.messages, &verified.signer, &self.params)
            .map_err(|e| (codes::INVALID_MSG, e.to_string()))?;
        crate::host::gas::check(
            &self.params.gas,
            self.params.delivery_computrons,
            verified.gas_limit,
            tx.len() as u64,
            msgs.len() as u64,
            crate::msgs::deliveries(&msgs),
        )?;
        self.pending.insert(verified.signer, verified.sequence + 1);
        Ok(())
    }
}
