//! `vatd tx …`: compose a message, sign it with a keyring key, broadcast it to a node's
//! RPC and wait for the block that includes it.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use cosmrs::Any;
use serde_json::{json, Value};

use crate::client::cli::rpc_client::Rpc;
use crate::client::sign::{sign_tx_with_gas, SignerData};
use crate::node::home::keys;

/// Signs `msgs` as key `from` and broadcasts them, declaring `gas` (`None`: an estimate);
/// returns a summary of the result.
pub fn send(
    home: &Path,
    node: &str,
    from: &str,
    gas: Option<u64>,
    msgs: impl FnOnce(&str) -> Vec<Any>,
) -> anyhow::Result<Value> {
    let key = keys::show(home, from)?;
    let sk = key.signing_key()?;
    let rpc = Rpc::new(node);
    let chain_id = rpc.chain_id()?;
    let acct = rpc
        .query_json(&format!("/account/{}", key.address))
        .with_context(|| format!("account {} (is it funded?)", key.address))?;
    let account_number = acct["accountNumber"]
        .as_u64()
        .context("account without a number")?;
    let sequence = acct["sequence"]
        .as_u64()
        .context("account without a sequence")?;
    let tx = sign_tx_with_gas(
        &SignerData {
            key: &sk,
            chain_id: &chain_id,
            account_number,
            sequence,
        },
        msgs(&key.address),
        "",
        gas,
    );
    let result = rpc.broadcast_and_wait(&tx, Duration::from_secs(60))?;
    let summary = summarize(&result);
    if summary["code"].as_u64().unwrap_or(0) != 0 {
        bail!(
            "tx {} failed in block {} (code {}): {}",
            summary["txhash"].as_str().unwrap_or(""),
            summary["height"],
            summary["code"],
            summary["log"].as_str().unwrap_or("")
        );
    }
    Ok(summary)
}

/// The `tx` RPC answer reduced to what a person reads: hash, height, code, log, and each
/// event as `{type: {key: value}}`.
pub fn summarize(tx: &Value) -> Value {
    let r = &tx["tx_result"];
    let events: Vec<Value> = r["events"]
        .as_array()
        .map(|evs| {
            evs.iter()
                .map(|e| {
                    let attrs: serde_json::Map<String, Value> = e["attributes"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|kv| {
                                    (
                                        kv["key"].as_str().unwrap_or("").to_string(),
                                        kv["value"].clone(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    json!({ e["type"].as_str().unwrap_or(""): attrs })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "txhash": tx["hash"],
        "height": tx["height"],
        "code": r["code"].as_u64().unwrap_or(0),
        "log": r["log"],
        "events": events,
    })
}
