//! Accounts: number, sequence and balance (one denomination), as Cosmos SDK's x/auth and
//! x/bank keep them, reduced to what this chain needs.

use serde::{Deserialize, Serialize};

use crate::host::amount::Amount;
use crate::host::{self, HostRead, HostStore};
use crate::modules::auth::{keys, AccountInfo};

/// An account (`acct/<address>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub address: String,
    pub account_number: u64,
    /// The sequence the account's next transaction must carry.
    pub sequence: u64,
    /// Balance in the chain's denomination.
    pub balance: Amount,
}

impl Account {
    pub fn auth_info(&self) -> AccountInfo {
        AccountInfo {
            account_number: self.account_number,
            sequence: self.sequence,
        }
    }
}

pub fn get(h: &impl HostRead, address: &str) -> Option<Account> {
    host::get(h, &keys::account(address))
}

/// Every account, by address.
pub fn all(h: &impl HostRead) -> Vec<Account> {
    // `acct/next` shares the prefix and is not an account.
    host::scan_except::<Account>(h, keys::ACCOUNTS, keys::NEXT_ACCOUNT)
        .into_iter()
        .map(|(_, a)| a)
        .collect()
}

pub fn put(h: &mut HostStore<'_>, a: &Account) {
    host::put(h, &keys::account(&a.address), a);
}

/// Creates an account with the next account number (genesis).
pub fn create(h: &mut HostStore<'_>, address: &str, balance: Amount) -> Account {
    let n: u64 = host::get(h, keys::NEXT_ACCOUNT).unwrap_or(0);
    host::put(h, keys::NEXT_ACCOUNT, &(n + 1));
    let a = Account {
        address: address.to_string(),
        account_number: n,
        sequence: 0,
        balance,
    };
    put(h, &a);
    a
}

/// Moves `amount` out of `address`'s balance (into escrow or the void); refuses an
/// overdraft.
pub fn debit(h: &mut HostStore<'_>, address: &str, amount: Amount) -> Result<(), FundsError> {
    let mut a = get(h, address).ok_or_else(|| FundsError::NoAccount(address.to_string()))?;
    a.balance = a
        .balance
        .checked_sub(amount)
        .ok_or_else(|| FundsError::InsufficientFunds {
            address: address.to_string(),
            have: a.balance,
            need: amount,
        })?;
    put(h, &a);
    Ok(())
}

/// Adds `amount` to `address`'s balance (refunds). A missing account is created.
pub fn credit(h: &mut HostStore<'_>, address: &str, amount: Amount) {
    match get(h, address) {
        Some(mut a) => {
            a.balance = a.balance.saturating_add(amount);
            put(h, &a);
        }
        None => {
            create(h, address, amount);
        }
    }
}

/// The power of the validator bound to `address`, if any.
pub fn validator_power(h: &impl HostRead, address: &str) -> Option<u64> {
    host::get(h, &keys::validator(address))
}

/// Binds `address` to a validator with `power` (genesis).
pub fn set_validator_power(h: &mut HostStore<'_>, address: &str, power: u64) {
    host::put(h, &keys::validator(address), &power);
}

/// Every validator's power, by address.
pub fn validators(h: &impl HostRead) -> Vec<(String, u64)> {
    host::scan::<u64>(h, keys::VALIDATORS)
        .into_iter()
        .map(|(k, p)| (k[keys::VALIDATORS.len()..].to_string(), p))
        .collect()
}

/// Why moving funds failed (a tx fault: the message fails with it).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FundsError {
    #[error("account {0} does not exist")]
    NoAccount(String),
    #[error("insufficient funds: {address} has {have}, needs {need}")]
    InsufficientFunds {
        address: String,
        have: Amount,
        need: Amount,
    },
}
