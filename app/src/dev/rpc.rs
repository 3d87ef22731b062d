//! CometBFT v0.38's JSON-RPC, the routes clients use: `status`, `health`, `abci_query`,
//! `broadcast_tx_sync`, `tx`, `tx_search` (by hash), `block`, `block_results`. Field
//! names, encodings (hex, padded base64, integers as decimal strings except where CometBFT
//! writes numbers) and error shapes follow CometBFT, because cosmjs checks them.
//!
//! JSON-RPC 2.0 over POST (a single call or a batch), and URI-style GET
//! (`/status`, `/abci_query?path="/vats"`). Errors are sent with HTTP 200, as CometBFT does.

use std::sync::Arc;

use crate::time::rfc3339;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use tendermint_proto::v0_38::abci::{Event, ExecTxResult};

use super::chain::{tx_hash, BlockRecord, DevChain};
use super::http;

/// Largest request body read (a base64 tx of the 4 MiB maximum fits).
const MAX_BODY_BYTES: u64 = 8 << 20;

/// Calls in one JSON-RPC batch, at most (CometBFT bounds a batch by its body size; a
/// batch also holds a worker for as long as its calls take).
pub const MAX_BATCH: usize = 20;

/// Starts the server on `addr` (threads of its own; see [`super::http`] for its limits);
/// returns the bound address.
pub fn serve(addr: &str, chain: Arc<DevChain>) -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind(addr)?;
    let bound = listener.local_addr()?.to_string();
    let handler: Arc<http::Handler> = Arc::new(move |req| handle(&chain, req));
    let busy = error_reply(
        Value::Null,
        -32603,
        "Internal error",
        "the server is busy; try again",
    )
    .to_string();
    http::serve(listener, handler, MAX_BODY_BYTES as usize, busy)?;
    Ok(bound)
}

fn handle(chain: &DevChain, req: http::Request) -> http::Response {
    let body = match req.method.as_str() {
        "OPTIONS" => String::new(),
        "POST" => match String::from_utf8(req.body) {
            Ok(text) => post(chain, &text).to_string(),
            Err(_) => {
                error_reply(Value::Null, -32700, "Parse error", "body is not UTF-8").to_string()
            }
        },
        _ => uri_call(chain, &req.target).to_string(),
    };
    http::Response { status: 200, body }
}

fn post(chain: &DevChain, text: &str) -> Value {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return error_reply(Value::Null, -32700, "Parse error", &e.to_string()),
    };
    match v {
        Value::Array(calls) if calls.len() > MAX_BATCH => error_reply(
            Value::Null,
            -32600,
            "Invalid Request",
            &format!("a batch of {} calls; at most {MAX_BATCH}", calls.len()),
        ),
        Value::Array(calls) => Value::Array(calls.iter().map(|c| one_call(chain, c)).collect()),
        call => one_call(chain, &call),
    }
}

fn one_call(chain: &DevChain, call: &Value) -> Value {
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = call["method"].as_str() else {
        return error_reply(id, -32600, "Invalid Request", "no method");
    };
    let params = call.get("params").cloned().unwrap_or(json!({}));
    reply(id, dispatch(chain, method, &params))
}

/// `GET /method?key=value&…`: values are JSON (strings quoted) or bare numbers.
fn uri_call(chain: &DevChain, url: &str) -> Value {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let method = path.trim_start_matches('/');
    if method.is_empty() {
        let routes = [
            "status",
            "health",
            "abci_query",
            "broadcast_tx_sync",
            "tx",
            "tx_search",
            "block",
            "block_results",
        ];
        return reply(Value::Null, Ok(json!({"routes": routes})));
    }
    let mut params = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        let value = serde_json::from_str::<Value>(&v).unwrap_or(Value::String(v.clone()));
        // CometBFT's URI form writes bytes as 0x-hex.
        let value = match value {
            Value::String(s) if s.starts_with("0x") => Value::String(s),
            other => other,
        };
        params.insert(k.to_string(), value);
    }
    reply(Value::Null, dispatch(chain, method, &Value::Object(params)))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

type CallResult = Result<Value, (i64, String, String)>;

fn reply(id: Value, r: CallResult) -> Value {
    match r {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err((code, message, data)) => error_reply(id, code, &message, &data),
    }
}

fn error_reply(id: Value, code: i64, message: &str, data: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": data}})
}

fn invalid(data: impl Into<String>) -> (i64, String, String) {
    (-32602, "Invalid params".into(), data.into())
}

fn internal(data: impl Into<String>) -> (i64, String, String) {
    (-32603, "Internal error".into(), data.into())
}

fn dispatch(chain: &DevChain, method: &str, p: &Value) -> CallResult {
    match method {
        "status" => Ok(status(chain)),
        "health" => Ok(json!({})),
        "abci_query" => abci_query(chain, p),
        "broadcast_tx_sync" => broadcast_tx_sync(chain, p),
        "tx" => tx(chain, p),
        "tx_search" => tx_search(chain, p),
        "block" => block(chain, p),
        "block_results" => block_results(chain, p),
        other => Err((
            -32601,
            "Method not found".into(),
            format!("{other} is not served by vatd dev"),
        )),
    }
}

fn upper_hex(b: &[u8]) -> String {
    hex::encode_upper(b)
}

/// A fixed identity for the one dev node (CometBFT needs non-empty ids and keys).
const NODE_ID: &str = "0000000000000000000000000000000000000001";
const VALIDATOR_ADDRESS: &str = "0000000000000000000000000000000000000001";
const VALIDATOR_PUBKEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

fn status(chain: &DevChain) -> Value {
    let (height, app_hash) = chain.info();
    let latest = chain.latest();
    let earliest = chain.earliest();
    let app_hash = if app_hash.is_empty() {
        vec![0; 32]
    } else {
        app_hash
    };
    let (block_hash, time) = latest
        .as_ref()
        .map(|b| (b.hash, b.time))
        .unwrap_or(([0; 32], (0, 0)));
    let mut sync = json!({
        "latest_block_hash": upper_hex(&block_hash),
        "latest_app_hash": upper_hex(&app_hash),
        "latest_block_height": height.to_string(),
        "latest_block_time": rfc3339(time),
        "catching_up": false,
    });
    if let Some(e) = earliest {
        sync["earliest_block_hash"] = json!(upper_hex(&e.hash));
        sync["earliest_app_hash"] = json!(upper_hex(if e.app_hash_before.is_empty() {
            &[0u8; 32][..]
        } else {
            &e.app_hash_before
        }));
        sync["earliest_block_height"] = json!(e.height.to_string());
        sync["earliest_block_time"] = json!(rfc3339(e.time));
    }
    json!({
        "node_info": {
            "protocol_version": {"p2p": "8", "block": "11", "app": "1"},
            "id": NODE_ID,
            "listen_addr": "tcp://127.0.0.1:26656",
            "network": chain.chain_id,
            "version": "0.38.17",
            "channels": "40202122233038606100",
            "moniker": "vatd-dev",
            "other": {"tx_index": "on", "rpc_address": "tcp://127.0.0.1:26657"},
        },
        "sync_info": sync,
        "validator_info": {
            "address": VALIDATOR_ADDRESS,
            "pub_key": {"type": "tendermint/PubKeyEd25519", "value": VALIDATOR_PUBKEY},
            "voting_power": "10",
        },
    })
}

/// Bytes a param carries: hex (JSON-RPC `data`), or `0x`-hex (URI form).
fn hex_param(v: &Value) -> Result<Vec<u8>, String> {
    let s = v.as_str().unwrap_or("");
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|e| format!("not hex: {e}"))
}

fn abci_query(chain: &DevChain, p: &Value) -> CallResult {
    let path = p["path"]
        .as_str()
        .ok_or_else(|| invalid("path is required"))?;
    let data = hex_param(&p["data"]).map_err(invalid)?;
    let r = chain.query(path, &data);
    let height = r.height.max(1);
    Ok(json!({"response": {
        "code": r.code,
        "log": r.log,
        "info": r.info,
        "index": "0",
        "key": null,
        "value": if r.value.is_empty() { Value::Null } else { json!(B64.encode(&r.value)) },
        "proofOps": null,
        "height": height.to_string(),
        "codespace": r.codespace,
    }}))
}

/// Tx bytes: padded base64 (JSON-RPC) or `0x`-hex (URI form).
fn tx_bytes(v: &Value) -> Result<Vec<u8>, String> {
    let s = v.as_str().ok_or("tx is required")?;
    match s.strip_prefix("0x") {
        Some(h) => hex::decode(h).map_err(|e| format!("tx is not hex: {e}")),
        None => B64.decode(s).map_err(|e| format!("tx is not base64: {e}")),
    }
}

fn broadcast_tx_sync(chain: &DevChain, p: &Value) -> CallResult {
    let tx = tx_bytes(&p["tx"]).map_err(invalid)?;
    let (r, hash) = chain.submit(tx);
    Ok(json!({
        "code": r.code,
        "data": B64.encode(&r.data),
        "log": r.log,
        "codespace": r.codespace,
        "hash": upper_hex(&hash),
    }))
}

fn events_json(events: &[Event]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| {
                json!({
                    "type": e.r#type,
                    "attributes": e.attributes.iter().map(|a| json!({"key": a.key, "value": a.value, "index": a.index})).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn tx_result_json(r: &ExecTxResult) -> Value {
    json!({
        "code": r.code,
        "data": B64.encode(&r.data),
        "log": r.log,
        "info": r.info,
        "gas_wanted": r.gas_wanted.to_string(),
        "gas_used": r.gas_used.to_string(),
        "events": events_json(&r.events),
        "codespace": r.codespace,
    })
}

fn tx_json(b: &BlockRecord, index: usize) -> Value {
    let tx = &b.txs[index];
    json!({
        "hash": upper_hex(&tx_hash(tx)),
        "height": b.height.to_string(),
        "index": index,
        "tx_result": b.results.get(index).map(tx_result_json).unwrap_or(Value::Null),
        "tx": B64.encode(tx),
    })
}

/// A tx hash: base64 (JSON-RPC, as cosmjs sends it) or hex / `0x`-hex.
fn hash_param(v: &Value) -> Result<[u8; 32], String> {
    let s = v.as_str().ok_or("hash is required")?;
    let bytes = match s.strip_prefix("0x") {
        Some(h) => hex::decode(h).map_err(|e| e.to_string())?,
        None if s.len() == 64 => hex::decode(s).map_err(|e| e.to_string())?,
        None => B64.decode(s).map_err(|e| e.to_string())?,
    };
    bytes
        .try_into()
        .map_err(|_| "a tx hash is 32 bytes".to_string())
}

fn tx(chain: &DevChain, p: &Value) -> CallResult {
    let hash = hash_param(&p["hash"]).map_err(invalid)?;
    match chain.find_tx(&hash) {
        Some((b, i)) => Ok(tx_json(&b, i)),
        None => Err(internal(format!("tx ({}) not found", upper_hex(&hash)))),
    }
}

/// `tx_search` supports the query clients use to find a tx: `tx.hash='HEX'`. Other
/// queries answer an empty page (an error would abort cosmjs's polling).
fn tx_search(chain: &DevChain, p: &Value) -> CallResult {
    let q = p["query"]
        .as_str()
        .ok_or_else(|| invalid("query is required"))?;
    let found = q
        .trim()
        .strip_prefix("tx.hash=")
        .map(|h| h.trim_matches(|c| c == '\'' || c == '"'))
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|h| chain.find_tx(&h));
    let txs: Vec<Value> = found.iter().map(|(b, i)| tx_json(b, *i)).collect();
    Ok(json!({"txs": txs, "total_count": txs.len().to_string()}))
}

fn height_param(chain: &DevChain, p: &Value) -> Result<u64, (i64, String, String)> {
    match &p["height"] {
        Value::Null => Ok(chain.info().0),
        Value::String(s) => s
            .parse()
            .map_err(|_| invalid(format!("height {s:?} is not a number"))),
        Value::Number(n) => n.as_u64().ok_or_else(|| invalid("height must be positive")),
        _ => Err(invalid("height must be a decimal string")),
    }
}

fn block(chain: &DevChain, p: &Value) -> CallResult {
    let h = height_param(chain, p)?;
    let b = chain.block(h).ok_or_else(|| {
        internal(format!(
            "height {h} is not available (this dev node keeps blocks since its start)"
        ))
    })?;
    let zero = upper_hex(&[0u8; 32]);
    let last = if b.height == 1 || b.last_block_hash == [0; 32] {
        json!({"hash": "", "parts": {"total": 0, "hash": ""}})
    } else {
        json!({"hash": upper_hex(&b.last_block_hash), "parts": {"total": 1, "hash": upper_hex(&b.last_block_hash)}})
    };
    Ok(json!({
        "block_id": {"hash": upper_hex(&b.hash), "parts": {"total": 1, "hash": upper_hex(&b.hash)}},
        "block": {
            "header": {
                "version": {"block": "11", "app": "1"},
                "chain_id": chain.chain_id,
                "height": b.height.to_string(),
                "time": rfc3339(b.time),
                "last_block_id": last.clone(),
                "last_commit_hash": "",
                "data_hash": "",
                "validators_hash": zero,
                "next_validators_hash": zero,
                "consensus_hash": zero,
                "app_hash": upper_hex(&b.app_hash_before),
                "last_results_hash": "",
                "evidence_hash": "",
                "proposer_address": VALIDATOR_ADDRESS,
            },
            "data": {"txs": b.txs.iter().map(|t| B64.encode(t)).collect::<Vec<_>>()},
            "evidence": {"evidence": []},
            "last_commit": {"height": (b.height - 1).to_string(), "round": 0, "block_id": last, "signatures": []},
        },
    }))
}

fn block_results(chain: &DevChain, p: &Value) -> CallResult {
    let h = height_param(chain, p)?;
    let b = chain
        .block(h)
        .ok_or_else(|| internal(format!("height {h} is not available")))?;
    Ok(json!({
        "height": b.height.to_string(),
        "txs_results": b.results.iter().map(tx_result_json).collect::<Vec<_>>(),
        "finalize_block_events": events_json(&b.events),
        "validator_updates": null,
        "consensus_param_updates": null,
        "app_hash": B64.encode(&b.app_hash),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_values_are_percent_decoded() {
        assert_eq!(percent_decode("%22%2Fvats%22"), "\"/vats\"");
        assert_eq!(percent_decode("a+b%2"), "a b%2");
    }
}
