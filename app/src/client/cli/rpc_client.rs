//! A CometBFT JSON-RPC client for the CLI (`vatd tx`, `vatd query`): the same routes a
//! real CometBFT node and `vatd dev` serve.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

/// A node's RPC endpoint, e.g. `http://127.0.0.1:26657`.
pub struct Rpc {
    url: String,
    agent: ureq::Agent,
}

impl Rpc {
    pub fn new(node: &str) -> Rpc {
        let url = node.replacen("tcp://", "http://", 1);
        let url = if url.starts_with("http://") {
            url
        } else {
            format!("http://{url}")
        };
        Rpc {
            url,
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .build(),
        }
    }

    /// Calls `method` with `params`; returns `result` or the JSON-RPC error.
    pub fn call(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp = self
            .agent
            .post(&self.url)
            .set("Content-Type", "application/json")
            .send_string(&body.to_string());
        let text = match resp {
            Ok(r) => r.into_string()?,
            Err(ureq::Error::Status(_, r)) => r.into_string()?,
            Err(e) => bail!(
                "cannot reach the node at {}: {e} (is `vatd dev` running?)",
                self.url
            ),
        };
        let v: Value = serde_json::from_str(&text)
            .with_context(|| format!("{method}: the node answered non-JSON"))?;
        if let Some(err) = v.get("error") {
            bail!(
                "{method}: {} {}",
                err["message"].as_str().unwrap_or(""),
                err["data"].as_str().unwrap_or("")
            );
        }
        Ok(v["result"].clone())
    }

    /// The chain id (`status` → `node_info.network`).
    pub fn chain_id(&self) -> anyhow::Result<String> {
        let s = self.call("status", json!({}))?;
        s["node_info"]["network"]
            .as_str()
            .map(str::to_string)
            .context("status has no node_info.network")
    }

    /// An ABCI query; returns the raw value bytes, or the node's error log.
    pub fn abci_query(&self, path: &str, data: &[u8]) -> anyhow::Result<Vec<u8>> {
        let r = self.call(
            "abci_query",
            json!({"path": path, "data": hex::encode(data), "height": "0", "prove": false}),
        )?;
        let resp = &r["response"];
        let code = resp["code"].as_u64().unwrap_or(0);
        if code != 0 {
            bail!("query {path}: {}", resp["log"].as_str().unwrap_or("failed"));
        }
        let value = resp["value"].as_str().unwrap_or("");
        B64.decode(value).context("query value is not base64")
    }

    /// A JSON ABCI query.
    pub fn query_json(&self, path: &str) -> anyhow::Result<Value> {
        let bytes = self.abci_query(path, &[])?;
        serde_json::from_slice(&bytes).with_context(|| format!("query {path}: not JSON"))
    }

    /// Broadcasts `tx` and waits (up to `timeout`) until a block includes it; returns the
    /// `tx` result.
    pub fn broadcast_and_wait(&self, tx: &[u8], timeout: Duration) -> anyhow::Result<Value> {
        let r = self.call("broadcast_tx_sync", json!({"tx": B64.encode(tx)}))?;
        let code = r["code"].as_u64().unwrap_or(0);
        if code != 0 {
            bail!(
                "the node refused the tx (code {code}): {}",
                r["log"].as_str().unwrap_or("")
            );
        }
        let hash = r["hash"]
            .as_str()
            .context("broadcast_tx_sync gave no hash")?
            .to_string();
        let hash_b64 = B64.encode(hex::decode(&hash).context("hash is not hex")?);
        let start = Instant::now();
        loop {
            if let Ok(found) = self.call("tx", json!({"hash": hash_b64, "prove": false})) {
                return Ok(found);
            }
            if start.elapsed() > timeout {
                bail!("tx {hash} was not included within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}
