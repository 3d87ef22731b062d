//! auth's host keys (the only place they are spelled).
//!
//! - `acct/<address>` → [`super::accounts::Account`]
//! - `acct/next` → the next account number
//! - `val/<address>` → the power of the validator bound to that account (governance
//!   weighs its votes by it)

pub const ACCOUNTS: &str = "acct/";
pub const NEXT_ACCOUNT: &str = "acct/next";
pub const VALIDATORS: &str = "val/";

pub fn account(address: &str) -> String {
    format!("{ACCOUNTS}{address}")
}

pub fn validator(address: &str) -> String {
    format!("{VALIDATORS}{address}")
}
