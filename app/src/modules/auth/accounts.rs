//! Accounts: number, sequence and balance (one denomination), as Cosmos SDK's x/auth and
//! x/bank keep them, reduced to what this chain needs.

use serde::{Deserialize, Serialize};
use vatchain_kernel::store::Store;

use crate::host;
use crate::modules::auth::AccountInfo;

/// An account (`acct/<address>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub address: String,
    pub account_number: u64,
    /// The sequence the account's next transaction must carry.
    pub sequence: u64,
    /// Balance in the chain's denomination (decimal string: JSON numbers lose precision).
    pub balance: String,
}

impl Account {
    pub fn balance(&self) -> u128 {
        self.balance.parse().unwrap_or(0)
    }

    pub fn auth_info(&self) -> AccountInfo {
        AccountInfo {
            account_number: self.account_number,
            sequence: self.sequence,
        }
    }
}

fn key(address: &str) -> String {
    format!("acct/{address}")
}

pub fn get(store: &Store, address: &str) -> Option<Account> {
    host::get(store, &key(address))
}

pub fn put(store: &mut Store, a: &Account) {
    host::put(store, &key(&a.address), a);
}

/// Creates an account with the next account number (genesis).
pub fn create(store: &mut Store, address: &str, balance: u128) -> Account {
    let n: u64 = host::get(store, "acct/next").unwrap_or(0);
    host::put(store, "acct/next", &(n + 1));
    let a = Account {
        address: address.to_string(),
        account_number: n,
        sequence: 0,
        balance: balance.to_string(),
    };
    put(store, &a);
    a
}

/// Moves `amount` out of `address`'s balance (into escrow or the void); refuses an
/// overdraft.
pub fn debit(store: &mut Store, address: &str, amount: u128) -> Result<(), String> {
    let mut a = get(store, address).ok_or_else(|| format!("account {address} does not exist"))?;
    let have = a.balance();
    let left = have
        .checked_sub(amount)
        .ok_or_else(|| format!("insufficient funds: {address} has {have}, needs {amount}"))?;
    a.balance = left.to_string();
    put(store, &a);
    Ok(())
}

/// Adds `amount` to `address`'s balance (refunds). A missing account is created.
pub fn credit(store: &mut Store, address: &str, amount: u128) {
    match get(store, address) {
        Some(mut a) => {
            a.balance = a.balance().saturating_add(amount).to_string();
            put(store, &a);
        }
        None => {
            create(store, address, amount);
        }
    }
}
