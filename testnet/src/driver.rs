//! Plays CometBFT's consensus connection: `Info`, `InitChain`, `FinalizeBlock`, `Commit`,
//! `Query`, in the order CometBFT v0.38 sends them.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tendermint_abci::{Client, ClientBuilder};
use tendermint_proto::google::protobuf::Timestamp;
use tendermint_proto::v0_38::abci::{
    RequestFinalizeBlock, RequestInfo, RequestInitChain, RequestQuery, ResponseFinalizeBlock,
    ResponseQuery,
};

/// An ABCI client speaking for the consensus engine.
pub struct AbciDriver {
    client: Client,
}

impl AbciDriver {
    /// Connects to `addr`, retrying until the node listens or `timeout` passes.
    pub fn connect(addr: &str, timeout: Duration) -> anyhow::Result<AbciDriver> {
        let deadline = Instant::now() + timeout;
        loop {
            match ClientBuilder::default().connect(addr) {
                Ok(client) => return Ok(AbciDriver { client }),
                Err(e) if Instant::now() >= deadline => {
                    bail!("no ABCI server at {addr} after {timeout:?}: {e}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Last committed height and app hash, as the node reports them.
    pub fn info(&mut self) -> anyhow::Result<(u64, Vec<u8>)> {
        let r = self.client.info(RequestInfo::default()).context("Info")?;
        Ok((
            u64::try_from(r.last_block_height)?,
            r.last_block_app_hash.to_vec(),
        ))
    }

    pub fn init_chain(&mut self, chain_id: &str, app_state: &[u8]) -> anyhow::Result<()> {
        self.client
            .init_chain(RequestInitChain {
                chain_id: chain_id.into(),
                app_state_bytes: app_state.to_vec().into(),
                initial_height: 1,
                ..Default::default()
            })
            .context("InitChain")?;
        Ok(())
    }

    /// `FinalizeBlock` for `height` with block time `time` (Unix seconds).
    pub fn finalize_block(
        &mut self,
        height: u64,
        time: u64,
        txs: Vec<Vec<u8>>,
    ) -> anyhow::Result<ResponseFinalizeBlock> {
        self.client
            .finalize_block(RequestFinalizeBlock {
                txs: txs.into_iter().map(Into::into).collect(),
                height: i64::try_from(height)?,
                time: Some(Timestamp {
                    seconds: i64::try_from(time)?,
                    nanos: 0,
                }),
                ..Default::default()
            })
            .context("FinalizeBlock")
    }

    pub fn commit(&mut self) -> anyhow::Result<()> {
        self.client.commit().context("Commit")?;
        Ok(())
    }

    /// `FinalizeBlock` then `Commit`; returns the block's results.
    pub fn block(
        &mut self,
        height: u64,
        time: u64,
        txs: Vec<Vec<u8>>,
    ) -> anyhow::Result<ResponseFinalizeBlock> {
        let r = self.finalize_block(height, time, txs)?;
        self.commit()?;
        Ok(r)
    }

    /// A query whose answer is JSON; an error code is an error, with the node's log.
    pub fn query_json(&mut self, path: &str) -> anyhow::Result<serde_json::Value> {
        let r = self.query(path)?;
        if r.code != 0 {
            bail!("query {path}: code {} {}", r.code, r.log);
        }
        serde_json::from_slice(&r.value).with_context(|| format!("query {path}: not JSON"))
    }

    pub fn query(&mut self, path: &str) -> anyhow::Result<ResponseQuery> {
        self.client
            .query(RequestQuery {
                path: path.into(),
                ..Default::default()
            })
            .context("Query")
    }
}
